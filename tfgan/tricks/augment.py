"""DiffAugment (Zhao et al. 2020): the same random, differentiable augmentations on real and fake images.

With little data a discriminator memorises the training set and stops teaching the generator. Showing
it every image — real and fake alike — with random colour shifts, translations and cut-out patches
makes memorising hard, and because the augmentations are differentiable, G still gets gradients
through them. Augmenting only the real images would teach G to draw the augmentations instead.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan.errors import TfganError

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); '' -> ()."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise TfganError(f"unknown DiffAugment policy {', '.join(unknown)}: choose from {', '.join(POLICIES)}")
    return names


def color(x: tf.Tensor, rng: tf.random.Generator) -> tf.Tensor:
    """Random brightness, saturation and contrast per image (images in [-1, 1])."""
    n = tf.shape(x)[0]
    x = x + (rng.uniform([n, 1, 1, 1]) - 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * (rng.uniform([n, 1, 1, 1]) * 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (rng.uniform([n, 1, 1, 1]) + 0.5) + mean


def translation(x: tf.Tensor, rng: tf.random.Generator, ratio: float = 0.125) -> tf.Tensor:
    """Shift each image by up to ratio × its size, filling with zeros (a pad, then a random crop)."""
    h, w = x.shape[1], x.shape[2]
    pad_h, pad_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    n = tf.shape(x)[0]
    padded = tf.pad(x, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]])
    dy = rng.uniform([n], 0, 2 * pad_h + 1, dtype=tf.int32)
    dx = rng.uniform([n], 0, 2 * pad_w + 1, dtype=tf.int32)
    rows = dy[:, None] + tf.range(h)[None, :]  # (n, h)
    cols = dx[:, None] + tf.range(w)[None, :]  # (n, w)
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1)


def cutout(x: tf.Tensor, rng: tf.random.Generator, ratio: float = 0.5) -> tf.Tensor:
    """Zero one random square of ratio × the image size in each image."""
    h, w = x.shape[1], x.shape[2]
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    n = tf.shape(x)[0]
    cy = rng.uniform([n, 1, 1], 0, h + (1 - size_h % 2), dtype=tf.int32)
    cx = rng.uniform([n, 1, 1], 0, w + (1 - size_w % 2), dtype=tf.int32)
    ys = tf.range(h)[None, :, None]
    xs = tf.range(w)[None, None, :]
    inside = ((ys >= cy - size_h // 2) & (ys < cy - size_h // 2 + size_h) &
              (xs >= cx - size_w // 2) & (xs < cx - size_w // 2 + size_w))
    return x * tf.cast(~inside, x.dtype)[..., None]


def diff_augment(x: tf.Tensor, policy: tuple[str, ...], rng: tf.random.Generator) -> tf.Tensor:
    """Apply the policy's augmentations in order (none: x unchanged)."""
    ops = {"color": color, "translation": translation, "cutout": cutout}
    for name in policy:
        x = ops[name](x, rng)
    return x
