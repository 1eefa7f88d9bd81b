"""Pictures of the 2-D toy data: generated points over the real ones, with D's output drawn as a coloured
field behind both (where D says "real", G is pushed to go). These are the toy runs' progress frames."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from tfgan.data.toy import check_toy_name

EXTENT = {"ring8": 3.0, "grid25": 5.5, "spiral": 5.0}  # the plotted square: [-extent, extent]²


def field_grid(name: str, resolution: int = 64) -> np.ndarray:
    """The points at which D's field is drawn: a resolution² grid over the plotted square."""
    e = EXTENT[check_toy_name(name)]
    xs = np.linspace(-e, e, resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs)
    return np.stack([gx.ravel(), gy.ravel()], 1)


def draw_points(samples: np.ndarray, name: str, real: np.ndarray | None = None, field: np.ndarray | None = None,
           title: str = "", size: int = 256) -> np.ndarray:
    """A picture (size × size × 3, uint8) of the samples over the real data (faint), with D's output on
    `field_grid(name)` as a coloured field behind both: where D says "real", G is pushed to go."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: safe on the frame-writing thread

    e = EXTENT[check_toy_name(name)]
    fig = Figure(figsize=(size / 100, size / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    if field is not None:
        res = math.isqrt(field.size)
        values = np.asarray(field, np.float64).reshape(res, res)
        ax.imshow(values, extent=(-e, e, -e, e), origin="lower", cmap="RdBu_r", alpha=0.55,
                  vmin=np.percentile(values, 2), vmax=np.percentile(values, 98), interpolation="bilinear")
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="0.55", alpha=0.25, linewidths=0)
    s = np.asarray(samples, np.float64)
    ax.scatter(s[:, 0], s[:, 1], s=3, c="#1a9850", alpha=0.8, linewidths=0)
    ax.set_xlim(-e, e)
    ax.set_ylim(-e, e)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.text(0.03, 0.97, title, transform=ax.transAxes, va="top", fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0, "pad": 1.5})
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return np.asarray(Image.open(buf).convert("RGB"))

