"""Sample quality for colour images, offline: a small face-attribute classifier and what it measures.

`tfgan.data.faces` knows every procedural face's hair colour (10 kinds), hair style (8) and eye colour (7)
as it draws it, so a small CNN can learn to read them back (`scripts/train_face_classifier.py`; the
weights ship in ``assets/face_classifier.weights.h5``). Its 128-wide feature layer plays the part that
Inception plays for FID, and its attribute heads give mode counts:

- FD and KID on the classifier's features (the FID / KID formulas);
- the share of samples whose hair colour *and* style are both read with confidence >= 0.9;
- how many of the 10 x 8 = 80 hair-colour x style combinations the confident samples cover;
- KL divergence of the combinations' histogram from the real one.

Each comes with its real-vs-real floor, as in `tfgan.evaluation.metrics.evaluate_mnist`. For colour data that
is not the procedural faces (the Kaggle anime set, your own folder) `evaluate_colour` reports what still
means something: FD / KID on the same features (labelled as such), pixel statistics, and Inception KID
where its ImageNet weights are present.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from tfgan.assets import FACE_CLASSIFIER_WEIGHTS
from tfgan.data.faces import ATTRIBUTES, HAIR_COLORS, HAIR_STYLES
from tfgan.evaluation import metrics
from tfgan.samples import as_unit_float, unit_to_255

if TYPE_CHECKING:
    import keras

INPUT_SIZE = 64  # every image is resized to this before the classifier sees it
WEIGHTS = FACE_CLASSIFIER_WEIGHTS
HEADS = tuple(ATTRIBUTES)  # hair_color, hair_style, eye_color: the classifier's outputs, in order
NUM_COMBOS = len(HAIR_COLORS) * len(HAIR_STYLES)
CONFIDENCE = 0.9

_feature_model = None


def build_face_classifier() -> keras.Model:
    """(64, 64, 3) in [-1, 1] -> [features (128), hair colour (10), hair style (8), eye colour (7)].

    Four strided conv blocks halve the picture down to 4×4 (cheap on a CPU, like a DCGAN discriminator);
    a Flatten keeps *where* things are (long hair reaches the bottom, twintails hang at the sides), which
    a global average would throw away. Shared by the training script and the metrics, so the saved
    weights always match this architecture.
    """
    import keras
    from keras import layers

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = inputs
    for filters in (32, 64, 128, 128):  # 64 -> 32 -> 16 -> 8 -> 4
        x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
    x = layers.Flatten()(x)
    features = layers.Dense(128, activation="relu", name=metrics.FEATURES_LAYER)(x)
    x = layers.Dropout(0.3)(features)
    outputs = [layers.Dense(len(ATTRIBUTES[name]), activation="softmax", name=name)(x) for name in HEADS]
    return keras.Model(inputs, [features, *outputs], name="face_classifier")


def load_face_classifier() -> keras.Model:
    """The shipped classifier (built once per process): outputs [features, *attribute probabilities]."""
    global _feature_model
    if _feature_model is None:
        if not WEIGHTS.is_file():
            raise metrics.MetricUnavailable(
                f"face classifier weights not found at {WEIGHTS}; "
                "run `python scripts/train_face_classifier.py` to create them")
        model = metrics.in_float32(build_face_classifier)
        model.load_weights(str(WEIGHTS))
        _feature_model = model
    return _feature_model


def to_classifier_input(images: np.ndarray) -> np.ndarray:
    """(N, H, W[, C]) uint8 or float in [-1, 1], any size, grey or RGB -> float32 (N, 64, 64, 3) in [-1, 1]."""
    import tensorflow as tf

    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W, 3) or (N, H, W[, 1]), got shape {x.shape}")
    x = as_unit_float(x)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    if x.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
        # Bilinear up, antialiased down: a 32×32 run is judged at its own sharpness, like its real data.
        x = tf.image.resize(x, (INPUT_SIZE, INPUT_SIZE), antialias=True).numpy()
    return np.clip(x, -1.0, 1.0)


def features_and_probs(images: np.ndarray, batch_size: int = 250) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The classifier's features (N, 128) and each head's probabilities {name: (N, classes)}."""
    x = to_classifier_input(images)
    if len(x) == 0:
        raise ValueError("no images given")
    model = load_face_classifier()
    outputs = [[] for _ in range(1 + len(HEADS))]
    for start in range(0, len(x), batch_size):
        # Direct calls skip predict()'s per-call setup, which dominates for small sets.
        for store, value in zip(outputs, model(x[start:start + batch_size], training=False), strict=True):
            store.append(np.asarray(value, np.float64))
    feats, *probs = (np.concatenate(parts) for parts in outputs)
    return feats, dict(zip(HEADS, probs, strict=True))


