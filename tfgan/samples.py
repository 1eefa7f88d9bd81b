"""What G makes and D judges: images in [-1, 1] (uint8 0..255 on disk and in the data), or 2-D points.

Every scale change between the two pixel ranges goes through these functions, so that the rule
(tanh's [-1, 1] against 0..255) is written once. `unit_to_255` is plain arithmetic: it works on numpy
arrays and on tf.Tensors alike.
"""

from __future__ import annotations

import numpy as np


def is_toy(shape) -> bool:
    """Whether data or model output of this shape (without the batch) is 2-D points, not images."""
    return tuple(shape) == (2,)


def unit_to_255(x):
    """[-1, 1] -> [0, 255] floats (numpy or TensorFlow), not yet rounded."""
    return (x + 1.0) * 127.5


def to_uint8(images) -> np.ndarray:
    """[-1, 1] floats -> uint8 0..255."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round(unit_to_255(images)), 0, 255).astype(np.uint8)


def from_uint8(x):
    """uint8 0..255 (numpy or TensorFlow, already cast to float) -> [-1, 1]."""
    return x / 127.5 - 1.0


def as_unit_float(images) -> np.ndarray:
    """uint8 0..255 -> float32 in [-1, 1]; floats (already in [-1, 1]) as float32."""
    x = np.asarray(images)
    return from_uint8(x.astype(np.float32)) if x.dtype == np.uint8 else x.astype(np.float32)
