"""Sample-quality metrics for GAN outputs.

MNIST samples are scored on the features of a small MNIST classifier that ships
with the package (``assets/mnist_classifier.weights.h5``): Fréchet distance (the
FID formula), kernel distance (the KID formula), class coverage and the share of
confidently classified samples. Because the features come from this classifier
and not from Inception, the numbers are only comparable with each other, never
with published FID/KID figures. ``evaluate_mnist`` therefore also reports a
real-vs-real floor at the same sample count, which is the best a generator can
score. ``inception_kid`` gives Inception-based KID for RGB images when the
ImageNet weights are available.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from tfgan.assets import MNIST_CLASSIFIER_WEIGHTS
from tfgan.errors import TfganError
from tfgan.samples import as_unit_float, unit_to_255

if TYPE_CHECKING:  # keras (and TensorFlow) load lazily: the numpy metrics should import fast
    from collections.abc import Callable

    import keras

CLASSIFIER_WEIGHTS = MNIST_CLASSIFIER_WEIGHTS
FEATURES_LAYER = "features"
NUM_CLASSES = 10

INCEPTION_NOTOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"

_classifier = None  # keras.Model, loaded once: rebuilding per call costs seconds
_features_and_probs_model = None
_inception = None
_inception_error: MetricUnavailable | None = None  # a failed load is not retried in the same process


class MetricUnavailable(TfganError):
    """A metric needs something that is missing here (e.g. weights that cannot be downloaded)."""


# --------------------------------------------------------------------------
# Distances between feature sets
# --------------------------------------------------------------------------


def _check_features(feats_a: np.ndarray, feats_b: np.ndarray, min_rows: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(feats_a, dtype=np.float64)
    b = np.asarray(feats_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"feature arrays must be 2-D (samples, dims), got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    if len(a) < min_rows or len(b) < min_rows:
        raise ValueError(f"need at least {min_rows} samples per set, got {len(a)} and {len(b)}")
    return a, b


def _sqrt_psd(mat: np.ndarray) -> np.ndarray:
    # Symmetric eigendecomposition; tiny negative eigenvalues are round-off, so clip them.
    vals, vecs = np.linalg.eigh(mat)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the FID formula).

    The estimate is biased upward with few samples (the covariances are noisy), so compare numbers
    only at equal sample counts, ideally against a real-vs-real floor.
    """
    a, b = _check_features(feats_a, feats_b, min_rows=2)
    return frechet_distance_of_gaussians(a.mean(axis=0), np.cov(a, rowvar=False),
                                         b.mean(axis=0), np.cov(b, rowvar=False))


def frechet_distance_of_gaussians(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray) -> float:
    """``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` (Dowson & Landau 1982; FID, Heusel et al. 2017)."""
    # tr((S_a S_b)^(1/2)) = tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)); the right-hand side is
    # symmetric PSD, so eigh works and no scipy.linalg.sqrtm (or scipy) is needed.
    sqrt_a = _sqrt_psd(cov_a)
    middle = sqrt_a @ cov_b @ sqrt_a
    middle = (middle + middle.T) / 2.0
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None)).sum()
    diff = mu_a - mu_b
    fd = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_covmean
    # A squared distance: anything below zero is round-off.
    return float(max(fd, 0.0))


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    # Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3: drop the diagonals of K_xx, K_yy.
    d = x.shape[1]
    m = len(x)
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    sum_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    sum_yy = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(sum_xx + sum_yy - 2.0 * k_xy.mean())


