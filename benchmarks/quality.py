"""Quality per wall time: train presets for the same minutes on this machine, score them at checkpoints.

Each preset trains in a fresh run directory; at every mark (e.g. 5 and 10 minutes of training; the
scoring itself is not counted) 2,000 samples are scored with the shipped MNIST classifier
(`tfgan.metrics`), next to the real-vs-real floor. Presets run one after another, never side by side.

    python benchmarks/quality.py --presets mnist-dcgan-tutorial mnist-dcgan --minutes 5 10 [--out FILE.md]
    python benchmarks/quality.py --presets mnist-dcgan --set width=32 --set ema=0.999 --minutes 5
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tfgan import data, evaluate, presets, run


def parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def train_and_score(preset, images, marks_s: list[float], num: int, seed: int) -> list[dict]:
    run_dir = tempfile.mkdtemp(prefix=f"tfgan-quality-{preset.name}-")
    trainer, _ = run.start_run(preset, run_dir, images=data.Images(images, None, "mnist"), seed=seed,
                               verbose=False)
    results: list[dict] = []
    pending = sorted(marks_s)
    clock = {"train": 0.0, "last": time.perf_counter()}

    def on_step(trainer, logs):
        now = time.perf_counter()
        clock["train"] += now - clock["last"]
        if pending and clock["train"] >= pending[0]:
            mark = pending.pop(0)
            generator = getattr(trainer, "ema_generator", None) or trainer.generator
            fake = evaluate.sample(generator, num, trainer.latent_dim, seed)
            scored = evaluate.evaluate_images(fake, images, seed)
            scored.update(minutes=mark / 60, step=logs["step"])
            results.append(scored)
            print(f"{preset.name} @ {mark / 60:.0f} min, step {logs['step']}: "
                  f"confident {scored['confident_share']:.3f}, classes {scored['classes_covered']}, "
                  f"FD {scored['fd']:.2f} (floor {scored['fd_floor']:.2f})", flush=True)
            if not pending:
                trainer.stop_training = True
        clock["last"] = time.perf_counter()  # scoring time is not training time

    trainer.callbacks.append(on_step)
    trainer.fit(images, 10**9, progress=False)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["mnist-dcgan-tutorial", "mnist-dcgan"])
    parser.add_argument("--set", action="append", default=[], help="FIELD=VALUE override for every preset")
    parser.add_argument("--minutes", nargs="+", type=float, default=[5, 10])
    parser.add_argument("--num", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="append a Markdown table here")
    args = parser.parse_args()
    overrides = {k: parse_value(v) for k, v in (item.split("=", 1) for item in args.set)}

    images = data.load("mnist").images
    lines = [f"### Quality per wall time, {time.strftime('%Y-%m-%d')}, {platform.node() or 'this machine'}",
             "", (f"{len(images):,} training images; {args.num} samples scored per mark; overrides: "
                  f"{overrides or 'none'}."), "",
             "| preset | minutes | steps | confident > 0.9 | classes | FD (floor) | KID |",
             "|---|---|---|---|---|---|---|"]
    for name in args.presets:
        preset = presets.get(name).replace(**overrides)
        for r in train_and_score(preset, images, [m * 60 for m in args.minutes], args.num, args.seed):
            lines.append(f"| {name} | {r['minutes']:.0f} | {r['step']} | {r['confident_share']:.1%} | "
                         f"{r['classes_covered']} | {r['fd']:.2f} ({r['fd_floor']:.2f}) | "
                         f"{r['kid_mean']:.3f} |")
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "a") as f:
            f.write(report + "\n\n")


if __name__ == "__main__":
    main()
