"""The memorisation check: copies of training images are flagged, new images from the same data are not."""

import numpy as np
import pytest
from PIL import Image

from tfgan import presets, run
from tfgan.assets import MNIST_SUBSET
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.evaluation import evaluate, neighbours


@pytest.fixture(scope="module")
def split():
    """4,000 training digits, and 300 other real digits the 'generator' below never saw."""
    x = np.load(MNIST_SUBSET)["x_train"][..., None]
    return x[:4000], x[4000:4300]


def test_nearest_finds_exact_neighbours_and_can_exclude_self():
    base = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0], [10.0, 10.0]])
    dist, idx = neighbours.nearest(np.array([[0.9, 0.0], [3.0, 4.0]]), base, k=2)
    assert idx.tolist() == [[2, 0], [1, 2]]
    np.testing.assert_allclose(dist, [[0.1, 0.9], [0.0, np.sqrt(4 + 16)]], atol=1e-5)
    dist, idx = neighbours.nearest(base[:2], base, k=1, exclude=np.array([0, 1]))
    assert idx[:, 0].tolist() == [2, 2]
    with pytest.raises(TfganError, match="fewer than the 5 neighbours"):
        neighbours.nearest(base, base, k=5)


def test_a_generator_that_returns_training_images_is_flagged(split):
    train, _ = split
    copies = train[np.random.default_rng(1).choice(len(train), 300, replace=False)]
    result = neighbours.find_copies(copies, train, "mnist")
    for space in ("features", "pixels"):
        assert result[space]["copies"] == 1.0  # each sits on its own training image, at distance 0
        assert result[space]["copies_real"] < 0.05


def test_new_images_from_the_same_data_are_not_flagged(split):
    train, unseen = split
    result = neighbours.find_copies(unseen, train, "mnist")
    for space in ("features", "pixels"):
        # A perfect generator that never copies: real digits outside the training set. By the
        # construction of the threshold they fall under it about 1% of the time.
        assert result[space]["copies"] < 0.05
        assert result[space]["median_nearest"] > 0


def test_slightly_perturbed_copies_are_still_flagged(split):
    train, _ = split
    noisy = np.clip(train[:300].astype(int) + np.random.default_rng(0).integers(-3, 4, train[:300].shape), 0, 255)
    result = neighbours.find_copies(noisy.astype(np.uint8), train, "mnist")
    assert result["pixels"]["copies"] > 0.9 and result["features"]["copies"] > 0.9


def test_eval_with_neighbours_on_a_trained_run(tmp_path, digits, split):
    tiny = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                              sample_every=5, checkpoint_every=5)
    trainer, images = run.start_run(tiny, tmp_path / "run", images=Images(digits[:128], None, "digits"),
                                    verbose=False)
    trainer.fit(images.images, 5, progress=False)
    result = evaluate.evaluate_run(tmp_path / "run", num=200, neighbours=2)
    checked = result["neighbours"]
    assert set(checked) == {"features", "pixels"}
    assert checked["features"]["copies"] < 0.05  # five steps of training draw blobs, not training digits
    picture = Image.open(result["neighbours_picture"])
    assert picture.size[0] > 200 and picture.size[1] > 600  # 8 rows of a sample and its 2 neighbours
    assert "memorisation" in neighbours.format_copies(checked)
