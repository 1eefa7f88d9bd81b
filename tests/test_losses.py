import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan import losses

LOG2 = math.log(2.0)


def test_nonsaturating_values():
    zeros = tf.zeros([4, 1])
    assert float(losses.nonsaturating_d_loss(zeros, zeros)) == pytest.approx(2 * LOG2, rel=1e-6)
    assert float(losses.nonsaturating_g_loss(zeros)) == pytest.approx(LOG2, rel=1e-6)
    # A confident, correct discriminator has a small loss; the generator's is large.
    big = tf.fill([4, 1], 20.0)
    assert float(losses.nonsaturating_d_loss(big, -big)) < 1e-6
    assert float(losses.nonsaturating_g_loss(-big)) == pytest.approx(20.0, rel=1e-4)


def test_label_smoothing_changes_the_real_target():
    logits = tf.fill([2, 1], 3.0)
    smooth = float(losses.nonsaturating_d_loss(logits, -100 * tf.ones([2, 1]), real_label=0.9))
    p = 1 / (1 + math.exp(-3.0))
    assert smooth == pytest.approx(-(0.9 * math.log(p) + 0.1 * math.log(1 - p)), rel=1e-5)


def test_minimax_generator_saturates():
    # log(1 - D(G(z))) barely moves when D rejects the fakes: that is why non-saturating exists.
    x = tf.Variable([[-10.0]])
    with tf.GradientTape(persistent=True) as tape:
        mm, ns = losses.minimax_g_loss(x), losses.nonsaturating_g_loss(x)
    assert abs(float(tape.gradient(mm, x)[0, 0])) < 1e-4
    assert abs(float(tape.gradient(ns, x)[0, 0])) > 0.99
    assert float(losses.minimax_g_loss(tf.zeros([1, 1]))) == pytest.approx(-LOG2, rel=1e-6)


def test_least_squares_hinge_wasserstein():
    real, fake = tf.constant([[1.0], [3.0]]), tf.constant([[0.0], [-2.0]])
    assert float(losses.least_squares_d_loss(real, fake)) == pytest.approx(0.5 * 2 + 0.5 * 2)
    assert float(losses.least_squares_g_loss(fake)) == pytest.approx(0.5 * (1 + 9) / 2)
    assert float(losses.hinge_d_loss(real, fake)) == pytest.approx(0 + (1 + 0) / 2)
    assert float(losses.hinge_g_loss(fake)) == pytest.approx(1.0)
    assert float(losses.wasserstein_d_loss(real, fake)) == pytest.approx(-1.0 - 2.0)
    assert float(losses.wasserstein_g_loss(fake)) == pytest.approx(1.0)


def test_gradient_penalty_of_a_linear_critic():
    """f(x) = w·x has gradient w everywhere, so the norm is ‖w‖ whatever α is."""
    w = tf.constant(np.random.default_rng(0).normal(size=(4, 4, 1)).astype(np.float32))

    def critic(x, training=True):
        return tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]

    real = tf.random.normal([8, 4, 4, 1])
    fake = tf.random.normal([8, 4, 4, 1])
    norm = float(tf.norm(w))
    gp, mean_norm = losses.gradient_penalty(critic, real, fake)
    assert float(mean_norm) == pytest.approx(norm, rel=1e-5)
    assert float(gp) == pytest.approx((norm - 1) ** 2, rel=1e-4)


def test_gradient_penalty_alpha_is_uniform_and_used():
    seen = []

    def critic(x, training=True):
        seen.append(x)
        return tf.reduce_sum(x, axis=[1, 2, 3])[:, None]

    real, fake = tf.ones([2000, 1, 1, 1]), tf.zeros([2000, 1, 1, 1])
    losses.gradient_penalty(critic, real, fake)
    alpha = seen[0].numpy().ravel()  # interpolates of 1 and 0 equal α
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert abs(alpha.mean() - 0.5) < 0.03 and abs(alpha.std() - 1 / math.sqrt(12)) < 0.02


def test_safe_norm_has_finite_gradient_at_zero():
    x = tf.Variable(tf.zeros([2, 3, 3, 1]))
    with tf.GradientTape() as tape:
        n = tf.reduce_sum(losses.safe_norm(x, axis=[1, 2, 3]))
    g = tape.gradient(n, x)
    assert np.isfinite(g.numpy()).all()
    with tf.GradientTape() as tape:
        bad = tf.reduce_sum(tf.norm(tf.reshape(x, [2, -1]), axis=1))
    assert not np.isfinite(tape.gradient(bad, x).numpy()).all()  # why safe_norm exists


def test_label_tricks_need_a_cross_entropy_loss_and_flip_to_the_other_class():
    import pytest

    from tfgan.errors import TfganError

    with pytest.raises(TfganError, match="label smoothing and flipping need a cross-entropy loss"):
        losses.for_preset("lsgan", real_label=0.9)
    # With strong smoothing (real target 0.4) a flipped real target is still "fake", 0.
    d_loss, _ = losses.for_preset("nonsaturating", real_label=0.4, label_flip=1.0, rng=tf.random.Generator.from_seed(0))
    real, fake = tf.constant([[2.0]]), tf.constant([[-1.0]])
    np.testing.assert_allclose(float(d_loss(real, fake)), float(losses.nonsaturating_d_loss(fake, real)), rtol=1e-6)
