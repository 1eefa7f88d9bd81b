"""The data a GAN learns from: `load(name)` -> `Images` (uint8 arrays, or 2-D points), and
`batches(...)`, the tf.data stream of them in [-1, 1] that the train step reads."""

from tfgan.data.pipeline import batches, steps_per_epoch
from tfgan.data.sources import (
    Images,
    fetch_anime_faces,
    load,
    load_anime,
    load_fashion_mnist,
    load_keras,
    load_mnist,
    load_npz,
    match_channels,
)

__all__ = ["Images", "batches", "fetch_anime_faces", "load", "load_anime", "load_fashion_mnist", "load_keras",
           "load_mnist", "load_npz", "match_channels", "steps_per_epoch"]
