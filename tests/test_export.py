"""Export: a generator file that needs no tfgan, its model card, and bad input."""

import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tfgan import presets, run, trained
from tfgan.artefacts import export
from tfgan.assets import MNIST_SUBSET
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.evaluation import evaluate
from tfgan.tricks import latent

ROOT = Path(__file__).resolve().parents[1]
TINY = {"width": 8, "latent_dim": 16, "batch_size": 16, "num_samples": 16, "sample_every": 5, "checkpoint_every": 5}


def _train(run_dir, preset, images):
    trainer, images = run.start_run(preset, run_dir, images=images, verbose=False)
    trainer.fit(images.images, 5, labels=images.labels, progress=False)
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits):
    """A trained DCGAN (with EMA, as the default preset has) and a trained conditional GAN."""
    tmp = tmp_path_factory.mktemp("export")
    subset = np.load(MNIST_SUBSET)
    dcgan = _train(tmp / "dcgan", presets.get_preset("mnist-dcgan").replace(**TINY), Images(digits[:128], None, "digits"))
    cgan = _train(tmp / "cgan", presets.get_preset("mnist-cgan").replace(**TINY),
                  Images(subset["x_train"][:160, ..., None], subset["y_train"][:160], "digits"))
    return tmp, dcgan, cgan


@pytest.fixture(scope="module")
def exported(runs):
    """Each run in every format, into its own folder."""
    _, dcgan, cgan = runs
    cards = {}
    for name, run_dir in (("dcgan", dcgan), ("cgan", cgan)):
        for fmt in export.EXPORT_FORMATS:
            cards[name, fmt] = export.export_run(run_dir, fmt=fmt, num=200 if fmt == "keras" else 0)
    return cards


@pytest.mark.slow  # a SavedModel export and a fresh interpreter
def test_keras_and_savedmodel_load_without_tfgan_and_draw_what_sample_draws(runs, exported, tmp_path):
    tmp, dcgan, cgan = runs
    expected = {}
    for name, run_dir in (("dcgan", dcgan), ("cgan", cgan)):
        generator, config, _ = trained.load_generator(run_dir)
        noise = latent.sample_latent(12, config["latent_dim"], "gaussian", seed=7)
        np.save(tmp_path / f"{name}_noise.npy", noise)
        expected[name] = trained.sample_images(generator, 12, config["latent_dim"], seed=7)
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np, keras, tensorflow as tf
        out = {{}}
        for name in ("dcgan", "cgan"):
            folder = "{tmp}/" + name + "/export"
            noise = np.load("{tmp_path}/" + name + "_noise.npy")
            labels = (np.arange(12) % 10).astype("int32")
            g = keras.saving.load_model(folder + "/generator.keras")  # safe_mode on: no custom code
            x = g([noise, labels] if name == "cgan" else noise)
            np.save("{tmp_path}/" + name + "_keras.npy", np.asarray(x))
            serve = tf.saved_model.load(folder + "/saved_model").signatures["serving_default"]
            y = serve(noise=tf.constant(noise), label=tf.constant(labels)) if name == "cgan" else serve(
                noise=tf.constant(noise))
            np.save("{tmp_path}/" + name + "_savedmodel.npy", y["images"].numpy())
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "tfgan")))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []  # tfgan was never imported
    for name in ("dcgan", "cgan"):
        keras_images = np.load(tmp_path / f"{name}_keras.npy")
        assert keras_images.shape == (12, 28, 28, 1)
        np.testing.assert_allclose(keras_images, expected[name], atol=1e-5)
        served = np.load(tmp_path / f"{name}_savedmodel.npy")
        assert served.dtype == np.uint8
        # uint8 of the same images: at most one grey level apart (rounding at a .5 boundary)
        assert np.abs(served.astype(int) - np.round((expected[name] + 1) * 127.5).astype(int)).max() <= 1


