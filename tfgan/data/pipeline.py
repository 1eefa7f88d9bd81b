"""The tf.data pipeline that feeds the train step: shuffled, fixed-size batches scaled to [-1, 1]."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan.errors import DataError
from tfgan.samples import from_uint8


def steps_per_epoch(num_images: int, batch_size: int, d_steps: int = 1) -> int:
    return num_images // (batch_size * d_steps)


def check_enough_images(num_images: int, batch_size: int, d_steps: int = 1) -> None:
    """One train step uses batch_size × d_steps images: fewer cannot train."""
    per_step = batch_size * d_steps
    if num_images < per_step:
        raise DataError(f"only {num_images} images, fewer than one step needs ({per_step}); "
                        "lower --batch-size or add images")


def batches(
    images: np.ndarray,
    batch_size: int,
    seed: int,
    epoch: int,
    skip: int = 0,
    d_steps: int = 1,
    labels: np.ndarray | None = None,
    epochs: int | None = 1,
) -> tf.data.Dataset:
    """`epochs` epochs (None: endless) of shuffled batches, every batch full-size: uint8 images become
    floats in [-1, 1], float data (the 2-D toy points) passes unchanged.

    Each epoch's order depends only on (seed, epoch number), so a run resumed mid-epoch can `skip` the
    batches of `epoch` it already trained on and see the same data as an uninterrupted run. Partial
    last batches are dropped: a smaller batch would make `tf.function` trace the train step again.
    With d_steps > 1 each element has shape (batch, d_steps, H, W, C): a batch for every critic update.

    It is all tf.data ops, with no Python per batch: a stateless shuffle of the indices per epoch, then
    a gather from the images held once in memory, so the input never waits on Python's GIL while the
    loop runs several steps per call. Training streams all its epochs from this one dataset.
    """
    check_enough_images(len(images), batch_size, d_steps)
    per_step = batch_size * d_steps
    n_steps = len(images) // per_step
    # Batch first, so a tf.distribute strategy can split every element between replicas.
    shape = [batch_size, d_steps] if d_steps > 1 else [batch_size]
    pixels = tf.constant(images)
    targets = None if labels is None else tf.constant(np.asarray(labels, np.int64))

    def epoch_order(e: tf.Tensor) -> tf.data.Dataset:
        order = tf.random.experimental.stateless_shuffle(tf.range(len(images), dtype=tf.int64),
                                                         seed=tf.stack([tf.cast(seed, tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order[:n_steps * per_step], [n_steps, per_step]))

    def gather(idx: tf.Tensor):
        in_memory_order = tf.argsort(idx)  # reads in memory order are faster
        rows = tf.gather(pixels, tf.gather(idx, in_memory_order))
        # ... then back to the shuffled order: D groups a batch's images by position (packs, minibatch
        # stddev), and a sorted batch would always pair low-numbered images with high-numbered ones.
        rows = tf.gather(rows, tf.argsort(in_memory_order))
        x = tf.cast(tf.reshape(rows, shape + list(images.shape[1:])), tf.float32)
        if images.dtype == np.uint8:  # pixels; float data (2-D toy points) is used as it is
            x = from_uint8(x)
        return x if targets is None else (x, tf.reshape(tf.gather(targets, idx), shape))

    last = epoch + epochs if epochs is not None else 2**62  # None: endless
    ds = tf.data.Dataset.range(epoch, last).flat_map(epoch_order).skip(skip)
    # The gather is cheap: run it inline, and keep a fixed small prefetch, so tf.data starts no extra
    # threads that would compete with the train step for the cores.
    return ds.map(gather).prefetch(2)

