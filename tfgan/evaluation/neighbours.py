"""Did the GAN make new images or copy its training set? Nearest training images of generated samples.

A generator that memorised its data draws samples that sit on top of training images: much closer to
their nearest training image than real images usually are to theirs. So the yardstick comes from real
data: for held-out real images, the distance to the nearest *other* training image. A sample closer
to the training set than the 1st percentile of those distances counts as a copy. Real images fall
under that line 1% of the time (measured on a second held-out half, so the figure is honest); a
generator that copies has most of its samples under it.

Distances are measured in the metric's feature space (the digit or face classifier that `eval` uses)
and in pixel space. `python -m tfgan eval RUN_DIR --neighbours K` prints both rates and saves a
picture of samples beside their K nearest training images.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from tfgan.errors import TfganError
from tfgan.evaluation import face_metrics, metrics
from tfgan.runs.files import atomic_write_bytes
from tfgan.samples import as_unit_float, to_uint8

PERCENTILE = 1.0  # a sample nearer than this percentile of real-to-real distances counts as a copy
HELD_OUT = 500  # real images per half for the real-vs-real yardstick


def features(images: np.ndarray, kind: str) -> np.ndarray:
    """The features `eval` compares for this kind of data (see `evaluate.metric_kind`), float32."""
    if kind == "mnist":
        return metrics.mnist_features_and_probs(images)[0].astype(np.float32)
    return face_metrics.features_and_probs(images)[0].astype(np.float32)


def pixels(images: np.ndarray) -> np.ndarray:
    """Images as flat float vectors in [-1, 1] (uint8 input is rescaled)."""
    x = as_unit_float(images)
    return x.reshape(len(x), -1)


def nearest(queries: np.ndarray, base: np.ndarray, k: int = 1, exclude: np.ndarray | None = None,
            batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances (N, k) and indices (N, k) of each query's k nearest rows of `base`.
    `exclude[i]`: an index of `base` that query i may not match (itself, when queries come from base)."""
    if len(base) < k:
        raise TfganError(f"only {len(base)} training images, fewer than the {k} neighbours asked for")
    base = np.asarray(base, np.float32)
    base_sq = np.einsum("ij,ij->i", base, base)
    dists, idxs = [], []
    for start in range(0, len(queries), batch):
        q = np.asarray(queries[start:start + batch], np.float32)
        d2 = np.einsum("ij,ij->i", q, q)[:, None] + base_sq[None] - 2.0 * q @ base.T
        if exclude is not None:
            d2[np.arange(len(q)), exclude[start:start + batch]] = np.inf
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
        part = np.take_along_axis(d2, idx, axis=1)
        order = np.argsort(part, axis=1)
        idxs.append(np.take_along_axis(idx, order, axis=1))
        # max(…, 0): rounding can make a squared distance of a duplicate slightly negative
        dists.append(np.sqrt(np.maximum(np.take_along_axis(part, order, axis=1), 0.0)))
    return np.concatenate(dists), np.concatenate(idxs)


def copy_rates(fake_vecs: np.ndarray, train_vecs: np.ndarray, seed: int = 0) -> dict:
    """The share of samples nearer the training set than real images usually are, and the real figure.

    Two disjoint halves of held-out training images: the first sets the threshold (the 1st percentile
    of their nearest-other-training-image distances), the second measures how often real images fall
    under it (about 1%).
    """
    n_held = min(HELD_OUT, len(train_vecs) // 4)
    if n_held < 20:
        raise TfganError(f"only {len(train_vecs)} training images: the memorisation check needs at least 80")
    held = np.random.default_rng(seed).choice(len(train_vecs), 2 * n_held, replace=False)
    real_d, _ = nearest(train_vecs[held], train_vecs, 1, exclude=held)
    threshold = float(np.percentile(real_d[:n_held, 0], PERCENTILE))
    fake_d, _ = nearest(fake_vecs, train_vecs, 1)
    return {
        "copies": float(np.mean(fake_d[:, 0] < threshold)),
        "copies_real": float(np.mean(real_d[n_held:, 0] < threshold)),
        "threshold": threshold,
        "median_nearest": float(np.median(fake_d[:, 0])),
        "median_nearest_real": float(np.median(real_d[n_held:, 0])),
    }


def find_copies(fake: np.ndarray, train: np.ndarray, kind: str, seed: int = 0,
                train_features: np.ndarray | None = None) -> dict:
    """Copy rates in feature space and in pixel space: {"features": {...}, "pixels": {...}}.
    `train_features`: `features(train, kind)` when the caller already has them."""
    if len(fake) == 0 or len(train) == 0:
        raise TfganError("the memorisation check needs generated samples and training images")
    train_features = features(train, kind) if train_features is None else train_features
    return {"features": copy_rates(features(fake, kind), train_features, seed),
            "pixels": copy_rates(pixels(fake), pixels(train), seed)}


def format_copies(result: dict) -> str:
    lines = ["memorisation: samples nearer a training image than 99% of real images are to theirs"]
    for space, r in result.items():
        lines.append(f"  {space:8s} copies {r['copies']:6.1%}  (real images: {r['copies_real']:.1%}); median "
                     f"distance to the nearest training image {r['median_nearest']:.3g} "
                     f"(real: {r['median_nearest_real']:.3g})")
    return "\n".join(lines)


def save_picture(fake: np.ndarray, train: np.ndarray, kind: str, out: str | os.PathLike, k: int = 3,
                 shown: int = 8, train_features: np.ndarray | None = None) -> Path:
    """Each of `shown` samples, then its k nearest training images (feature space) with distances."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fake = np.asarray(fake)[:shown]
    train_features = features(train, kind) if train_features is None else train_features
    dists, idxs = nearest(features(fake, kind), train_features, k)
    fig, axes = plt.subplots(len(fake), k + 1, figsize=(1.3 * (k + 1), 1.4 * len(fake)), squeeze=False)
    as_uint8 = (lambda x: x) if np.asarray(train).dtype == np.uint8 else to_uint8
    for row, sample in enumerate(fake):
        pictures = [to_uint8(sample)] + [as_uint8(np.asarray(train[i])) for i in idxs[row]]
        titles = ["sample"] + [f"d = {d:.2f}" for d in dists[row]]
        for ax, picture, title in zip(axes[row], pictures, titles, strict=True):
            ax.imshow(picture[..., 0] if picture.shape[-1] == 1 else picture, cmap="gray", vmin=0, vmax=255)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.suptitle(f"samples and their {k} nearest training images", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write_bytes(out, buf.getvalue())