def test_tflite_matches_the_keras_generator(runs, exported):
    import tensorflow as tf

    for name in ("dcgan", "cgan"):
        folder = runs[1 if name == "dcgan" else 2] / "export"
        interpreter = tf.lite.Interpreter(model_path=str(folder / "generator.tflite"))
        runner = interpreter.get_signature_runner("serving_default")
        noise = latent.sample_latent(4, 16, "gaussian", seed=3)
        inputs = {"noise": noise}
        if name == "cgan":
            inputs["label"] = np.array([0, 3, 5, 9], np.int32)
        lite = runner(**inputs)["images"]
        generator, _, _ = trained.load_generator(folder.parent)
        reference = np.round((np.asarray(generator([noise, inputs["label"]] if name == "cgan" else noise)) + 1)
                             * 127.5)
        assert lite.dtype == np.uint8 and lite.shape == (4, 28, 28, 1)
        assert np.abs(lite.astype(float) - reference).max() <= 2


def test_the_keras_file_carries_what_a_user_needs(exported, runs):
    for name, classes in (("dcgan", 0), ("cgan", 10)):
        path = Path(exported[name, "keras"]["path"])
        info = trained.read_info(path)
        assert info["latent_dim"] == 16 and info["num_classes"] == classes
        assert info["image_shape"] == [28, 28, 1] and info["value_range"] == [-1.0, 1.0]
        assert info["step"] == 5 and info["weights"] == "ema"
        with zipfile.ZipFile(path) as archive:  # nothing that needs tfgan code to load
            config = archive.read("config.json").decode()
        assert "tfgan" not in config.replace("tfgan_generator", "") and "Lambda" not in config


def test_the_model_card_holds_the_metrics_and_a_line_that_draws_a_grid(exported, runs, tmp_path):
    _, dcgan, _ = runs
    card = json.loads((dcgan / "export" / "model_card.json").read_text())
    assert card["step"] == 5 and card["seed"] == 0 and card["config"]["preset"] == "mnist-dcgan"
    assert card["files"] == {"keras": "generator.keras", "savedmodel": "saved_model", "tflite": "generator.tflite"}
    assert set(card["versions"]) == {"tensorflow", "keras", "tfgan"}
    # The metrics were scored for the keras export; the later exports of the same checkpoint kept them.
    assert card["metrics"] == exported["dcgan", "keras"]["metrics"]
    assert card["metrics"]["samples"] > 0 and card["metrics"]["fd_floor"] > 0
    assert 0 <= card["metrics"]["confident_share"] <= 1
    assert card["data"]["images"] > 0
    readme = (dcgan / "export" / "README.md").read_text()
    assert card["load"] in readme
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)
    line = card["load"].replace("'generator.keras'", f"'{dcgan / 'export' / 'generator.keras'}'")
    result = subprocess.run([sys.executable, "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    from PIL import Image

    assert Image.open(tmp_path / "grid.png").size == (112, 112)


def test_sample_and_eval_accept_an_exported_file(exported, runs, tmp_path):
    path = exported["cgan", "keras"]["path"]
    generator, config, step = trained.load_generator(path)
    assert step == 5 and config["num_classes"] == 10
    images = trained.sample_images(generator, 10, config["latent_dim"], labels=3)
    assert images.shape == (10, 28, 28, 1)
    result = evaluate.evaluate_run(path, num=100)
    assert result["step"] == 5 and "classes_covered" in result
    with pytest.raises(TfganError, match="no best checkpoint: drop --best"):
        trained.load_generator(path, best=True)


def test_bad_exports_are_one_clear_error_and_leave_nothing(runs, exported, tmp_path, digits):
    _, dcgan, _ = runs
    empty = tmp_path / "empty"
    run.start_run(presets.get_preset("mnist-dcgan").replace(**TINY), empty, images=Images(digits[:64], None, "d"),
                  verbose=False)
    with pytest.raises(TfganError, match="no checkpoint yet"):
        export.export_run(empty, num=0)
    with pytest.raises(TfganError, match="no best checkpoint"):
        export.export_run(dcgan, best=True, num=0)
    with pytest.raises(TfganError, match="unknown export format 'onnx'"):
        export.export_run(dcgan, fmt="onnx", num=0)
    with pytest.raises(TfganError, match=r"\.keras file"):
        export.export_run(dcgan, out=tmp_path / "g.h5", num=0)
    with pytest.raises(TfganError, match="export takes the run directory"):
        export.export_run(dcgan / "export" / "generator.keras", num=0)
    # An --out that cannot be written: under a regular file, and (unless running as root) read-only.
    (tmp_path / "a_file").write_text("in the way")
    for fmt, name in (("keras", "g.keras"), ("savedmodel", "sm"), ("tflite", "g.tflite")):
        with pytest.raises(OSError):
            export.export_run(dcgan, out=tmp_path / "a_file" / name, fmt=fmt, num=0)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):
            for fmt, name in (("keras", "g.keras"), ("savedmodel", "sm"), ("tflite", "g.tflite")):
                with pytest.raises(OSError):
                    export.export_run(dcgan, out=locked / name, fmt=fmt, num=0)
            assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "empty", "locked"]


