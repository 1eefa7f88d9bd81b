"""How much is lost by drawing faces at a lower resolution and scaling them up to 64×64?

Real faces (another draw of the procedural set than the one they are scored against) are shrunk to
S×S and scaled back to 64×64, then scored like generated samples (`tfgan eval`'s face metrics, each
beside its real-vs-real floor). If 32×32 faces scaled up score near the floor, a generator trained at
32×32 (a quarter of the arithmetic per image) and scaled up, or a progressive run that spends most of
its steps at 32×32, loses little to the resolution itself.

    python benchmarks/low_res_faces.py --sizes 16 24 32 48 --num 2000
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from tfgan import data
from tfgan.evaluation import evaluate


def scaled(faces: np.ndarray, size: int, method: str) -> np.ndarray:
    """Faces shrunk to size×size (area averaging) and scaled back to their own size by `method`."""
    x = tf.cast(faces, tf.float32)
    small = tf.image.resize(x, (size, size), method="area")
    back = tf.image.resize(small, faces.shape[1:3], method=method)
    return np.clip(np.round(back.numpy()), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 24, 32, 48])
    parser.add_argument("--methods", nargs="+", default=["nearest", "bilinear"])
    parser.add_argument("--num", type=int, default=2000)
    args = parser.parse_args()
    real = data.load("anime", 64, seed=0).images
    others = data.load("anime", 64, seed=1).images[: args.num]  # faces the scores' real sets do not hold
    print(f"{args.num} faces per row, scored against {len(real):,} procedural faces at 64×64\n")
    print("| drawn at | scaled up by | FD (floor) | FD / floor | confident (real) | combinations (real) |")
    print("|---|---|---|---|---|---|")
    rows = [(64, "none", others)] + [(s, m, scaled(others, s, m)) for s in args.sizes for m in args.methods]
    for size, method, faces in rows:
        r = evaluate.evaluate_images(faces, real, kind="faces")
        print(f"| {size}×{size} | {method} | {r['fd']:.2f} ({r['fd_floor']:.2f}) | {r['fd'] / r['fd_floor']:.2f}× | "
              f"{r['confident_share']:.1%} ({r['confident_share_real']:.1%}) | {r['combos_covered']}/80 "
              f"({r['combos_covered_real']}/80) |", flush=True)


if __name__ == "__main__":
    main()
