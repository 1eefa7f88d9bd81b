"""Checks of the losses a student writes: D's and G's, label smoothing, the optimal D, the gradient
penalty, weight clipping. Each probes values on known cases (a coin-toss D, a sure D, a wrong D)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfgan import losses
from tfgan.exercises.probe import CheckResult, Misconception, NotDone, judge, not_done, one_line, scalar

LOG4 = float(np.log(4.0))


def _bce(logits, target):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), target), logits))


def _prob_bce(logits, target, eps: float = 1e-7):
    """Binary cross-entropy that takes its input for a probability (from_logits=False): clipped, as Keras
    does, since a logit is no probability."""
    p = tf.clip_by_value(logits, eps, 1.0 - eps)
    return -tf.reduce_mean(target * tf.math.log(p) + (1.0 - target) * tf.math.log(1.0 - p))


def _logit_cases() -> list[tuple[tf.Tensor, tf.Tensor]]:
    rng = np.random.default_rng(0)
    cases = [np.zeros((8, 1)), np.full((8, 1), 2.0), np.full((8, 1), -3.0), rng.normal(0, 3, (16, 1))]
    fakes = [np.zeros((8, 1)), np.full((8, 1), -2.0), np.full((8, 1), 1.0), rng.normal(0, 3, (16, 1))]
    return [(tf.constant(r, tf.float32), tf.constant(f, tf.float32)) for r, f in zip(cases, fakes)]


# --- D's loss -----------------------------------------------------------------------------------------

D_LOSS_MISTAKES = [
    Misconception("It swaps the labels: real images are scored against 0 and fakes against 1",
                  "D should say 1 (real) for real images and 0 (fake) for generated ones",
                  lambda r, f: _bce(r, 0.0) + _bce(f, 1.0)),
    Misconception("It treats the logits as probabilities (a cross-entropy with from_logits=False, or "
                  "log(D(x)) on the raw scores)",
                  "D returns logits; use tf.nn.sigmoid_cross_entropy_with_logits or "
                  "BinaryCrossentropy(from_logits=True)", lambda r, f: _prob_bce(r, 1.0) + _prob_bce(f, 0.0)),
    Misconception("It applies the sigmoid twice: a sigmoid on the logits, then a loss that applies its own",
                  "pass the raw logits to a from_logits=True loss",
                  lambda r, f: _bce(tf.sigmoid(r), 1.0) + _bce(tf.sigmoid(f), 0.0)),
    Misconception("It sums over the batch instead of averaging", "the loss would grow with the batch size: use "
                  "tf.reduce_mean", lambda r, f: (_bce(r, 1.0) + _bce(f, 0.0)) * tf.cast(tf.size(r), tf.float32)),
    Misconception("Its sign is flipped: that is what D maximises", "a loss is minimised: -log D(x) - log(1 - D(G(z)))",
                  lambda r, f: -(_bce(r, 1.0) + _bce(f, 0.0))),
    Misconception("It scores only the real images", "add the fake images' term, against the label 0",
                  lambda r, f: _bce(r, 1.0)),
    Misconception("It scores only the fake images", "add the real images' term, against the label 1",
                  lambda r, f: _bce(f, 0.0)),
]


def check_d_loss(fn: Callable) -> CheckResult:
    """`fn(real_logits, fake_logits) -> scalar`: the standard discriminator loss on logits."""
    cases = _logit_cases()
    verified = (f"log 4 = {LOG4:.4f} at a coin-toss D (both logits 0), near 0 for a D that is sure and right, "
                "large for one that is sure and wrong, and the exact cross-entropy on random logits")
    result = judge("d_loss", fn, lambda r, f: losses.nonsaturating_d_loss(r, f), cases, verified,
                   D_LOSS_MISTAKES, value=scalar)
    if not result.passed and result.done:  # the average of the two terms is a correct loss too (keras-io's)
        halved = judge("d_loss", fn, lambda r, f: losses.nonsaturating_d_loss(r, f) / 2, cases, verified, value=scalar)
        if halved.passed:
            return CheckResult("d_loss", True, "half the standard loss everywhere (log 2 at a coin-toss D): you "
                               "average the real and fake terms where the TF tutorial adds them (log 4), which "
                               "trains the same way; near 0 for a sure and right D, large for a sure and wrong one")
    return result


# --- G's loss -----------------------------------------------------------------------------------------

G_LOSS_MISTAKES = [
    Misconception("It is the saturating (minimax) loss log(1 - D(G(z))): its gradient vanishes exactly when D "
                  "is sure the fakes are fake, early in training",
                  "the non-saturating loss maximises log D(G(z)) instead: the cross-entropy of the fakes "
                  "against the label 1 (real)", lambda f: tf.reduce_mean(-tf.nn.softplus(f))),
    Misconception("It scores the fakes against the label 0 (fake): G would learn to be caught",
                  "G wants D to call its images real: target 1", lambda f: _bce(f, 0.0)),
    Misconception("It treats the logits as probabilities", "use a from_logits=True cross-entropy",
                  lambda f: _prob_bce(f, 1.0)),
    Misconception("It sums over the batch instead of averaging", "use tf.reduce_mean",
                  lambda f: _bce(f, 1.0) * tf.cast(tf.size(f), tf.float32)),
    Misconception("Its sign is flipped", "minimise -log D(G(z)) = softplus(-logit)", lambda f: -_bce(f, 1.0)),
]


def check_g_loss(fn: Callable) -> CheckResult:
    """`fn(fake_logits) -> scalar`: the non-saturating generator loss."""
    cases = [(f,) for _, f in _logit_cases()] + [(tf.fill([8, 1], -10.0),)]
    verified = ("log 2 at a coin-toss D, near 0 when D accepts the fakes, and about 10 (a gradient of 1 per "
                "fake, not 0) when D is sure they are fake: the loss does not saturate")
    return judge("g_loss", fn, losses.nonsaturating_g_loss, cases, verified, G_LOSS_MISTAKES, value=scalar)


# --- one-sided label smoothing, the optimal discriminator ------------------------------------------

SMOOTHING_MISTAKES = [
    Misconception("It smooths both labels (0.9 for real and 0.1 for fake)", "smoothing the fake label rewards G's "
                  "worst samples; keep the fakes' target at 0 (one-sided)",
                  lambda r, f: _bce(r, 0.9) + _bce(f, 0.1)),
    Misconception("It smooths the fake label instead of the real one", "the real target becomes 0.9, the fake stays 0",
                  lambda r, f: _bce(r, 1.0) + _bce(f, 0.1)),
    Misconception("It aims the real images at 0.1", "one-sided smoothing lowers the real target from 1 to 0.9",
                  lambda r, f: _bce(r, 0.1) + _bce(f, 0.0)),
    Misconception("It does not smooth at all", "use the target 0.9 for the real images",
                  lambda r, f: _bce(r, 1.0) + _bce(f, 0.0)),
    Misconception("It uses Keras's label_smoothing=0.1, which moves both targets halfway (0.95 for real, 0.05 "
                  "for fake)", "one-sided smoothing sets the real target to 0.9 and leaves the fakes at 0",
                  lambda r, f: _bce(r, 0.95) + _bce(f, 0.05)),
]


def check_label_smoothing(fn: Callable) -> CheckResult:
    """`fn(real_logits, fake_logits) -> scalar`: D's loss with one-sided label smoothing (real target 0.9)."""
    return judge("label_smoothing", fn, lambda r, f: losses.nonsaturating_d_loss(r, f, real_label=0.9),
                 _logit_cases(), "real images aimed at 0.9, fakes at 0: D's best logit for a real image is now "
                 "log 9 ≈ 2.2 instead of infinity", SMOOTHING_MISTAKES, value=scalar)


