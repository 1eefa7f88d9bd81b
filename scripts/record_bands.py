"""Record what a normal run of a preset looks like: the band file `tfgan/assets/bands/PRESET.json`.

Trains the preset as shipped for several seeds (one after another), bins each run's logged series
(D(x), D(G(z)), the losses; the Wasserstein estimate and gradient norm for WGAN-GP) by step, and
scores the checkpoints kept every `--quality-every` steps with the preset's metric. The band holds the
median and the lowest-to-highest range over the seeds (`tfgan.runs.bands`).

    python scripts/record_bands.py mnist-dcgan --seeds 0 1 2
    python scripts/record_bands.py toy-gan --seeds 0 1 2 --quality-every 250
    python scripts/record_bands.py anime-dcgan --from-runs /tmp/tfgan-bands-anime-dcgan-XXXX  # score again
    python scripts/record_bands.py anime-dcgan-radford --work bands-radford  # hours: stop and rerun to resume

With `--work DIR` the runs live in DIR: the same command resumes a recording that was stopped (each
seed from its last checkpoint; seeds already complete are only scored), so a long recording can be
spread over several sittings.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf

from tfgan import data, presets, run, trained
from tfgan.evaluation import evaluate
from tfgan.media.history import read_history
from tfgan.runs import bands
from tfgan.runs import checkpoint as ckpt_lib
from tfgan.runs.config import generator_key

METRICS = {"mnist": ("confident_share", "fd"), "faces": ("confident_share", "fd"), "toy": ("modes_covered",
                                                                                         "high_quality"),
           "colour": ("fd",)}


def score_kept(run_dir: Path, real, num: int, seed: int, every: int, steps: int) -> dict[str, dict[int, float]]:
    """The preset's metrics at the checkpoints kept every `every` steps: {metric: {step: value}}."""
    kind = evaluate.metric_kind(real)
    scores: dict[str, dict[int, float]] = {}
    for step, path in ckpt_lib.kept_checkpoints(run_dir):
        if step % every or step > steps:  # saved by time (a step the other seeds lack), or past this band
            continue
        generator, _, config = trained.models_of_run(run_dir)
        ckpt_lib.restore_one(tf.train.Checkpoint(**{generator_key(config): generator}), path, partial=True)
        fake = trained.sample_images(generator, num, config["latent_dim"], seed,
                                     latent_kind=config.get("latent", "gaussian"))
        result = evaluate.evaluate_images(fake, real.images, seed, kind, inception=False)
        for metric in METRICS[kind]:
            scores.setdefault(metric, {})[step] = float(result[metric])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="default: the preset's")
    parser.add_argument("--quality-every", type=int, help="default: a fifth of the run")
    parser.add_argument("--num", type=int, default=2000, help="samples scored at each kept checkpoint (eval's)")
    parser.add_argument("--out", default=str(bands.BANDS_DIR))
    parser.add_argument("--from-runs", metavar="DIR", help="score the runs an earlier recording left in DIR "
                                                          "(its seedN folders) again, instead of training")
    parser.add_argument("--work", metavar="DIR", help="train the seeds in DIR/seedN, resuming any that stopped "
                                                     "(default: a new temporary folder)")
    args = parser.parse_args()
    preset = presets.get_preset(args.preset)
    steps = args.steps or preset.steps
    every = args.quality_every or max(1, steps // 5)
    if args.from_runs and args.work:
        parser.error("--from-runs scores runs without training them; --work trains them: give one of the two")
    work = Path(args.from_runs or args.work or tempfile.mkdtemp(prefix=f"tfgan-bands-{preset.name}-"))
    histories, quality, source = [], {}, ""
    for seed in args.seeds:
        start = time.perf_counter()
        if args.from_runs:
            images = data.load(preset.dataset, preset.image_size, seed)  # as start_run loaded it
        else:  # a new run, or the rest of a stopped one: fit counts to a total
            trainer, images = run.start_run(preset, work / f"seed{seed}", seed=seed, keep_every=every, verbose=False)
            result = trainer.fit(images.images, steps, labels=images.labels, progress=False)
            if result.step < steps:  # Ctrl-C or a signal: the run saved itself; a band of it would be short
                raise SystemExit(f"seed {seed} stopped at step {result.step:,} of {steps:,}; nothing recorded: "
                                 f"run the same command again to resume it" + ("" if args.work else
                                 f" (with --work {work})"))
        # from disk, not the trainer: a resumed run's trainer holds only the steps since it resumed
        histories.append([row for row in read_history(work / f"seed{seed}") if row["step"] <= steps])
        source = images.source
        # the data as loaded, attributes and all: the procedural faces are scored by their classifier
        for metric, by_step in score_kept(work / f"seed{seed}", images, args.num, seed, every, steps).items():
            for step, value in by_step.items():
                quality.setdefault(metric, {}).setdefault(step, []).append(value)
        print(f"seed {seed}: {steps:,} steps in {time.perf_counter() - start:.0f} s (with scoring)", flush=True)
    band = bands.record(histories, preset, steps, quality, data=source, quality_samples=args.num)
    print(f"band of {len(args.seeds)} runs -> {bands.save(band, args.out)}")
    for metric in quality:
        print(bands.quality_line(band, metric, steps))


if __name__ == "__main__":
    main()
