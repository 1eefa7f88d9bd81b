"""How a check judges an answer: by what it computes on known cases, not by how it is written.

A check runs the student's function and a reference on the same probe cases. Equal everywhere: passed,
and the report says what was verified. Different: each known misconception is itself written as a
function, and the one whose values the answer reproduces names the mistake and gives a hint. None does:
the report shows the first case where the answer and the reference part.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class CheckResult:
    """One check's verdict: `passed`, and a paragraph saying what was verified or what is wrong."""

    name: str
    passed: bool
    report: str
    done: bool = True  # False when the answer is still a stub (NotImplementedError)

    def __str__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.name}: {self.report}"

    def _repr_markdown_(self) -> str:  # how a notebook shows it
        return f"{'✅' if self.passed else '❌'} **{self.name}**: {self.report}"


@dataclass
class Misconception:
    """A known wrong answer: what it is (one line), a hint towards the right one, and the wrong formula
    itself, with the answer's signature."""

    what: str
    hint: str
    formula: Callable


class NotDone(Exception):
    """The answer is still the stub."""


class Wrong(Exception):
    """The answer broke a rule that needs no comparison (a shape, a type); the message says which."""


def one_line(e: BaseException) -> str:
    """What an exception says, in one line: its last non-empty one (TensorFlow puts "in user code:" and a
    traceback first), or its type alone."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"it raised {type(e).__name__}" + (f": {lines[-1][:200]}" if lines else "")


def evaluate(fn: Callable, args: Sequence, copy_args: bool = True) -> np.ndarray:
    """fn(*args) as a float64 array, on copies of the arguments unless `copy_args` is False (an answer
    may change its inputs in place); a stub's NotImplementedError becomes NotDone."""
    try:
        value = fn(*(copy.deepcopy(args) if copy_args else args))
    except NotImplementedError as e:
        raise NotDone(str(e)) from None
    if value is None:
        raise Wrong("it returned None: end the function with `return ...`")
    return np.array(value, dtype=np.float64)  # a copy: the answer may return its own (mutable) array


def scalar(fn: Callable, args: Sequence, copy_args: bool = True) -> float:
    """fn(*args), which must be one number (a loss averaged over the batch)."""
    value = evaluate(fn, args, copy_args)
    if value.size != 1:
        raise Wrong(f"it returned shape {value.shape}, not one number: average over the batch "
                    "(tf.reduce_mean)")
    return float(value.reshape(()))


def close(a, b, rtol: float = 1e-3, atol: float = 1e-5) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(a) == np.isfinite(b))) and \
        bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def judge(name: str, answer: Callable, reference: Callable, cases: Sequence[Sequence], verified: str,
          misconceptions: Sequence[Misconception] = (), value: Callable = evaluate) -> CheckResult:
    """Compare `answer` with `reference` on every case; name the misconception an answer reproduces."""
    want = [value(reference, case) for case in cases]
    try:
        got = [value(answer, case) for case in cases]
    except NotDone:
        return not_done(name)
    except Wrong as e:
        return CheckResult(name, False, str(e))
    except Exception as e:  # noqa: BLE001 (a student's code may raise anything: say what, in one line)
        return CheckResult(name, False, one_line(e))
    if all(close(g, w) for g, w in zip(got, want)):
        return CheckResult(name, True, verified)
    for wrong in misconceptions:
        if all(close(g, value(wrong.formula, case)) for g, case in zip(got, cases)):
            return CheckResult(name, False, f"{wrong.what}. Hint: {wrong.hint}")
    first = next(i for i, (g, w) in enumerate(zip(got, want)) if not close(g, w))
    return CheckResult(name, False, f"on probe case {first + 1} of {len(cases)} it gives {_short(got[first])} "
                                    f"where {_short(want[first])} is expected")


def not_done(name: str) -> CheckResult:
    return CheckResult(name, False, "not done yet (the cell still raises NotImplementedError)", done=False)


def _short(x) -> str:
    x = np.asarray(x)
    if x.size == 1:
        return f"{float(x.reshape(())):.5g}"
    return f"an array of shape {x.shape} (first values {np.round(x.ravel()[:3], 4).tolist()})"
