"""Redraw a run's progress frames from its checkpoints: new noise, a larger grid, later.

The frames saved while training all show the same 64 noise vectors, fixed at step 0. The checkpoints
hold the generator itself, so the progress can be drawn again with any noise and any number of samples:
`python -m tfgan frames RUN_DIR --num 100 --seed 3`, then `python -m tfgan gif RUN_DIR --frames
frames-seed3-n100`. Only the checkpoints a run still has can be drawn: the latest 3, plus every N-th
step's when it was trained with `--keep-every N`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from tfgan.data import toy
from tfgan.errors import TfganError
from tfgan.media.frames import FRAMES_INFO, frame_path, frame_scale, list_frames
from tfgan.media.images import png_bytes, save_grid
from tfgan.media.toy_frames import draw_points, field_grid
from tfgan.runs import checkpoint as ckpt_lib
from tfgan.runs.config import generator_key
from tfgan.runs.files import atomic_write_bytes
from tfgan.samples import is_toy
from tfgan.trained import models_of_run, sample_images
from tfgan.tricks.latent import check_truncation


def default_folder(num: int, seed: int, truncation: float | None = None) -> str:
    return f"frames-seed{seed}-n{num}" + (f"-psi{truncation:g}" if truncation not in (None, 1) else "")


def redraw_frames(run_dir: str | os.PathLike, num: int = 64, seed: int = 0, out: str | os.PathLike | None = None,
                  progress: bool = True, truncation: float | None = None) -> dict:
    """Draw `num` samples of noise `seed` from every checkpoint of the run into a frames folder (default
    RUN_DIR/frames-seed{seed}-n{num}[-psiψ]), one grid per checkpoint, named by step like the training
    frames, and one of step 0: the untrained models, rebuilt from the run's seed. `truncation` ψ
    shrinks the noise (see `tricks.latent.truncate`).
    Returns {"folder", "steps", "skipped"}."""
    run_dir = Path(run_dir)
    if num < 1:
        raise TfganError(f"--num must be at least 1, got {num}")
    generator, discriminator, config = models_of_run(run_dir)
    truncation = check_truncation(truncation, config.get("latent", "gaussian"))
    found = ckpt_lib.kept_checkpoints(run_dir)
    if not found:
        raise TfganError(f"{run_dir} has no checkpoint yet: train it first")
    folder = Path(out) if out is not None else run_dir / default_folder(num, seed, truncation)
    if folder.resolve() == (run_dir / "frames").resolve():
        raise TfganError("the training frames stay as they are: choose another --out folder")
    folder.mkdir(parents=True, exist_ok=True)
    for old_step, path in list_frames(folder):  # a folder redrawn before: no frames from other noise
        path.unlink(missing_ok=True)
    # Samples come from the weight average when the run kept one, as in `sample`; 2-D toy runs also
    # need D, whose output is the coloured field behind the points.
    checkpoint = tf.train.Checkpoint(**{generator_key(config): generator}, discriminator=discriminator)
    points = is_toy(config["image_shape"])
    toy_name = real = None
    if points:
        toy_name = toy.check_toy_name(config.get("dataset", "ring8"))
        real = toy.sample_points(toy_name, 1500, config.get("seed", 0))
    drawn, skipped = [], []
    # Step 0 needs no checkpoint: the models are rebuilt from the run's seed, as training built them.
    for step, path in tqdm(([] if found[0][0] == 0 else [(0, None)]) + found, unit="checkpoint", disable=not progress, desc="redrawing"):
        damage = None if path is None else ckpt_lib.restore_one(checkpoint, path, partial=True)
        if damage is not None:
            skipped.append(damage)
            continue
        samples = sample_images(generator, num, config["latent_dim"], seed, batch_size=256,
                                latent_kind=config.get("latent", "gaussian"), truncation=truncation)
        target = frame_path(folder, step)
        if points:
            field = np.asarray(discriminator(field_grid(toy_name), training=False), np.float32)
            atomic_write_bytes(target, png_bytes(draw_points(samples, toy_name, real, field, f"step {step}")))
        else:
            save_grid(samples, target, scale=frame_scale(samples.shape[1]))
        drawn.append(step)
    if skipped:
        print(f"notice: skipped {len(skipped)} damaged checkpoint(s): {', '.join(skipped[:3])}")
    if not drawn:
        raise TfganError(f"every checkpoint of {run_dir} is damaged: nothing to draw")
    info = {"num_samples": num, "seed": seed, "truncation": truncation}
    atomic_write_bytes(folder / FRAMES_INFO, json.dumps(info).encode())
    return {"folder": str(folder), "steps": drawn, "skipped": len(skipped)}
