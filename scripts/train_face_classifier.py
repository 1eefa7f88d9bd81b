"""Train the face-attribute classifier whose features and heads score colour runs (`tfgan.evaluation.face_metrics`).

Draws fresh procedural faces with their attributes (`tfgan.data.faces.make_labelled_faces`, seeds that no
training set uses), trains the classifier to read hair colour, hair style and eye colour, prints the
held-out accuracy of each head and the confident share, and writes
``tfgan/assets/face_classifier.weights.h5``.

    python scripts/train_face_classifier.py [--faces 24000] [--epochs 8] [--seed 0]

Besides faces, every batch holds a few junk images (noise, blobs, flat colour) trained towards the
uniform distribution (outlier exposure), so that the classifier is not confident on garbage and a
generator that draws noise does not score as confident faces.
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

from tfgan.data import faces
from tfgan.evaluation import face_metrics

TRAIN_SEED = 10_000  # the datasets use small seeds (0, 1, ...): keep the classifier's faces apart
VAL_SEED = 20_000


def one_hot_targets(attributes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One-hot targets per head; a closed-eye face (eye_color -1) gets an all-zero eye target: no loss."""
    targets = {}
    for name in face_metrics.HEADS:
        k = len(faces.ATTRIBUTES[name])
        idx = attributes[name]
        targets[name] = np.where(idx[:, None] >= 0, np.eye(k, dtype=np.float32)[np.maximum(idx, 0)], 0.0)
    return targets


def junk_images(k: int, seed: tf.Tensor) -> tf.Tensor:
    """k colour non-faces in [-1, 1]: pixel noise, smooth blobs, flat colour fields."""
    s = tf.random.experimental.stateless_split(seed, 5)
    shape = (k, face_metrics.INPUT_SIZE, face_metrics.INPUT_SIZE, 3)
    noise = tf.random.stateless_uniform(shape, s[0], -1.0, 1.0)
    coarse = tf.random.stateless_uniform((k, 8, 8, 3), s[1], -1.0, 1.0)
    blobs = tf.tanh(2.0 * tf.image.resize(coarse, shape[1:3]))
    flat = tf.ones(shape) * tf.random.stateless_uniform((k, 1, 1, 3), s[2], -1.0, 1.0)
    kinds = tf.stack([noise, blobs, flat])  # (3, k, H, W, 3)
    which = tf.one_hot(tf.random.stateless_uniform((k,), s[3], 0, 3, dtype=tf.int32), 3)
    return tf.einsum("tk,tkhwc->khwc", tf.transpose(which), kinds)


