import keras
import pytest

from tfgan import models
from tfgan.errors import TfganError


def test_tutorial_models_match_the_official_tutorial():
    g, d = models.build("tutorial", 100, (28, 28, 1))
    assert g.output_shape == (None, 28, 28, 1)
    assert d.output_shape == (None, 1)
    # Parameter counts printed by the TensorFlow DCGAN tutorial's model.summary().
    assert g.count_params() == 2_330_944
    assert d.count_params() == 212_865


@pytest.mark.parametrize("channels", [1, 3])
def test_mnist_models_shapes(channels):
    g, d = models.build("mnist", 32, (28, 28, channels), width=16)
    assert g.input_shape == (None, 32)
    assert g.output_shape == (None, 28, 28, channels)
    assert d.output_shape == (None, 1)


@pytest.mark.parametrize("size", [32, 64, 96])
def test_dcgan_models_shapes_and_init(size):
    g, d = models.build("dcgan", 100, (size, size, 3), width=8)
    assert g.output_shape == (None, size, size, 3)
    assert d.output_shape == (None, 1)
    kernel = g.layers[0].kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.003  # N(0, 0.02) initialisation


def test_critic_has_no_batchnorm():
    _, critic = models.build("dcgan", 100, (64, 64, 3), width=8, critic=True)
    names = [type(layer).__name__ for layer in critic.layers]
    assert "BatchNormalization" not in names
    assert "LayerNormalization" in names
    _, mnist_critic = models.build("mnist", 100, (28, 28, 1), critic=True)
    assert all(type(layer).__name__ != "BatchNormalization" for layer in mnist_critic.layers)
    assert all(getattr(layer, "rate", 0) == 0 for layer in mnist_critic.layers)


def test_bad_sizes_are_clear_errors():
    with pytest.raises(TfganError, match="multiple of 16"):
        models.build("dcgan", 100, (60, 60, 3))
    with pytest.raises(TfganError, match="28×28"):
        models.build("mnist", 100, (32, 32, 1))
    with pytest.raises(TfganError, match="unknown architecture"):
        models.build("resnet", 100, (28, 28, 1))


@pytest.mark.parametrize("acgan", [False, True])
def test_cgan_models_take_a_label(acgan):
    import numpy as np
    import tensorflow as tf

    g, d = models.build("mnist", 16, (28, 28, 1), width=8, num_classes=10, acgan=acgan)
    assert models.is_conditional(g) and models.is_conditional(d) and models.num_classes(g) == 10
    assert g.input_shape == [(None, 16), (None,)] and g.output_shape == (None, 28, 28, 1)
    assert d.output_shape == ([(None, 1), (None, 10)] if acgan else (None, 1))
    noise = tf.constant(np.random.default_rng(0).normal(size=(1, 16)), tf.float32)
    # The same noise with another label gives another image: the label reaches the output.
    a, b = (g([noise, tf.constant([k])], training=False) for k in (3, 7))
    assert not np.allclose(a, b)
    a, b = (d([tf.zeros([1, 28, 28, 1]), tf.constant([k])], training=False) for k in (3, 7))
    assert not np.allclose(a[0] if acgan else a, b[0] if acgan else b)


def test_conditioning_needs_the_mnist_models():
    with pytest.raises(TfganError, match="'mnist' models"):
        models.build("dcgan", 100, (64, 64, 3), num_classes=10)
    with pytest.raises(TfganError, match="--acgan needs"):
        models.build("mnist", 100, (28, 28, 1), acgan=True)


def test_spectral_norm_wraps_d_and_normalises_its_weights():
    import numpy as np
    import tensorflow as tf

    _, d = models.build("mnist", 16, (28, 28, 1), width=8, spectral_norm=True)
    wrapped = [layer for layer in d.layers if type(layer).__name__ == "SpectralNormalization"]
    assert len(wrapped) == 3  # two Conv2D and the Dense
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 28, 28, 1)), tf.float32)
    for _ in range(20):  # each training call runs a power-iteration step and renormalises the kernel
        d(x, training=True)
    for layer in wrapped:
        kernel = layer.layer.kernel.numpy()
        top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert abs(top - 1.0) < 0.05, (layer.name, top)
    _, plain = models.build("mnist", 16, (28, 28, 1), width=8)
    assert all(type(layer).__name__ != "SpectralNormalization" for layer in plain.layers)


