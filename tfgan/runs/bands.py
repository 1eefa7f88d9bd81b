"""Reference bands: what a normal run of a preset looks like, step by step, so a learner can see whether
a healthy-looking run is on the usual path ("is my loss normal?").

A band file (`tfgan/assets/bands/PRESET.json`, recorded by `scripts/record_bands.py`) holds, for
several seeds of the preset as shipped, each logged series (D(x), D(G(z)), both losses; the Wasserstein
estimate and gradient norm for WGAN-GP) as per-bin medians, and the preset's quality metric at a few
steps. Across seeds it keeps the median and the band from the lowest to the highest seed.
`leaving(history, band)` says when a run has been outside the band for long; `losses.png` and
`display.show_history` draw the band behind the run's own curves. TensorFlow-free.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tfgan.presets import FIELD_DEFAULTS, Preset

BANDS_DIR = Path(__file__).resolve().parent.parent / "assets" / "bands"
SERIES = ("D(x)", "D(G(z))", "d_loss", "g_loss", "wasserstein", "grad_norm")
BINS = 50
# Settings that do not change what a step does: a run that differs only in these is still "the preset".
IGNORED = ("name", "steps", "sample_every", "checkpoint_every", "num_samples", "description")
# Settings without which the curves are not comparable at all (other data, models or loss): no band.
SAME_PATH = ("architecture", "loss", "dataset", "image_size", "channels", "num_classes", "width", "hidden",
             "latent_dim", "g_upsample", "g_batchnorm", "spectral_norm", "acgan",
             "draw_size", "minibatch_std", "pack")
MARGIN = 0.25  # of the band's width, on each side: the band of 3 seeds is narrower than the truth
# ... and at least this share of the median: where three seeds happen to agree closely, a run 0.01 away
# from them is not off the path (measured: a normal run of notebook 01 was, by 0.01, at one bin).
RELATIVE_FLOOR = 0.05
PATIENCE = 5  # bins in a row (a tenth of the recorded run) outside the band before it is said

# What leaving the band in each direction usually means, and what to try.
ADVICE = {
    ("D(x)", "above"): "D is winning",
    ("D(G(z))", "below"): "D is winning",
    ("d_loss", "below"): "D is winning",
    ("g_loss", "above"): "D is winning",
    ("D(x)", "below"): "D is losing its grip on the real images",
    ("D(G(z))", "above"): "G is fooling D more than usual (look at the samples for collapse)",
    ("d_loss", "above"): "D is losing its grip on the real images",
    ("g_loss", "below"): "G is fooling D more than usual (look at the samples for collapse)",
    # A Wasserstein critic has no probabilities: its estimate and the gradient norm the penalty holds near 1.
    ("wasserstein", "above"): "the critic tells real from fake apart more than usual: G is falling behind",
    ("wasserstein", "below"): "the critic tells real from fake apart less than usual: it may be undertrained",
    ("grad_norm", "above"): "the critic's gradients are steeper than usual: the penalty is losing its hold",
    ("grad_norm", "below"): "the critic's gradients are flatter than usual: it may be undertrained",
}
WATCHED = {"gan": ("D(x)", "D(G(z))", "d_loss", "g_loss"), "critic": ("wasserstein", "grad_norm")}
FIXES = {
    "D is winning": "lower D's learning rate (--d-lr) or add label smoothing (--label-smoothing 0.1)",
    "D is losing its grip on the real images": "raise D's learning rate (--d-lr) or train it more (--d-steps)",
    "the critic tells real from fake apart more than usual: G is falling behind":
        "raise G's learning rate (--g-lr) or give the critic fewer steps (--d-steps)",
    "the critic tells real from fake apart less than usual: it may be undertrained":
        "give the critic more steps (--d-steps) or a higher learning rate (--d-lr)",
    "the critic's gradients are steeper than usual: the penalty is losing its hold":
        "lower the learning rates (--g-lr / --d-lr)",
    "the critic's gradients are flatter than usual: it may be undertrained":
        "give the critic more steps (--d-steps) or a higher learning rate (--d-lr)",
}


def settings(preset: Preset) -> dict:
    """The preset's settings that decide what a step does (what a band is valid for)."""
    kept = {k: v for k, v in asdict(preset).items() if k not in IGNORED}
    return json.loads(json.dumps(kept))  # as a band file holds them (tuples as lists)


def binned(history: Sequence[dict], key: str, steps: int, bins: int = BINS) -> np.ndarray:
    """The median of `key` in each of `bins` equal spans of steps 1..steps (NaN where none logged)."""
    edges = np.linspace(0, steps, bins + 1)
    history = [row for row in history if row["step"] <= steps]  # a longer run: its tail has no band
    step = np.array([row["step"] for row in history], dtype=float)
    value = np.array([row.get(key, np.nan) for row in history], dtype=float)
    out = np.full(bins, np.nan)
    which = np.clip(np.searchsorted(edges, step, side="left") - 1, 0, bins - 1)
    for b in range(bins):
        chosen = value[(which == b) & np.isfinite(value)]
        if len(chosen):
            out[b] = np.median(chosen)
    return out


