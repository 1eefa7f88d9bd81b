"""All of a GAN's loss arithmetic: the losses, their label targets, AC-GAN's class term, the gradient
penalty and weight clipping.

Each pair is (discriminator_loss(real_logits, fake_logits), generator_loss(fake_logits)), named as in
the course. Logits are raw scores: the sigmoid lives inside the cross-entropy, which is the
numerically stable way to write log(D(x)). `for_preset` composes a preset's label tricks (one-sided
smoothing, noisy labels) into the pair, so that a train step only ever calls `d_loss(real, fake)`.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from tfgan.errors import TfganError


def _mean_f32(x: tf.Tensor) -> tf.Tensor:
    # Under mixed precision the logits are float16; losses are summed in float32.
    return tf.reduce_mean(tf.cast(x, tf.float32))


# Non-saturating GAN (the TF tutorial's): D maximises log D(x) + log(1 - D(G(z))), G maximises log D(G(z)).
def nonsaturating_d_loss(real_logits, fake_logits, real_label=1.0, fake_label=0.0) -> tf.Tensor:
    """BCE(real, label) + BCE(fake, 0); real_label 0.9 is one-sided label smoothing.

    The labels may also be tensors shaped like the logits (noisy labels: some targets flipped).
    """
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    real = tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(real_logits) * real_label, real_logits)
    fake = tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(fake_logits) * fake_label, fake_logits)
    return tf.reduce_mean(real) + tf.reduce_mean(fake)


def nonsaturating_g_loss(fake_logits) -> tf.Tensor:
    """-log D(G(z)) = softplus(-logit): strong gradients while D still rejects the fakes."""
    return _mean_f32(tf.nn.softplus(-tf.cast(fake_logits, tf.float32)))


# Minimax: the original objective; G minimises log(1 - D(G(z))), which saturates early in training.
minimax_d_loss = nonsaturating_d_loss


def minimax_g_loss(fake_logits) -> tf.Tensor:
    """log(1 - D(G(z))) = -softplus(logit)."""
    return _mean_f32(-tf.nn.softplus(tf.cast(fake_logits, tf.float32)))


# Least squares GAN (Mao et al. 2017): targets 1 for real, 0 for fake, squared error on the raw score.
def least_squares_d_loss(real_logits, fake_logits) -> tf.Tensor:
    return 0.5 * _mean_f32(tf.square(tf.cast(real_logits, tf.float32) - 1.0)) + 0.5 * _mean_f32(
        tf.square(tf.cast(fake_logits, tf.float32))
    )


def least_squares_g_loss(fake_logits) -> tf.Tensor:
    return 0.5 * _mean_f32(tf.square(tf.cast(fake_logits, tf.float32) - 1.0))


# Hinge loss (used by SAGAN / BigGAN).
def hinge_d_loss(real_logits, fake_logits) -> tf.Tensor:
    return _mean_f32(tf.nn.relu(1.0 - tf.cast(real_logits, tf.float32))) + _mean_f32(
        tf.nn.relu(1.0 + tf.cast(fake_logits, tf.float32))
    )


def hinge_g_loss(fake_logits) -> tf.Tensor:
    return -_mean_f32(fake_logits)


# Wasserstein (Arjovsky et al. 2017): the critic's E[f(real)] - E[f(fake)] estimates the earth mover's
# distance when f is 1-Lipschitz; the critic minimises its negative.
def wasserstein_d_loss(real_logits, fake_logits) -> tf.Tensor:
    return _mean_f32(fake_logits) - _mean_f32(real_logits)


def wasserstein_g_loss(fake_logits) -> tf.Tensor:
    return -_mean_f32(fake_logits)


def safe_norm(x: tf.Tensor, axis, epsilon: float = 1e-12) -> tf.Tensor:
    """Euclidean norm whose gradient is finite at 0 (d sqrt(u)/du is infinite at u = 0)."""
    return tf.sqrt(tf.reduce_sum(tf.square(x), axis=axis) + epsilon)


def alpha_shape(x: tf.Tensor) -> tf.Tensor:
    """(batch, 1, 1, 1) for images, (batch, 1) for 2-D points: one interpolation weight per example."""
    return tf.concat([tf.shape(x)[:1], tf.ones([x.shape.rank - 1], tf.int32)], axis=0)


def gradient_penalty(critic: Callable, real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor | None = None,
                     loss_scale: tf.Tensor | float = 1.0):
    """WGAN-GP (Gulrajani et al. 2017): mean (‖∇f(x̂)‖ - 1)² on x̂ = αx + (1-α)x̃, α ~ U[0, 1].

    Returns (penalty, mean gradient norm). Pass `alpha` (shape (B, 1, 1, 1), or (B, 1) for 2-D points:
    one weight per example, uniform, not normal) to fix the draw in tests. Under mixed precision pass
    the optimizer's loss scale: this inner gradient is float16 too, and would underflow unscaled.
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    if alpha is None:
        alpha = tf.random.uniform(alpha_shape(real), 0.0, 1.0)  # uniform, not normal
    interpolates = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = tf.cast(critic(interpolates, training=True), tf.float32) * loss_scale
    grads = tape.gradient(scores, interpolates) / loss_scale
    norms = safe_norm(grads, axis=list(range(1, grads.shape.rank)))
    return tf.reduce_mean(tf.square(norms - 1.0)), tf.reduce_mean(norms)


