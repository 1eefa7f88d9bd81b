"""The check of a student's whole train step: trained for a few seconds on 2-D toy data (a ring of 8
Gaussians), in tfgan's loop, and judged by what happened to the networks and the samples."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tfgan import presets, run
from tfgan.data import Images, toy
from tfgan.errors import TfganError
from tfgan.exercises.probe import CheckResult, one_line

STEPS = 400  # a few seconds on a 2-core CPU
EVERY = 50  # how often the samples' distance from the data is measured
PRESET = presets.get_preset("toy-gan").replace(batch_size=128, sample_every=EVERY, checkpoint_every=10**6, steps=STEPS)


def distance_to_modes(samples: np.ndarray) -> float:
    """The median distance from a sample to the nearest of the ring's 8 centres (about 1.5 untrained)."""
    centres = toy.reference("ring8")[0]
    return float(np.median(np.min(np.linalg.norm(samples[:, None] - centres[None], axis=2), axis=1)))


def _trainer(run_dir: Path, points: np.ndarray):
    return run.start_run(PRESET, run_dir, images=Images(points, None, "ring8"), verbose=False, checkpoint_secs=0)


def _train(make_step: Callable, run_dir: Path, points: np.ndarray, steps: int, distances: list | None = None):
    trainer, _ = _trainer(run_dir, points)
    step = make_step(trainer)
    if not callable(step):
        raise TfganError(f"make_step(trainer) returned {type(step).__name__}: return the step function itself "
                         "(return train_step, without calling it)")
    if distances is not None:
        def measure(trainer, logs):
            if logs["step"] % EVERY == 0:
                distances.append(distance_to_modes(trainer.frame_samples))

        measure.every = EVERY
        trainer.callbacks.append(measure)
    trainer.fit(points, steps, progress=False, train_step=step)
    return trainer


def check_train_step(make_step: Callable) -> CheckResult:
    """`make_step(trainer) -> step`, where `step(batch) -> {"d_loss": ..., "g_loss": ..., ...}` updates
    trainer.generator and trainer.discriminator (the "bring your own step" contract)."""
    name = "train_step"
    points = toy.sample_points("ring8", 4096, seed=0)
    with tempfile.TemporaryDirectory(prefix="tfgan-check-") as tmp:
        tmp = Path(tmp)
        try:
            before, _ = _trainer(tmp / "untrained", points)
            g0, d0 = before.generator.get_weights(), before.discriminator.get_weights()
            untrained = distance_to_modes(before.generate())
            distances: list[float] = []
            trained = _train(make_step, tmp / "trained", points, STEPS, distances)
        except NotImplementedError:
            return CheckResult(name, False, "not done yet (the cell still raises NotImplementedError)", done=False)
        except TfganError as e:
            return CheckResult(name, False, str(e))
        except Exception as e:  # noqa: BLE001 (a student's code may raise anything: say what, in one line)
            return CheckResult(name, False, one_line(e))
        logs = trained.history[-1]
        problem = _update_problem(trained, g0, d0, logs)
        if problem:
            return CheckResult(name, False, problem)
        # A standard GAN oscillates on the ring, so the closest approach counts, not the last frame.
        closest = min(distances)
        if closest > 0.6 * untrained:
            return CheckResult(name, False, f"In {STEPS} steps the samples never came near the data (median distance "
                               f"to the nearest mode {closest:.2f} at best, {untrained:.2f} untrained; the library's "
                               "step reaches about half of that within 100 steps): G is not learning to fool D. Hint: "
                               "G's loss is computed on D's logits for the fakes, and its gradient is taken with "
                               "respect to the generator's variables")
        resumed = _resume_problem(make_step, tmp, points)
        if resumed:
            return CheckResult(name, False, resumed)
    return CheckResult(name, True, f"both networks updated, d_loss and g_loss logged; within {STEPS} steps the "
                       f"samples came to a median distance of {closest:.2f} from the ring's modes ({untrained:.2f} "
                       "untrained); stopped and resumed, it trains exactly as an unbroken run")


def _update_problem(trainer, g0: list, d0: list, logs: dict) -> str | None:
    missing = [key for key in ("d_loss", "g_loss") if key not in logs]
    if missing:
        return f"the step's logs lack {' and '.join(missing)}: return {{'d_loss': d_loss, 'g_loss': g_loss}}"
    if all(np.array_equal(a, b) for a, b in zip(g0, trainer.generator.get_weights())):
        return ("the generator did not change: apply its gradients, trainer.g_optimizer.apply_gradients("
                "zip(g_grads, generator.trainable_variables))")
    if all(np.array_equal(a, b) for a, b in zip(d0, trainer.discriminator.get_weights())):
        return ("the discriminator did not change: apply its gradients with trainer.d_optimizer")
    if not all(np.isfinite(v) for v in logs.values()):
        return f"the losses are not finite after {len(trainer.history)} steps"
    return None


def _resume_problem(make_step: Callable, tmp: Path, points: np.ndarray) -> str | None:
    """A run stopped after 10 steps and resumed must end where an unbroken 20-step run ends."""
    whole = _train(make_step, tmp / "whole", points, 20)
    _train(make_step, tmp / "split", points, 10)
    split = _train(make_step, tmp / "split", points, 20)
    if not np.array_equal(whole.generate(), split.generate()):
        return ("Stopped and resumed, it trains differently from an unbroken run: it draws random numbers the "
                "checkpoint does not save (tf.random.normal?). Hint: trainer.draw_noise(n), or trainer.rng")
    return None
