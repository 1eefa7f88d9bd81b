"""Checks of the networks a student builds, and of the small pieces of arithmetic around them: the
generator, the discriminator, a cGAN's label input, slerp, the EMA update and the Fréchet distance."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfgan.evaluation.metrics import frechet_distance_of_gaussians
from tfgan.exercises.probe import CheckResult, Misconception, judge, not_done, one_line
from tfgan.tricks.latent import slerp


def _built(name: str, fn, *args) -> keras.Model | CheckResult:
    """The model fn(*args) builds, or the verdict when it is a stub, crashes or is no Keras model."""
    try:
        model = fn(*args)
    except NotImplementedError:
        return not_done(name)
    except Exception as e:  # noqa: BLE001 (a student's code may raise anything: say what, in one line)
        return CheckResult(name, False, one_line(e))
    if not isinstance(model, keras.Model):
        return CheckResult(name, False, f"it returned {type(model).__name__}, not a keras.Model")
    if not model.built or not model.inputs:
        return CheckResult(name, False, "the model has no input shape yet: start it with keras.Input(...)")
    return model


def check_generator(fn: Callable) -> CheckResult:
    """`fn(latent_dim) -> keras.Model`: noise (batch, latent_dim) -> images (batch, 28, 28, 1) in [-1, 1]."""
    name = "generator"
    model = _built(name, fn, 16)
    if isinstance(model, CheckResult):
        return model
    if tuple(model.input_shape) != (None, 16):
        return CheckResult(name, False, f"its input shape is {model.input_shape}, not (None, latent_dim) = (None, 16). "
                           "Hint: start from keras.Input((latent_dim,))")
    if tuple(model.output_shape) != (None, 28, 28, 1):
        return CheckResult(name, False, f"it draws {model.output_shape[1:]}, not (28, 28, 1): two stride-2 "
                           "Conv2DTranspose layers take 7×7 to 28×28")
    z = tf.random.stateless_normal([64, 16], seed=[0, 1]) * 30.0  # large noise: an unbounded output shows
    images = model(z, training=False).numpy()
    if images.min() < -1.0 - 1e-6 or images.max() > 1.0 + 1e-6:
        return CheckResult(name, False, f"its pixels reach [{images.min():.2f}, {images.max():.2f}]: the data is in "
                           "[-1, 1]. Hint: end with activation='tanh'")
    if images.min() >= 0:
        return CheckResult(name, False, "its pixels are never negative (a sigmoid or ReLU at the end?): the data is "
                           "in [-1, 1]. Hint: end with activation='tanh'")
    if np.ptp(images, axis=0).max() < 1e-6:
        return CheckResult(name, False, "every noise vector gives the same image: the output ignores z")
    return CheckResult(name, True, "(batch, 16) -> (batch, 28, 28, 1), pixels in [-1, 1] even for large z, and "
                       "different noise gives different images")


def check_discriminator(fn: Callable) -> CheckResult:
    """`fn(image_shape) -> keras.Model`: images (batch, 28, 28, 1) -> one logit each, (batch, 1)."""
    name = "discriminator"
    model = _built(name, fn, (28, 28, 1))
    if isinstance(model, CheckResult):
        return model
    if tuple(model.output_shape) != (None, 1):
        return CheckResult(name, False, f"its output shape is {model.output_shape}, not (None, 1): one score per "
                           "image. Hint: Flatten, then Dense(1)")
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "linear")
    # A logit is unbounded: on wildly different inputs a linear head leaves [0, 1] somewhere.
    probes = tf.random.stateless_normal([32, 28, 28, 1], seed=[0, 2]) * tf.linspace(0.1, 1000.0, 32)[:, None, None, None]
    outputs = model(probes, training=False).numpy()
    if activation != "linear" or (outputs.min() >= 0 and outputs.max() <= 1):
        what = f"its last layer applies {activation}" if activation != "linear" else "its outputs never leave [0, 1]"
        return CheckResult(name, False, f"{what}: D must return logits, which the losses turn into probabilities. "
                           "Hint: Dense(1) without an activation, and no sigmoid after it")
    if any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers):
        note = " (it has BatchNorm: fine for a DCGAN, but not as a WGAN-GP critic, whose penalty is per example)"
    else:
        note = ""
    return CheckResult(name, True, f"(batch, 28, 28, 1) -> (batch, 1) raw logits, no sigmoid{note}")


def check_cgan_input(fn: Callable) -> CheckResult:
    """`fn(noise, labels, num_classes) -> tensor`: a cGAN generator's input, z with the one-hot label
    appended (batch, latent_dim + num_classes)."""
    rng = np.random.default_rng(2)
    cases = [(tf.constant(rng.normal(size=(6, 4)), tf.float32), tf.constant([0, 3, 9, 3, 1, 0]), 10),
             (tf.constant(rng.normal(size=(3, 8)), tf.float32), tf.constant([2, 1, 0]), 3)]

    mistakes = [Misconception("It appends the label as a number: the network would read 9 as 'more' than 3",
                              "one-hot it: tf.one_hot(labels, num_classes)",
                              lambda z, y, k: tf.concat([z, tf.cast(y, tf.float32)[:, None]], axis=1))]
    verified = "z unchanged in the first latent_dim columns, the label one-hot in the last num_classes"
    result = judge("cgan_input", fn, one_hot_input, cases, verified, mistakes)
    if not result.passed and result.done:  # the label first is as good an input
        first = judge("cgan_input", fn, lambda z, y, k: tf.concat([tf.one_hot(y, k), z], axis=1), cases, verified)
        if first.passed:
            return CheckResult("cgan_input", True, "the one-hot label, then z: as good an input as tfgan's order "
                               "(z first), since the first layer sees both")
    return result


def one_hot_input(noise, labels, num_classes):
    """A conditional generator's input: z with the one-hot label appended (Mirza & Osindero 2014)."""
    return tf.concat([noise, tf.one_hot(labels, num_classes)], axis=1)


