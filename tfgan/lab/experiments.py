"""Notebook 06's lab: the same settings trained on a 2-D toy dataset over several seeds and scored by
their mode metrics (`experiment`, `format_rows`, `summarise`, `versus`, `rescored`), and trails of where the
fixed noise's samples go while training (`SampleTrail`, `jitter`, `trailed_run` for image presets)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from tfgan.data.toy import check_toy_name
from tfgan.evaluation.toy_metrics import mode_metrics
from tfgan.run import start_run
from tfgan.trained import sample_images
from tfgan.tricks.latent import sample_latent


class SampleTrail:
    """A trainer callback: every `every` steps, where the fixed noise's samples are, from G and (when
    the run keeps one) from its weight average. `jitter` then says how far they move between looks."""

    def __init__(self, every: int = 50):
        self.every = every
        self.steps: list[int] = []
        self.raw: list[np.ndarray] = []
        self.ema: list[np.ndarray] = []

    def __call__(self, trainer, logs: dict) -> None:
        if logs["step"] % self.every:
            return
        self.steps.append(int(logs["step"]))
        self.raw.append(np.asarray(trainer.generator(trainer.sample_noise, training=False)))
        if trainer.ema_generator is not None:
            self.ema.append(np.asarray(trainer.ema_generator(trainer.sample_noise, training=False)))


def jitter(trail: list[np.ndarray], last: int = 10) -> float:
    """Mean distance a fixed-noise sample moves between consecutive looks, over the last `last` looks:
    large for a generator that keeps jumping between modes, small for one that has settled."""
    looks = np.asarray(trail[-last - 1:], np.float64)
    if len(looks) < 2:
        return float("nan")
    return float(np.linalg.norm(np.diff(looks, axis=0), axis=2).mean())


def experiment(preset, dataset: str, steps: int, seeds, run_root, label: str,
               callbacks=None, num: int = 2500) -> list[dict]:
    """Train `preset` on `dataset` once per seed (fresh run directories under `run_root`) and score
    each run's generator: a row per seed with the mode metrics, the health warnings, the seconds it
    took, the trainer and the callbacks made by `callbacks()` for that run."""
    rows = []
    for seed in seeds:
        folder = Path(run_root) / f"{re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')}_seed{seed}"
        trainer, points = start_run(preset.replace(dataset=check_toy_name(dataset)), folder, dataset, seed=seed,
                                    fresh=True, verbose=False)
        extra = callbacks() if callbacks else []
        trainer.callbacks += extra
        start = time.perf_counter()
        trainer.fit(points.images, steps, progress=False)
        seconds = time.perf_counter() - start
        rows.append({"label": label, "seed": seed, "seconds": seconds, **_score(trainer, dataset, seed, num),
                     "warnings": list(trainer.health.warnings), "trainer": trainer, "callbacks": extra})
    return rows


def _score(trainer, dataset: str, seed: int, num: int, training: bool = False) -> dict:
    """Mode metrics of `num` samples from the run's own latent distribution (the seed's noise)."""
    if not training:
        return mode_metrics(sample_images(trainer.generator, num, trainer.latent_dim, seed,
                                          latent_kind=trainer.preset.latent), dataset)
    noise = sample_latent(num, trainer.latent_dim, trainer.preset.latent, seed)
    return mode_metrics(np.asarray(trainer.generator(noise, training=True)), dataset)


def trailed_run(preset, run_dir, steps: int, every: int, seed: int = 0, **start_kwargs):
    """Train an image preset afresh for `steps`, looking at the fixed noise's samples at step 0 and
    every `every` steps (a `SampleTrail`): returns (trainer, trail, the real images, seconds).
    `start_kwargs` go to `start_run` (for example `images=`)."""
    trainer, images = start_run(preset, run_dir, seed=seed, fresh=True, verbose=False, **start_kwargs)
    trail = SampleTrail(every)
    trail(trainer, {"step": 0})
    trainer.callbacks.append(trail)
    start = time.perf_counter()
    trainer.fit(images.images, steps, progress=False)
    return trainer, trail, images.images, time.perf_counter() - start


def versus(rows: list[dict], baseline: list[dict], key: str = "modes_covered") -> str:
    """Seed by seed against `baseline` (the same seeds): how often `key` is higher, equal, lower."""
    before = {r["seed"]: r[key] for r in baseline}
    pairs = [(r[key], before[r["seed"]]) for r in rows if r["seed"] in before]
    more, same = sum(a > b for a, b in pairs), sum(a == b for a, b in pairs)
    return f"more in {more}, as many in {same}, fewer in {len(pairs) - more - same} of {len(pairs)} seeds"


def format_rows(rows: list[dict]) -> str:
    """A table of experiment rows: one line per run."""
    lines = [f"{'run':28s} {'seed':>4s} {'modes':>7s} {'high-quality':>12s} {'KL':>6s} {'warnings':>8s} {'s':>4s}"]
    for r in rows:
        lines.append(f"{r['label']:28s} {r['seed']:4d} {r['modes_covered']:3d}/{r['modes_total']:<3d} "
                     f"{r['high_quality']:12.1%} {r['kl_modes']:6.3f} {len(r['warnings']):8d} {r['seconds']:4.0f}")
    return "\n".join(lines)


def summarise(groups: dict[str, list[dict]]) -> str:
    """One line per experiment (label -> its rows over seeds): mean modes covered, the seeds that
    covered them all, mean high-quality share and KL, and the mean seconds a run took."""
    lines = [f"{'experiment':34s} {'modes':>6s} {'all modes':>9s} {'high-quality':>12s} {'KL':>6s} {'s/run':>6s}"]
    for label, rows in groups.items():
        full = sum(r["modes_covered"] == r["modes_total"] for r in rows)
        mean = {key: np.mean([r[key] for r in rows]) for key in ("modes_covered", "high_quality", "kl_modes", "seconds")}
        lines.append(f"{label:34s} {mean['modes_covered']:6.1f} {full:>5d} of {len(rows):<1d} "
                     f"{mean['high_quality']:12.1%} {mean['kl_modes']:6.3f} {mean['seconds']:6.1f}")
    return "\n".join(lines)


def rescored(rows: list[dict], dataset: str, label: str, training: bool = True, num: int = 2500) -> list[dict]:
    """The same runs scored on the same noise with G in training mode: its dropout left on at
    sampling time (the trick in Isola et al. 2017, pix2pix, where dropout is G's only noise). Seconds
    and warnings are the runs' own."""
    return [{**r, **_score(r["trainer"], dataset, r["seed"], num, training), "label": label} for r in rows]
