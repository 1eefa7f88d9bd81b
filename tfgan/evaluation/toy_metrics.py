"""Mode metrics of samples from the 2-D toy data (`tfgan.data.toy`), as the papers that made the
datasets the standard test report them: the *high-quality share* (samples within 3σ of a mode), the
*modes covered* (a mode counts when it gets at least a fifth of its fair share of high-quality samples)
and the KL divergence of the mode histogram from uniform."""

from __future__ import annotations

import math

import numpy as np

from tfgan.data.toy import nearest_modes, num_modes


def mode_metrics(samples: np.ndarray, name: str) -> dict:
    """High-quality share, modes covered (of how many) and the KL of the mode histogram from uniform."""
    _, nearest_mode, good = nearest_modes(samples, name)
    k = num_modes(name)
    counts = np.bincount(nearest_mode[good], minlength=k)
    fair_share = len(samples) / k
    covered = int(np.sum(counts >= max(1.0, 0.2 * fair_share)))
    if counts.sum():
        hist = counts / counts.sum()
        kl = float(np.sum(hist * np.log(np.maximum(hist, 1e-12) * k)))
    else:
        kl = float(math.log(k))
    return {"kind": "toy", "dataset": name, "samples": len(samples), "modes_covered": covered, "modes_total": k,
            "high_quality": float(good.mean()), "kl_modes": kl}


def format_mode_metrics(m: dict) -> str:
    return (f"{m['dataset']}: {m['modes_covered']} of {m['modes_total']} modes covered, "
            f"{m['high_quality']:.1%} of {m['samples']} samples within 3σ of a mode, "
            f"KL of the mode histogram from uniform {m['kl_modes']:.3f} (0 when every mode gets its share)")