def test_generator_dropout_makes_training_passes_random():
    import numpy as np
    import tensorflow as tf

    noise = tf.constant(np.random.default_rng(0).normal(size=(4, 16)), tf.float32)
    for rate, differ in ((0.0, False), (0.5, True)):
        g, _ = models.build("mnist", 16, (28, 28, 1), width=8, g_dropout=rate)
        assert any(type(layer).__name__ == "Dropout" for layer in g.layers) == differ
        assert (not np.allclose(g(noise, training=True), g(noise, training=True))) == differ


def test_discriminator_dropout_rate_is_a_setting():
    """d_dropout 0 makes D's training passes deterministic; the layers stay, so checkpoints line up."""
    import numpy as np
    import tensorflow as tf

    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, size=(4, 28, 28, 1)), tf.float32)
    shapes = []
    for rate, random in ((0.0, False), (0.3, True)):
        _, d = models.build("mnist", 16, (28, 28, 1), width=8, d_dropout=rate)
        assert (not np.allclose(d(images, training=True), d(images, training=True))) == random
        shapes.append([w.shape for w in d.weights])
    assert shapes[0] == shapes[1]


@pytest.mark.parametrize("num_classes", [0, 10])
def test_hidden_layer_in_both_models(num_classes):
    """hidden=N puts a Dense(N) after z in G and before D's logit, conditional models included."""
    g0, d0 = models.build("mnist", 16, (28, 28, 1), width=8, num_classes=num_classes)
    g, d = models.build("mnist", 16, (28, 28, 1), width=8, num_classes=num_classes, hidden=24)
    units = [[layer.units for layer in m.layers if type(layer).__name__ == "Dense"] for m in (g, d)]
    assert units[0][0] == 24 and 24 in units[1]
    assert len(g.layers) > len(g0.layers) and len(d.layers) > len(d0.layers)
    assert g.output_shape == g0.output_shape and d.output_shape == d0.output_shape
    with pytest.raises(TfganError, match="--hidden needs"):
        models.build("mlp", 16, (28, 28, 1), width=8, hidden=24)


def test_hidden_layer_in_the_dcgan_models():
    g0, d0 = models.build("dcgan", 16, (32, 32, 3), width=8)
    g, d = models.build("dcgan", 16, (32, 32, 3), width=8, hidden=24)
    units = [[layer.units for layer in m.layers if type(layer).__name__ == "Dense"] for m in (g, d)]
    assert units == [[24, 2 * 2 * 8 * 8], [24, 1]]  # G: hidden, then the projection; D: hidden, then the logit
    assert g.output_shape == g0.output_shape == (None, 32, 32, 3) and d.output_shape == d0.output_shape


def test_a_grayscale_preset_pointed_at_the_faces_takes_their_sizes():
    from tfgan import presets

    faces = presets.get_preset("anime-dcgan")
    adapted = presets.for_dataset(presets.get_preset("wgan-gp"), "anime")
    assert (adapted.image_size, adapted.channels, adapted.width, adapted.dataset) == (
        faces.image_size, 3, faces.width, "anime")
    assert (adapted.loss, adapted.d_steps) == ("wgan-gp", presets.get_preset("wgan-gp").d_steps)
    assert presets.for_dataset(presets.get_preset("wgan-gp"), "mnist") == presets.get_preset("wgan-gp")
    assert presets.for_dataset(faces, "faces") == faces


def test_the_wgan_gp_recipe_is_the_one_measured_and_its_critic_has_no_batchnorm():
    """The CPU recipe of benchmarks/RESULTS.md: a change to it needs a new measurement there."""
    from tfgan import presets, run

    p = presets.get_preset("wgan-gp")
    assert (p.loss, p.d_steps, p.width, p.hidden, p.g_lr, p.d_lr, p.beta_1, p.beta_2, p.diffaugment, p.ema) == (
        "wgan-gp", 1, 32, 256, 1.6e-3, 2e-4, 0.0, 0.9, "translation", 0.999)
    switched = presets.with_loss(presets.get_preset("mnist-dcgan"), "wgan-gp")  # --loss wgan-gp: the same optimizer
    assert (switched.g_lr, switched.d_lr, switched.beta_1, switched.beta_2, switched.d_steps) == (
        p.g_lr, p.d_lr, p.beta_1, p.beta_2, p.d_steps)
    _, critic = run.build_models(p, (28, 28, 1))
    norms = {type(layer).__name__ for layer in critic.layers if "Normalization" in type(layer).__name__}
    assert "BatchNormalization" not in norms  # BatchNorm would couple the samples the penalty treats one by one


