"""Train the small MNIST classifier whose features the sample metrics use.

Uses full MNIST when ``keras.datasets.mnist.load_data()`` works (online, or cached in
~/.keras/datasets), else the 5,000-image subset shipped in ``tfgan/assets/mnist_5k.npz``
split 4,000 train / 1,000 validation. Prints validation accuracy and writes
``tfgan/assets/mnist_classifier.weights.h5``.

    python scripts/train_mnist_classifier.py [--epochs N] [--subset] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

import keras
import tensorflow as tf

from tfgan.assets import MNIST_SUBSET
from tfgan.evaluation.metrics import (
    CLASSIFIER_WEIGHTS,
    NUM_CLASSES,
    build_mnist_classifier,
    to_model_range,
)


def load_data(
    force_subset: bool, seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], str]:
    """((x_train, y_train), (x_val, y_val), description); images uint8 (N, 28, 28)."""
    if not force_subset:
        try:
            (x_tr, y_tr), (x_te, y_te) = keras.datasets.mnist.load_data()
            return (x_tr, y_tr), (x_te, y_te), "full MNIST (60,000 train / 10,000 test)"
        except Exception as exc:  # noqa: BLE001 - get_file raises a bare Exception offline
            print(f"full MNIST unavailable ({str(exc).splitlines()[0]}); using the 5k subset")
    data = np.load(MNIST_SUBSET)
    x, y = data["x_train"], data["y_train"]
    idx = np.random.default_rng(seed).permutation(len(x))
    n_val = len(x) // 5
    val, train = idx[:n_val], idx[n_val:]
    desc = f"MNIST 5k subset ({len(train)} train / {len(val)} held-out validation)"
    return (x[train], y[train]), (x[val], y[val]), desc


def make_augmenter(seed: int) -> keras.Sequential:
    # Small shifts, rotations and zooms: GAN digits are rarely perfectly centred.
    # Background is -1, so fill with -1 rather than reflecting strokes in.
    fill = {"fill_mode": "constant", "fill_value": -1.0}
    return keras.Sequential(
        [
            keras.layers.RandomRotation(0.04, seed=seed, **fill),
            keras.layers.RandomTranslation(0.1, 0.1, seed=seed + 1, **fill),
            keras.layers.RandomZoom(0.1, seed=seed + 2, **fill),
        ],
        name="augment",
    )


def junk_images(k: int, seed: tf.Tensor) -> tf.Tensor:
    """k non-digit images in [-1, 1]: noise, flat fields, smooth blobs, salt.

    Trained towards the uniform distribution (outlier exposure) so the classifier is
    not confident on garbage; otherwise a softmax CNN calls pure noise a digit with
    p = 1.0 and ``confident_share`` would say nothing about a bad generator.
    """
    s = tf.random.experimental.stateless_split(seed, 9)
    shape = (k, 28, 28, 1)
    per_image = (k, 1, 1, 1)
    uniform = tf.random.stateless_uniform(shape, s[0], -1.0, 1.0)
    mean = tf.random.stateless_uniform(per_image, s[1], -1.0, 0.5)
    std = tf.random.stateless_uniform(per_image, s[2], 0.1, 1.0)
    gauss = tf.clip_by_value(mean + std * tf.random.stateless_normal(shape, s[3]), -1.0, 1.0)
    # Flat fields, mostly near the -1 background: a collapsed generator's blank output.
    level = -1.0 + 2.0 * tf.random.stateless_uniform(per_image, s[4]) ** 3
    flat = tf.ones(shape) * level
    low_res = tf.random.stateless_uniform((k, 7, 7, 1), s[5], -1.0, 1.0)
    gain = tf.random.stateless_uniform(per_image, s[6], 1.0, 6.0)
    blobs = tf.tanh(gain * tf.image.resize(low_res, (28, 28)) - 1.0)
    density = tf.random.stateless_uniform(per_image, s[7], 0.02, 0.4)
    salt = tf.where(tf.random.stateless_uniform(shape, s[8]) < density, 1.0, -1.0)
    kinds = tf.stack([uniform, gauss, flat, blobs, salt])  # (5, k, 28, 28, 1)
    which = tf.one_hot(tf.random.stateless_uniform((k,), s[0] + 1, 0, 5, dtype=tf.int32), 5)
    return tf.einsum("tk,tkhwc->khwc", tf.transpose(which), kinds)


def training_data(
    x: np.ndarray, y: np.ndarray, batch_size: int, junk_per_batch: int, seed: int
) -> tf.data.Dataset:
    """Batches of real digits (one-hot, some with mild noise) plus junk images (uniform target)."""

    def add_junk(batch, batch_seed):
        images, labels = batch
        s = tf.random.experimental.stateless_split(batch_seed, 4)
        # Mild pixel noise on half the digits: GAN samples are often a little speckled,
        # and those should still count as confident digits (pure noise is junk below).
        per_image = (tf.shape(images)[0], 1, 1, 1)
        sigma = tf.random.stateless_uniform(per_image, s[0], 0.0, 0.2)
        sigma *= tf.cast(tf.random.stateless_uniform(per_image, s[1]) < 0.5, tf.float32)
        noisy = images + sigma * tf.random.stateless_normal(tf.shape(images), s[2])
        images = tf.clip_by_value(noisy, -1.0, 1.0)
        junk = junk_images(junk_per_batch, s[3])
        uniform = tf.fill((junk_per_batch, NUM_CLASSES), 1.0 / NUM_CLASSES)
        return tf.concat([images, junk], 0), tf.concat([labels, uniform], 0)

    onehot = keras.utils.to_categorical(y, NUM_CLASSES).astype("float32")
    digits = (
        tf.data.Dataset.from_tensor_slices((x, onehot))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )
    seeds = tf.data.Dataset.random(seed=seed).batch(2)  # one stateless seed per batch
    return tf.data.Dataset.zip((digits, seeds)).map(add_junk).prefetch(tf.data.AUTOTUNE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: 30 (5k subset), 6 (full MNIST)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--subset", action="store_true", help="use the shipped 5k subset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=CLASSIFIER_WEIGHTS)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    (x_tr, y_tr), (x_val, y_val), desc = load_data(args.subset, args.seed)
    print(f"data: {desc}")
    x_tr, x_val = to_model_range(x_tr), to_model_range(x_val)
    epochs = args.epochs or (30 if len(x_tr) < 10_000 else 6)

    train_ds = training_data(x_tr, y_tr, args.batch_size, args.batch_size // 8, args.seed)
    y_val_onehot = keras.utils.to_categorical(y_val, NUM_CLASSES)

    classifier = build_mnist_classifier()
    # Augmentation runs inside the training graph (seeded), in front of the classifier.
    model = keras.Sequential([make_augmenter(args.seed), classifier])
    model.build((None, 28, 28, 1))
    steps = epochs * int(np.ceil(len(x_tr) / args.batch_size))
    lr = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    start = time.time()
    # Training accuracy counts the junk images (uniform target) as misses; watch val_accuracy.
    model.fit(train_ds, epochs=epochs, validation_data=(x_val, y_val_onehot), verbose=2)
    _, val_acc = model.evaluate(x_val, y_val_onehot, verbose=0)
    print(f"trained {epochs} epochs in {time.time() - start:.0f}s; val accuracy {val_acc:.4f}")

    # Save from an uncompiled copy: a compiled model also writes the optimizer state,
    # which would triple the file for nothing.
    export = build_mnist_classifier()
    export.set_weights(classifier.get_weights())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export.save_weights(str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