def combo_index(probs: dict[str, np.ndarray]) -> np.ndarray:
    """Each sample's most likely hair colour × style combination, as one index in [0, 80)."""
    return probs["hair_color"].argmax(axis=1) * len(HAIR_STYLES) + probs["hair_style"].argmax(axis=1)


def confident_mask(probs: dict[str, np.ndarray], threshold: float = CONFIDENCE) -> np.ndarray:
    """Samples whose hair colour and hair style are both read with probability >= `threshold`."""
    return (probs["hair_color"].max(axis=1) >= threshold) & (probs["hair_style"].max(axis=1) >= threshold)


def combos_covered(probs: dict[str, np.ndarray]) -> int:
    """How many of the 80 hair-colour × style combinations at least one *confident* sample shows."""
    return len(np.unique(combo_index(probs)[confident_mask(probs)]))


def combo_kl(probs: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> float:
    """KL(samples || reference) of the combination histograms (argmax of every sample).

    The reference counts get half a pseudo-count each, so a combination that the reference set
    happens to miss costs a large but finite amount instead of infinity.
    """
    p = np.bincount(combo_index(probs), minlength=NUM_COMBOS).astype(np.float64)
    q = np.bincount(combo_index(reference), minlength=NUM_COMBOS).astype(np.float64) + 0.5
    p, q = p / p.sum(), q / q.sum()
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] / q[nonzero])))


def _features_of(batches: list[np.ndarray]) -> tuple[list[np.ndarray], list[dict]]:
    """Features and probabilities of several image sets, in one pass through the classifier."""
    sizes = [len(b) for b in batches]
    feats, probs = features_and_probs(np.concatenate([as_unit_float(b) for b in batches]))
    spans = list(itertools.pairwise(np.cumsum([0, *sizes])))
    return [feats[a:b] for a, b in spans], [{k: v[a:b] for k, v in probs.items()} for a, b in spans]


def evaluate_faces(fake: np.ndarray, real: np.ndarray, seed: int = 0) -> dict:
    """Score generated faces against real procedural faces, each figure beside its real-vs-real floor.

    ``fake`` and ``real``: (N, H, W, 3), floats in [-1, 1] or uint8, any size (resized to 64×64).
    As in `metrics.evaluate_mnist`, ``real`` is split into two disjoint halves of ``n`` images:
    ``fd``, ``kid_*``, ``kl_real`` compare the fakes with one half, and their ``*_floor`` twins
    compare the other half with it. ``confident_share`` and ``combos_covered`` are of the fakes,
    ``confident_share_real`` and ``combos_covered_real`` of the second real half.
    """
    n, batches = metrics.paired_sets(np.asarray(fake), np.asarray(real), seed)
    (f_fake, f_ref, f_real), (p_fake, p_ref, p_real) = _features_of(batches)
    return {
        "kind": "faces",
        "samples": n,
        **metrics.distances_with_floor(f_fake, f_ref, f_real, seed),
        "confident_share": float(confident_mask(p_fake).mean()),
        "confident_share_real": float(confident_mask(p_real).mean()),
        "combos_covered": combos_covered(p_fake),
        "combos_covered_real": combos_covered(p_real),
        "kl_real": combo_kl(p_fake, p_ref),
        "kl_real_floor": combo_kl(p_real, p_ref),
    }


