"""Training health: spot the classic GAN failure modes while training runs, and say what to try.

`HealthMonitor` is a trainer callback (every `GANTrainer` has one, `trainer.health`). It reads each
step's logs and, at every progress frame, the generator's samples of the fixed noise, and watches for

* a discriminator that wins: its loss near 0 for many steps in a row (not for Wasserstein critics,
  whose loss has no floor);
* mode collapse: the samples of the fixed noise far less varied than they were earlier in training;
* vanishing or exploding gradients: a network's gradient norm (`g_grad_norm`, `d_grad_norm`) a
  thousandfold below or above its median over the first steps of the session.

Each problem is reported once per episode, when it has lasted long enough, as one line on the console
and in the run directory's `warnings.log`; it is reported again only if it clears and comes back. The
thresholds are the constructor's arguments: `trainer.health = HealthMonitor(run_dir, d_loss_floor=0.1)`
after removing the old one from `trainer.callbacks`, or feed `observe` / `observe_samples` by hand.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tfgan.runs import bands

D_WINS = ("the discriminator is winning (d_loss < {floor} for {n} steps): lower its learning rate "
          "(--d-lr), add label smoothing (--label-smoothing 0.1) or instance noise, or train G more")
COLLAPSE = ("the samples are collapsing to near-identical images (diversity {now:.3g}, down from "
            "{ref:.3g}): mode collapse; try minibatch features, WGAN-GP (--loss wgan-gp) or lower "
            "learning rates")
VANISH = ("{key} is vanishing ({now:.2g}, was {ref:.2g}): {net} has almost stopped learning; use the "
          "non-saturating loss or WGAN-GP (--loss), and lower the discriminator's learning rate (--d-lr)")
EXPLODE = ("{key} is exploding ({now:.2g}, was {ref:.2g}): lower the learning rates (--g-lr / --d-lr) "
           "or use WGAN-GP's gradient penalty (--loss wgan-gp)")


def diversity(samples: np.ndarray) -> float:
    """Root-mean-square distance per pixel between two different samples of the batch.

    Computed from the per-pixel variance (mean pairwise squared distance = 2·n/(n-1)·variance), so it
    costs one pass over the batch, not one per pair.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    n = len(x)
    if n < 2:
        return 0.0
    return float(np.sqrt(2.0 * n / (n - 1) * x.var(axis=0).mean()))


class HealthMonitor:
    def __init__(
        self,
        run_dir: str | os.PathLike | None = None,
        d_loss_floor: float = 0.05,
        d_loss_patience: int = 200,
        collapse_ratio: float = 0.25,
        collapse_patience: int = 2,
        grad_baseline_steps: int = 50,
        grad_ratio: float = 1000.0,
        grad_patience: int = 20,
        echo: Callable[[str], None] | None = None,
        band: dict | None = None,
    ):
        self.log_path = Path(run_dir) / "warnings.log" if run_dir is not None else None
        self.d_loss_floor, self.d_loss_patience = d_loss_floor, d_loss_patience
        self.collapse_ratio, self.collapse_patience = collapse_ratio, collapse_patience
        self.grad_baseline_steps, self.grad_ratio, self.grad_patience = (
            grad_baseline_steps, grad_ratio, grad_patience)
        self.echo = echo
        self.warnings: list[str] = []  # every warning given, as "step N: message"
        self._streak: dict[str, int] = {}  # consecutive steps (or frames) each problem has lasted
        self._early_grads: dict[str, list[float]] = {}
        self._grad_reference: dict[str, float] = {}  # the median of the early norms, once there are enough
        self._peak_diversity = 0.0
        self.band = band  # what normal runs of the preset look like (tfgan.runs.bands), or None
        if self.log_path is not None and self.log_path.is_file() and "band of normal runs" in self.log_path.read_text(
                encoding="utf-8", errors="replace"):
            self._streak["band"] = 1  # said before this run was resumed

    # --- as a trainer callback ---------------------------------------------------------------------

    every = 0  # reads the logs only (and the frames, at whose steps the loop's chunks end anyway)

    def __call__(self, trainer, logs: dict) -> None:
        self.observe(logs)
        if logs["step"] % trainer.preset.sample_every == 0:
            self.observe_samples(logs["step"], trainer.frame_samples)  # the frame fit just saved
            self.observe_band(int(logs["step"]), trainer.history)

    # --- the checks ------------------------------------------------------------------------------

    def observe(self, logs: dict) -> list[str]:
        """Check one step's logs; returns the warnings given now."""
        step, given = int(logs["step"]), []
        if "d_loss" in logs and "wasserstein" not in logs:
            low = logs["d_loss"] < self.d_loss_floor
            given += self._episode("d_wins", low, self.d_loss_patience, step,
                                   D_WINS.format(floor=self.d_loss_floor, n=self.d_loss_patience))
        for key, net in (("g_grad_norm", "the generator"), ("d_grad_norm", "the discriminator")):
            if key not in logs:
                continue
            now, ref = logs[key], self._grad_reference.get(key)
            if ref is None:
                early = self._early_grads.setdefault(key, [])
                if math.isfinite(now):
                    early.append(now)
                if len(early) == self.grad_baseline_steps:
                    self._grad_reference[key] = statistics.median(early)
                continue
            vanishing = now < ref / self.grad_ratio
            exploding = not math.isfinite(now) or now > ref * self.grad_ratio
            given += self._episode(f"{key} vanishing", vanishing, self.grad_patience, step,
                                   VANISH.format(key=key, net=net, now=now, ref=ref))
            given += self._episode(f"{key} exploding", exploding, self.grad_patience, step,
                                   EXPLODE.format(key=key, now=now, ref=ref))
        return given

    def observe_samples(self, step: int, samples: np.ndarray) -> list[str]:
        """Check the generator's samples of the fixed noise (one progress frame's worth)."""
        now = diversity(samples)
        ref = self._peak_diversity
        self._peak_diversity = max(ref, now)
        collapsed = ref > 0 and now < self.collapse_ratio * ref
        return self._episode("collapse", collapsed, self.collapse_patience, int(step),
                             COLLAPSE.format(now=now, ref=ref))

    def observe_band(self, step: int, history: list[dict]) -> list[str]:
        """Check the run's history so far (a resumed run's whole history, the trainer's) against the band
        of normal runs, when there is one."""
        if self.band is None:
            return []
        message = bands.leaving(history, self.band)  # it names its own step
        if message is None or self._streak.get("band"):
            return []
        self._streak["band"] = 1  # once per run: where a run left the path stays where it left it
        self.warnings.append(message)
        self._emit(message)
        return [message]

    # --- episodes and output -----------------------------------------------------------------------

    def _episode(self, name: str, active: bool, patience: int, step: int, message: str) -> list[str]:
        """Warn when `name` has been active `patience` times in a row; again only after it clears."""
        if not active:
            self._streak[name] = 0
            return []
        self._streak[name] = self._streak.get(name, 0) + 1
        if self._streak[name] != patience:
            return []
        line = f"step {step}: {message}"
        self.warnings.append(line)
        self._emit(line)
        return [line]

    def _emit(self, line: str) -> None:
        if self.echo is not None:
            self.echo(f"warning: {line}")
        else:
            from tqdm.auto import tqdm

            tqdm.write(f"warning: {line}")  # above the progress bar, not through it
        if self.log_path is not None:
            try:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
            except OSError:
                pass  # a full disk shows up at the next checkpoint, with a proper message
