"""The truncation trick: z shrunk towards 0 at sampling time, in Python, `sample`, `frames` and `export`."""

import itertools
import json

import keras
import numpy as np
import pytest

from tfgan import cli, presets, run, trained
from tfgan.artefacts import export, redraw
from tfgan.errors import TfganError
from tfgan.evaluation import toy_metrics
from tfgan.tricks import latent


def _spread(points) -> float:
    """Mean distance of samples from their mean."""
    points = np.asarray(points, np.float64).reshape(len(points), -1)
    return float(np.linalg.norm(points - points.mean(axis=0), axis=1).mean())


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_truncated_noise_is_the_same_noise_shrunk(kind):
    full = latent.sample_latent(500, 8, kind, seed=4)
    half = latent.sample_latent(500, 8, kind, seed=4, truncation=0.5)
    np.testing.assert_allclose(half, 0.5 * full, rtol=1e-6)
    np.testing.assert_array_equal(latent.sample_latent(500, 8, kind, seed=4, truncation=1.0), full)
    if kind == "uniform":
        assert np.abs(half).max() <= 0.5


@pytest.mark.parametrize(("psi", "kind", "message"), [
    (0.0, "gaussian", "above 0"), (-0.5, "gaussian", "above 0"), (float("inf"), "gaussian", "above 0"),
    (float("nan"), "uniform", "above 0"), (0.7, "sphere", "sphere")])
def test_truncation_that_cannot_apply_is_one_line(psi, kind, message):
    with pytest.raises(TfganError, match=message):
        latent.sample_latent(4, 8, kind, truncation=psi)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("truncation") / "toy"
    preset = presets.get_preset("toy-gan").replace(sample_every=10**6, checkpoint_every=50)
    trainer, points = run.start_run(preset, folder, verbose=False, checkpoint_secs=0, keep_every=50)
    trainer.fit(points.images, 150, progress=False)
    return folder


def test_the_spread_of_a_trained_generators_samples_grows_with_psi(toy_run):
    generator, config, _ = trained.load_generator(toy_run)
    spreads = [_spread(trained.sample_images(generator, 2000, config["latent_dim"], 1, truncation=psi))
               for psi in (0.1, 0.25, 0.5, 0.75, 1.0)]
    assert all(a < b for a, b in itertools.pairwise(spreads)), spreads
    assert spreads[0] < 0.5 * spreads[-1]


def test_cli_sample_frames_and_export_take_a_truncation(toy_run, tmp_path, capsys):
    for psi in ("1", "0.3"):
        assert cli.main(["sample", str(toy_run), "--num", "1000", "--out", str(tmp_path / f"s{psi}.npy"),
                         "--truncation", psi]) == 0
    assert "truncation ψ 0.3" in capsys.readouterr().out
    assert _spread(np.load(tmp_path / "s0.3.npy")) < _spread(np.load(tmp_path / "s1.npy"))

    assert cli.main(["frames", str(toy_run), "--num", "16", "--truncation", "0.3"]) == 0
    folder = toy_run / "frames-seed0-n16-psi0.3"
    assert json.loads((folder / "frames.json").read_text())["truncation"] == 0.3
    assert len(list(folder.glob("*.png"))) >= 2

    out = tmp_path / "g.keras"
    assert cli.main(["export", str(toy_run), "--out", str(out), "--num", "0", "--truncation", "0.3"]) == 0
    model = keras.saving.load_model(out)
    generator, _, _ = trained.load_generator(toy_run)
    z = latent.sample_latent(8, 16, seed=2)
    np.testing.assert_allclose(np.asarray(model(z)), np.asarray(generator(0.3 * z, training=False)), atol=1e-5)
    assert json.loads((tmp_path / "model_card.json").read_text())["generator"]["truncation"] == 0.3
    assert "truncation ψ = 0.3 is built in" in (tmp_path / "README.md").read_text()
    with pytest.raises(SystemExit):  # argparse refuses a PSI that is not above 0
        cli.main(["sample", str(toy_run), "--out", str(tmp_path / "x.npy"), "--truncation", "0"])


def test_a_uniform_z_export_says_so_and_its_card_is_scored_on_uniform_noise(tmp_path):
    preset = presets.get_preset("toy-gan").replace(sample_every=10**6, checkpoint_every=10**6, latent="uniform")
    trainer, points = run.start_run(preset, tmp_path / "u", verbose=False)
    trainer.fit(points.images, 100, progress=False)
    card = export.export_run(tmp_path / "u", num=500)
    assert "np.random.uniform(-1, 1" in card["load"] and "from U(-1, 1)" in (tmp_path / "u/export/README.md").read_text()
    fake = trained.sample_images(trainer.generator, 500, 16, 0, latent_kind="uniform")
    assert card["metrics"]["high_quality"] == pytest.approx(toy_metrics.mode_metrics(fake, "ring8")["high_quality"])


def test_a_sphere_run_refuses_truncation_in_frames(tmp_path):
    preset = presets.get_preset("toy-gan").replace(sample_every=10**6, checkpoint_every=10**6, latent="sphere")
    trainer, points = run.start_run(preset, tmp_path / "s", verbose=False)
    trainer.fit(points.images, 5, progress=False)
    with pytest.raises(TfganError, match="sphere"):
        redraw.redraw_frames(tmp_path / "s", num=4, truncation=0.5)
