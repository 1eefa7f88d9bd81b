"""`eval --images PATH --against DATASET`: samples made elsewhere, scored like a run's."""

import numpy as np
import pytest
from PIL import Image

from tfgan import cli
from tfgan.assets import MNIST_SUBSET
from tfgan.data import toy
from tfgan.errors import TfganError
from tfgan.evaluation import files


@pytest.fixture(scope="module")
def held_out_digits():
    """Real digits the comparison set may also hold: real against real, what a perfect G would draw.
    The shipped subset is sorted by class, so draw them at random rather than take a slice."""
    digits = np.load(MNIST_SUBSET)["x_train"]
    return digits[np.random.default_rng(1).choice(len(digits), 600, replace=False)]


def test_real_digits_score_near_the_floor_and_noise_far_from_it(tmp_path, held_out_digits):
    np.save(tmp_path / "real.npy", held_out_digits)  # (N, 28, 28) uint8
    noise = np.random.default_rng(0).uniform(-1, 1, (600, 28, 28, 1)).astype(np.float32)
    np.save(tmp_path / "noise.npy", noise)
    real = files.evaluate_files(tmp_path / "real.npy", "mnist", num=600)
    fake = files.evaluate_files(tmp_path / "noise.npy", "mnist", num=600)
    assert real["kind"] == fake["kind"] == "mnist" and real["scored"] == 600 and real["converted"] is None
    assert real["fd"] < 2 * real["fd_floor"] + 1.0
    assert fake["fd"] > 10 * real["fd"] + 10 and fake["confident_share"] < real["confident_share"] - 0.3
    assert real["classes_covered"] == 10


def test_a_folder_of_colour_pngs_of_another_size_is_converted(tmp_path, held_out_digits, capsys):
    folder = tmp_path / "samples"
    folder.mkdir()
    for i, digit in enumerate(held_out_digits[:300]):
        Image.fromarray(digit).resize((56, 56)).convert("RGB").save(folder / f"{i:04d}.png")
    assert cli.main(["eval", "--images", str(folder), "--against", "mnist", "--num", "300"]) == 0
    out = capsys.readouterr().out
    assert "300 samples from" in out and "converted 56×56×3 -> 28×28×1" in out
    assert "FD (lower is better)" in out and "confident share" in out
    result = files.evaluate_files(folder, "mnist", num=300)
    assert result["confident_share"] > 0.8


def test_toy_points_in_a_npy_are_scored_by_modes(tmp_path):
    np.save(tmp_path / "points.npy", toy.sample_points("ring8", 2500, seed=5))
    result = files.evaluate_files(tmp_path / "points.npy", "ring8")
    assert result["kind"] == "toy" and result["modes_covered"] == 8
    np.save(tmp_path / "one_mode.npy", toy.sample_points("ring8", 2500, seed=5)[:10].repeat(250, axis=0))
    assert files.evaluate_files(tmp_path / "one_mode.npy", "ring8")["modes_covered"] < 8


@pytest.mark.parametrize(("name", "content", "against", "message"), [
    ("missing.npy", None, "mnist", "no images at"),
    ("points.npy", np.zeros((10, 2), np.float32), "mnist", "holds 2-D points but mnist does not"),
    ("digits.npy", np.zeros((10, 28, 28), np.uint8), "ring8", "holds images but ring8 does not"),
    ("bad.npy", np.full((4, 28, 28), 300.0), "mnist", "pixel values span"),
    ("notes.txt", "hello", "mnist", "is not a folder, .npy or .npz")])
def test_bad_samples_are_one_line(tmp_path, name, content, against, message):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(TfganError, match=message):
        files.evaluate_files(path, against)


def test_the_cli_wants_images_and_against_together_and_no_run(refused):
    for argv, message in ((["eval", "--images", "x.npy"], "go together"),
                          (["eval", "--against", "mnist"], "go together"),
                          (["eval"], "needs a run directory"),
                          (["eval", "some_run", "--images", "x.npy", "--against", "mnist"], "not a run")):
        error = refused(*argv)
        assert error.startswith("error: ") and message in error


@pytest.mark.parametrize(("name", "content"), [("missing.npy", None), ("notes.txt", "hello"),
                                               ("wrong.npy", np.zeros((10, 7)))])
def test_a_bad_file_is_refused_before_the_dataset_loads(tmp_path, monkeypatch, name, content):
    # Loading the comparison set can mean a download: a wrong file must not wait for it.
    monkeypatch.setattr(files.data_lib, "load", lambda *a, **k: pytest.fail("the dataset was loaded first"))
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(TfganError):
        files.evaluate_files(path, "mnist")
