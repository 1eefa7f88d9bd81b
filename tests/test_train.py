import numpy as np
import pytest

from tfgan import presets, run
from tfgan.data import Images

TINY = presets.get("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                          sample_every=5, checkpoint_every=10)


def _trainer(tmp_path, digits, preset=TINY, **kw):
    return run.start_run(preset, tmp_path / "run", images=Images(digits[:128], None, "test digits"),
                         verbose=False, **kw)


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def test_train_step_updates_both_networks(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits)
    g0, d0 = _weights(trainer.generator), _weights(trainer.discriminator)
    batch = images.images[:16].astype(np.float32) / 127.5 - 1
    logs = trainer.train_step(batch)
    assert set(logs) == {"d_loss", "g_loss", "D(x)", "D(G(z))", "g_grad_norm", "d_grad_norm"}
    assert int(trainer.step) == 1
    assert any(not np.allclose(a, b) for a, b in zip(g0, trainer.generator.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d0, trainer.discriminator.get_weights()))


def test_fit_traces_once_across_epochs_and_writes_media(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits)
    # 128 images at batch 16 = 8 steps an epoch: 20 steps cross two epoch boundaries.
    result = trainer.fit(images.images, 20, progress=False)
    assert result.step == 20 and result.epoch == 2
    assert trainer.train_step.experimental_get_tracing_count() == 1
    frames = sorted(p.name for p in (tmp_path / "run" / "frames").iterdir())
    assert frames == ["step_0000000.png", "step_0000005.png", "step_0000010.png", "step_0000015.png",
                      "step_0000020.png"]
    assert (tmp_path / "run" / "progress.gif").is_file()
    assert (tmp_path / "run" / "losses.png").is_file()
    assert [row["step"] for row in result.history] == list(range(1, 21))
    assert all(row["images/s"] > 0 for row in result.history)


@pytest.mark.parametrize("loss", ["wgan-gp", "wgan-clip", "hinge"])
def test_alternating_steps(tmp_path, digits, loss):
    preset = presets.with_loss(TINY, loss).replace(d_steps=2)
    trainer, images = _trainer(tmp_path, digits, preset)
    d_opt_iterations = int(trainer.d_optimizer.iterations)
    result = trainer.fit(images.images, 3, progress=False)
    assert result.step == 3
    # Two discriminator updates per generator update.
    assert int(trainer.d_optimizer.iterations) - d_opt_iterations == 6
    assert int(trainer.g_optimizer.iterations) == 3
    row = result.history[-1]
    if loss == "wgan-gp":
        assert {"wasserstein", "gp", "grad_norm"} <= set(row) and row["gp"] >= 0
    if loss == "wgan-clip":
        biggest = max(np.abs(w).max() for w in trainer.discriminator.get_weights())
        assert biggest <= preset.clip_value + 1e-7


def test_ema_generator_averages_and_is_saved(tmp_path, digits):
    preset = TINY.replace(ema=0.9)
    trainer, images = _trainer(tmp_path, digits, preset)
    trainer.fit(images.images, 6, progress=False)
    g = trainer.generator.get_weights()
    ema = trainer.ema_generator.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(g, ema))  # an average, not a copy
    # The frames show the averaged generator.
    np.testing.assert_allclose(trainer.generate(), np.asarray(trainer.ema_generator(trainer.sample_noise)), atol=1e-6)
    again, _ = _trainer(tmp_path, digits, preset)
    for a, b in zip(ema, again.ema_generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    generator, _, _ = run.load_generator(tmp_path / "run")
    np.testing.assert_allclose(generator(trainer.sample_noise, training=False),
                               trainer.ema_generator(trainer.sample_noise, training=False), atol=1e-6)


def test_stop_training_from_a_callback(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits)

    def stop_at_3(trainer, logs):
        if logs["step"] == 3:
            trainer.stop_training = True

    trainer.callbacks.append(stop_at_3)
    result = trainer.fit(images.images, 50, progress=False)
    assert result.step == 3 and not result.interrupted
    assert (tmp_path / "run" / "ckpt" / "checkpoint").is_file()


def test_mixed_precision_and_xla_steps_run_on_cpu(tmp_path, digits):
    import keras

    try:
        preset = presets.with_loss(TINY, "wgan-gp").replace(d_steps=2)
        trainer, images = _trainer(tmp_path, digits, preset, mixed_precision=True, jit_compile=True)
        assert trainer.generator.layers[0].compute_dtype == "float16"
        assert isinstance(trainer.d_optimizer, keras.optimizers.LossScaleOptimizer)
        result = trainer.fit(images.images, 3, progress=False)
        row = result.history[-1]
        assert np.isfinite(row["gp"]) and row["grad_norm"] > 0
        assert trainer.generate().dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_gradient_penalty_loss_scale_gives_the_same_penalty():
    import tensorflow as tf

    from tfgan import losses

    w = tf.constant(np.random.default_rng(0).normal(size=(4, 4, 1)).astype(np.float32))

    def critic(x, training=True):
        return tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]

    real, fake, alpha = tf.ones([4, 4, 4, 1]), tf.zeros([4, 4, 4, 1]), tf.fill([4, 1, 1, 1], 0.3)
    plain = losses.gradient_penalty(critic, real, fake, alpha)
    scaled = losses.gradient_penalty(critic, real, fake, alpha, loss_scale=1024.0)
    np.testing.assert_allclose([float(v) for v in plain], [float(v) for v in scaled], rtol=1e-5)
