"""A/B: the same `python -m tfgan train ...` from two checkouts, alternated, steps per second compared.

For "did this change make training slower?": check the old revision out beside this one (for example
`git worktree add /tmp/old HEAD~1`), then

    python benchmarks/ab.py --a /tmp/old --b . --rounds 3 -- mnist-dcgan --steps 300

Each round trains a fresh run in A, then in B (same arguments, each from its own checkout). The rate
comes from history.csv, whose rows carry the images/s of their step (or chunk of steps) as the loop
delivered it, frames and checkpoints included: over the steps after the first 20 (tracing and
warm-up), total images over total time.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(checkout: Path, train_args: list[str]) -> float:
    """Images per second of one fresh run after its first 20 steps."""
    with tempfile.TemporaryDirectory(prefix="tfgan-ab-") as run_dir:
        env = {**os.environ, "PYTHONPATH": str(checkout), "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([sys.executable, "-m", "tfgan", "train", *train_args, "--run-dir", run_dir, "--fresh",
                        "--no-progress"], cwd=checkout, env=env, check=True, capture_output=True)
        with open(Path(run_dir) / "history.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    # Each row's images/s is its own step's (or its chunk's) rate; a harmonic mean turns them into
    # total steps over total time.
    rates = [float(row["images/s"]) for row in rows[20:]]
    return len(rates) / sum(1.0 / r for r in rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, type=Path, help="checkout A (e.g. the old revision)")
    parser.add_argument("--b", required=True, type=Path, help="checkout B (e.g. this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the arguments of `train`")
    args = parser.parse_args()
    train_args = [a for a in args.train_args if a != "--"]
    rates: dict[str, list[float]] = {"A": [], "B": []}
    for r in range(args.rounds):
        for name, checkout in (("A", args.a), ("B", args.b)):
            start = time.perf_counter()
            rates[name].append(one_run(checkout.resolve(), train_args))
            print(f"round {r + 1} {name}: {rates[name][-1]:.0f} images/s ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    a, b = statistics.median(rates["A"]), statistics.median(rates["B"])
    print(f"\n`train {' '.join(train_args)}`, {args.rounds} alternated rounds, medians (images/s after step 20):")
    print(f"A ({args.a}): {a:.0f}   B ({args.b}): {b:.0f}   B / A = {b / a:.3f}")


if __name__ == "__main__":
    main()