def test_a_generator_without_batchnorm_has_none_and_keeps_its_biases():
    g, _ = models.build("mnist", 16, (28, 28, 1), width=8, hidden=32, g_batchnorm=False)
    assert not [layer for layer in g.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert all(layer.use_bias for layer in g.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)))
    g_bn, _ = models.build("mnist", 16, (28, 28, 1), width=8, hidden=32)
    assert len([layer for layer in g_bn.layers if isinstance(layer, keras.layers.BatchNormalization)]) == 3
    with pytest.raises(TfganError, match="unconditional 'mnist' models only"):
        models.build("dcgan", 16, (64, 64, 3), width=8, g_batchnorm=False)


def test_toy_generator_dropout_is_random_only_in_training_passes():
    import numpy as np
    import tensorflow as tf

    noise = tf.constant(np.random.default_rng(0).normal(size=(64, 16)), tf.float32)
    g, _ = models.build("toy", 16, (2,), g_dropout=0.3)
    assert any(type(layer).__name__ == "Dropout" for layer in g.layers)
    assert not np.allclose(g(noise, training=True), g(noise, training=True))
    np.testing.assert_array_equal(g(noise, training=False), g(noise, training=False))


def test_resize_convolution_generator_has_no_transposed_convolution():
    g, _ = models.build("mnist", 16, (28, 28, 1), width=8, g_upsample="resize")
    kinds = [type(layer).__name__ for layer in g.layers]
    assert g.output_shape == (None, 28, 28, 1)
    assert "Conv2DTranspose" not in kinds and kinds.count("UpSampling2D") == 2
    transposed, _ = models.build("mnist", 16, (28, 28, 1), width=8)
    assert "UpSampling2D" not in [type(layer).__name__ for layer in transposed.layers]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"architecture": "mnist", "g_upsample": "bilinear"}, "unknown upsampling 'bilinear'"),
    ({"architecture": "dcgan", "g_upsample": "resize"}, "unconditional 'mnist' models only"),
    ({"architecture": "toy", "g_upsample": "resize"}, "--g-upsample"),
])
def test_upsampling_choices_that_do_not_exist_are_refused(kwargs, message):
    architecture = kwargs.pop("architecture")
    shape = {"mnist": (28, 28, 1), "dcgan": (64, 64, 3), "toy": (2,)}[architecture]
    with pytest.raises(TfganError, match=message):
        models.build(architecture, 16, shape, **kwargs)


def test_a_smaller_draw_size_draws_and_judges_at_that_size():
    g, d = models.build("dcgan", 16, (64, 64, 3), width=8, draw_size=32)
    full_g, full_d = models.build("dcgan", 16, (64, 64, 3), width=8)
    assert g.output_shape == (None, 64, 64, 3) and d.output_shape == (None, 1)
    # G's last transposed convolution ends at 32×32, then one ×2 resize; D averages down to 32×32 first.
    assert g.layers[-2].output.shape[1:3] == (32, 32) and type(g.layers[-1]).__name__ == "UpSampling2D"
    assert type(d.layers[0]).__name__ == "AveragePooling2D" and d.layers[1].output.shape[1:3] == (16, 16)
    # The same layers at a quarter of the pixels: fewer weights only where a size enters them (G's projection
    # from z, D's verdict on its last map).
    assert g.count_params() < full_g.count_params() and d.count_params() < full_d.count_params()
    assert g.layers[4].count_params() == full_g.layers[4].count_params()  # the first transposed convolution
    # D sees G's picture much as G drew it: G's bilinear ×2 then D's 2×2 average blur it by under a pixel,
    # which leaves a smooth picture (a face's shading) as it was.
    import numpy as np

    ramp = np.linspace(-1, 1, 32, dtype="float32")
    picture = np.stack([*np.meshgrid(ramp, ramp), np.sin(3 * np.add.outer(ramp, ramp))], axis=-1)[None]
    judged = np.asarray(d.layers[0](g.layers[-1](picture)))  # G's last layer, then D's first
    assert judged.shape == picture.shape
    assert float(np.abs(judged - picture)[:, 1:-1, 1:-1].max()) < 0.05


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"draw_size": 48}, r"draw size 48 does not work for 64×64 images .*use --draw-size 32 \(or 0, full size\)"),
    ({"draw_size": 128}, "draw size 128 does not work"),
    ({"draw_size": 16}, "draw size 16 does not work"),
    ({"draw_size": 32, "size": 96}, "use --draw-size 32 or 48 "),
    ({"draw_size": 16, "size": 32}, "no smaller size works, use --draw-size 0"),
])
def test_draw_sizes_that_cannot_work_are_refused(kwargs, message):
    size = kwargs.pop("size", 64)
    if (size, kwargs["draw_size"]) == (96, 32):  # 32 divides 96: accepted, and the message is for 40
        models.build("dcgan", 16, (96, 96, 3), width=8, draw_size=32)
        kwargs["draw_size"] = 40
    with pytest.raises(TfganError, match=message):
        models.build("dcgan", 16, (size, size, 3), width=8, **kwargs)


