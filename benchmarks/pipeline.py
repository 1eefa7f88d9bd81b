"""The 64×64 input pipeline against the train step it feeds: decoding must never be the bottleneck.

Makes a folder of JPEGs (procedural faces at 96×96, the course set's size), then measures in one run:
folder decoding cold and cached, the tf.data batch stream alone, and the anime DCGAN and WGAN-GP train
steps on the same batches. Figures in img/s.

    python benchmarks/pipeline.py [--images 2000] [--steps 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PIL import Image

from tfgan import data, presets, run
from tfgan.data import faces, image_folder


def per_second(count: int, seconds: float) -> float:
    return count / max(seconds, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tfgan-pipeline-"))
    folder = tmp / "faces"
    folder.mkdir()
    for i, face in enumerate(faces.make_faces(args.images, 96, seed=1)):
        Image.fromarray(face).save(folder / f"{i:05d}.jpg", quality=92)

    t0 = time.perf_counter()
    images = image_folder.load_image_folder(folder, 64, cache_dir=tmp / "cache", progress=False)
    cold = per_second(len(images), time.perf_counter() - t0)
    t0 = time.perf_counter()
    image_folder.load_image_folder(folder, 64, cache_dir=tmp / "cache", progress=False)
    cached = per_second(len(images), time.perf_counter() - t0)

    t0 = time.perf_counter()
    count = sum(int(b.shape[0]) for b in data.batches(images, args.batch_size, seed=0, epoch=0))
    stream = per_second(count, time.perf_counter() - t0)

    rows = [("decode folder (cold, 96×96 JPEG -> 64×64)", cold), ("decode folder (cached)", cached),
            ("tf.data batch stream alone", stream)]
    for name in ("anime-dcgan", "wgan-gp"):
        preset = presets.get_preset(name).replace(batch_size=args.batch_size, image_size=64, channels=3)
        trainer, _ = run.start_run(preset, tmp / name, images=data.Images(images, None, "bench"),
                                   verbose=False)
        stream_ds = data.batches(images, preset.batch_size, 0, 0, d_steps=preset.d_steps)
        batches = list(stream_ds.take(3))
        trainer.train_step(batches[0])  # trace
        t0 = time.perf_counter()
        for i in range(args.steps):
            logs = trainer.train_step(batches[i % len(batches)])
        float(logs["d_loss"])
        per_step = preset.batch_size * preset.d_steps
        critic = f", {preset.d_steps} critic steps" if preset.d_steps > 1 else ""
        rows.append((f"{name} train step (64×64, batch {preset.batch_size}{critic})",
                     per_second(per_step * args.steps, time.perf_counter() - t0)))
    print("\n| stage | img/s |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:,.0f} |")


if __name__ == "__main__":
    main()
