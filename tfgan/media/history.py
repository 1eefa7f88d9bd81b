"""A run's history.csv (one row of logs per step) read back, and drawn as loss curves. TensorFlow-free:
the `gif` command reads it for captions."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tfgan.runs import bands
from tfgan.runs.files import atomic_write_bytes


def read_history(run_dir: str | os.PathLike) -> list[dict]:
    """A run's history.csv as dicts of floats (step and epoch as ints); [] for a run without one. Here,
    not beside the loop that writes it, so that reading it (for captions) does not import TensorFlow."""
    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            parsed = {k: float(v) for k, v in row.items() if k and v not in ("", None)}
            parsed["step"] = int(parsed["step"])
            parsed["epoch"] = int(parsed.get("epoch", 0))
            rows.append(parsed)
    return rows


def draw_band(ax, band: dict | None, key: str, color, upto: float | None = None) -> None:
    """The band of normal runs of `key` (`tfgan.runs.bands`) behind a curve, in the curve's colour."""
    ranges = bands.arrays(band, key) if band else None
    if ranges is None:
        return
    centres, lo, median, hi = ranges
    shown = centres <= (upto or centres[-1]) * 1.05
    label = f"{key}: {band['seeds']} normal runs" if key in ("d_loss", "D(x)", "wasserstein") else None
    ax.fill_between(centres[shown], lo[shown], hi[shown], color=color, alpha=0.15, linewidth=0, label=label)
    ax.plot(centres[shown], median[shown], color=color, alpha=0.5, linewidth=0.8, linestyle="--")


def plot_history(history: Sequence[dict], out: str | os.PathLike, band: dict | None = None) -> Path | None:
    """Loss curves (left) and the discriminator's outputs or the Wasserstein estimate (right); with a
    `band`, what normal runs of the preset looked like, behind them."""
    if not history:
        return None
    # A bare Figure (no pyplot) draws off-screen without switching a notebook's plotting backend.
    from matplotlib.figure import Figure

    steps = np.array([row["step"] for row in history])

    def series(key):
        return np.array([row.get(key, np.nan) for row in history], dtype=float)

    window = max(1, len(history) // 100)

    def smooth(v, k=window):
        return np.convolve(v, np.ones(k) / k, mode="valid") if len(v) >= k else v

    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 2)
    for key in ("d_loss", "g_loss"):
        v = smooth(series(key))
        (line,) = axes[0].plot(steps[len(steps) - len(v):], v, label=key)
        draw_band(axes[0], band, key, line.get_color(), upto=steps[-1])
    axes[0].set(title="losses", xlabel="step")
    right = [k for k in ("D(x)", "D(G(z))", "wasserstein", "gp", "grad_norm") if k in history[-1]]
    for key in right:
        v = smooth(series(key))
        (line,) = axes[1].plot(steps[len(steps) - len(v):], v, label=key)
        draw_band(axes[1], band, key, line.get_color(), upto=steps[-1])
    axes[1].set(title="discriminator view", xlabel="step")
    for ax in axes:
        if ax.lines:  # a step of your own may log neither D(x) nor a Wasserstein estimate
            ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return atomic_write_bytes(out, buf.getvalue())

