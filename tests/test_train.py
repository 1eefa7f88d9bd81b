import numpy as np
import pytest
import tensorflow as tf

from tfgan import presets, run, trained
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.media.frames import list_frames
from tfgan.train import CHUNK_SECONDS, MAX_STEPS_PER_CALL, ChunkSizer

TINY = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
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


def test_several_steps_per_call_keep_every_step_and_end_on_frames_and_checkpoints(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits, steps_per_call=4)
    compiled, sizes = trainer.train_steps, []
    trainer.train_steps = lambda iterator, k: (sizes.append(int(k)), compiled(iterator, k))[1]
    result = trainer.fit(images.images, 20, progress=False)
    assert sizes == [4, 1] * 4  # a chunk ends at every frame (5, 10, 15, 20) and checkpoint (10, 20)
    assert compiled.experimental_get_tracing_count() == 1
    assert [row["step"] for row in result.history] == list(range(1, 21))
    assert [row["epoch"] for row in result.history] == [0] * 8 + [1] * 8 + [2] * 4
    assert result.step == 20 and result.epoch == 2 and trainer.saved_step == 20
    assert len({row["g_loss"] for row in result.history}) == 20  # every step's own logs, not the chunk's last
    assert [s for s, _ in list_frames(tmp_path / "run" / "frames")] == [0, 5, 10, 15, 20]


def test_automatic_steps_per_call_fill_a_quarter_of_a_second():
    assert CHUNK_SECONDS == 0.25
    sizer = ChunkSizer()
    sizer.observe(1, 3.0)  # the first call traced the function: ignored
    assert sizer.size == 1
    sizer.observe(1, 0.004)
    assert sizer.size == 62
    sizer.observe(62, 62 * 0.3)
    assert sizer.size == 1
    sizer.observe(1, 1e-9)
    assert sizer.size == MAX_STEPS_PER_CALL
    fixed = ChunkSizer(7)
    fixed.observe(7, 0.001)
    assert fixed.size == 7


def test_callbacks_choose_where_chunks_end(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits, steps_per_call=100)
    seen = []

    def every_3(trainer, logs):
        if logs["step"] % 3 == 0:
            seen.append((logs["step"], int(trainer.step)))

    every_3.every = 3
    trainer.callbacks.append(every_3)
    trainer.fit(images.images, 12, progress=False)
    assert seen == [(3, 3), (6, 6), (9, 9), (12, 12)]  # the networks as they were at those steps


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
    generator, _, _ = trained.load_generator(tmp_path / "run")
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


@pytest.mark.slow  # XLA compilation
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


def test_bfloat16_trains_unscaled_and_scores_in_float32(tmp_path, digits):
    import keras

    from tfgan.evaluation import metrics

    try:
        trainer, images = _trainer(tmp_path, digits, TINY, mixed_precision="bfloat16")
        assert trainer.generator.layers[0].compute_dtype == "bfloat16"
        assert trainer.generator.layers[0].variable_dtype == "float32"  # the weights stay float32
        # bfloat16 has float32's range: no loss scaling, so a step of one's own may run under it too.
        assert not isinstance(trainer.d_optimizer, keras.optimizers.LossScaleOptimizer)
        assert not trainer.needs_scaling
        result = trainer.fit(images.images, 3, progress=False)
        assert np.isfinite(result.history[-1]["d_loss"]) and trainer.generate().dtype == np.float32
        classifier = metrics.in_float32(metrics.build_mnist_classifier)  # the metrics never follow the policy
        assert {layer.compute_dtype for layer in classifier.layers} == {"float32"}
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # and leave it as it was
        with pytest.raises(TfganError, match="unknown mixed precision 'float8'"):
            _trainer(tmp_path, digits, TINY, mixed_precision="float8")
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


# --- conditional GANs -------------------------------------------------------------------------------

CGAN = presets.get_preset("mnist-cgan").replace(width=8, latent_dim=16, batch_size=16, sample_every=5,
                                         checkpoint_every=10)


def _labelled(digits, n=128):
    labels = np.arange(n) % 10  # stand-in labels: the plumbing, not the digits, is under test
    return Images(digits[:n], labels, "test digits")


@pytest.mark.parametrize("acgan", [False, True])
def test_conditional_gan_trains_on_labels(tmp_path, digits, acgan):
    preset = CGAN.replace(acgan=acgan)
    trainer, images = run.start_run(preset, tmp_path / "run", images=_labelled(digits), verbose=False)
    assert trainer.conditional
    # The progress grid: one row per class, the same noise down each column.
    np.testing.assert_array_equal(trainer.sample_labels.numpy().reshape(10, 10), np.repeat(np.arange(10), 10)
                                  .reshape(10, 10))
    noise = trainer.sample_noise.numpy().reshape(10, 10, -1)
    np.testing.assert_array_equal(noise[0], noise[9])
    head = [w.copy() for w in trainer.discriminator.get_weights()]
    with pytest.raises(Exception, match="labels"):
        trainer.fit(images.images, 2, progress=False)  # no labels
    result = trainer.fit(images.images, 6, labels=images.labels, progress=False)
    assert result.step == 6 and trainer.train_step.experimental_get_tracing_count() == 1
    assert all(not np.allclose(a, b) for a, b in zip(head, trainer.discriminator.get_weights())
               if a.ndim > 1)  # every kernel learnt, the label embedding and any class head included
    assert trainer.generate().shape == (100, 28, 28, 1)
    sevens = trainer.generate(trainer.sample_noise[:4], [7, 7, 7, 7])
    threes = trainer.generate(trainer.sample_noise[:4], [3, 3, 3, 3])
    assert not np.allclose(sevens, threes)
    generator, config, _ = trained.load_generator(tmp_path / "run")
    assert config["num_classes"] == 10 and config["acgan"] == acgan
    np.testing.assert_allclose(generator([trainer.sample_noise[:4], tf.constant([7] * 4)], training=False),
                               sevens, atol=1e-5)