def optimal_discriminator(p_data, p_g):
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, proposition 1)."""
    return np.asarray(p_data) / (np.asarray(p_data) + np.asarray(p_g))


def _ratio(p_data, p_g):
    # As a student's `p_data / p_g` gives it: infinite where p_g is 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(p_data, np.float64) / np.asarray(p_g, np.float64)


def check_optimal_discriminator(fn: Callable) -> CheckResult:
    """`fn(p_data, p_g) -> D*`: the best discriminator for fixed G, from the two densities (numpy arrays)."""
    rng = np.random.default_rng(1)
    cases = [(np.array([0.2, 1.0, 3.0]), np.array([0.2, 1.0, 3.0])),
             (np.array([1.0, 0.5, 0.0, 2.0]), np.array([0.0, 0.5, 1.0, 6.0])), (rng.random(50), rng.random(50))]
    mistakes = [Misconception("It is p_g / (p_data + p_g): the swapped fraction",
                              "D* is the probability that x came from the data", lambda d, g: g / (d + g)),
                Misconception("It is p_data / p_g", "normalise by the total density p_data + p_g", _ratio)]
    return judge("optimal_discriminator", fn, optimal_discriminator, cases,
                 "½ wherever the densities are equal (the coin toss of a perfect G), 1 where only data lives, 0 "
                 "where only fakes do, and the ratio in between", mistakes)


# --- the gradient penalty ---------------------------------------------------------------------------


class _LinearCritic:
    """f(x) = <w, x> per example: its gradient is w everywhere, of norm |w|. It records what it is shown."""

    def __init__(self, shape, norm: float):
        w = np.ones(shape, np.float32)
        self.w = tf.Variable(w * norm / np.linalg.norm(w))
        self.seen: list[np.ndarray] = []

    def __call__(self, x, training=True):
        if not isinstance(x, tf.Tensor) or x.dtype != tf.float32:
            x = tf.cast(x, tf.float32)
        if tf.executing_eagerly():
            self.seen.append(x.numpy())
        return tf.reduce_sum(x * self.w, axis=list(range(1, x.shape.rank)))[:, None]


def check_gradient_penalty(fn: Callable) -> CheckResult:
    """`fn(critic, real_images, fake_images) -> scalar`: WGAN-GP's penalty, α drawn by fn itself."""
    name, shape, batch = "gradient_penalty", (8, 8, 1), 256
    real, fake = tf.ones([batch, *shape]), tf.zeros([batch, *shape])
    try:
        value = scalar(fn, (_LinearCritic(shape, 3.0), real, fake), copy_args=False)
        alphas_critic = _LinearCritic(shape, 1.0)
        scalar(fn, (alphas_critic, real, fake), copy_args=False)  # it records what it is shown
    except NotDone:
        return not_done(name)
    except Exception as e:  # noqa: BLE001 (a student's code may raise anything: say what, in one line)
        return CheckResult(name, False, one_line(e))
    wrong_norms = {9.0: "the squared norm itself (‖∇‖², not (‖∇‖ - 1)²)", 3.0: "the norm itself (‖∇‖, not its "
                   "distance from 1)", 64.0: "the squared norm's distance from 1 ((‖∇‖² - 1)², not (‖∇‖ - 1)²)",
                   2.0: "the distance from 1 without squaring it"}
    if not np.isclose(value, 4.0, rtol=1e-3):
        for wrong, what in wrong_norms.items():
            if np.isclose(value, wrong, rtol=1e-3):
                return CheckResult(name, False, f"For a critic whose gradient has norm 3 everywhere it gives "
                                   f"{value:.4g}: it penalises {what}. Hint: (3 - 1)² = 4")
        per_batch = (np.sqrt(batch) * 3.0 - 1.0) ** 2
        if np.isclose(value, per_batch, rtol=1e-2):
            return CheckResult(name, False, "It takes one norm over the whole batch instead of one per example. "
                               "Hint: reduce over every axis but the first (axis=[1, 2, 3])")
        return CheckResult(name, False, f"for a critic whose gradient has norm 3 everywhere it gives {value:.4g} "
                           "where (3 - 1)² = 4 is expected")
    if not alphas_critic.seen:
        return CheckResult(name, False, "it never called the critic on the interpolates")
    x_hat = alphas_critic.seen[0].reshape(batch, -1)  # real = 1, fake = 0: each entry is that pixel's α
    problem = _alpha_problem(x_hat)
    if problem:
        return CheckResult(name, False, problem)
    zero = _LinearCritic(shape, 0.0)  # a zero gradient: sqrt's derivative is infinite at 0
    try:
        with tf.GradientTape() as tape:
            penalty = fn(zero, real[:8], fake[:8])
        grad = tape.gradient(penalty, zero.w) if tf.is_tensor(penalty) else None
    except Exception as e:  # noqa: BLE001 (a student's code may raise anything: say what, in one line)
        return CheckResult(name, False, one_line(e))
    if grad is None:
        return CheckResult(name, False, "the penalty has no gradient with respect to the critic's weights: keep it "
                           "in TensorFlow (no .numpy()) and take the inner gradient with a GradientTape")
    if not np.all(np.isfinite(grad.numpy())):
        return CheckResult(name, False, "Where the critic's gradient is 0 the penalty's gradient is NaN: sqrt of a "
                           "zero norm (the paper's code has it too, and a trained critic rarely reaches 0, but "
                           "one NaN ends a run). Hint: tf.sqrt(tf.reduce_sum(tf.square(g), axis) + 1e-12)")
    alpha = x_hat[:, 0]
    return CheckResult(name, True, f"(‖∇f‖ - 1)² = 4 for a critic of gradient norm 3, one norm per example; α drawn "
                       f"per example, uniform on [0, 1] (mean {alpha.mean():.2f}, spread {alpha.std():.2f} over "
                       f"{batch} examples); a finite gradient where the critic's gradient is 0")