def class_loss(labels: tf.Tensor, class_logits: tf.Tensor) -> tf.Tensor:
    """AC-GAN's auxiliary term (Odena et al. 2017): the cross-entropy of D's class prediction. D learns it
    on real images, G on its fakes (made to be classified as the label they were asked for)."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels, tf.cast(class_logits, tf.float32)))


def clip_weights(variables, clip_value: float) -> None:
    """The original WGAN's crude Lipschitz constraint (Arjovsky et al. 2017): every critic weight is
    clipped into [-c, c] after each critic update."""
    for w in variables:
        w.assign(tf.clip_by_value(w, -clip_value, clip_value))


def noisy_targets(logits: tf.Tensor, target: float, swapped_to: float, flip: float,
                  rng: tf.random.Generator) -> tf.Tensor:
    """Noisy labels: `target` for each logit, `swapped_to` instead (a real called fake, a fake called
    real) with probability `flip`."""
    swapped = rng.uniform(tf.shape(logits)) < flip
    return tf.where(swapped, swapped_to, target)


def for_preset(loss: str, real_label: float = 1.0, label_flip: float = 0.0,
               rng: tf.random.Generator | None = None) -> tuple[Callable, Callable]:
    """(d_loss(real_logits, fake_logits), g_loss(fake_logits)) for a loss name, with the label tricks
    composed in: one-sided smoothing (`real_label` < 1) and noisy labels (`label_flip` > 0, drawn from
    `rng`). Without tricks these are exactly the functions of `LOSSES`."""
    d_loss, g_loss = get(loss)
    cross_entropy = loss in ("nonsaturating", "minimax")
    if (real_label != 1.0 or label_flip > 0) and not cross_entropy:
        raise TfganError(f"label smoothing and flipping need a cross-entropy loss (nonsaturating, minimax), "
                         f"not {loss}")
    if label_flip > 0:
        def flipped_d_loss(real_logits, fake_logits):
            real_targets = noisy_targets(real_logits, real_label, 0.0, label_flip, rng)
            fake_targets = noisy_targets(fake_logits, 0.0, 1.0, label_flip, rng)
            return d_loss(real_logits, fake_logits, real_targets, fake_targets)
        return flipped_d_loss, g_loss
    if real_label != 1.0:
        return (lambda real_logits, fake_logits: d_loss(real_logits, fake_logits, real_label)), g_loss
    return d_loss, g_loss


LOSSES: dict[str, tuple[Callable, Callable]] = {
    "nonsaturating": (nonsaturating_d_loss, nonsaturating_g_loss),
    "minimax": (minimax_d_loss, minimax_g_loss),
    "lsgan": (least_squares_d_loss, least_squares_g_loss),
    "hinge": (hinge_d_loss, hinge_g_loss),
    "wgan-gp": (wasserstein_d_loss, wasserstein_g_loss),
    "wgan-clip": (wasserstein_d_loss, wasserstein_g_loss),
}


def get(name: str) -> tuple[Callable, Callable]:
    """(discriminator_loss, generator_loss) for a loss name."""
    if name not in LOSSES:
        raise TfganError(f"unknown loss '{name}': choose one of {', '.join(LOSSES)}")
    return LOSSES[name]


def is_wasserstein(name: str) -> bool:
    return name.startswith("wgan")