def test_conditional_alternating_steps_take_labels_per_critic_step(tmp_path, digits):
    preset = presets.with_loss(CGAN, "wgan-gp").replace(d_steps=2)
    trainer, images = run.start_run(preset, tmp_path / "run", images=_labelled(digits), verbose=False)
    result = trainer.fit(images.images, 2, labels=images.labels, progress=False)
    assert int(trainer.d_optimizer.iterations) == 4 and np.isfinite(result.history[-1]["gp"])


def test_conditional_preset_needs_labels(tmp_path, digits):
    from tfgan.errors import TfganError

    with pytest.raises(TfganError, match="needs labels"):
        run.start_run(CGAN, tmp_path / "run", images=Images(digits[:128], None, "x"), verbose=False)
    with pytest.raises(TfganError, match="classes"):
        run.start_run(CGAN, tmp_path / "run", images=Images(digits[:128], np.arange(128), "x"), verbose=False)


# --- tricks -----------------------------------------------------------------------------------------


def test_label_flip_swaps_the_targets(tmp_path, digits):
    from tfgan import losses

    trainer, _ = _trainer(tmp_path, digits, TINY.replace(label_flip=1.0))  # every target flipped
    real, fake = tf.constant([[2.0], [1.0]]), tf.constant([[-1.0], [-3.0]])
    np.testing.assert_allclose(float(trainer.d_loss(real, fake)), float(losses.nonsaturating_d_loss(fake, real)),
                               rtol=1e-6)
    plain, _ = _trainer(tmp_path / "b", digits)
    assert abs(float(plain.d_loss(real, fake)) - float(losses.nonsaturating_d_loss(real, fake))) < 1e-6


def test_instance_noise_is_annealed_to_zero(tmp_path, digits):
    # DiffAugment off: its zero-padded shifts would also change the spread of what D sees.
    trainer, _ = _trainer(tmp_path, digits, TINY.replace(instance_noise=0.5, steps=100, diffaugment=""))
    trainer.discriminator = lambda images, training: images  # see exactly what D is given
    images = tf.zeros([64, 28, 28, 1])
    for step, sigma in ((0, 0.5), (50, 0.25), (100, 0.0)):
        trainer.step.assign(step)
        seen = trainer.discriminate(images)
        assert abs(float(tf.math.reduce_std(seen)) - sigma) < 0.02, (step, sigma)


def test_sphere_latent_has_radius_sqrt_dim(tmp_path, digits):
    trainer, _ = _trainer(tmp_path, digits, TINY.replace(latent="sphere"))
    for z in (trainer.draw_noise(32), trainer.sample_noise):
        np.testing.assert_allclose(np.linalg.norm(z, axis=1), np.sqrt(16), rtol=1e-5)
    gaussian, _ = _trainer(tmp_path / "b", digits)
    assert np.ptp(np.linalg.norm(gaussian.draw_noise(32), axis=1)) > 0.1


def test_spectral_norm_and_g_dropout_reach_the_models(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits, TINY.replace(spectral_norm=True, g_dropout=0.3))
    wrapped = sum(type(layer).__name__ == "SpectralNormalization" for layer in trainer.discriminator.layers)
    assert wrapped == 3 + bool(TINY.hidden)  # two convolutions, [the hidden Dense,] the logit
    assert any(type(layer).__name__ == "Dropout" for layer in trainer.generator.layers)
    assert trainer.fit(images.images, 2, progress=False).step == 2
    again, _ = _trainer(tmp_path, digits, TINY.replace(spectral_norm=True, g_dropout=0.3))  # resumes
    assert int(again.step) == 2
    for a, b in zip(trainer.discriminator.get_weights(), again.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)  # the power iteration's vector u included


def test_epoch_counter_follows_the_one_data_stream(tmp_path, digits):
    """8 steps an epoch: the counter turns at steps 8 and 16, and each step logs the epoch it read."""
    trainer, images = _trainer(tmp_path, digits)
    trainer.fit(images.images, 8, progress=False)
    assert int(trainer.epoch) == 1  # the checkpoint at step 8 says: next comes epoch 1
    # A checkpoint written at the last step of an epoch by an older tfgan had not yet counted it.
    trainer.epoch.assign(0)
    trainer.saved_step = -1  # write step 8 again
    trainer.save_checkpoint()
    again, _ = _trainer(tmp_path, digits)
    result = again.fit(images.images, 17, progress=False)
    assert result.epoch == 2
    assert [row["epoch"] for row in result.history if row["step"] > 8] == [1] * 8 + [2]


def test_max_seconds_ends_training_like_a_normal_end(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits, steps_per_call=2)
    result = trainer.fit(images.images, 50, progress=False, max_seconds=1e-6)
    assert result.step == 2 and not result.interrupted  # the first chunk already passes the limit
    assert trainer.saved_step == 2 and (tmp_path / "run" / "progress.gif").is_file()
    assert trainer.fit(images.images, 6, progress=False).step == 6  # and a later fit resumes from there
