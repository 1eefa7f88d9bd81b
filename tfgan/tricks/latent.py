"""The latent space: how z is drawn (Gaussian, on a sphere, or uniform in a cube).

In high dimensions Gaussian vectors all have norm close to sqrt(dim), so they live near a sphere of
that radius anyway; `--latent sphere` puts them exactly on it (and spherical interpolation between
two of them stays on it). `--latent uniform` draws each coordinate from U(-1, 1), as the DCGAN paper
(Radford et al. 2015) did.

The truncation trick trades diversity for quality at sampling time: z from the middle of its
distribution gives the generator's most typical, cleanest images. BigGAN (Brock et al. 2019) redraws
the coordinates beyond a threshold; tfgan shrinks z towards the distribution's mean by a factor ψ, as
StyleGAN (Karras et al. 2019) does in its mapping space, because one multiplication also works inside
an exported model and in a frames folder. ψ = 1 is no truncation; ψ → 0 gives one image, G(0).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import tensorflow as tf

from tfgan.errors import TfganError
from tfgan.media.animation import encode
from tfgan.media.images import grid
from tfgan.runs.files import atomic_write_bytes

LATENT_KINDS = ("gaussian", "sphere", "uniform")


def check_latent_kind(kind: str) -> str:
    if kind not in LATENT_KINDS:
        raise TfganError(f"unknown latent distribution '{kind}': choose one of {', '.join(LATENT_KINDS)}")
    return kind


def check_truncation(psi: float | None, kind: str = "gaussian") -> float | None:
    """ψ as given (None or 1: no truncation); one line for a value or a latent kind it cannot apply to."""
    if psi is None or psi == 1:
        return None
    if not (psi > 0 and math.isfinite(psi)):
        raise TfganError(f"truncation ψ must be a number above 0 (1 = none, 0.7 is typical), got {psi}")
    if check_latent_kind(kind) == "sphere":
        raise TfganError("truncation shrinks z towards 0, but this run puts every z on a sphere of the same radius: "
                         "drop --truncation, or train with --latent gaussian")
    return float(psi)


def truncate(z: np.ndarray, psi: float | None, kind: str = "gaussian") -> np.ndarray:
    """The truncation trick: z shrunk towards the mean of its distribution (0) by ψ."""
    psi = check_truncation(psi, kind)
    return z if psi is None else (np.asarray(z) * np.float32(psi)).astype(np.float32)


def to_sphere(z):
    """Scale each row of z to length sqrt(latent_dim). Takes and returns a tf.Tensor."""
    z = tf.convert_to_tensor(z, tf.float32)
    dim = tf.cast(tf.shape(z)[-1], tf.float32)
    return z * tf.sqrt(dim) / tf.maximum(tf.norm(z, axis=-1, keepdims=True), 1e-12)


def draw(rng: tf.random.Generator, shape, kind: str = "gaussian") -> tf.Tensor:
    """Latent vectors of `shape` from a TensorFlow random stream, as `kind` says (the training noise)."""
    if kind == "uniform":
        return rng.uniform(shape, -1.0, 1.0)
    z = rng.normal(shape)
    return to_sphere(z) if kind == "sphere" else z


def sample_latent(num: int, latent_dim: int, kind: str = "gaussian", seed: int = 0,
                  truncation: float | None = None) -> np.ndarray:
    """`num` latent vectors as a float32 numpy array (for sampling a trained generator), truncated by
    ψ = `truncation` when given (see `truncate`)."""
    rng = np.random.default_rng(seed)
    check_truncation(truncation, kind)
    if check_latent_kind(kind) == "uniform":
        return truncate(rng.uniform(-1.0, 1.0, (num, latent_dim)).astype(np.float32), truncation, kind)
    z = rng.standard_normal((num, latent_dim)).astype(np.float32)
    return np.asarray(to_sphere(z)) if kind == "sphere" else truncate(z, truncation, kind)


def slerp(z0, z1, t):
    """Spherical interpolation: the point a fraction t along the great circle from z0 to z1.

    Linear interpolation between two Gaussian vectors passes close to the origin, where the generator
    saw no training noise (the midpoint of two independent z has norm about 0.7·sqrt(dim)); slerp keeps
    the norm, so every point looks like a typical z. Works on single vectors or rows of matrices.
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.asarray(t, np.float64)
    unit0 = z0 / np.linalg.norm(z0, axis=-1, keepdims=True)
    unit1 = z1 / np.linalg.norm(z1, axis=-1, keepdims=True)
    omega = np.arccos(np.clip(np.sum(unit0 * unit1, axis=-1, keepdims=True), -1.0, 1.0))
    sin = np.sin(omega)
    if np.any(sin < 1e-6):  # (anti)parallel vectors: fall back to linear interpolation
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    return ((np.sin((1 - t) * omega) / sin) * z0 + (np.sin(t * omega) / sin) * z1).astype(np.float32)


def slerp_path(keys: np.ndarray, steps_between: int = 16, loop: bool = True) -> np.ndarray:
    """Latent vectors along slerps through `keys` (K, dim), `steps_between` per leg; back to the
    first key when `loop`, for a GIF that repeats smoothly."""
    keys = np.asarray(keys, np.float32)
    stops = [*keys, keys[0]] if loop else list(keys)
    ts = np.arange(steps_between)[:, None] / steps_between
    path = [slerp(a[None], b[None], ts) for a, b in itertools.pairwise(stops)]
    if not loop:
        path.append(keys[-1:])
    return np.concatenate(path).astype(np.float32)


def render_gif(generator, path_z: np.ndarray, out, labels=None, fps: float = 12.0, scale: int = 3,
               cols: int | None = None):
    """Write a GIF whose frames are the generator's images for successive rows of `path_z`.

    `path_z` is (frames, dim), or (frames, n, dim) to animate a grid of n images at once. A conditional
    generator also takes `labels` (one per image of a frame).
    """
    path_z = np.asarray(path_z, np.float32)
    if path_z.ndim == 2:
        path_z = path_z[:, None]
    pictures = []
    for z in path_z:
        inputs = tf.constant(z) if labels is None else [tf.constant(z), tf.constant(np.asarray(labels, np.int32))]
        images = np.asarray(generator(inputs, training=False), np.float32)
        pictures.append(grid(images, cols=cols, scale=scale))
    return atomic_write_bytes(out, encode(pictures, [1.0 / fps] * len(pictures), ".gif"))
