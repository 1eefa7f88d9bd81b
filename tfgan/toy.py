"""2-D toy data for watching GAN failure modes happen in seconds: a ring of 8 Gaussians, a 5×5 grid of
Gaussians, and a spiral.

On images, mode collapse takes minutes to appear and is hard to measure. On these mixtures it takes
seconds, and counting is exact: every sample is either near one of the known modes or it is not.
The datasets and the metrics follow the papers that made them the standard test:

- `ring8`: 8 Gaussians of σ 0.02 on a circle of radius 2 (Metz et al. 2017, Unrolled GANs);
- `grid25`: 25 Gaussians of σ 0.05 on a 5×5 grid with spacing 2 (Srivastava et al. 2017, VEEGAN;
  Lin et al. 2018, PacGAN);
- `spiral`: a spiral arm with noise σ 0.05, split into 16 equal stretches that count as its modes.

`mode_metrics` reports, as those papers do, the *high-quality share* (samples within 3σ of a mode), the
*modes covered* (a mode counts when it gets at least a fifth of its fair share of high-quality
samples) and the KL divergence of the mode histogram from uniform.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np

from tfgan.errors import TfganError

DATASETS = ("ring8", "grid25", "spiral")
NUM_POINTS = 20000  # a "dataset" of this many points, drawn for the run's seed
EXTENT = {"ring8": 3.0, "grid25": 5.5, "spiral": 5.0}  # the plotted square: [-extent, extent]²


def _spiral_curve(num: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """`num` points evenly spaced along the spiral arm r = 4θ / 4π, θ in [π/2, 4π], and the stretch
    (0..15, of equal length) each lies on."""
    theta = np.linspace(math.pi / 2, 4 * math.pi, 20 * num)
    fine = np.stack([theta / math.pi * np.cos(theta), theta / math.pi * np.sin(theta)], axis=1)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(fine, axis=0), axis=1))])
    even = np.linspace(0.0, arc[-1], num)  # even spacing in arc length, so every stretch gets its share
    curve = np.stack([np.interp(even, arc, fine[:, 0]), np.interp(even, arc, fine[:, 1])], axis=1)
    stretch = np.minimum((np.arange(num) * 16) // num, 15)
    return curve.astype(np.float32), stretch


def reference(name: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(reference points, the mode of each, σ): the modes' centres for the mixtures, a dense line
    along the arm for the spiral."""
    check(name)
    if name == "ring8":
        angles = np.arange(8) * 2 * math.pi / 8
        return np.stack([2 * np.cos(angles), 2 * np.sin(angles)], 1).astype(np.float32), np.arange(8), 0.05
    if name == "grid25":
        xs = np.arange(-4.0, 4.1, 2.0)
        centres = np.array([(x, y) for x in xs for y in xs], np.float32)
        return centres, np.arange(25), 0.05
    curve, stretch = _spiral_curve()
    return curve, stretch, 0.05


def num_modes(name: str) -> int:
    return int(reference(name)[1].max()) + 1


def check(name: str) -> str:
    if name not in DATASETS:
        raise TfganError(f"unknown toy dataset '{name}': choose one of {', '.join(DATASETS)}")
    return name


def sample(name: str, num: int = NUM_POINTS, seed: int = 0) -> np.ndarray:
    """`num` points (float32, (num, 2)) of the named dataset; the same seed gives the same points."""
    points, _, sigma = reference(name)  # each point: a mode's centre (or a place on the arm), plus noise
    rng = np.random.default_rng(seed)
    base = points[rng.integers(0, len(points), num)]
    return (base + sigma * rng.standard_normal((num, 2))).astype(np.float32)


