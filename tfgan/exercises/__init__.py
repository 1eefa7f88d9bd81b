"""Exercises: checks of a student's code that test what it does, not how it is written.

    from tfgan import exercises
    result = exercises.check("d_loss", my_discriminator_loss)
    result.passed, result.report

`exercises.names()` lists the checks; each entry of `CHECKS` says what the function takes. A wrong answer
gets one line naming the misconception (logits taken for probabilities, swapped labels, the saturating
loss, α drawn once per batch, ...) and a hint; a right one gets what was verified. An answer that still
raises NotImplementedError is reported as not done. `exercises.use(name, fn)` checks and prints, and
returns `fn` when it passed, else tfgan's reference answer, so that a notebook runs on either way.
"""

from __future__ import annotations

from collections.abc import Callable

from tfgan import losses, step
from tfgan.errors import TfganError
from tfgan.evaluation import metrics
from tfgan.exercises import loss_checks, model_checks
from tfgan.exercises.probe import CheckResult, one_line
from tfgan.exercises.step_check import check_train_step
from tfgan.tricks import latent

CHECKS: dict[str, Callable[[Callable], CheckResult]] = {  # in the order the notebooks meet them
    "generator": model_checks.check_generator,  # 01: fn(latent_dim) -> keras.Model, 28×28×1 in [-1, 1]
    "discriminator": model_checks.check_discriminator,  # 01: fn(image_shape) -> keras.Model, one logit
    "d_loss": loss_checks.check_d_loss,  # 01: fn(real_logits, fake_logits) -> scalar
    "g_loss": loss_checks.check_g_loss,  # 01: fn(fake_logits) -> scalar, non-saturating
    "train_step": check_train_step,  # 01: fn(trainer) -> step(batch) -> dict of losses
    "ema_update": model_checks.check_ema_update,  # 01: fn(average, weights, decay) -> new average
    "frechet_distance": model_checks.check_frechet_distance,  # 01: fn(mu1, sigma1, mu2, sigma2) -> float
    "label_smoothing": loss_checks.check_label_smoothing,  # 02: fn(real_logits, fake_logits), real target 0.9
    "optimal_discriminator": loss_checks.check_optimal_discriminator,  # 03: fn(p_data, p_g) -> D*
    "gradient_penalty": loss_checks.check_gradient_penalty,  # 03: fn(critic, real_images, fake_images) -> scalar
    "weight_clipping": loss_checks.check_weight_clipping,  # 03: fn(variables, clip_value), in place
    "cgan_input": model_checks.check_cgan_input,  # 04: fn(noise, labels, num_classes) -> [z, one_hot]
    "slerp": model_checks.check_slerp,  # 05: fn(z0, z1, t) -> z
}


def names() -> list[str]:
    """The checks there are, in the order the course meets them."""
    return list(CHECKS)


def check(name: str, fn: Callable) -> CheckResult:
    """Run one check on a student's function; the result has `.passed` and a one-paragraph `.report`."""
    if name not in CHECKS:
        raise TfganError(f"no exercise check named '{name}': choose one of {', '.join(CHECKS)}")
    if not callable(fn):
        return CheckResult(name, False, f"pass the function itself, not {type(fn).__name__} (no parentheses)")
    try:
        return CHECKS[name](fn)
    except Exception as e:  # noqa: BLE001 (whatever a student's code does, the verdict is one line)
        return CheckResult(name, False, one_line(e))


def _reference_gradient_penalty(critic, real, fake):
    return losses.gradient_penalty(critic, real, fake)[0]


REFERENCES: dict[str, Callable] = {
    "d_loss": losses.nonsaturating_d_loss,
    "g_loss": losses.nonsaturating_g_loss,
    "label_smoothing": lambda real, fake: losses.nonsaturating_d_loss(real, fake, real_label=0.9),
    "optimal_discriminator": loss_checks.optimal_discriminator,
    "gradient_penalty": _reference_gradient_penalty,
    "weight_clipping": losses.clip_weights,
    "slerp": latent.slerp,
    "ema_update": model_checks.ema_update,
    "cgan_input": model_checks.one_hot_input,
    "frechet_distance": metrics.frechet_distance_of_gaussians,
    "train_step": step.library_step,  # a function of the trainer, as the exercise's make_train_step is
}


def use(name: str, fn: Callable, reference: Callable | None = None) -> Callable:
    """Check `fn`, print the verdict, and return `fn` if it passed, else the reference answer (tfgan's own,
    or `reference`), saying so, so that the rest of a notebook runs either way."""
    result = check(name, fn)
    print(result)
    if result.passed:
        return fn
    fallback = reference or REFERENCES.get(name)
    if fallback is None:
        raise TfganError(f"no reference answer for '{name}': pass reference=... to exercises.use")
    print(f"  -> the notebook goes on with tfgan's reference answer for {name}")
    return fallback
