"""Reference bands: what normal runs of a preset look like, drawn behind a run's curves, and the health
check's word when a run leaves them."""

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from tfgan import presets, run
from tfgan.data import Images, toy
from tfgan.media import history as history_lib
from tfgan.runs import bands
from tfgan.runs.health import HealthMonitor
from tfgan.train import GANTrainer

TOY = presets.get_preset("toy-gan")


def fake_history(steps: int, d_real: float, seed: int, d_real_from: int | None = None, high: float = 0.95):
    """Logs of a run whose D(x) hovers at `d_real` (and jumps to `high` from step `d_real_from`)."""
    rng = np.random.default_rng(seed)
    rows = []
    for step in range(1, steps + 1):
        level = high if d_real_from is not None and step >= d_real_from else d_real
        rows.append({"step": step, "D(x)": level + rng.normal(0, 0.02), "D(G(z))": 0.4 + rng.normal(0, 0.02),
                     "d_loss": 1.3 + rng.normal(0, 0.05), "g_loss": 0.9 + rng.normal(0, 0.05)})
    return rows


@pytest.fixture(scope="module")
def band():
    return bands.record([fake_history(1000, 0.6 + 0.01 * s, s) for s in range(3)], TOY, 1000,
                        {"modes_covered": {1000: [5, 8, 7]}}, data="test")


def test_a_band_holds_the_median_between_the_lowest_and_highest_seed(band, tmp_path):
    centres, lo, median, hi = bands.arrays(band, "D(x)")
    assert len(centres) == bands.BINS and (lo <= median).all() and (median <= hi).all()
    assert 0.58 < lo.min() and hi.max() < 0.64 and band["seeds"] == 3
    assert bands.arrays(band, "wasserstein") is None  # not logged by a standard GAN
    bands.save(band, tmp_path)
    assert bands.load(TOY.replace(steps=50, sample_every=7), tmp_path) == {**band, "differs": []}
    # Another recipe for the same models and data is compared with the preset as shipped, and says so;
    # other data, models or loss have no band.
    assert bands.load(TOY.replace(d_lr=1e-2, d_steps=3), tmp_path)["differs"] == ["d_lr", "d_steps"]
    assert bands.load(TOY.replace(loss="hinge"), tmp_path) is None
    assert bands.load(TOY.replace(width=64), tmp_path) is None  # other models
    assert bands.load(TOY.replace(dataset="spiral"), tmp_path) is None
    assert bands.load(presets.get_preset("mnist-dcgan"), tmp_path) is None
    assert bands.quality_line(band, "modes_covered", 1000) == ("normal runs of toy-gan at step 1,000: "
                                                               "modes_covered 5–8 (3 seeds)")


def test_a_run_on_the_path_is_quiet_and_one_that_leaves_it_is_told_why(band):
    assert bands.leaving(fake_history(1000, 0.61, seed=9), band) is None
    message = bands.leaving(fake_history(1000, 0.61, seed=9, d_real_from=400), band)
    assert message.startswith("at step 500 D(x) is above the band of normal runs of toy-gan since step 401")
    assert "D is winning" in message and "--d-lr" in message and len(message.splitlines()) == 1
    # A short excursion (fewer bins than the patience) is not a problem.
    assert bands.leaving(fake_history(1000, 0.61, seed=9, d_real_from=940), band) is None
    low = bands.leaving(fake_history(1000, 0.61, seed=9, d_real_from=500, high=0.2), band)
    assert low.startswith("at step 600 D(x) is below") and "D is winning" not in low and "--d-steps" in low
    changed = bands.leaving(fake_history(1000, 0.61, seed=9, d_real_from=400), {**band, "differs": ["d_lr"]})
    assert "normal runs of toy-gan (this run changes d_lr) since" in changed


def test_the_health_monitor_warns_once_when_a_run_leaves_the_band(band, tmp_path):
    said = []
    monitor = HealthMonitor(tmp_path, band=band, echo=said.append)
    rows = fake_history(1000, 0.61, seed=4, d_real_from=300)
    for i, row in enumerate(rows):
        monitor.observe(row)
        if row["step"] % 100 == 0:
            monitor.observe_band(row["step"], rows[:i + 1])
    assert len(said) == 1 and "D(x) is above the band of normal runs" in said[0]
    assert "above the band" in (tmp_path / "warnings.log").read_text()


def test_the_loss_plot_draws_the_band_behind_the_curves(band, tmp_path):
    ax = Figure().subplots()
    history_lib.draw_band(ax, band, "D(x)", "tab:blue", upto=500)
    (shaded,) = ax.collections
    assert shaded.get_paths()[0].vertices[:, 0].max() <= 500 * 1.05 + 10  # only as far as the run got
    history_lib.draw_band(ax, None, "D(x)", "tab:blue")
    history_lib.draw_band(ax, band, "wasserstein", "tab:blue")
    assert len(ax.collections) == 1  # no band, or no such series: nothing drawn
    assert history_lib.plot_history(fake_history(300, 0.6, 1), tmp_path / "losses.png", band=band).is_file()