def test_a_failed_write_leaves_no_partial_file(runs, tmp_path, monkeypatch):
    _, dcgan, _ = runs
    out = tmp_path / "out" / "generator.keras"
    generator, config, step = trained.load_generator(dcgan)
    info = export.generator_info(config, step, False)
    model = export.standalone_generator(generator, info)

    def broken_save(self, path, *a, **k):
        Path(path).write_bytes(b"half a zip")
        raise OSError(28, "No space left on device")

    import keras

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        export.write_keras(model, info, out)
    assert list(out.parent.iterdir()) == []


def test_a_keras_file_that_is_not_a_tfgan_generator_is_refused(tmp_path):
    import keras

    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    other.save(tmp_path / "other.keras")
    with pytest.raises(TfganError, match="not a tfgan generator"):
        trained.load_generator(tmp_path / "other.keras")
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(TfganError, match="not a Keras model file"):
        trained.load_generator(tmp_path / "junk.keras")


@pytest.mark.slow  # subprocesses
def test_cli_export_and_sample_from_the_file(runs, tmp_path):
    _, dcgan, _ = runs
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}

    def tfgan(*args):
        return subprocess.run([sys.executable, "-m", "tfgan", *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=300, check=False)

    out = tmp_path / "g" / "mnist.keras"
    result = tfgan("export", dcgan, "--out", out, "--num", 100)
    assert result.returncode == 0, result.stderr
    assert f"-> {out}" in result.stdout and "load it anywhere:" in result.stdout
    assert (out.parent / "model_card.json").is_file() and (out.parent / "README.md").is_file()
    result = tfgan("sample", out, "--num", 4, "--out", tmp_path / "s.npy")
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "s.npy").shape == (4, 28, 28, 1)
    result = tfgan("eval", out, "--num", 100, "--neighbours", 2)
    assert result.returncode == 0, result.stderr
    assert re.search(r"features copies +\d+\.\d%", result.stdout) and "real images:" in result.stdout
    assert (out.parent / "mnist_neighbours.png").is_file()
    result = tfgan("export", dcgan, "--format", "onnx")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "invalid choice: 'onnx'" in result.stderr
    (tmp_path / "x.keras").write_bytes(b"junk")
    result = tfgan("sample", tmp_path / "x.keras", "--out", tmp_path / "t.png")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "not a Keras model file" in result.stderr


def test_a_toy_generator_exports_points(tmp_path):
    import tensorflow as tf

    trainer, points = run.start_run(presets.get_preset("toy-gan").replace(sample_every=5), tmp_path / "toy", verbose=False)
    trainer.fit(points.images, 5, progress=False)
    card = export.export_run(tmp_path / "toy", num=500)
    assert card["metrics"]["kind"] == "toy" and "modes_covered" in card["metrics"]
    export.export_run(tmp_path / "toy", fmt="savedmodel", num=0)
    serve = tf.saved_model.load(str(tmp_path / "toy" / "export" / "saved_model")).signatures["serving_default"]
    out = serve(noise=tf.constant(latent.sample_latent(3, 16, seed=1)))["points"].numpy()
    generator, _, _ = trained.load_generator(tmp_path / "toy")
    np.testing.assert_allclose(out, np.asarray(generator(latent.sample_latent(3, 16, seed=1))), atol=1e-5)
    assert "2-D points" in (tmp_path / "toy" / "export" / "README.md").read_text()


def test_exports_get_the_usual_permissions(exported, runs):
    import stat

    umask = os.umask(0)
    os.umask(umask)
    folder = runs[1] / "export"
    for name, mode in (("generator.keras", 0o666), ("generator.tflite", 0o666), ("saved_model", 0o777),
                       ("model_card.json", 0o666)):
        assert stat.S_IMODE((folder / name).stat().st_mode) == mode & ~umask, name
