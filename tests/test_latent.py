import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan import models
from tfgan.errors import TfganError
from tfgan.tricks import latent


def test_sphere_samples_have_radius_sqrt_dim():
    z = latent.sample_latent(50, 64, "sphere", seed=1)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 8.0, rtol=1e-5)
    assert np.ptp(np.linalg.norm(latent.sample_latent(50, 64, "gaussian", seed=1), axis=1)) > 0.5
    with pytest.raises(TfganError, match="unknown latent"):
        latent.sample_latent(2, 4, "cauchy")


def test_uniform_latent_fills_the_cube_in_numpy_and_tensorflow():
    z = latent.sample_latent(4000, 8, "uniform", seed=0)
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.99 and z.max() > 0.99
    assert abs(float(z.mean())) < 0.05
    t = np.asarray(latent.draw(tf.random.Generator.from_seed(0), [4000, 8], "uniform"))
    assert t.min() >= -1 and t.max() <= 1 and abs(float(t.mean())) < 0.05


def test_slerp_ends_and_keeps_the_norm():
    rng = np.random.default_rng(0)
    a, b = latent.to_sphere(rng.normal(size=(2, 100))).numpy()
    np.testing.assert_allclose(latent.slerp(a, b, 0.0), a, atol=1e-5)
    np.testing.assert_allclose(latent.slerp(a, b, 1.0), b, atol=1e-5)
    mid = latent.slerp(a, b, 0.5)
    np.testing.assert_allclose(np.linalg.norm(mid), 10.0, rtol=1e-4)  # lerp's midpoint would be ~7
    assert np.linalg.norm((a + b) / 2) < 8.5
    path = latent.slerp_path(np.stack([a, b]), steps_between=4)
    assert path.shape == (8, 100)
    np.testing.assert_allclose(path[0], a, atol=1e-5)


def test_render_gif(tmp_path):
    g, _ = models.build("mnist", 8, (28, 28, 1), width=4)
    path = latent.slerp_path(np.random.default_rng(0).normal(size=(3, 8)), steps_between=2)
    out = latent.render_gif(g, path, tmp_path / "walk.gif", scale=1)
    with Image.open(out) as gif:
        assert gif.n_frames == 6
    cg, _ = models.build("mnist", 8, (28, 28, 1), width=4, num_classes=10)
    grid_path = np.repeat(path[:, None], 2, axis=1)  # two images per frame
    out = latent.render_gif(cg, grid_path, tmp_path / "c.gif", labels=[3, 7], scale=1)
    with Image.open(out) as gif:
        assert gif.n_frames == 6
    assert tf.is_tensor(latent.to_sphere(np.ones((1, 4))))
