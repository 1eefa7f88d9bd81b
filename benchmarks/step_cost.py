"""Step cost of recipe variants, side by side: ms per training step of each, in interleaved rounds.

Every variant trains in its own fresh run directory (frames and checkpoints out of the way); each round
runs `--steps` more steps of every variant in turn, and the table gives the median over rounds and the
ratio to the first variant. On a shared machine only the ratios mean much.

    python benchmarks/step_cost.py anime-dcgan --variants "" "draw_size=32" "draw_size=32 width=32" \
        "minibatch_std=True" "precision=bfloat16" --dataset faces
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from quality import parse_value

from tfgan import data, presets, run


def variant(preset: presets.Preset, text: str) -> tuple[presets.Preset, bool | str]:
    """The preset with a variant's changes, and its precision ("precision=bfloat16" is not a preset field)."""
    changes = {k: parse_value(v) for k, v in (item.split("=", 1) for item in text.split())}
    precision = changes.pop("precision", False)
    return preset.replace(**changes), precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--variants", nargs="+", default=[""], help='"FIELD=VALUE ..." each; "" is the preset')
    parser.add_argument("--dataset", help="default: the preset's")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60, help="steps per variant per round")
    args = parser.parse_args()
    base = presets.get_preset(args.preset).replace(sample_every=10**9, checkpoint_every=10**9)
    trainers, loaded = [], {}
    for text in args.variants:
        preset, precision = variant(base, text)
        if preset.image_size not in loaded:
            loaded[preset.image_size] = data.load(args.dataset or preset.dataset, preset.image_size, 0)
        images = loaded[preset.image_size]
        trainer, _ = run.start_run(preset, tempfile.mkdtemp(prefix="tfgan-stepcost-"), images=images,
                                   verbose=False, checkpoint_secs=0, mixed_precision=precision)
        trainer.fit(images.images, 10, progress=False)  # traced and warm
        trainers.append((text or "(the preset)", trainer, images))
    times: dict[str, list[float]] = {name: [] for name, _, _ in trainers}
    for _ in range(args.rounds):
        for name, trainer, images in trainers:
            start = time.perf_counter()
            trainer.fit(images.images, int(trainer.step) + args.steps, progress=False)
            times[name].append((time.perf_counter() - start) / args.steps * 1000)
    first = statistics.median(times[trainers[0][0]])
    print(f"| {args.preset} variant | ms / step (median of {args.rounds}) | × the first |\n|---|---|---|")
    for name, spans in times.items():
        ms = statistics.median(spans)
        print(f"| {name} | {ms:.0f} | {ms / first:.2f} |")


if __name__ == "__main__":
    main()
