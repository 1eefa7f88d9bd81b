"""Fine-tuning against training from scratch on a few hundred images, at equal wall time.

The offline stand-in for "I have only 250 images": a digit the source model never saw. The source is
`mnist-dcgan` trained on the shipped 5,000 MNIST digits without that digit (trained here first when
`--source` has no checkpoint); the target is 250 images of the digit; the runs are scored against the
other 250, which neither run saw. Each seed trains both ways for the same seconds, one after the other.

    python benchmarks/finetune.py --digit 7 --seconds 60 --seeds 0 1 2 [--source runs/without-7]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from tfgan import presets, run, trained
from tfgan.assets import MNIST_SUBSET
from tfgan.data import Images
from tfgan.evaluation import metrics

PRESET = presets.get_preset("mnist-dcgan")
TARGET_IMAGES = 250


def split(digit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the source's digits without `digit`, the target's 250 images of it, the other 250 held out)."""
    subset = np.load(MNIST_SUBSET)
    x, y = subset["x_train"][..., None], subset["y_train"]
    this = np.random.default_rng(0).permutation(np.flatnonzero(y == digit))
    return x[y != digit], x[this[:TARGET_IMAGES]], x[this[TARGET_IMAGES:]]


def train_source(run_dir: Path, images: np.ndarray, minutes: float) -> None:
    if trained.trained_step(run_dir, PRESET):
        return
    print(f"training the source model on {len(images):,} digits for {minutes:g} minutes -> {run_dir}", flush=True)
    trainer, _ = run.start_run(PRESET, run_dir, images=Images(images, None, "MNIST without the target digit"),
                               verbose=False)
    trainer.fit(images, 10**6, progress=False, max_seconds=60 * minutes)


def score(run_dir: Path, held_out: np.ndarray, digit: int, num: int = 1000) -> dict:
    generator, config, step = trained.load_generator(run_dir)
    fake = trained.sample_images(generator, num, config["latent_dim"], seed=0)
    result = metrics.evaluate_mnist(fake, held_out)
    _, probs = metrics.mnist_features_and_probs(fake)
    return {"step": step, "fd": result["fd"], "fd_floor": result["fd_floor"],
            "this_digit": float(np.mean(probs.argmax(1) == digit)), "confident": metrics.confident_share(probs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digit", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--source", help="a run of mnist-dcgan without the digit (trained first if missing)")
    parser.add_argument("--source-minutes", type=float, default=5)
    args = parser.parse_args()
    others, target, held_out = split(args.digit)
    work = Path(tempfile.mkdtemp(prefix="tfgan-finetune-"))
    source = Path(args.source) if args.source else work / "source"
    train_source(source, others, args.source_minutes)
    print(f"source: {source} at step {trained.trained_step(source, PRESET):,}; target: {len(target)} images of "
          f"{args.digit}, scored against the other {len(held_out)}; {args.seconds:g} s per run\n")
    print("| start | seed | steps | FD (floor) | drawn as the digit | confident share |")
    print("|---|---|---|---|---|---|")
    for seed in args.seeds:
        for label, init in (("from scratch", None), ("from the source", source)):
            run_dir = work / f"{label.replace(' ', '-')}-{seed}"
            trainer, _ = run.start_run(PRESET, run_dir, images=Images(target, None, "target"), seed=seed,
                                       verbose=False,
                                       init=None if init is None else (lambda t: trained.start_from(t, source)))
            trainer.fit(target, 10**6, progress=False, max_seconds=args.seconds)
            r = score(run_dir, held_out, args.digit)
            print(f"| {label} | {seed} | {r['step']:,} | {r['fd']:.2f} ({r['fd_floor']:.2f}) | "
                  f"{r['this_digit']:.1%} | {r['confident']:.1%} |", flush=True)


if __name__ == "__main__":
    main()