def pixel_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of the pixels, in 0..255."""
    x = unit_to_255(as_unit_float(images))
    return x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2))


def evaluate_colour(fake: np.ndarray, real: np.ndarray, seed: int = 0, inception: bool = True) -> dict:
    """What can be measured offline for colour data that is not the procedural faces.

    FD / KID on the face classifier's features (a network trained on procedural faces, not on this data:
    the numbers rank runs on the same data, nothing more), per-channel pixel mean and spread, and
    Inception KID when Keras has the ImageNet weights (``inception_note`` says how to get them if not;
    ``inception=False`` skips it, as evaluation during training does: it is slow on a CPU).
    """
    n, batches = metrics.paired_sets(np.asarray(fake), np.asarray(real), seed)
    (f_fake, f_ref, f_real), _ = _features_of(batches)
    result = {"kind": "colour", "samples": n, **metrics.distances_with_floor(f_fake, f_ref, f_real, seed)}
    for name, images in (("fake", batches[0]), ("real", batches[1])):
        mean, std = pixel_statistics(images)
        result[f"pixel_mean_{name}"] = [float(v) for v in mean]
        result[f"pixel_std_{name}"] = [float(v) for v in std]
    if not inception:
        return result
    try:
        kid_mean, kid_std = metrics.inception_kid(batches[0], batches[1], seed=seed)
        result.update(inception_kid_mean=kid_mean, inception_kid_std=kid_std)
    except metrics.MetricUnavailable as e:
        result["inception_note"] = str(e)
    return result


def format_faces(m: dict) -> str:
    """Aligned table of `evaluate_faces` output: metric | samples | real-vs-real floor."""
    rows = [
        ("FD (lower is better)", f"{m['fd']:.3f}", f"{m['fd_floor']:.3f}"),
        ("KID (lower is better)", f"{m['kid_mean']:.4f} ± {m['kid_std']:.4f}",
         f"{m['kid_floor_mean']:.4f} ± {m['kid_floor_std']:.4f}"),
        ("confident hair colour+style (p>=0.9)", f"{m['confident_share']:.3f}", f"{m['confident_share_real']:.3f}"),
        ("hair colour × style combinations", f"{m['combos_covered']}/{NUM_COMBOS}",
         f"{m['combos_covered_real']}/{NUM_COMBOS}"),
        ("KL of combinations from real", f"{m['kl_real']:.4f}", f"{m['kl_real_floor']:.4f}"),
    ]
    return metrics.format_table(rows, f"({m['samples']} images per set; face-attribute classifier features, "
                                      "not comparable to published FID/KID)")


def format_colour(m: dict) -> str:
    """Text report of `evaluate_colour` output."""
    rows = [
        ("FD, face-classifier features", f"{m['fd']:.3f}", f"{m['fd_floor']:.3f}"),
        ("KID, face-classifier features", f"{m['kid_mean']:.4f} ± {m['kid_std']:.4f}",
         f"{m['kid_floor_mean']:.4f} ± {m['kid_floor_std']:.4f}"),
        ("pixel mean R, G, B", _rgb(m["pixel_mean_fake"]), _rgb(m["pixel_mean_real"])),
        ("pixel spread R, G, B", _rgb(m["pixel_std_fake"]), _rgb(m["pixel_std_real"])),
    ]
    if "inception_kid_mean" in m:
        rows.append(("Inception KID", f"{m['inception_kid_mean']:.4f} ± {m['inception_kid_std']:.4f}", "-"))
    footer = (f"({m['samples']} images per set; the face classifier was trained on procedural faces, not on "
              "this data: compare runs on the same data only)")
    text = metrics.format_table(rows, footer, floor_header="real (floor for FD/KID)")
    if "inception_note" in m:
        text += f"\nno Inception KID: {m['inception_note']}"
    return text


def _rgb(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)
