"""Quality per wall time: train presets for the same minutes on this machine, score them at checkpoints.

Each preset trains in a fresh run directory; at every mark (e.g. 5 and 10 minutes of training; the
scoring itself is not counted) 2,000 samples are scored with the metrics that fit the data (`tfgan.evaluation.evaluate`:
the shipped MNIST classifier for digits, the face-attribute classifier for the procedural faces), next to the
real-vs-real floor. Presets and seeds run one after another, never side by side.

    python benchmarks/quality.py --presets mnist-dcgan-tutorial mnist-dcgan --minutes 5 10 [--out FILE.md]
    python benchmarks/quality.py --presets mnist-dcgan --set width=32 --set ema=0.999 --minutes 5
    python benchmarks/quality.py --presets anime-dcgan --dataset faces --minutes 5 10 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tfgan import data, presets, run, trained
from tfgan.evaluation import evaluate


def parse_value(text: str):
    if text in ("True", "False"):
        return text == "True"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def table_row(name: str, seed: int, r: dict) -> str:
    head = f"| {name} | {seed} | {r['minutes']:.0f} | {r['step']} |"
    fd = f" {r['fd']:.2f} ({r['fd_floor']:.2f}, {r['fd'] / r['fd_floor']:.1f}×) | {r['kid_mean']:.3f} |"
    if r["kind"] == "faces":
        return (f"{head} {r['confident_share']:.1%} ({r['confident_share_real']:.1%}) | "
                f"{r['combos_covered']} ({r['combos_covered_real']}) | {r['kl_real']:.3f} |{fd}")
    if r["kind"] == "mnist":
        return f"{head} {r['confident_share']:.1%} | {r['classes_covered']} | {r['kl_uniform']:.3f} |{fd}"
    return f"{head} - | - | - |{fd}"


def train_and_score(preset, images: data.Images, marks_s: list[float], num: int, seed: int,
                    mixed_precision: bool | str = False) -> list[dict]:
    run_dir = tempfile.mkdtemp(prefix=f"tfgan-quality-{preset.name}-")
    kind = evaluate.metric_kind(images)
    trainer, _ = run.start_run(preset, run_dir, images=images, seed=seed, verbose=False,
                               mixed_precision=mixed_precision)
    results: list[dict] = []
    pending = sorted(marks_s)
    clock = {"train": 0.0, "last": time.perf_counter()}

    def on_step(trainer, logs):
        now = time.perf_counter()
        clock["train"] += now - clock["last"]
        # Steps run in chunks; the networks are those of the chunk's last step, so score only there.
        if pending and clock["train"] >= pending[0] and logs["step"] == int(trainer.step):
            mark = pending.pop(0)
            generator = getattr(trainer, "ema_generator", None) or trainer.generator
            fake = trained.sample_images(generator, num, trainer.latent_dim, seed)
            scored = evaluate.evaluate_images(fake, images.images, seed, kind)
            scored.update(minutes=mark / 60, step=logs["step"])
            results.append(scored)
            print(table_row(preset.name, seed, scored), flush=True)  # the report's row, as it comes
            if not pending:
                trainer.stop_training = True
        clock["last"] = time.perf_counter()  # scoring time is not training time

    on_step.every = 0  # any step will do: the loop need not end its chunks for this callback
    trainer.callbacks.append(on_step)
    trainer.fit(images.images, 10**9, progress=False)
    return results


HEADERS = {
    "faces": ("| preset | seed | minutes | steps | confident hair colour+style (real) | combinations (real) | "
              "KL from real | FD (floor, ratio) | KID |"),
    "mnist": "| preset | seed | minutes | steps | confident > 0.9 | classes | KL from uniform | FD (floor, ratio) | KID |",
    "colour": "| preset | seed | minutes | steps | - | - | - | FD (floor, ratio) | KID |",
}
SEPARATORS = {kind: "|---" * 9 + "|" for kind in HEADERS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["mnist-dcgan-tutorial", "mnist-dcgan"])
    parser.add_argument("--set", action="append", default=[], help="FIELD=VALUE override for every preset")
    parser.add_argument("--minutes", nargs="+", type=float, default=[5, 10])
    parser.add_argument("--num", type=int, default=2000)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="one training run per seed")
    parser.add_argument("--dataset", help="default: the first preset's (mnist, faces, anime, FILE.npz, FOLDER)")
    parser.add_argument("--out", help="append a Markdown table here")
    parser.add_argument("--bfloat16", action="store_true", help="train in mixed bfloat16 (scoring stays float32)")
    args = parser.parse_args()
    overrides = {k: parse_value(v) for k, v in (item.split("=", 1) for item in args.set)}

    first = presets.get_preset(args.presets[0]).replace(**overrides)
    dataset = args.dataset or first.dataset
    kind = None
    lines = [f"### Quality per wall time, {time.strftime('%Y-%m-%d')}, {platform.node() or 'this machine'}", ""]
    loaded: dict[tuple[int, int], data.Images] = {}  # (image size, seed) -> images: load each set once
    for seed in args.seeds:
        for name in args.presets:
            preset = presets.get_preset(name).replace(**overrides)
            # Each seed draws its own training set where the data is generated (the procedural faces).
            key = (preset.image_size, seed)
            if key not in loaded:
                loaded[key] = data.load(dataset, preset.image_size, seed)
            images = loaded[key]
            if kind is None:
                kind = evaluate.metric_kind(images)
                intro = (f"{dataset}: {len(images.images):,} training images; {args.num} samples scored per mark; "
                         f"overrides: {overrides or 'none'}{'; mixed bfloat16' if args.bfloat16 else ''}.")
                lines += [intro, "", HEADERS[kind], SEPARATORS[kind]]
            for r in train_and_score(preset, images, [m * 60 for m in args.minutes], args.num, seed,
                                     "bfloat16" if args.bfloat16 else False):
                lines.append(table_row(name, seed, r))
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "a") as f:
            f.write(report + "\n\n")


if __name__ == "__main__":
    main()
