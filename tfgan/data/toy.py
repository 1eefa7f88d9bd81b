"""2-D toy data for watching GAN failure modes happen in seconds: a ring of 8 Gaussians, a 5×5 grid of
Gaussians, and a spiral.

This module holds the data alone (where the modes are, points drawn from them, the nearest mode of a
point); the metrics are in `tfgan.evaluation.toy_metrics`, the pictures in `tfgan.media.toy_frames`.

On images, mode collapse takes minutes to appear and is hard to measure. On these mixtures it takes
seconds, and counting is exact: every sample is either near one of the known modes or it is not.
The datasets and the metrics follow the papers that made them the standard test:

- `ring8`: 8 Gaussians of σ 0.05 on a circle of radius 2 (after Metz et al. 2017, Unrolled GANs, whose
  ring has σ 0.02);
- `grid25`: 25 Gaussians of σ 0.05 on a 5×5 grid with spacing 2 (Srivastava et al. 2017, VEEGAN;
  Lin et al. 2018, PacGAN);
- `spiral`: a spiral arm with noise σ 0.05, split into 16 equal stretches that count as its modes.

`tfgan.evaluation.toy_metrics.mode_metrics` reports, as those papers do, the *high-quality share* (samples within 3σ of a mode), the
*modes covered* (a mode counts when it gets at least a fifth of its fair share of high-quality
samples) and the KL divergence of the mode histogram from uniform.
"""

from __future__ import annotations

import math

import numpy as np

from tfgan.errors import TfganError

DATASETS = ("ring8", "grid25", "spiral")
NUM_POINTS = 20000  # a "dataset" of this many points, drawn for the run's seed


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
    check_toy_name(name)
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


def check_toy_name(name: str) -> str:
    if name not in DATASETS:
        raise TfganError(f"unknown toy dataset '{name}': choose one of {', '.join(DATASETS)}")
    return name


def sample_points(name: str, num: int = NUM_POINTS, seed: int = 0) -> np.ndarray:
    """`num` points (float32, (num, 2)) of the named dataset; the same seed gives the same points."""
    points, _, sigma = reference(name)  # each point: a mode's centre (or a place on the arm), plus noise
    rng = np.random.default_rng(seed)
    base = points[rng.integers(0, len(points), num)]
    return (base + sigma * rng.standard_normal((num, 2))).astype(np.float32)


def nearest_modes(points: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point, the distance to its nearest reference point and that point's mode, and whether
    the point is a good sample: within 3σ of a mode (non-finite points never are)."""
    x = np.asarray(points, np.float64).reshape(len(points), -1)
    if x.shape[1] != 2 or len(x) == 0:
        raise TfganError(f"toy metrics need 2-D points, got an array of shape {np.shape(points)}")
    reference_points, modes, sigma = reference(name)
    nearest_dist = np.full(len(x), np.inf)
    nearest_mode = np.zeros(len(x), int)
    for start in range(0, len(x), 2048):
        d = np.linalg.norm(x[start:start + 2048, None, :] - reference_points[None].astype(np.float64), axis=2)
        idx = d.argmin(1)
        nearest_dist[start:start + 2048] = d[np.arange(len(idx)), idx]
        nearest_mode[start:start + 2048] = modes[idx]
    return nearest_dist, nearest_mode, nearest_dist < 3 * sigma


def identify(points: np.ndarray) -> str:
    """Which toy dataset these real points come from: the one whose modes hold most of them."""
    x = np.asarray(points)[:2000]
    return max(DATASETS, key=lambda name: nearest_modes(x, name)[2].mean())