@pytest.mark.parametrize("name", sorted(p.stem for p in bands.BANDS_DIR.glob("*.json")))
def test_each_shipped_band_matches_its_preset_and_a_fresh_short_run_keeps_to_it(name, tmp_path):
    preset = presets.get_preset(name)
    band = bands.load(preset)
    assert band is not None and band["differs"] == [], f"{name}.json was recorded with other settings: record it again"
    assert band["seeds"] >= 3 and band["quality"]
    for key in bands.WATCHED["critic" if "wasserstein" in band["series"] else "gan"] + ("d_loss", "g_loss"):
        _, lo, median, hi = bands.arrays(band, key)
        assert np.nanmin(hi - lo) >= 0 and np.isfinite(median).all()
    if preset.architecture != "toy":
        return  # image presets take minutes a run: their band is checked by shape only
    steps = band["steps"] // 4
    trainer, images = run.start_run(preset, tmp_path / "run", seed=7, verbose=False,
                                    images=Images(toy.sample_points(preset.dataset, 5000, seed=7), None, "ring8"))
    trainer.fit(images.images, steps, progress=False)
    assert trainer.band == {**band, "differs": []}
    assert bands.leaving(trainer.history, band) is None  # a fresh seed of the preset keeps to the band
    assert not any("band" in w for w in trainer.health.warnings)
    # A discriminator a hundred times faster, five steps per G step, leaves it, and the run is told so.
    fast_d = preset.replace(d_lr=preset.d_lr * 100, d_steps=5)
    trainer, _ = run.start_run(fast_d, tmp_path / "fast_d", seed=7, verbose=False, images=images)
    trainer.fit(images.images, steps, progress=False)
    (warning,) = [w for w in trainer.health.warnings if "band" in w]
    assert "above the band of normal runs" in warning and "changes d_lr, d_steps" in warning


def test_the_default_preset_and_the_toy_lab_ship_a_band():
    shipped = {p.stem for p in bands.BANDS_DIR.glob("*.json")}
    assert {"mnist-dcgan", "toy-gan"} <= shipped
    assert sum(p.stat().st_size for p in bands.BANDS_DIR.glob("*.json")) < 200_000  # kilobytes, not megabytes


def test_a_critic_is_watched_by_its_estimate_and_gradient_norm():
    def critic_history(estimate, seed):
        rng = np.random.default_rng(seed)
        return [{"step": s, "d_loss": -estimate, "g_loss": 0.0, "wasserstein": estimate + rng.normal(0, 0.01),
                 "grad_norm": 1.0 + rng.normal(0, 0.01)} for s in range(1, 1001)]

    wgan = presets.get_preset("wgan-gp")
    band = bands.record([critic_history(0.5 + 0.01 * s, s) for s in range(3)], wgan, 1000)
    assert "D(x)" not in band["series"] and bands.leaving(critic_history(0.51, 9), band) is None
    message = bands.leaving(critic_history(0.51, 9)[:300] + critic_history(2.0, 9)[300:], band)
    assert message.startswith("at step 400 wasserstein is above the band") and "G is falling behind" in message
    assert "label smoothing" not in message and "--g-lr" in message


def test_where_the_seeds_agree_closely_a_run_a_hair_away_is_still_on_the_path():
    # Measured: a normal run of notebook 01 sat 0.01 below a band of 0.53–0.53 for a tenth of the run.
    narrow = bands.record([fake_history(1000, 0.53, seed=0)] * 3, TOY, 1000)
    _, lo, _, hi = bands.arrays(narrow, "D(x)")
    assert (hi == lo).all()
    assert bands.leaving(fake_history(1000, 0.52, seed=5), narrow) is None
    assert "D(x) is below" in bands.leaving(fake_history(1000, 0.45, seed=5), narrow)


def test_a_stopped_band_recording_resumes_in_its_work_folder(tmp_path, monkeypatch):
    script = str(Path(__file__).parents[1] / "scripts" / "record_bands.py")
    work, out = tmp_path / "work", tmp_path / "out"

    def record(steps: int) -> dict:
        monkeypatch.setattr(sys, "argv", ["record_bands.py", "toy-gan", "--seeds", "0", "1", "--steps", str(steps),
                                          "--quality-every", "20", "--num", "200", "--work", str(work),
                                          "--out", str(out)])
        runpy.run_path(script, run_name="__main__")
        return json.loads((out / "toy-gan.json").read_text())

    fit = GANTrainer.fit

    def stopped_at_20(self, images, steps, **kwargs):  # as Ctrl-C does: the run saves itself and returns
        return fit(self, images, min(steps, 20), **kwargs)

    monkeypatch.setattr(GANTrainer, "fit", stopped_at_20)
    with pytest.raises(SystemExit, match="seed 0 stopped at step 20 of 40; nothing recorded: run the same command"):
        record(40)
    assert not (out / "toy-gan.json").exists()  # no band of a short run
    monkeypatch.setattr(GANTrainer, "fit", fit)
    band = record(40)  # the same command again: seed 0 resumes from its checkpoint, seed 1 starts
    steps = [row["step"] for row in history_lib.read_history(work / "seed0")]
    assert steps == sorted(set(steps)) and steps[-1] == 40  # no step logged twice, none past the end
    assert band["steps"] == 40 and sorted(band["quality"]["modes_covered"]) == ["20", "40"]
    again = record(40)  # complete seeds are scored, not trained again
    assert [row["step"] for row in history_lib.read_history(work / "seed0")][-1] == 40 and again == band