def test_draw_size_and_minibatch_std_need_the_dcgan_models_and_no_critic():
    with pytest.raises(TfganError, match="built for the 'dcgan' models, not 'mnist'"):
        models.build("mnist", 16, (28, 28, 1), width=8, minibatch_std=True)
    with pytest.raises(TfganError, match="per-sample gradient penalty"):
        models.build("dcgan", 16, (64, 64, 3), width=8, critic=True, minibatch_std=True)


def test_minibatch_std_shows_d_how_much_a_batch_varies():
    import numpy as np
    import tensorflow as tf

    layer = models.MinibatchStdDev(group_size=4)
    rng = np.random.default_rng(0)
    varied = tf.constant(rng.normal(size=(8, 4, 4, 3)), tf.float32)
    same = tf.repeat(varied[:1], 8, axis=0)  # a collapsed batch: one image eight times
    spread_varied, spread_same = layer(varied)[..., -1], layer(same)[..., -1]
    assert layer(varied).shape == (8, 4, 4, 4)
    assert float(tf.reduce_max(spread_same)) < 1e-3 and float(tf.reduce_min(spread_varied)) > 0.5
    # Groups of four: a group's members are every second image here (8 images, 2 groups), so a batch whose
    # even images are one face and odd ones varied shows a collapsed group beside a varied one.
    half = tf.stack([same[0] if i % 2 == 0 else varied[i] for i in range(8)])
    values = layer(half)[:, 0, 0, -1].numpy()
    assert values[0] < 1e-3 and values[1] > 0.5 and values[2] < 1e-3
    with tf.GradientTape() as tape:  # finite where a group agrees exactly (no sqrt of zero)
        tape.watch(same)
        total = tf.reduce_sum(layer(same))
    assert np.isfinite(tape.gradient(total, same).numpy()).all()
    assert layer(varied[:6]).shape == (6, 4, 4, 4)  # a batch that does not split into fours is one group
    _, d = models.build("dcgan", 16, (64, 64, 3), width=8, minibatch_std=True, spectral_norm=True)
    assert any(isinstance(layer, models.MinibatchStdDev) for layer in d.layers)


def test_pack_makes_d_judge_packs_of_images_one_verdict_each():
    import numpy as np
    import tensorflow as tf

    images = tf.constant(np.random.default_rng(0).normal(size=(8, 4, 4, 3)), tf.float32)
    packed = models.Pack(2)(images).numpy()
    assert packed.shape == (4, 4, 4, 6)
    # Pack j stacks image j and image j + 4 along the channels: no image is lost or judged twice.
    np.testing.assert_array_equal(packed[1, ..., :3], images[1].numpy())
    np.testing.assert_array_equal(packed[1, ..., 3:], images[5].numpy())
    _, d = models.build("dcgan", 16, (64, 64, 3), width=8, pack=2, spectral_norm=True)
    assert d(tf.zeros((8, 64, 64, 3))).shape == (4, 1)
    with pytest.raises(ValueError, match="batch size divisible by 2"):
        d(tf.zeros((7, 64, 64, 3)))
    with pytest.raises(TfganError, match="per-sample gradient penalty"):
        models.build("dcgan", 16, (64, 64, 3), width=8, critic=True, pack=2)
    with pytest.raises(TfganError, match="built for the 'dcgan' models, not 'mnist'"):
        models.build("mnist", 16, (28, 28, 1), width=8, pack=2)
    with pytest.raises(TfganError, match="--pack must be 1"):
        models.build("dcgan", 16, (64, 64, 3), width=8, pack=0)
    from tfgan import presets, run

    with pytest.raises(TfganError, match="--pack 3 needs a batch size divisible by 3, got 64"):
        run.build_models(presets.get_preset("anime-dcgan").replace(pack=3, batch_size=64), (64, 64, 3))
    with pytest.raises(TfganError, match=r"got 64 \(2 on each of 32 devices\)"):  # each device packs its share
        run.check_pack(presets.get_preset("anime-dcgan").replace(pack=4, batch_size=64), replicas=32)