def record(histories: Sequence[Sequence[dict]], preset: Preset, steps: int, quality: dict | None = None,
           data: str = "", quality_samples: int = 0) -> dict:
    """A band from the histories of several seeds; `quality` maps a metric to {step: [one value per seed]};
    `data` says what they trained on."""
    if len(histories) < 2:
        raise ValueError("a band needs at least two runs (three seeds or more are recorded)")
    series = {}
    for key in SERIES:
        per_seed = np.array([binned(h, key, steps) for h in histories])
        if np.isfinite(per_seed).any():
            series[key] = {"median": _list(np.nanmedian(per_seed, 0)), "lo": _list(np.nanmin(per_seed, 0)),
                           "hi": _list(np.nanmax(per_seed, 0))}
    quality = {metric: {str(step): sorted(map(float, values)) for step, values in by_step.items()}
               for metric, by_step in (quality or {}).items()}
    return {"preset": preset.name, "settings": settings(preset), "seeds": len(histories), "data": data, "steps": steps,
            "bins": BINS, "series": series, "quality": quality,
            "quality_samples": quality_samples}


def _list(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else round(float(v), 5) for v in values]


def save(band: dict, folder: str | os.PathLike = BANDS_DIR) -> Path:
    path = Path(folder) / f"{band['preset']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(band, indent=1) + "\n")
    return path


def load(preset: Preset, folder: str | os.PathLike = BANDS_DIR) -> dict | None:
    """The band recorded for this preset, or None when there is none or the run has other data, models
    or loss (`SAME_PATH`). A run that changes the recipe otherwise (a learning rate, D steps, a trick) is
    compared with the preset as shipped: the band's "differs" names what the run changed."""
    path = Path(folder) / f"{preset.name}.json"
    if not path.is_file():
        return None
    band = json.loads(path.read_text())
    # A setting added after the band was recorded had its default then.
    defaults = {key: value for key, value in FIELD_DEFAULTS.items() if key not in IGNORED}
    recorded, mine = {**defaults, **band.get("settings", {})}, settings(preset)
    if any(recorded.get(key) != mine.get(key) for key in SAME_PATH):
        return None
    band["differs"] = sorted(key for key in set(recorded) | set(mine) if recorded.get(key) != mine.get(key))
    return band


def arrays(band: dict, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(bin centres in steps, lo, median, hi) of one series, or None when the band lacks it."""
    if key not in band["series"]:
        return None
    s = band["series"][key]
    centres = (np.arange(band["bins"]) + 0.5) * band["steps"] / band["bins"]
    as_array = lambda v: np.array([np.nan if x is None else x for x in v], dtype=float)
    return centres, as_array(s["lo"]), as_array(s["median"]), as_array(s["hi"])


def leaving(history: Sequence[dict], band: dict, patience: int = PATIENCE) -> str | None:
    """One line when the run's per-bin median of a series has been outside the band (widened by MARGIN
    of its width, or RELATIVE_FLOOR of the median where it is narrower) for `patience` bins in a row,
    naming the step; None while it keeps to the band."""
    if not history:
        return None
    last_bin = min(band["bins"], int(history[-1]["step"] * band["bins"] / band["steps"]))
    for key in WATCHED["critic" if "wasserstein" in band["series"] else "gan"]:
        ranges = arrays(band, key)
        if ranges is None:
            continue
        _, lo, median, hi = ranges
        mine = binned(history, key, band["steps"])
        pad = np.maximum(MARGIN * (hi - lo), RELATIVE_FLOOR * np.abs(median))
        side = np.where(mine > hi + pad, 1, np.where(mine < lo - pad, -1, 0))[:last_bin]
        for start in range(len(side) - patience + 1):
            run = side[start:start + patience]
            if run[0] != 0 and (run == run[0]).all():
                where = "above" if run[0] > 0 else "below"
                width = band["steps"] / band["bins"]
                meaning = ADVICE[(key, where)]
                fix = FIXES.get(meaning, "compare the samples with those of a normal run")
                changed = f" (this run changes {', '.join(band['differs'])})" if band.get("differs") else ""
                return (f"at step {int((start + patience) * width):,} {key} is {where} the band of normal runs "
                        f"of {band['preset']}{changed} since step {int(start * width) + 1:,} "
                        f"({lo[start]:.2f}–{hi[start]:.2f} there, this run {mine[start]:.2f}): {meaning}; {fix}")
    return None


def quality_line(band: dict, metric: str, step: int) -> str | None:
    """'normal runs at step 10,000: 0.91–0.95 (3 seeds)' for the recorded step nearest `step`."""
    by_step = band.get("quality", {}).get(metric)
    if not by_step:
        return None
    nearest = min(by_step, key=lambda s: abs(int(s) - step))
    if abs(int(nearest) - step) > 0.1 * band["steps"]:
        return None
    values = by_step[nearest]
    return (f"normal runs of {band['preset']} at step {int(nearest):,}: {metric} {min(values):.3g}–"
            f"{max(values):.3g} ({len(values)} seeds)")