def augment(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Generated faces are lower-resolution, speckled and shifted: show the classifier such faces too."""
    s = tf.random.experimental.stateless_split(seed, 4)
    size = face_metrics.INPUT_SIZE
    # A third at 32×32, a third at 48×48 (down and back up), a third as drawn.
    low = tf.random.stateless_uniform((), s[0], 0, 3, dtype=tf.int32)
    images = tf.switch_case(low, [
        lambda: tf.image.resize(tf.image.resize(images, (32, 32), antialias=True), (size, size)),
        lambda: tf.image.resize(tf.image.resize(images, (48, 48), antialias=True), (size, size)),
        lambda: images,
    ])
    per_image = (tf.shape(images)[0], 1, 1, 1)
    sigma = tf.random.stateless_uniform(per_image, s[1], 0.0, 0.15)
    images = images + sigma * tf.random.stateless_normal(tf.shape(images), s[2])
    shift = tf.random.stateless_uniform((2,), s[3], -4, 5, dtype=tf.int32)
    images = tf.roll(images, shift, axis=[1, 2])
    return tf.clip_by_value(images, -1.0, 1.0)


def training_data(x: np.ndarray, targets: dict[str, np.ndarray], batch_size: int, junk: int,
                  seed: int) -> tf.data.Dataset:
    def add_junk(batch, batch_seed):
        images, labels = batch
        s = tf.random.experimental.stateless_split(batch_seed, 2)
        images = tf.concat([augment(images, s[0]), junk_images(junk, s[1])], 0)
        labels = {name: tf.concat([value, tf.fill((junk, value.shape[-1]), 1.0 / value.shape[-1])], 0)
                  for name, value in labels.items()}
        return images, labels

    faces_ds = (tf.data.Dataset.from_tensor_slices((x, targets))
                .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
                .batch(batch_size, drop_remainder=True))
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    return tf.data.Dataset.zip((faces_ds, seeds)).map(add_junk).prefetch(tf.data.AUTOTUNE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=24000, help="training faces to draw")
    parser.add_argument("--val-faces", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--junk", type=int, default=8, help="junk images per batch")
    parser.add_argument("--out", type=Path, default=face_metrics.WEIGHTS)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    start = time.time()
    x_tr, a_tr = faces.make_labelled_faces(args.faces, face_metrics.INPUT_SIZE, TRAIN_SEED + args.seed,
                                           progress=True)
    x_val, a_val = faces.make_labelled_faces(args.val_faces, face_metrics.INPUT_SIZE, VAL_SEED, progress=True)
    print(f"drew {args.faces:,} + {args.val_faces:,} faces in {time.time() - start:.0f} s")
    x_tr = x_tr.astype(np.float32) / 127.5 - 1.0
    x_val = x_val.astype(np.float32) / 127.5 - 1.0

    classifier = face_metrics.build_face_classifier()
    steps = args.epochs * (args.faces // args.batch_size)
    # A GradientTape step of our own: Keras `fit` with the three heads as a dict diverged after a few
    # hundred steps every time. Clipped, with a cosine-decayed rate.
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps, alpha=0.01),
                                      global_clipnorm=1.0)

    @tf.function
    def train_step(images, targets):
        with tf.GradientTape() as tape:
            _, *probs = classifier(images, training=True)
            # Cross-entropy per head on clipped probabilities; an all-zero target (closed eyes) adds nothing.
            losses = [-tf.reduce_mean(tf.reduce_sum(targets[name] * tf.math.log(tf.clip_by_value(p, 1e-7, 1.0)),
                                                    axis=-1))
                      for name, p in zip(face_metrics.HEADS, probs, strict=True)]
            loss = tf.add_n(losses)
        grads = tape.gradient(loss, classifier.trainable_variables)
        optimizer.apply_gradients(zip(grads, classifier.trainable_variables))
        return losses

    train_ds = training_data(x_tr, one_hot_targets(a_tr), args.batch_size, args.junk, args.seed)
    start = time.time()
    for epoch in range(args.epochs):
        totals = np.zeros(len(face_metrics.HEADS))
        for count, (images, targets) in enumerate(train_ds, 1):
            totals += [float(v) for v in train_step(images, targets)]
        losses = ", ".join(f"{name} {v / count:.3f}" for name, v in zip(face_metrics.HEADS, totals, strict=True))
        print(f"epoch {epoch + 1}/{args.epochs}: loss {losses} ({time.time() - start:.0f} s)", flush=True)
    print(f"trained {args.epochs} epochs in {time.time() - start:.0f} s")

    outputs = classifier.predict(x_val, batch_size=250, verbose=0)
    probs = dict(zip(face_metrics.HEADS, outputs[1:], strict=True))
    for name in face_metrics.HEADS:
        seen = a_val[name] >= 0
        acc = float(np.mean(probs[name][seen].argmax(axis=1) == a_val[name][seen]))
        print(f"held-out accuracy, {name}: {acc:.4f}")
    confident = face_metrics.confident_mask(probs)
    print(f"held-out confident share (hair colour and style p >= {face_metrics.CONFIDENCE}): "
          f"{confident.mean():.4f}; combinations covered: {face_metrics.combos_covered(probs)}"
          f"/{face_metrics.NUM_COMBOS}")

    # The classifier was never compiled, so its weights file holds no optimizer state.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    classifier.save_weights(str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
