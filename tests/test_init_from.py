"""Fine-tuning: `train --init-from RUN_DIR|FILE.keras` starts a new run from another run's networks."""

import numpy as np
import pytest

from tfgan import cli, presets, run, trained
from tfgan.artefacts import export
from tfgan.data import Images, toy
from tfgan.errors import TfganError
from tfgan.runs.checkpoint import CheckpointMismatch

TINY = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                                 sample_every=5, checkpoint_every=5, ema=0.9)


def weights_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


@pytest.fixture(scope="module")
def source_run(tmp_path_factory, digits):
    run_dir = tmp_path_factory.mktemp("source") / "run"
    trainer, images = run.start_run(TINY, run_dir, images=Images(digits[:128], None, "d"), verbose=False)
    trainer.fit(images.images, 10, progress=False)
    return run_dir, trainer


def test_a_new_run_starts_from_the_other_runs_networks_with_fresh_counters(tmp_path, source_run, digits):
    source_dir, source = source_run
    images = Images(digits[128:256], None, "other digits")
    trainer, _ = run.start_run(TINY, tmp_path / "tuned", images=images, verbose=False, seed=3,
                               init=lambda t: trained.start_from(t, source_dir))
    assert weights_equal(trainer.generator, source.generator)
    assert weights_equal(trainer.discriminator, source.discriminator)
    assert weights_equal(trainer.ema_generator, source.ema_generator)  # the average, not the live G
    assert not weights_equal(trainer.ema_generator, source.generator)
    assert int(trainer.step) == 0 and int(trainer.g_optimizer.iterations) == 0
    config = (tmp_path / "tuned" / "config.json").read_text()
    assert f"G and D from {source_dir}" in config and "at step 10" in config
    trainer.fit(images.images, 5, progress=False)
    assert not weights_equal(trainer.generator, source.generator)  # it trains on from there

    # Stopped and resumed, the run goes on from its own checkpoint, not from the other run's.
    resumed, _ = run.start_run(TINY, tmp_path / "tuned", images=images, verbose=False, seed=3,
                               init=lambda t: trained.start_from(t, source_dir))
    assert int(resumed.step) == 5 and weights_equal(resumed.generator, trainer.generator)
    assert "G and D from" in (tmp_path / "tuned" / "config.json").read_text()  # the origin stays recorded


def test_an_exported_generator_starts_g_and_leaves_d_fresh(tmp_path, source_run, digits):
    source_dir, source = source_run
    card = export.export_run(source_dir, tmp_path / "export" / "g.keras", "keras", num=16)
    said = []
    trainer, _ = run.start_run(TINY, tmp_path / "tuned", images=Images(digits[:128], None, "d"), verbose=False,
                               init=lambda t: said.append(trained.start_from(t, card["path"])) or said[-1])
    assert weights_equal(trainer.generator, source.ema_generator)  # the file holds the weight average
    assert not weights_equal(trainer.discriminator, source.discriminator)
    assert "D from scratch" in said[0]


def test_another_architecture_is_refused_in_one_line_and_nothing_is_written(tmp_path, source_run, digits):
    source_dir, _ = source_run
    wider = TINY.replace(width=16)
    with pytest.raises(CheckpointMismatch) as refused:
        run.start_run(wider, tmp_path / "tuned", images=Images(digits[:128], None, "d"), verbose=False,
                      init=lambda t: trained.start_from(t, source_dir))
    message = str(refused.value)
    assert len(message.splitlines()) == 1 and message.count("'mnist-dcgan' generator") == 2
    assert "weights) differs from this run's" in message
    assert not (tmp_path / "tuned" / "config.json").exists()
    assert not (tmp_path / "tuned" / "ckpt").exists()


def test_the_cli_names_a_missing_source_before_loading_data(tmp_path, capsys):
    argv = ["train", "mnist-dcgan", "--steps", "1", "--run-dir", str(tmp_path / "r"), "--init-from",
            str(tmp_path / "nowhere")]
    assert cli.main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --init-from") and "not found" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_fresh_with_a_refused_start_leaves_the_old_run_as_it_was(tmp_path, source_run, digits):
    source_dir, _ = source_run
    images = Images(digits[:128], None, "d")
    wide = TINY.replace(width=16)
    old, _ = run.start_run(wide, tmp_path / "mine", images=images, verbose=False)
    old.fit(images.images, 5, progress=False)
    before = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "mine").rglob("*") if p.is_file()
              and p.name != "train.pid"}
    with pytest.raises(CheckpointMismatch):
        run.start_run(wide, tmp_path / "mine", images=images, verbose=False, fresh=True,
                      init=lambda t: trained.start_from(t, source_dir))
    after = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "mine").rglob("*") if p.is_file()
             and p.name != "train.pid"}
    assert after == before and not list((tmp_path / "mine").glob(".fresh-*"))


def test_its_own_directory_and_another_noise_are_refused(tmp_path, source_run, digits):
    source_dir, _ = source_run
    images = Images(digits[:128], None, "d")
    with pytest.raises(TfganError, match="this run's own directory"):
        run.start_run(TINY, tmp_path / "r", images=images, verbose=False,
                      init=lambda t: trained.start_from(t, tmp_path / "r"))
    with pytest.raises(CheckpointMismatch, match="trained on gaussian noise and this run draws uniform noise"):
        run.start_run(TINY.replace(latent="uniform"), tmp_path / "u", images=images, verbose=False,
                      init=lambda t: trained.start_from(t, source_dir))


def test_a_fine_tuned_run_is_not_held_to_the_band_of_runs_from_scratch(tmp_path):
    shipped = presets.get_preset("toy-gan")

    points = Images(toy.sample_points("ring8", 2000, seed=1), None, "ring8")
    plain, _ = run.start_run(shipped, tmp_path / "plain", images=points, verbose=False)
    plain.fit(points.images, 5, progress=False)
    assert plain.band is not None and plain.health.band is plain.band
    tuned, _ = run.start_run(shipped, tmp_path / "tuned", images=points, verbose=False,
                             init=lambda t: trained.start_from(t, tmp_path / "plain"))
    assert tuned.band is None and tuned.health.band is None
