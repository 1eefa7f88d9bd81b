import matplotlib
import numpy as np
import pytest

from tfgan.errors import TfganError
from tfgan.evaluation import loss_vs_quality

matplotlib.use("Agg")


def _history(losses, fds, every):
    rows = [{"step": i + 1, "wasserstein": w} for i, w in enumerate(losses)]
    for i, fd in zip(range(every - 1, len(rows), every), fds):
        rows[i]["eval/fd"] = fd
    return rows


def test_loss_at_evals_averages_the_window_before_each_evaluation():
    history = _history(np.arange(1.0, 13.0), [5.0, 4.0, 3.0], every=4)  # evals at steps 4, 8, 12
    steps, loss, metric = loss_vs_quality.loss_at_evals(history, "wasserstein", window=2)
    assert steps.tolist() == [4, 8, 12]
    assert loss.tolist() == [3.5, 7.5, 11.5]  # mean of the two logged values up to each evaluation
    assert metric.tolist() == [5.0, 4.0, 3.0]


def test_rank_correlation_follows_the_order_not_the_scale():
    assert loss_vs_quality.rank_correlation([1, 2, 3, 4], [10, 20, 300, 4000]) == pytest.approx(1.0)
    assert loss_vs_quality.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(loss_vs_quality.rank_correlation([1, 2], [2, 1]))


def test_the_figure_is_drawn_from_the_logged_values():
    rng = np.random.default_rng(0)
    falling = np.linspace(5, 1, 400) + rng.normal(0, 0.05, 400)  # a Wasserstein estimate that falls
    fds = np.linspace(40, 8, 10)  # with the FD
    wgan = _history(falling, fds, every=40)
    dcgan = [{"step": r["step"], "d_loss": v} | ({"eval/fd": r["eval/fd"]} if "eval/fd" in r else {})
             for r, v in zip(wgan, rng.normal(1.2, 0.1, 400))]  # a D loss that only wanders
    fig, rho = loss_vs_quality.plot_loss_against_metric({"WGAN-GP": (wgan, "wasserstein"), "DCGAN": (dcgan, "d_loss")},
                                                 window=20)
    assert rho["WGAN-GP"] > 0.9 and abs(rho["DCGAN"]) < 0.9
    left = fig.axes[0]
    x, y = left.lines[0].get_data()
    assert list(x) == list(range(40, 401, 40))
    assert np.allclose(y, [falling[s - 20:s].mean() for s in range(40, 401, 40)])
    right_lines = next(ax for ax in fig.axes if ax is not left and ax.get_ylabel() == "eval/fd").lines
    assert np.allclose(right_lines[0].get_data()[1], fds)
    assert "ρ = +" in left.get_title()


def test_missing_evaluations_name_the_fix():
    with pytest.raises(TfganError, match="--eval-every"):
        loss_vs_quality.loss_at_evals([{"step": 1, "wasserstein": 1.0}], "wasserstein")
    with pytest.raises(TfganError, match="no 'd_loss'"):
        loss_vs_quality.loss_at_evals([{"step": 1, "wasserstein": 1.0, "eval/fd": 3.0}], "d_loss")
