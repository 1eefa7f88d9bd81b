"""Bring your own step: a train step written here, in the TF tutorial's shape, runs in tfgan's loop."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan import losses, presets, run
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.media import frames, history

# No DiffAugment or EMA: the step below is the plain one, so it must match the library's exactly.
TINY = presets.get_preset("mnist-dcgan").replace(width=8, hidden=0, latent_dim=16, batch_size=16, num_samples=16,
                                          sample_every=5, checkpoint_every=10, diffaugment="", ema=0.0)


def _trainer(run_dir, digits, preset=TINY, **kw):
    return run.start_run(preset, run_dir, images=Images(digits[:128], None, "test digits"), verbose=False,
                         **kw)


def tutorial_step(trainer):
    """The TF DCGAN tutorial's train_step, as a student writes it (the trainer supplies the state)."""
    generator, discriminator = trainer.generator, trainer.discriminator

    def train_step(images):
        noise = trainer.draw_noise(tf.shape(images)[0])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = losses.nonsaturating_g_loss(fake_output)
            disc_loss = losses.nonsaturating_d_loss(real_output, fake_output)
        gen_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        disc_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        trainer.g_optimizer.apply_gradients(zip(gen_grads, generator.trainable_variables))
        trainer.d_optimizer.apply_gradients(zip(disc_grads, discriminator.trainable_variables))
        return {"d_loss": disc_loss, "g_loss": gen_loss}

    return train_step


def test_own_step_gets_the_whole_loop(tmp_path, digits):
    trainer, images = _trainer(tmp_path / "run", digits, steps_per_call=3)
    result = trainer.fit(images.images, 12, progress=False, train_step=tutorial_step(trainer))
    assert result.step == 12 and trainer.saved_step == 12
    assert trainer.train_steps.experimental_get_tracing_count() == 1  # several steps per call, one trace
    assert [row["step"] for row in result.history] == list(range(1, 13))
    assert set(result.history[0]) == {"step", "epoch", "d_loss", "g_loss", "images/s"}
    assert [s for s, _ in frames.list_frames(tmp_path / "run" / "frames")] == [0, 5, 10, 12]
    assert (tmp_path / "run" / "progress.gif").is_file() and (tmp_path / "run" / "losses.png").is_file()
    assert [row["step"] for row in history.read_history(tmp_path / "run")] == list(range(1, 13))


def test_own_step_learns_exactly_what_the_library_step_learns(tmp_path, digits):
    library, images = _trainer(tmp_path / "library", digits, seed=3)
    library.fit(images.images, 8, progress=False)
    own, _ = _trainer(tmp_path / "own", digits, seed=3)
    own.fit(images.images, 8, progress=False, train_step=tutorial_step(own))
    for a, b in zip(library.generator.get_weights() + library.discriminator.get_weights(),
                    own.generator.get_weights() + own.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_own_step_resumes_bit_identically(tmp_path, digits):
    whole, images = _trainer(tmp_path / "whole", digits)
    whole.fit(images.images, 12, progress=False, train_step=tutorial_step(whole))
    first, _ = _trainer(tmp_path / "split", digits)
    first.fit(images.images, 7, progress=False, train_step=tutorial_step(first))
    second, _ = _trainer(tmp_path / "split", digits)  # a new process would do the same: restore, go on
    assert int(second.step) == 7
    second.fit(images.images, 12, progress=False, train_step=tutorial_step(second))
    np.testing.assert_array_equal(whole.generate(), second.generate())
    for a, b in zip(whole.d_optimizer.variables, second.d_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_wrong_step_gets_one_line(tmp_path, digits):
    trainer, images = _trainer(tmp_path / "run", digits)

    def forgets_to_return(images):
        trainer.draw_noise(4)

    with pytest.raises(TfganError, match="returned NoneType, not a dict of losses"):
        trainer.fit(images.images, 2, progress=False, train_step=forgets_to_return)

    def logs_a_batch(images):
        return {"D(x)": tf.sigmoid(trainer.discriminator(images))}

    with pytest.raises(TfganError, match=r"log 'D\(x\)' has shape \(16, 1\): log scalars"):
        trainer.fit(images.images, 2, progress=False, train_step=logs_a_batch)
    with pytest.raises(TfganError, match="must be a function of a batch"):
        trainer.use_train_step("train_step")
    assert int(trainer.step) == 0
