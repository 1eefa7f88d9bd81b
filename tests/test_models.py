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
