"""The command line as a user runs it: real subprocesses, real files (refusals in-process: `cli.main` as
`python -m tfgan` calls it, without paying for a fresh TensorFlow import per message)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # each test trains or samples in a subprocess

ROOT = Path(__file__).resolve().parents[1]


def tfgan(*args, cwd=None, timeout=300, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "tfgan", *map(str, args)], capture_output=True, text=True,
                          check=False, cwd=cwd, env=env, timeout=timeout)


FAST = ["--batch-size", "16", "--width", "8", "--sample-every", "4", "--checkpoint-every", "4", "--no-progress"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, digits):
    tmp = tmp_path_factory.mktemp("cli")
    np.savez(tmp / "digits.npz", x_train=digits[:256])
    run_dir = tmp / "run"
    result = tfgan("train", "mnist-dcgan", "--dataset", tmp / "digits.npz", "--steps", 8, "--run-dir", run_dir,
                   *FAST)
    assert result.returncode == 0, result.stderr
    return tmp, run_dir, result


def test_train_writes_a_complete_run(trained_run):
    _, run_dir, result = trained_run
    assert "starting a new run" in result.stdout
    assert sorted(p.name for p in (run_dir / "frames").iterdir()) == [
        "step_0000000.png", "step_0000004.png", "step_0000008.png"]
    with Image.open(run_dir / "progress.gif") as gif:
        assert gif.n_frames == 3
    assert (run_dir / "ckpt" / "checkpoint").is_file()
    assert (run_dir / "history.csv").read_text().count("\n") == 9  # header + 8 steps
    assert (run_dir / "losses.png").is_file() and (run_dir / "config.json").is_file()


def test_same_command_resumes(trained_run):
    tmp, run_dir, _ = trained_run
    result = tfgan("train", "mnist-dcgan", "--dataset", tmp / "digits.npz", "--steps", 12, "--run-dir", run_dir,
                   *FAST)
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout and "from step 8" in result.stdout
    assert (run_dir / "frames" / "step_0000012.png").is_file()
    assert (run_dir / "history.csv").read_text().count("\n") == 13


def test_sample_npy_and_png(trained_run):
    tmp, run_dir, _ = trained_run
    result = tfgan("sample", run_dir, "--num", 10, "--out", tmp / "s.npy")
    assert result.returncode == 0, result.stderr
    samples = np.load(tmp / "s.npy")
    assert samples.shape == (10, 28, 28, 1) and samples.dtype == np.float32
    assert samples.min() >= -1 and samples.max() <= 1 and samples.std() > 0
    assert tfgan("sample", run_dir, "--num", 9, "--out", tmp / "s.png").returncode == 0
    assert Image.open(tmp / "s.png").size == (2 * (3 * 30 + 2),) * 2


def test_gif_reexport(trained_run):
    tmp, run_dir, _ = trained_run
    result = tfgan("gif", run_dir, "--out", tmp / "slow.gif", "--fps", 2, "--every", 2, "--scale", 0.5)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp / "slow.gif") as gif:
        assert gif.n_frames >= 2
        assert gif.size[0] < Image.open(run_dir / "progress.gif").size[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "no-such-preset"], "unknown preset"),
        (["train", "mnist-dcgan", "--dataset", "/nonexistent/x.npz"], "not found"),
        (["sample", "/nonexistent/run", "--out", "x.png"], "run directory not found"),
        (["gif", "/nonexistent/run"], "run directory not found"),
        (["train", "mnist-dcgan", "--steps", "-3"], "must be at least 1"),
        (["train", "mnist-dcgan", "--batch-size", "0"], "must be at least 1"),
    ],
)
def test_errors_are_one_line(tmp_path, monkeypatch, refused, args, message):
    monkeypatch.chdir(tmp_path)
    assert message in refused(*args)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_eval_prints_metrics_with_floor(trained_run):
    _, run_dir, _ = trained_run
    result = tfgan("eval", run_dir, "--num", 200)
    assert result.returncode == 0, result.stderr
    assert "real-vs-real floor" in result.stdout and "confident share" in result.stdout
    assert "at step" in result.stdout


def test_conditional_train_and_sample_a_label(tmp_path, digits):
    labels = np.arange(128) % 10
    np.savez(tmp_path / "labelled.npz", x_train=digits[:128], y_train=labels)
    run_dir = tmp_path / "cgan"
    result = tfgan("train", "mnist-cgan", "--dataset", tmp_path / "labelled.npz", "--steps", 4, "--run-dir", run_dir,
                   "--acgan", *FAST)
    assert result.returncode == 0, result.stderr
    for label in (3, 7):
        result = tfgan("sample", run_dir, "--label", label, "--num", 5, "--out", tmp_path / f"{label}.npy")
        assert result.returncode == 0, result.stderr
        assert f"of class {label}" in result.stdout
    threes, sevens = np.load(tmp_path / "3.npy"), np.load(tmp_path / "7.npy")
    assert threes.shape == sevens.shape == (5, 28, 28, 1)
    assert not np.allclose(threes, sevens)  # same seed, same noise: only the label differs
    result = tfgan("sample", run_dir, "--label", 10, "--out", tmp_path / "x.png")
    assert result.returncode == 2 and "--label must be from 0 to 9" in result.stderr


def test_sample_label_of_an_unconditional_run_is_an_error(trained_run, refused):
    tmp, run_dir, _ = trained_run
    assert "unconditional" in refused("sample", run_dir, "--label", 7, "--out", tmp / "x.png")
    assert not (tmp / "x.png").exists()


def test_conditional_preset_on_unlabelled_data_is_an_error(tmp_path, digits_npz, refused):
    assert "needs labels" in refused("train", "mnist-cgan", "--dataset", digits_npz, "--steps", 2, "--run-dir",
                                     tmp_path / "r", *FAST)


def test_trick_switches_reach_the_config(tmp_path, digits_npz):
    import json

    run_dir = tmp_path / "tricks"
    result = tfgan("train", "mnist-dcgan", "--dataset", digits_npz, "--steps", 2, "--run-dir", run_dir,
                   "--label-flip", 0.1, "--instance-noise", 0.2, "--latent", "sphere", "--spectral-norm",
                   "--g-dropout", 0.25, "--d-dropout", 0.4, "--hidden", 16, *FAST)
    assert result.returncode == 0, result.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["label_flip"], config["instance_noise"], config["latent"], config["spectral_norm"],
            config["g_dropout"], config["d_dropout"], config["hidden"]) == (0.1, 0.2, "sphere", True, 0.25, 0.4, 16)
    assert tfgan("sample", run_dir, "--num", 4, "--out", tmp_path / "s.npy").returncode == 0
    result = tfgan("train", "mnist-dcgan", "--dataset", digits_npz, "--acgan", "--run-dir", tmp_path / "x", *FAST)
    assert result.returncode == 2 and "--acgan needs a conditional preset" in result.stderr


def test_a_face_run_is_scored_offline_during_and_after_training(tmp_path):
    run_dir = tmp_path / "faces"
    # wgan-gp is a 28×28 grayscale preset: pointed at the faces, it takes the face presets' sizes.
    result = tfgan("train", "wgan-gp", "--dataset", "faces", "--image-size", 32, "--steps", 4,
                   "--eval-every", 2, "--run-dir", run_dir, *FAST)
    assert result.returncode == 0, result.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["image_shape"], config["architecture"], config["loss"]) == ([32, 32, 3], "dcgan", "wgan-gp")
    assert "colour images with the DCGAN-style models" in result.stdout
    best = json.loads((run_dir / "best" / "best.json").read_text())
    assert best["step"] in (2, 4) and 0 <= best["confident_share"] <= 1 and "combos_covered" in best
    result = tfgan("eval", run_dir, "--num", 200, "--best")
    assert result.returncode == 0, result.stderr
    assert "hair colour × style combinations" in result.stdout and "real-vs-real floor" in result.stdout
    fd, floor = map(float, re.search(r"FD \(lower is better\) *\| *([\d.]+) *\| *([\d.]+)", result.stdout).groups())
    assert fd > floor > 0  # a 4-step generator is far from the faces


def test_minutes_alone_trains_that_long_and_saves_as_usual(tmp_path, digits_npz):
    run_dir = tmp_path / "timed"
    result = tfgan("train", "mnist-dcgan", "--dataset", digits_npz, "--minutes", 0.05, "--run-dir", run_dir, *FAST)
    assert result.returncode == 0, result.stderr
    step = int(re.search(r"^step (\d+): checkpoint", result.stdout, re.MULTILINE).group(1))
    assert 0 < step < 10_000  # the clock ended it, not the preset's 10,000 steps
    assert (run_dir / "progress.gif").is_file() and (run_dir / "ckpt" / "checkpoint").is_file()


def test_other_colour_data_gets_numbers_and_a_hint_offline(tmp_path):
    from tfgan.data import faces

    np.savez(tmp_path / "colour.npz", x_train=faces.make_faces(160, 32, seed=9))  # no attribute labels
    run_dir = tmp_path / "colour"
    result = tfgan("train", "anime-dcgan", "--dataset", tmp_path / "colour.npz", "--steps", 2, "--run-dir",
                   run_dir, *FAST)
    assert result.returncode == 0, result.stderr
    result = tfgan("eval", run_dir, "--num", 80, env={"KERAS_HOME": str(tmp_path / "keras")})
    assert result.returncode == 0, result.stderr
    assert "FD, face-classifier features" in result.stdout and "pixel mean R, G, B" in result.stdout
    # Offline, with an empty Keras cache, there is no Inception KID: one line says how to get it.
    # (Online, Keras downloads the weights and the row is there.)
    offline = "no Inception KID: " in result.stdout and "go online once" in result.stdout
    assert offline or re.search(r"^Inception KID +\| [\d.]+", result.stdout, re.MULTILINE)


def test_draw_size_minibatch_std_pack_and_bfloat16_from_the_command_line(tmp_path, refused):
    from tfgan.data import faces

    np.savez(tmp_path / "faces64.npz", x_train=faces.make_faces(64, 64, seed=3))
    run_dir = tmp_path / "drawn"
    common = ("train", "anime-dcgan", "--dataset", tmp_path / "faces64.npz", "--run-dir", run_dir)
    result = tfgan(*common, "--steps", 2, "--draw-size", 32, "--minibatch-std", "--pack", 2, "--bfloat16", *FAST)
    assert result.returncode == 0, result.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["draw_size"], config["minibatch_std"], config["image_shape"]) == (32, True, [64, 64, 3])
    assert config["pack"] == 2
    assert tfgan("sample", run_dir, "--num", 4, "--out", tmp_path / "s.npy").returncode == 0
    assert np.load(tmp_path / "s.npy").shape[1:3] == (64, 64)  # drawn at 32, handed out at the image size

    def refused_here(*args) -> str:
        return refused(*common, *args, *FAST)

    error = refused_here("--steps", 4)  # the same folder, drawn at full size: other models
    assert "draw_size 32 ≠ 0" in error and "minibatch_std True ≠ False" in error and "pack 2 ≠ 1" in error
    error = refused_here("--steps", 2, "--mixed-precision", "--bfloat16")
    assert "--mixed-precision (float16) and --bfloat16 exclude each other" in error
    error = refused_here("--steps", 2, "--draw-size", 24, "--fresh")
    assert "draw size 24 does not work for 64×64 images" in error
    assert "use --draw-size 32 (or 0, full size)" in error and (run_dir / "ckpt" / "checkpoint").is_file()