def mode_metrics(samples: np.ndarray, name: str) -> dict:
    """High-quality share, modes covered (of how many) and the KL of the mode histogram from uniform."""
    x = np.asarray(samples, np.float64).reshape(len(samples), -1)
    if x.shape[1] != 2 or len(x) == 0:
        raise TfganError(f"toy metrics need 2-D points, got an array of shape {np.shape(samples)}")
    points, modes, sigma = reference(name)
    k = int(modes.max()) + 1
    nearest_dist = np.full(len(x), np.inf)
    nearest_mode = np.zeros(len(x), int)
    for start in range(0, len(x), 2048):
        d = np.linalg.norm(x[start:start + 2048, None, :] - points[None].astype(np.float64), axis=2)
        idx = d.argmin(1)
        nearest_dist[start:start + 2048] = d[np.arange(len(idx)), idx]
        nearest_mode[start:start + 2048] = modes[idx]
    good = nearest_dist < 3 * sigma  # non-finite samples are never good
    counts = np.bincount(nearest_mode[good], minlength=k)
    fair_share = len(x) / k
    covered = int(np.sum(counts >= max(1.0, 0.2 * fair_share)))
    if counts.sum():
        hist = counts / counts.sum()
        kl = float(np.sum(hist * np.log(np.maximum(hist, 1e-12) * k)))
    else:
        kl = float(math.log(k))
    return {"kind": "toy", "dataset": name, "samples": len(x), "modes_covered": covered, "modes_total": k,
            "high_quality": float(good.mean()), "kl_modes": kl}


def format_metrics(m: dict) -> str:
    return (f"{m['dataset']}: {m['modes_covered']} of {m['modes_total']} modes covered, "
            f"{m['high_quality']:.1%} of {m['samples']} samples within 3σ of a mode, "
            f"KL of the mode histogram from uniform {m['kl_modes']:.3f} (0 when every mode gets its share)")


def field_grid(name: str, resolution: int = 64) -> np.ndarray:
    """The points at which D's field is drawn: a resolution² grid over the plotted square."""
    e = EXTENT[check(name)]
    xs = np.linspace(-e, e, resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs)
    return np.stack([gx.ravel(), gy.ravel()], 1)


def render(samples: np.ndarray, name: str, real: np.ndarray | None = None, field: np.ndarray | None = None,
           title: str = "", size: int = 256) -> np.ndarray:
    """A picture (size × size × 3, uint8) of the samples over the real data (faint), with D's output on
    `field_grid(name)` as a coloured field behind both: where D says "real", G is pushed to go."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: safe on the frame-writing thread

    e = EXTENT[check(name)]
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
    from PIL import Image

    return np.asarray(Image.open(buf).convert("RGB"))


def identify(points: np.ndarray) -> str:
    """Which toy dataset these real points come from: the one whose modes hold most of them."""
    x = np.asarray(points)[:2000]
    return max(DATASETS, key=lambda name: mode_metrics(x, name)["high_quality"])


def is_toy(shape) -> bool:
    """Whether data or model output of this shape (without the batch) is 2-D points."""
    return tuple(shape) == (2,)


# --------------------------------------------------------------------------
# Experiments: the same settings over several seeds, scored
# --------------------------------------------------------------------------


class SampleTrail:
    """A trainer callback: every `every` steps, where the fixed noise's samples are, from G and (when
    the run keeps one) from its weight average. `jitter` then says how far they move between looks."""

    def __init__(self, every: int = 50):
        self.every = every
        self.raw: list[np.ndarray] = []
        self.ema: list[np.ndarray] = []

    def __call__(self, trainer, logs: dict) -> None:
        if logs["step"] % self.every:
            return
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
    import time
    from pathlib import Path

    from tfgan import evaluate, run

    rows = []
    for seed in seeds:
        folder = Path(run_root) / f"{re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')}_seed{seed}"
        trainer, points = run.start_run(preset.replace(dataset=check(dataset)), folder, dataset, seed=seed,
                                        fresh=True, verbose=False)
        extra = callbacks() if callbacks else []
        trainer.callbacks += extra
        start = time.perf_counter()
        trainer.fit(points.images, steps, progress=False)
        seconds = time.perf_counter() - start
        samples = evaluate.sample(trainer.generator, num, trainer.latent_dim, seed)
        rows.append({"label": label, "seed": seed, "seconds": seconds, **mode_metrics(samples, dataset),
                     "warnings": list(trainer.health.warnings), "trainer": trainer, "callbacks": extra})
    return rows


def format_rows(rows: list[dict]) -> str:
    """A table of experiment rows: one line per run."""
    lines = [f"{'run':28s} {'seed':>4s} {'modes':>7s} {'high-quality':>12s} {'KL':>6s} {'warnings':>8s} {'s':>4s}"]
    for r in rows:
        lines.append(f"{r['label']:28s} {r['seed']:4d} {r['modes_covered']:3d}/{r['modes_total']:<3d} "
                     f"{r['high_quality']:12.1%} {r['kl_modes']:6.3f} {len(r['warnings']):8d} {r['seconds']:4.0f}")
    return "\n".join(lines)