def kernel_inception_distance(
    feats_a: np.ndarray,
    feats_b: np.ndarray,
    num_subsets: int = 10,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel distance (the KID formula) between two feature sets: (mean, std) over subsets.

    Unbiased MMD^2 with the cubic polynomial kernel ``(x.y/d + 1)^3``, averaged over
    ``num_subsets`` random subsets of ``subset_size`` rows from each set (clipped to the
    smaller set). Being unbiased, it does not drift with sample count like FD, and for
    two samples of the same distribution it scatters around 0 (it can be slightly negative).
    """
    a, b = _check_features(feats_a, feats_b, min_rows=2)
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1, got {num_subsets}")
    n = min(subset_size, len(a), len(b))
    if n < 2:
        raise ValueError(f"subset_size must be >= 2, got {subset_size}")
    rng = np.random.default_rng(seed)
    values = [
        _polynomial_mmd2(a[rng.choice(len(a), n, replace=False)], b[rng.choice(len(b), n, replace=False)])
        for _ in range(num_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


# --------------------------------------------------------------------------
# Statistics of classifier outputs
# --------------------------------------------------------------------------


def _check_probs(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"probs must be a non-empty (samples, classes) array, got shape {p.shape}")
    return p


def class_coverage(probs: np.ndarray) -> dict:
    """How many classes the samples span and how evenly (catches mode collapse).

    Returns ``classes_covered``: classes that are the argmax of at least one sample, and
    ``kl_from_uniform``: KL divergence of the argmax histogram from uniform (0 for perfectly
    balanced classes, log(num_classes) when every sample is one class). It only sees which
    class wins, not whether the samples look like digits; pair it with ``confident_share``.
    """
    p = _check_probs(probs)
    num_classes = p.shape[1]
    counts = np.bincount(p.argmax(axis=1), minlength=num_classes)
    hist = counts / counts.sum()
    eps = 1e-12  # empty classes contribute 0 * log(eps) = 0 instead of NaN
    kl = float(np.sum(hist * np.log(np.maximum(hist, eps) * num_classes)))
    return {"classes_covered": int(np.count_nonzero(counts)), "kl_from_uniform": kl}


def confident_share(probs: np.ndarray, threshold: float = 0.9) -> float:
    """Share of samples whose top class probability is at least ``threshold``.

    Real digits are almost all confident; blurry or ambiguous samples are not. A classifier
    can still be overconfident on some garbage, so read it together with the distances.
    """
    p = _check_probs(probs)
    return float(np.mean(p.max(axis=1) >= threshold))


# --------------------------------------------------------------------------
# The MNIST classifier
# --------------------------------------------------------------------------


def build_mnist_classifier() -> keras.Model:
    """Small CNN for (28, 28, 1) images in [-1, 1]: a 128-wide "features" layer, then softmax.

    Shared by ``scripts/train_mnist_classifier.py`` and the metrics so the saved weights
    always match this architecture. No augmentation layers live here: they would add RNG
    state to the saved weights.
    """
    import keras
    from keras import layers

    def conv_block(x, filters: int):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)  # short runs: stats settle fast
        return layers.Activation("relu")(x)

    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = conv_block(inputs, 32)
    x = conv_block(x, 32)
    x = layers.MaxPooling2D()(x)  # 14x14
    x = conv_block(x, 64)
    x = conv_block(x, 64)
    x = layers.MaxPooling2D()(x)  # 7x7
    x = layers.GlobalAveragePooling2D()(x)  # keeps the weights file small (no big Flatten->Dense)
    features = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.3)(features)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="mnist_classifier")


def in_float32(build: Callable[[], keras.Model]) -> keras.Model:
    """Build a scoring network in float32 whatever the training's dtype policy (e.g. mixed_bfloat16):
    the numbers must not depend on how the run was trained."""
    import keras

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        return build()
    finally:
        keras.mixed_precision.set_global_policy(policy)


def load_mnist_classifier() -> keras.Model:
    """The shipped classifier with its trained weights (built once per process)."""
    global _classifier
    if _classifier is None:
        if not CLASSIFIER_WEIGHTS.is_file():
            raise MetricUnavailable(
                f"MNIST classifier weights not found at {CLASSIFIER_WEIGHTS}; "
                "run `python scripts/train_mnist_classifier.py` to create them"
            )
        model = in_float32(build_mnist_classifier)
        model.load_weights(str(CLASSIFIER_WEIGHTS))
        _classifier = model
    return _classifier


def mnist_feature_model() -> keras.Model:
    """Model mapping images to ``[features (N, 128), probs (N, 10)]`` with the shipped weights."""
    global _features_and_probs_model
    if _features_and_probs_model is None:
        import keras

        clf = load_mnist_classifier()
        _features_and_probs_model = keras.Model(
            clf.input, [clf.get_layer(FEATURES_LAYER).output, clf.output], name="mnist_features_and_probs"
        )
    return _features_and_probs_model


def to_model_range(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28[, 1]) uint8 in [0, 255] or float in [-1, 1] -> float32 (N, 28, 28, 1) in [-1, 1]."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise ValueError(f"expected MNIST images of shape (N, 28, 28) or (N, 28, 28, 1), got {x.shape}")
    return as_unit_float(x)


def mnist_features_and_probs(images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Classifier features (N, 128) and class probabilities (N, 10) for MNIST-shaped images.

    ``images``: (N, 28, 28, 1) or (N, 28, 28), float in [-1, 1] (GAN output scaling) or uint8.
    """
    x = to_model_range(images)
    if len(x) == 0:
        raise ValueError("no images given")
    model = mnist_feature_model()
    feats, probs = [], []
    for start in range(0, len(x), batch_size):
        # Direct calls skip predict()'s per-call setup, which dominates for small sets.
        f, p = model(x[start : start + batch_size], training=False)
        feats.append(np.asarray(f))
        probs.append(np.asarray(p))
    return np.concatenate(feats).astype(np.float64), np.concatenate(probs).astype(np.float64)


def paired_sets(fake: np.ndarray, real: np.ndarray, seed: int = 0) -> tuple[int, list[np.ndarray]]:
    """``n`` and three image sets of ``n``: fakes, a real reference half, and the other real half.

    ``n = min(len(fake), len(real) // 2)``; a seeded permutation of ``real`` gives the two disjoint
    halves, and ``n`` fakes are drawn (all of them when ``len(fake) == n``). Fakes against the
    reference half is the score; the other half against the reference half is its floor.
    """
    n = min(len(fake), len(real) // 2)
    if n < 2:
        raise ValueError(f"need at least 2 fake and 4 real images, got {len(fake)} fake and {len(real)} real")
    rng = np.random.default_rng(seed)
    real_idx = rng.permutation(len(real))
    fake_idx = rng.permutation(len(fake))[:n] if len(fake) > n else np.arange(n)
    return n, [fake[fake_idx], real[real_idx[:n]], real[real_idx[n : 2 * n]]]


def distances_with_floor(f_fake: np.ndarray, f_ref: np.ndarray, f_real: np.ndarray, seed: int = 0) -> dict:
    """FD and KID of fakes vs the reference half, and of the other real half vs it (the floor).

    KID uses 10 subsets of half the set (at most 1000 rows), so that the subsets differ and the std
    means something; with subsets of all n rows every subset would be the same.
    """
    n = len(f_fake)
    kid_args = {"num_subsets": 10, "subset_size": min(1000, max(2, n // 2)), "seed": seed}
    kid_mean, kid_std = kernel_inception_distance(f_fake, f_ref, **kid_args)
    kid_floor_mean, kid_floor_std = kernel_inception_distance(f_real, f_ref, **kid_args)
    return {"fd": frechet_distance(f_fake, f_ref), "kid_mean": kid_mean, "kid_std": kid_std,
            "fd_floor": frechet_distance(f_real, f_ref), "kid_floor_mean": kid_floor_mean,
            "kid_floor_std": kid_floor_std}


def evaluate_mnist(fake: np.ndarray, real: np.ndarray, seed: int = 0) -> dict:
    """Score generated MNIST digits against real ones, with a real-vs-real floor.

    With ``n = min(len(fake), len(real) // 2)``, a seeded permutation of ``real`` is split
    into two disjoint halves ``real_a`` and ``real_b`` of ``n`` images each, and ``n`` fake
    images are drawn (all of them when ``len(fake) == n``). Then:

    - ``fd``, ``kid_mean``, ``kid_std``: fake vs ``real_a``;
    - ``fd_floor``, ``kid_floor_mean``, ``kid_floor_std``: ``real_b`` vs ``real_a`` — the
      same reference set and sample count, so it is what a perfect generator would score
      (FD with few samples is biased upward; the floor shows by how much);
    - ``classes_covered``, ``kl_uniform``, ``confident_share``: of the ``n`` fake images;
      ``classes_covered_real``, ``kl_uniform_real``, ``confident_share_real``: of ``real_b``;
    - ``samples``: ``n``.

    KID: mean and std over 10 random subsets of ``min(1000, n // 2)`` rows. All numbers are on the shipped MNIST classifier's
    features, so they are not comparable with published (Inception) FID/KID values.
    """
    n, sets = paired_sets(to_model_range(fake), to_model_range(real), seed)
    feats, probs = mnist_features_and_probs(np.concatenate(sets))
    f_fake, f_ref, f_real = feats[:n], feats[n : 2 * n], feats[2 * n :]
    p_fake, p_real = probs[:n], probs[2 * n :]
    cov_fake = class_coverage(p_fake)
    cov_real = class_coverage(p_real)
    return {
        "samples": n,
        **distances_with_floor(f_fake, f_ref, f_real, seed),
        "classes_covered": cov_fake["classes_covered"],
        "kl_uniform": cov_fake["kl_from_uniform"],
        "confident_share": confident_share(p_fake),
        "classes_covered_real": cov_real["classes_covered"],
        "kl_uniform_real": cov_real["kl_from_uniform"],
        "confident_share_real": confident_share(p_real),
    }


def format_table(rows: list[tuple[str, str, str]], footer: str, floor_header: str = "real-vs-real floor") -> str:
    """Aligned text table: metric | samples | floor, one row per metric, a footnote below."""
    rows = [("metric", "samples", floor_header), *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    lines.append(footer)
    return "\n".join(lines)


def format_report(metrics: dict) -> str:
    """Aligned text table of ``evaluate_mnist`` output: metric | samples | real-vs-real floor."""
    m = metrics
    rows = [
        ("FD (lower is better)", f"{m['fd']:.3f}", f"{m['fd_floor']:.3f}"),
        (
            "KID (lower is better)",
            f"{m['kid_mean']:.4f} ± {m['kid_std']:.4f}",
            f"{m['kid_floor_mean']:.4f} ± {m['kid_floor_std']:.4f}",
        ),
        (
            "classes covered",
            f"{m['classes_covered']}/{NUM_CLASSES}",
            f"{m['classes_covered_real']}/{NUM_CLASSES}",
        ),
        ("KL from uniform", f"{m['kl_uniform']:.4f}", f"{m['kl_uniform_real']:.4f}"),
        ("confident share (p>=0.9)", f"{m['confident_share']:.3f}", f"{m['confident_share_real']:.3f}"),
    ]
    return format_table(
        rows, f"({m['samples']} images per set; MNIST-classifier features, not comparable to published FID/KID)"
    )


# --------------------------------------------------------------------------
# Inception-based KID (RGB images)
# --------------------------------------------------------------------------


def _keras_models_dir() -> str:
    # Where keras.utils.get_file caches application weights.
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(base, "models")


def _load_inception() -> keras.Model:
    global _inception, _inception_error
    if _inception_error is not None:
        raise _inception_error
    if _inception is None:
        import keras

        try:
            _inception = in_float32(lambda: keras.applications.InceptionV3(include_top=False, pooling="avg",
                                                                           weights="imagenet"))
        except Exception as exc:  # get_file raises a bare Exception on a failed download
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            _inception_error = MetricUnavailable(
                f"Inception KID unavailable: could not load InceptionV3 ImageNet weights ({reason}); "
                f"go online once so Keras caches them in {_keras_models_dir()}, "
                f"or copy {INCEPTION_NOTOP_FILE} there"
            )
            raise _inception_error from exc
    return _inception


def _inception_features(images: np.ndarray, batch_size: int) -> np.ndarray:
    import keras
    import tensorflow as tf

    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W, 3) or (N, H, W[, 1]), got shape {x.shape}")
    if len(x) == 0:
        raise ValueError("no images given")
    x = as_unit_float(x)
    model = _load_inception()
    out = []
    for start in range(0, len(x), batch_size):
        b = tf.image.resize(x[start : start + batch_size], (299, 299))
        if b.shape[-1] == 1:
            b = tf.repeat(b, 3, axis=-1)  # grayscale -> RGB
        # preprocess_input expects [0, 255]; our images are in [-1, 1].
        b = keras.applications.inception_v3.preprocess_input(unit_to_255(b))
        out.append(np.asarray(model(b, training=False)))
    return np.concatenate(out).astype(np.float64)


def inception_kid(
    fake_rgb: np.ndarray,
    real_rgb: np.ndarray,
    num_subsets: int = 10,
    subset_size: int = 1000,
    seed: int = 0,
    batch_size: int = 50,
) -> tuple[float, float]:
    """KID (mean, std) on InceptionV3 pool features, as in the KID paper.

    Images: (N, H, W, 3) (or grayscale, repeated to RGB), float in [-1, 1] or uint8; they are
    resized to 299x299. Needs the ImageNet weights: raises ``MetricUnavailable`` when Keras
    cannot load them (e.g. offline with an empty cache). Slow on CPU.
    """
    feats_fake = _inception_features(fake_rgb, batch_size)
    feats_real = _inception_features(real_rgb, batch_size)
    return kernel_inception_distance(feats_fake, feats_real, num_subsets, subset_size, seed)