def _alpha_problem(x_hat: np.ndarray) -> str | None:
    """What is wrong with the interpolation weights read from x̂ = α·1 + (1 - α)·0, or None."""
    alpha = x_hat[:, 0]
    if np.ptp(x_hat, axis=1).max() > 1e-6:
        return ("It draws α per pixel, so x̂ is no point on the line between a real and a fake image. Hint: one α "
                "per example, shape (batch, 1, 1, 1)")
    if np.ptp(alpha) < 1e-6:
        return ("It draws one α for the whole batch: every example is interpolated at the same point. Hint: "
                "tf.random.uniform([batch, 1, 1, 1])")
    if alpha.min() < -1e-6 or alpha.max() > 1 + 1e-6:
        return (f"Its α runs from {alpha.min():.2f} to {alpha.max():.2f}: drawn from a normal distribution? The "
                "interpolates then leave the segment between real and fake. Hint: α ~ U[0, 1]")
    if abs(alpha.mean() - 0.5) > 0.1 or abs(alpha.std() - np.sqrt(1 / 12)) > 0.08:
        return (f"Its α has mean {alpha.mean():.2f} and spread {alpha.std():.2f}, not those of U[0, 1] (0.50, "
                "0.29). Hint: tf.random.uniform, between 0 and 1")
    return None


