"""Does the loss say how good the samples are? A logged loss lined up with the metric `--eval-every` logged.

A standard GAN's losses say who is winning the game, not how good the samples are: D's loss can sit at
the same level while the digits go from blobs to clean strokes. The WGAN critic's gap estimates the
Wasserstein distance between the data and the samples, so it should fall as they improve (Arjovsky et
al. 2017, figs. 3-4; Gulrajani et al. 2017, fig. 3). Here the claim is checked on a run's own history:
the loss, averaged over the steps before each evaluation, against the metric at that evaluation, and
Spearman's rank correlation between the two (1: they rise and fall together; 0: unrelated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tfgan.errors import TfganError


def loss_at_evals(history: Sequence[Mapping], loss_key: str, metric_key: str = "eval/fd",
                  window: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, loss, metric) at each step where `metric_key` was logged.

    The loss there is the mean of `loss_key` over the `window` steps up to and including it: a single
    step's loss is too noisy to compare.
    """
    losses = np.array([row.get(loss_key, np.nan) for row in history], dtype=float)
    if not np.isfinite(losses).any():
        raise TfganError(f"the history has no '{loss_key}' values: train first, or pick a logged key "
                         f"(e.g. 'wasserstein' for a WGAN, 'd_loss' for a standard GAN)")
    rows = [i for i, row in enumerate(history) if np.isfinite(row.get(metric_key, np.nan))]
    if not rows:
        raise TfganError(f"the history has no '{metric_key}' values: train with --eval-every N "
                         f"(or trainer.callbacks.append(evaluate.EvalCallback(images, N)))")
    steps = np.array([history[i]["step"] for i in rows], dtype=int)
    loss = np.array([np.nanmean(losses[max(0, i + 1 - window): i + 1]) for i in rows])
    metric = np.array([history[i][metric_key] for i in rows], dtype=float)
    return steps, loss, metric


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ: the correlation of the two series' ranks (NaN for fewer than 3 points)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    ranks_a, ranks_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def plot_loss_against_metric(runs: Mapping[str, tuple[Sequence[Mapping], str]], metric_key: str = "eval/fd",
                             window: int = 50, skip: int = 1):
    """One panel per run: its loss (left axis) and the metric (right axis) at every evaluation.

    `runs` maps a title to (history, loss key), e.g. {"WGAN-GP": (wgan.history, "wasserstein"),
    "DCGAN": (dcgan.history, "d_loss")}. The first `skip` evaluations are left out of ρ (step 0's
    untrained samples make any falling curve look correlated). Returns (figure, {title: ρ}).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.6), squeeze=False)
    correlations = {}
    for ax, (title, (history, loss_key)) in zip(axes[0], runs.items()):
        steps, loss, metric = loss_at_evals(history, loss_key, metric_key, window)
        rho = rank_correlation(loss[skip:], metric[skip:])
        correlations[title] = rho
        ax.plot(steps, loss, "o-", color="C0", label=f"{loss_key} (mean of {window} steps)")
        ax.set_xlabel("generator step")
        ax.set_ylabel(loss_key, color="C0")
        right = ax.twinx()
        right.plot(steps, metric, "s--", color="C3", label=metric_key)
        right.set_ylabel(metric_key, color="C3")
        ax.set_title(f"{title}\nSpearman ρ = {rho:+.2f}", fontsize=10)  # two lines: long titles fit
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, correlations
