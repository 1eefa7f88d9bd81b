"""The exercise checks: right answers written several ways pass; each named mistake is named."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from tfgan import exercises, losses

BCE = keras.losses.BinaryCrossentropy(from_logits=True)


def _passes(name, fn):
    result = exercises.check(name, fn)
    assert result.passed, result.report
    return result


def _fails(name, fn, *words):
    result = exercises.check(name, fn)
    assert not result.passed
    for word in words:
        assert word in result.report, result.report
    return result


def test_names_and_unknown_check():
    assert len(exercises.names()) >= 12
    assert {"d_loss", "g_loss", "gradient_penalty", "train_step"} <= set(exercises.names())
    with pytest.raises(exercises.TfganError, match="no exercise check named 'd-loss'"):
        exercises.check("d-loss", len)
    assert "not str" in exercises.check("d_loss", "my_loss").report


def test_a_stub_is_not_done_and_use_falls_back_to_the_reference(capsys):
    def stub(real_logits, fake_logits):
        raise NotImplementedError("write the discriminator loss")

    result = exercises.check("d_loss", stub)
    assert not result.passed and not result.done and "not done yet" in result.report
    assert exercises.use("d_loss", stub) is losses.nonsaturating_d_loss
    assert "reference answer" in capsys.readouterr().out


def test_a_wrong_answer_is_named_and_the_notebook_goes_on_with_the_reference(capsys):
    def swapped(real_logits, fake_logits):
        return BCE(tf.zeros_like(real_logits), real_logits) + BCE(tf.ones_like(fake_logits), fake_logits)

    assert exercises.use("d_loss", swapped) is losses.nonsaturating_d_loss
    printed = capsys.readouterr().out
    assert printed.startswith("✗ d_loss: It swaps the labels") and "reference answer" in printed

    def right(real_logits, fake_logits):
        return BCE(tf.ones_like(real_logits), real_logits) + BCE(tf.zeros_like(fake_logits), fake_logits)

    assert exercises.use("d_loss", right) is right


# --- D's and G's losses -----------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    lambda r, f: BCE(tf.ones_like(r), r) + BCE(tf.zeros_like(f), f),  # the TF tutorial's
    lambda r, f: tf.reduce_mean(tf.nn.softplus(-r)) + tf.reduce_mean(tf.nn.softplus(f)),
    lambda r, f: tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(r), r)
                                + tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(f), f)),
    lambda r, f: BCE(tf.concat([tf.ones_like(r), tf.zeros_like(f)], 0), tf.concat([r, f], 0)),  # keras-io's
])
def test_d_loss_right_answers(answer):
    _passes("d_loss", answer)


@pytest.mark.parametrize("answer, words", [
    (lambda r, f: BCE(tf.zeros_like(r), r) + BCE(tf.ones_like(f), f), ["swaps the labels"]),
    (lambda r, f: keras.losses.BinaryCrossentropy()(tf.ones_like(r), r)
     + keras.losses.BinaryCrossentropy()(tf.zeros_like(f), f), ["logits as probabilities", "from_logits=True"]),
    (lambda r, f: BCE(tf.ones_like(r), tf.sigmoid(r)) + BCE(tf.zeros_like(f), tf.sigmoid(f)), ["sigmoid twice"]),
    (lambda r, f: tf.reduce_sum(tf.nn.softplus(-r)) + tf.reduce_sum(tf.nn.softplus(f)), ["sums over the batch"]),
    (lambda r, f: -BCE(tf.ones_like(r), r) - BCE(tf.zeros_like(f), f), ["sign is flipped"]),
    (lambda r, f: BCE(tf.ones_like(r), r), ["only the real images"]),
    (lambda r, f: BCE(tf.zeros_like(f), f), ["only the fake images"]),
    (lambda r, f: tf.nn.softplus(-r) + tf.nn.softplus(f), ["shape (8, 1), not one number"]),
    (lambda r, f: None, ["returned None"]),
])
def test_d_loss_mistakes_are_named(answer, words):
    _fails("d_loss", answer, *words)


@pytest.mark.parametrize("answer", [
    lambda f: BCE(tf.ones_like(f), f),
    lambda f: tf.reduce_mean(tf.nn.softplus(-f)),
    lambda f: -tf.reduce_mean(tf.math.log_sigmoid(f)),
])
def test_g_loss_right_answers(answer):
    _passes("g_loss", answer)


@pytest.mark.parametrize("answer, words", [
    (lambda f: -BCE(tf.zeros_like(f), f), ["saturating", "vanishes"]),  # minimise log(1 - D(G(z)))
    (lambda f: BCE(tf.zeros_like(f), f), ["against the label 0"]),
    (lambda f: keras.losses.BinaryCrossentropy()(tf.ones_like(f), f), ["probabilities"]),
    (lambda f: -BCE(tf.ones_like(f), f), ["sign is flipped"]),
    (lambda f: tf.reduce_sum(tf.nn.softplus(-f)), ["sums over the batch"]),
])
def test_g_loss_mistakes_are_named(answer, words):
    _fails("g_loss", answer, *words)


def test_label_smoothing():
    _passes("label_smoothing", lambda r, f: BCE(0.9 * tf.ones_like(r), r) + BCE(tf.zeros_like(f), f))
    _passes("label_smoothing", lambda r, f: losses.nonsaturating_d_loss(r, f, real_label=0.9))
    _fails("label_smoothing", lambda r, f: BCE(0.9 * tf.ones_like(r), r) + BCE(0.1 * tf.ones_like(f), f),
           "smooths both labels")
    _fails("label_smoothing", lambda r, f: losses.nonsaturating_d_loss(r, f), "does not smooth")
    _fails("label_smoothing", lambda r, f: BCE(tf.ones_like(r), r) + BCE(0.1 * tf.ones_like(f), f),
           "smooths the fake label instead")
    _fails("label_smoothing", lambda r, f: BCE(0.1 * tf.ones_like(r), r) + BCE(tf.zeros_like(f), f),
           "aims the real images at 0.1")


def test_label_smoothing_names_keras_two_sided_smoothing():
    keras_smoothed = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    _fails("label_smoothing", lambda r, f: keras_smoothed(tf.ones_like(r), r) + keras_smoothed(tf.zeros_like(f), f),
           "Keras's label_smoothing=0.1")


def test_answers_that_work_in_place_or_crash_without_a_message():
    def in_place(average, weights, decay):  # a correct answer that reuses its input's memory
        average *= decay
        average += (1 - decay) * weights
        return average

    _passes("ema_update", in_place)

    def bare_assert(real_logits, fake_logits):
        assert False

    assert exercises.check("d_loss", bare_assert).report.startswith("it raised AssertionError")
    assert not exercises.check("generator", lambda latent_dim: keras.Sequential([layers.Dense(4)])).passed


def test_optimal_discriminator():
    _passes("optimal_discriminator", lambda d, g: d / (d + g))
    _passes("optimal_discriminator", lambda d, g: 1 / (1 + g / d) if np.all(d > 0) else d / (d + g))
    _fails("optimal_discriminator", lambda d, g: g / (d + g), "swapped fraction")
    with np.errstate(divide="ignore"):  # as written in a notebook: infinite where p_g is 0
        _fails("optimal_discriminator", lambda d, g: d / g, "It is p_data / p_g")
    _fails("optimal_discriminator", lambda d, g: tf.constant(d) / tf.constant(g), "It is p_data / p_g")


# --- the gradient penalty and weight clipping --------------------------------------------------------


def gp_right(critic, real, fake):
    alpha = tf.random.uniform([tf.shape(real)[0], 1, 1, 1])
    x = alpha * real + (1 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = critic(x, training=True)
    grads = tape.gradient(scores, x)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
    return tf.reduce_mean((norms - 1.0) ** 2)


def _gp(alpha_shape=None, alpha_dist="uniform", norm=lambda g: tf.sqrt(tf.reduce_sum(g**2, [1, 2, 3]) + 1e-12),
        penalty=lambda n: (n - 1.0) ** 2):
    def gp(critic, real, fake):
        shape = alpha_shape(real) if alpha_shape else [tf.shape(real)[0], 1, 1, 1]
        alpha = tf.random.uniform(shape) if alpha_dist == "uniform" else tf.random.normal(shape, 0.5, 0.5)
        x = alpha * real + (1 - alpha) * fake
        with tf.GradientTape() as tape:
            tape.watch(x)
            scores = critic(x)
        return tf.reduce_mean(penalty(norm(tape.gradient(scores, x))))
    return gp


def test_gradient_penalty_right_answers():
    _passes("gradient_penalty", gp_right)
    _passes("gradient_penalty", lambda c, r, f: losses.gradient_penalty(c, r, f)[0])
    _passes("gradient_penalty", _gp(norm=lambda g: losses.safe_norm(tf.reshape(g, [tf.shape(g)[0], -1]), 1)))


@pytest.mark.parametrize("answer, words", [
    (_gp(alpha_shape=lambda r: [1, 1, 1, 1]), ["one α for the whole batch"]),
    (_gp(alpha_shape=lambda r: tf.shape(r)), ["α per pixel"]),
    (_gp(alpha_dist="normal"), ["normal distribution", "U[0, 1]"]),
    (_gp(penalty=lambda n: n**2), ["the squared norm itself"]),
    (_gp(penalty=lambda n: n), ["the norm itself"]),
    (_gp(norm=lambda g: tf.sqrt(tf.reduce_sum(g**2) + 1e-12) * tf.ones([tf.shape(g)[0]])), ["whole batch"]),
    (_gp(norm=lambda g: tf.sqrt(tf.reduce_sum(g**2, [1, 2, 3]))), ["sqrt of a zero norm"]),
    (_gp(norm=lambda g: tf.reduce_sum(g**2, [1, 2, 3])), ["(‖∇‖² - 1)²"]),
    (lambda c, r, f: float(gp_right(c, r, f)), ["no gradient"]),
])
def test_gradient_penalty_mistakes_are_named(answer, words):
    _fails("gradient_penalty", answer, *words)


def test_weight_clipping():
    _passes("weight_clipping", losses.clip_weights)
    _passes("weight_clipping", lambda vs, c: [v.assign(tf.minimum(tf.maximum(v, -c), c)) for v in vs])
    _fails("weight_clipping", lambda vs, c: [tf.clip_by_value(v, -c, c) for v in vs], "unchanged", "assign")
    _fails("weight_clipping", lambda vs, c: [v.assign(tf.clip_by_value(v, 0.0, c)) for v in vs], "[0, c]")
    _fails("weight_clipping", lambda vs, c: [v.assign(tf.minimum(v, c)) for v in vs], "only from above")


# --- networks and the pieces around them ----------------------------------------------------------


def _generator(last="tanh", size=7):
    def build(latent_dim):
        return keras.Sequential([keras.Input((latent_dim,)), layers.Dense(size * size * 8), layers.LeakyReLU(),
                                 layers.Reshape((size, size, 8)),
                                 layers.Conv2DTranspose(8, 4, strides=2, padding="same"), layers.LeakyReLU(),
                                 layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation=last)])
    return build


def test_generator_and_discriminator():
    from tfgan import models

    _passes("generator", _generator())
    _passes("generator", lambda z: models.mnist_generator(z, width=8))
    _fails("generator", _generator(last=None), "Hint: end with activation='tanh'")
    _fails("generator", _generator(last="sigmoid"), "never negative")
    _fails("generator", _generator(size=8), "(32, 32, 1)")

    def ignores_z(latent_dim):
        noise = keras.Input((latent_dim,))
        constant = layers.Lambda(lambda z: tf.ones_like(z[:, :1]))(noise)  # the same for every z
        return keras.Model(noise, _generator()(1)(constant))

    _fails("generator", ignores_z, "ignores z")
    _passes("discriminator", lambda shape: models.mnist_discriminator(shape, width=8))

    def with_batchnorm(shape):
        return keras.Sequential([keras.Input(shape), layers.Conv2D(8, 4, strides=2, padding="same"),
                                 layers.BatchNormalization(), layers.LeakyReLU(), layers.Flatten(), layers.Dense(1)])

    assert "not as a WGAN-GP critic" in _passes("discriminator", with_batchnorm).report

    def with_sigmoid(shape):
        return keras.Sequential([keras.Input(shape), layers.Flatten(), layers.Dense(1, activation="sigmoid")])

    _fails("discriminator", with_sigmoid, "applies sigmoid", "logits")

    def sigmoid_after_the_head(shape):
        return keras.Sequential([keras.Input(shape), layers.Flatten(), layers.Dense(1), layers.Activation("sigmoid"),
                                 layers.Reshape((1,))])

    _fails("discriminator", sigmoid_after_the_head, "never leave [0, 1]")


def test_cgan_input_slerp_ema_and_frechet_distance():
    from tfgan.tricks import latent

    _passes("cgan_input", lambda z, y, k: tf.concat([z, tf.one_hot(y, k)], axis=-1))
    _passes("cgan_input", lambda z, y, k: np.hstack([np.asarray(z), np.eye(k)[np.asarray(y)]]))
    _fails("cgan_input", lambda z, y, k: tf.concat([z, tf.cast(y, tf.float32)[:, None]], 1), "as a number")
    assert "as good an input" in _passes("cgan_input", lambda z, y, k: tf.concat([tf.one_hot(y, k), z], 1)).report
    _passes("slerp", lambda a, b, t: latent.slerp(a, b, t))
    _fails("slerp", lambda a, b, t: (1 - t) * a + t * b, "linearly")
    _passes("ema_update", lambda a, w, d: a + (1 - d) * (w - a))
    _fails("ema_update", lambda a, w, d: d * w + (1 - d) * a, "swaps the roles")

    def fd_right(m1, s1, m2, s2):
        import scipy.linalg

        return float(np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))

    def fd_eig(m1, s1, m2, s2):
        eig = np.linalg.eigvals(s1 @ s2)
        return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.abs(eig)).sum())

    try:
        import scipy  # noqa: F401
        _passes("frechet_distance", fd_right)
    except ImportError:
        pass
    _passes("frechet_distance", fd_eig)
    _fails("frechet_distance", lambda m1, s1, m2, s2: np.sum((m1 - m2) ** 2) + np.trace(s1 + s2), "cross term")
    # Entry by entry, of the matrix product or of the product of entries: both are named.
    for root in (lambda s1, s2: np.sqrt(np.abs(s1 @ s2)), lambda s1, s2: np.sqrt(s1 * s2)):
        _fails("frechet_distance", lambda m1, s1, m2, s2, root=root:
               np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * root(s1, s2)), "square root entry by entry")
    _fails("frechet_distance", lambda m1, s1, m2, s2: fd_eig(m1, s1, m2, s2) - np.sum((m1 - m2) ** 2)
           + np.linalg.norm(m1 - m2), "does not square the distance between the means")


# --- the whole train step, on toy data ---------------------------------------------------------------


def make_step(trainer, noise=None, update_g=True, update_d=True, g_sign=1.0, logged=("d_loss", "g_loss")):
    generator, discriminator = trainer.generator, trainer.discriminator

    def train_step(points):
        batch = tf.shape(points)[0]
        z = trainer.draw_noise(batch) if noise is None else noise([batch, trainer.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(z, training=True)
            real_logits, fake_logits = discriminator(points, training=True), discriminator(fake, training=True)
            g_loss = g_sign * losses.nonsaturating_g_loss(fake_logits)
            d_loss = losses.nonsaturating_d_loss(real_logits, fake_logits)
        if update_g:
            grads = g_tape.gradient(g_loss, generator.trainable_variables)
            trainer.g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        if update_d:
            grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
            trainer.d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))
        return {key: value for key, value in {"d_loss": d_loss, "g_loss": g_loss}.items() if key in logged}

    return train_step


@pytest.mark.slow  # a short toy training, stopped and resumed
def test_train_step_check_passes_a_right_step():
    result = _passes("train_step", make_step)
    assert "from the ring's modes" in result.report


TRAIN_STEP_MISTAKES = {  # each one a short toy training of its own: separate tests, shared by the workers
    "G not updated": ({"update_g": False}, "generator did not change"),
    "D not updated": ({"update_d": False}, "discriminator did not change"),
    "g_loss not logged": ({"logged": ("d_loss",)}, "logs lack g_loss"),
    "noise outside the checkpoint": ({"noise": tf.random.normal}, "tf.random.normal"),
    "G's loss with the wrong sign": ({"g_sign": -1.0}, "never came near the data"),
}


@pytest.mark.slow
@pytest.mark.parametrize("mistake", TRAIN_STEP_MISTAKES)
def test_train_step_check_names_the_mistake(mistake):
    kwargs, words = TRAIN_STEP_MISTAKES[mistake]
    _fails("train_step", lambda trainer: make_step(trainer, **kwargs), words)


def test_train_step_check_wants_the_step_function_returned():
    _fails("train_step", lambda trainer: 42, "return the step function itself")