# --- weight clipping ---------------------------------------------------------------------------------


def check_weight_clipping(fn: Callable) -> CheckResult:
    """`fn(variables, clip_value)`: clip every variable into [-c, c] in place (the original WGAN)."""
    name = "weight_clipping"
    values = [np.linspace(-0.5, 0.5, 12, dtype=np.float32).reshape(3, 4), np.array([0.004, -0.02, 0.3], np.float32)]
    variables = [tf.Variable(v) for v in values]
    try:
        fn(variables, 0.01)
    except NotImplementedError:
        return not_done(name)
    except Exception as e:  # noqa: BLE001 (a student's code may raise anything: say what, in one line)
        return CheckResult(name, False, one_line(e))
    got = [v.numpy() for v in variables]
    want = [np.clip(v, -0.01, 0.01) for v in values]
    if all(np.allclose(g, v) for g, v in zip(got, values)):
        return CheckResult(name, False, "The variables are unchanged: computing clipped values is not enough. Hint: "
                           "assign them back, w.assign(tf.clip_by_value(w, -c, c))")
    if all(np.allclose(g, w) for g, w in zip(got, want)):
        return CheckResult(name, True, "every weight in [-0.01, 0.01], those inside left as they were, in place")
    if all(np.allclose(g, np.clip(v, 0.0, 0.01)) for g, v in zip(got, values)):
        return CheckResult(name, False, "It clips into [0, c]. Hint: the interval is [-c, c]")
    if all(np.allclose(g, np.minimum(v, 0.01)) for g, v in zip(got, values)):
        return CheckResult(name, False, "It clips only from above. Hint: tf.clip_by_value(w, -c, c)")
    return CheckResult(name, False, "after clipping at 0.01 some weights are outside [-0.01, 0.01] or changed "
                       "although they were inside")
