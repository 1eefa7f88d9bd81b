import numpy as np
import pytest
import tensorflow as tf

from tfgan import presets, run
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.tricks import augment


def _rng():
    return tf.random.Generator.from_seed(0)


def test_translation_moves_content_and_keeps_shape():
    x = tf.zeros([8, 16, 16, 1]) - 1.0
    x = tf.tensor_scatter_nd_update(x, [[i, 8, 8, 0] for i in range(8)], tf.ones([8]))
    y = augment.translation(x, _rng()).numpy()
    assert y.shape == (8, 16, 16, 1)
    positions = {tuple(np.argwhere(img[..., 0] == 1.0)[0]) for img in y if (img == 1.0).any()}
    assert len(positions) > 1  # different shifts per image
    assert all(abs(r - 8) <= 2 and abs(c - 8) <= 2 for r, c in positions)  # at most 12.5% of 16


def test_cutout_zeroes_a_square():
    y = augment.cutout(tf.ones([4, 16, 16, 3]), _rng()).numpy()
    zero_share = (y == 0).mean(axis=(1, 2, 3))
    assert np.all(zero_share > 0.05) and np.all(zero_share <= 0.25 + 1e-6)


def test_color_changes_values_and_is_differentiable():
    x = tf.Variable(tf.random.uniform([4, 8, 8, 3], -1, 1))
    with tf.GradientTape() as tape:
        y = augment.diff_augment(x, ("color", "translation", "cutout"), _rng())
        total = tf.reduce_sum(y)
    grad = tape.gradient(total, x)
    assert grad is not None and np.isfinite(grad.numpy()).all() and np.abs(grad.numpy()).sum() > 0
    assert not np.allclose(augment.color(x, _rng()).numpy(), x.numpy())


def test_policy_parsing():
    assert augment.parse_policy("color, cutout") == ("color", "cutout")
    assert augment.parse_policy("") == ()
    with pytest.raises(TfganError, match="unknown DiffAugment policy"):
        augment.parse_policy("flip")


def test_trainer_augments_what_the_discriminator_sees(tmp_path, digits):
    preset = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                                diffaugment="translation,cutout")
    trainer, images = run.start_run(preset, tmp_path / "run", images=Images(digits[:64], None, "d"),
                                    verbose=False)
    seen = []
    call = trainer.discriminator.call

    def spy(inputs, *args, **kwargs):
        seen.append(inputs)
        return call(inputs, *args, **kwargs)

    x = tf.constant(digits[:16].astype(np.float32) / 127.5 - 1)
    trainer.discriminator.call = spy
    trainer.discriminate(x)
    trainer.discriminator.call = call
    assert not np.allclose(seen[0].numpy(), x.numpy())  # D saw augmented images
    assert trainer.fit(images.images, 2, progress=False).step == 2
