"""The disk space training says it needs, against what a real run directory of each preset holds.

For each preset: start a run, take `trainer.space_needed(steps)` before the first step, train, then
measure the folder: one checkpoint's files, the mean frame, the GIF, and the peak (what the folder
holds at the end plus the checkpoint the manager writes beside the kept ones before it deletes the
oldest). Short runs with frequent frames and saves, so that every kind of file is there; the full-length
estimate of the preset as shipped is printed beside it.

    python benchmarks/disk_space.py                      # every preset, 60 steps
    python benchmarks/disk_space.py --presets mnist-dcgan anime-dcgan --steps 200
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tfgan import presets, run
from tfgan.media.frames import list_frames
from tfgan.runs import disk
from tfgan.runs.checkpoint import checkpoint_paths

MB = disk.MB


def measure(name: str, steps: int, every: int, root: Path) -> dict:
    preset = presets.get_preset(name).replace(sample_every=every, checkpoint_every=every)
    trainer, images = run.start_run(preset, root / name, verbose=False, checkpoint_secs=0)
    needed = trainer.space_needed(steps)
    as_shipped = presets.get_preset(name)  # its own length and frame rate, 3 checkpoints kept
    shipped = disk.space_needed(trainer.checkpoint.size_bytes(), 3, 0, 0, as_shipped.steps, as_shipped.sample_every,
                                trainer.frame_size(), len(trainer.log_keys) + 3, checkpoints_held=0, frames_held=0)
    trainer.fit(images.images, steps, labels=images.labels, progress=False)
    run_dir = root / name
    checkpoint = sum(f.stat().st_size for f in disk.checkpoint_files(checkpoint_paths(run_dir / "ckpt")[0]))
    frames = [p.stat().st_size for _, p in list_frames(run_dir / "frames")]
    held = sum(disk.held(run_dir).values())
    return {"preset": name, "ckpt_est": needed.checkpoint_bytes, "ckpt": checkpoint,
            "frame_est": needed.frame_bytes, "frame": sum(frames) / len(frames),
            "gif_est": needed.gif_bytes, "gif": (run_dir / "progress.gif").stat().st_size,
            "total_est": needed.total, "peak": held + checkpoint, "shipped_est": shipped.total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(presets.PRESETS))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--every", type=int, default=10, help="steps between frames and between checkpoints")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="tfgan-disk-") as tmp:
        for name in args.presets:
            rows.append(measure(name, args.steps, args.every, Path(tmp)))
            r = rows[-1]
            print(f"{name}: checkpoint {r['ckpt_est'] / MB:.2f} MB estimated, {r['ckpt'] / MB:.2f} MB written; "
                  f"peak {r['total_est'] / MB:.1f} MB estimated, {r['peak'] / MB:.1f} MB real", flush=True)
    print(f"\n{args.steps} steps, a frame and a checkpoint every {args.every}; sizes in MB (frames in KB)\n")
    print("| preset | checkpoint est. / real | frame est. / real mean (KB) | GIF est. / real | "
          "run at its peak est. / real | ratio | the preset as shipped, est. |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['ckpt_est'] / MB:.2f} / {r['ckpt'] / MB:.2f} | {r['frame_est'] / 1024:.0f} / "
              f"{r['frame'] / 1024:.0f} | {r['gif_est'] / MB:.2f} / {r['gif'] / MB:.2f} | {r['total_est'] / MB:.1f} / "
              f"{r['peak'] / MB:.1f} | {r['total_est'] / r['peak']:.2f} | {r['shipped_est'] / MB:.0f} |")


if __name__ == "__main__":
    main()
