import numpy as np
import pytest

from tfgan import data
from tfgan.assets import MNIST_SUBSET
from tfgan.errors import DataError


def test_shipped_mnist_subset_is_real_and_small():
    assert MNIST_SUBSET.stat().st_size <= 1_000_000
    subset = data.load_npz(MNIST_SUBSET)
    assert subset.images.shape == (5000, 28, 28, 1) and subset.images.dtype == np.uint8
    assert np.bincount(subset.labels).tolist() == [500] * 10
    assert subset.images.max() == 255 and (subset.images == 0).mean() > 0.7  # ink on black


def test_offline_fallback_announces_itself(monkeypatch, capsys):
    import keras

    def offline():
        try:
            raise OSError(-3, "Temporary failure in name resolution")
        except OSError as e:
            raise Exception("URL fetch failure on https://storage.googleapis.com: None -- ") from e  # noqa: TRY002 - what keras raises

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    images = data.load("mnist")
    assert images.images.shape == (5000, 28, 28, 1)
    out = capsys.readouterr().out
    assert "5,000 real MNIST digits" in out and "load_data()" in out
    assert "(OSError: [Errno -3] Temporary failure in name resolution)" in out  # the real cause, not "Exception"


def test_fashion_mnist_offline_is_a_clear_error(monkeypatch):
    import keras

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", lambda: (_ for _ in ()).throw(OSError()))
    with pytest.raises(DataError, match="Fashion-MNIST could not be loaded"):
        data.load("fashion_mnist")


@pytest.mark.parametrize("keys", [("x_train", "y_train"), ("x", "y"), ("x_train", None)])
def test_npz_variants(tmp_path, digits, keys):
    arrays = {keys[0]: digits[:40, ..., 0]}
    if keys[1]:
        arrays[keys[1]] = np.arange(40) % 10
    np.savez(tmp_path / "d.npz", **arrays)
    images = data.load(str(tmp_path / "d.npz"))
    assert images.images.shape == (40, 28, 28, 1)
    assert (images.labels is not None) == bool(keys[1])


def test_npz_float_ranges_are_rescaled(tmp_path, digits):
    x = digits[:8].astype(np.float32)
    np.savez(tmp_path / "unit.npz", x=x / 255.0)
    np.savez(tmp_path / "sym.npz", x=x / 127.5 - 1)
    for name in ("unit.npz", "sym.npz"):
        np.testing.assert_allclose(data.load(str(tmp_path / name)).images, digits[:8], atol=1)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"weights": np.zeros(3)}, "no image array"),
        ({"x": np.zeros((4, 28))}, "must have shape"),
        ({"x": np.full((4, 8, 8), 400.0)}, "pixel values span"),
        ({"x": np.zeros((0, 8, 8))}, "empty"),
        ({"x": np.full((2, 8, 8), np.nan)}, "NaN"),
    ],
)
def test_bad_npz_is_a_clear_error(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        data.load(str(tmp_path / "bad.npz"))


def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        data.load(str(tmp_path / "nothing.npz"))
    with pytest.raises(DataError, match="dataset not found"):
        data.load("imagenet")


def test_batches_are_full_deterministic_and_resumable(digits):
    images = digits[:100]
    epoch = [b.numpy() for b in data.batches(images, 16, seed=3, epoch=0)]
    assert len(epoch) == 6 and all(b.shape == (16, 28, 28, 1) for b in epoch)  # partial batch dropped
    assert all(b.min() >= -1 and b.max() <= 1 for b in epoch)
    again = [b.numpy() for b in data.batches(images, 16, seed=3, epoch=0)]
    np.testing.assert_array_equal(np.stack(epoch), np.stack(again))
    resumed = [b.numpy() for b in data.batches(images, 16, seed=3, epoch=0, skip=4)]
    np.testing.assert_array_equal(np.stack(resumed), np.stack(epoch[4:]))
    other = [b.numpy() for b in data.batches(images, 16, seed=3, epoch=1)]
    assert not np.array_equal(np.stack(other), np.stack(epoch))


def test_one_stream_spans_epochs_in_the_same_order(digits):
    """Training reads one endless stream; it must equal the epochs read one by one, skip included."""
    images = digits[:100]
    by_epoch = [b.numpy() for e in (2, 3, 4) for b in data.batches(images, 16, seed=3, epoch=e)]
    stream = [b.numpy() for b in data.batches(images, 16, seed=3, epoch=2, skip=4, epochs=None).take(14)]
    np.testing.assert_array_equal(np.stack(stream), np.stack(by_epoch[4:18]))
    two = list(data.batches(images, 16, seed=3, epoch=2, epochs=2))
    assert len(two) == 12


def test_batches_for_critic_steps(digits):
    (first,) = list(data.batches(digits[:64], 8, seed=0, epoch=0, d_steps=5).take(1))
    assert first.shape == (8, 5, 28, 28, 1)
    with pytest.raises(DataError, match="fewer than one step"):
        data.batches(digits[:10], 16, seed=0, epoch=0)


def test_a_batch_keeps_its_shuffled_order_so_groups_inside_it_are_random():
    """D groups a batch by position (PacGAN's packs, minibatch stddev): on a folder sorted by class, a
    batch in file order would always pair images from the first part of the data with the last."""
    numbered = np.arange(400, dtype=np.float32).reshape(400, 1, 1, 1)  # float data passes unchanged
    halves_apart = 0
    for batch in data.batches(numbered, 32, seed=0, epoch=0, labels=np.arange(400)):
        x, labels = batch[0].numpy().ravel(), batch[1].numpy()
        np.testing.assert_array_equal(x, labels)  # labels follow their images
        halves_apart += int(x[:16].max() < x[16:].min())
    assert halves_apart == 0  # sorted batches would give 12 of 12