def check_slerp(fn: Callable) -> CheckResult:
    """`fn(z0, z1, t) -> z`: the point a fraction t along the great circle from z0 to z1."""
    rng = np.random.default_rng(3)
    z0, z1 = rng.normal(size=16), rng.normal(size=16)
    cases = [(z0, z1, 0.0), (z0, z1, 1.0), (z0, z1, 0.5), (z0, z1, 0.25), (z1, -0.3 * z0 + z1, 0.7)]
    mistakes = [Misconception("It interpolates linearly: half-way between two Gaussian vectors the norm shrinks, "
                              "to a point that noise of this size never reaches",
                              "follow the great circle: sin((1-t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1",
                              lambda a, b, t: (1 - t) * np.asarray(a) + t * np.asarray(b))]
    return judge("slerp", fn, slerp, cases, "z0 at t=0, z1 at t=1, and the great-circle points between",
                 mistakes)


def ema_update(average, weights, decay):
    return decay * np.asarray(average) + (1.0 - decay) * np.asarray(weights)


def check_ema_update(fn: Callable) -> CheckResult:
    """`fn(average, weights, decay) -> new average`: one step of G's exponential moving average."""
    rng = np.random.default_rng(4)
    cases = [(rng.normal(size=5), rng.normal(size=5), 0.999), (np.zeros(3), np.ones(3), 0.9),
             (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), 0.5)]
    mistakes = [Misconception("It swaps the roles: the new weights get the weight `decay`",
                              "the average keeps `decay` of itself and takes (1 - decay) of the new weights",
                              lambda a, w, d: d * np.asarray(w) + (1 - d) * np.asarray(a))]
    return judge("ema_update", fn, ema_update, cases, "decay · average + (1 - decay) · weights: after one update "
                 "from zeros with decay 0.9 the average is 0.1", mistakes)


def check_frechet_distance(fn: Callable) -> CheckResult:
    """`fn(mu1, sigma1, mu2, sigma2) -> float`: the Fréchet distance of two Gaussians (FID's formula)."""
    rng = np.random.default_rng(5)
    # Correlated axes in the second sample: with diagonal covariances an entry-by-entry square root
    # would give the same trace as the matrix square root, and pass.
    mixing = np.array([[1.0, 0.8, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.6, 0.5, 0.0], [0.3, 0.0, 0.0, 1.0]])
    a, b = rng.normal(size=(400, 4)), rng.normal(size=(400, 4)) @ mixing + 0.7

    def stats(x):
        return x.mean(axis=0), np.cov(x, rowvar=False)

    (m1, s1), (m2, s2) = stats(a), stats(b)
    cases = [(m1, s1, m1, s1), (m1, s1, m2, s2), (np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))]

    mistakes = [Misconception("It leaves out the cross term -2 tr((Σ1 Σ2)^½)", "FD = |μ1 - μ2|² + tr(Σ1 + Σ2 - "
                              "2 (Σ1 Σ2)^½)", lambda m1, s1, m2, s2: np.sum((m1 - m2) ** 2) + np.trace(s1 + s2)),
                *(Misconception("It takes the square root entry by entry, not the matrix square root",
                                "(Σ1 Σ2)^½ is a matrix square root: scipy.linalg.sqrtm, or eigenvalues",
                                lambda m1, s1, m2, s2, root=root: np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * root(s1, s2)))
                  for root in (lambda s1, s2: np.sqrt(np.abs(s1 @ s2)), lambda s1, s2: np.sqrt(np.abs(s1 * s2)))),
                Misconception("It does not square the distance between the means", "the first term is |μ1 - μ2|²",
                              lambda m1, s1, m2, s2: np.linalg.norm(m1 - m2)
                              + frechet_distance_of_gaussians(m1, s1, m1, s2))]
    return judge("frechet_distance", fn, frechet_distance_of_gaussians, cases, "0 for identical Gaussians, "
                 "|Δμ|² + (σ1 - σ2)² per axis for diagonal ones, and tfgan's own value for correlated ones", mistakes)
