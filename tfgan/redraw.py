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

from tfgan import checkpoint as ckpt_lib
from tfgan import media
from tfgan.errors import TfganError

INFO_FILE = "frames.json"  # in a redrawn frames folder: how many samples each frame holds, and the seed


def default_folder(num: int, seed: int) -> str:
    return f"frames-seed{seed}-n{num}"


def redraw_frames(run_dir: str | os.PathLike, num: int = 64, seed: int = 0, out: str | os.PathLike | None = None,
                  progress: bool = True) -> dict:
    """Draw `num` samples of noise `seed` from every checkpoint of the run into a frames folder (default
    RUN_DIR/frames-seed{seed}-n{num}), one grid per checkpoint, named by step like the training frames,
    and one of step 0: the untrained models, rebuilt from the run's seed.
    Returns {"folder", "steps", "skipped"}."""
    from tqdm.auto import tqdm

    from tfgan import evaluate, run

    run_dir = Path(run_dir)
    if num < 1:
        raise TfganError(f"--num must be at least 1, got {num}")
    generator, discriminator, config = run.models_of_run(run_dir)
    found = ckpt_lib.kept_checkpoints(run_dir)
    if not found:
        raise TfganError(f"{run_dir} has no checkpoint yet: train it first")
    folder = Path(out) if out is not None else run_dir / default_folder(num, seed)
    if folder.resolve() == (run_dir / "frames").resolve():
        raise TfganError("the training frames stay as they are: choose another --out folder")
    folder.mkdir(parents=True, exist_ok=True)
    for old_step, path in media.list_frames(folder):  # a folder redrawn before: no frames from other noise
        path.unlink(missing_ok=True)
    # Samples come from the weight average when the run kept one, as in `sample`; 2-D toy runs also
    # need D, whose output is the coloured field behind the points.
    name = "ema_generator" if config.get("ema", 0) > 0 else "generator"
    checkpoint = tf.train.Checkpoint(**{name: generator}, discriminator=discriminator)
    points = len(config["image_shape"]) == 1
    toy_name = real = None
    if points:
        from tfgan import toy

        toy_name = toy.check(config.get("dataset", "ring8"))
        real = toy.sample(toy_name, 1500, config.get("seed", 0))
    drawn, skipped = [], []
    # Step 0 needs no checkpoint: the models are rebuilt from the run's seed, as training built them.
    for step, path in tqdm(([] if found[0][0] == 0 else [(0, None)]) + found, unit="checkpoint", disable=not progress, desc="redrawing"):
        try:
            if path is not None:
                checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
        except (ValueError, AssertionError) as e:
            raise ckpt_lib.CheckpointMismatch(f"checkpoint {path} does not fit the run's config.json: "
                                              f"{str(e).splitlines()[0][:120]}") from e
        except Exception as e:  # noqa: BLE001 - a damaged checkpoint: IndexError, DataLossError, ...
            skipped.append(f"{Path(path).name} ({str(e).splitlines()[0][:60] if str(e) else type(e).__name__})")
            continue
        samples = evaluate.sample(generator, num, config["latent_dim"], seed, batch_size=256,
                                  latent_kind=config.get("latent", "gaussian"))
        target = media.frame_path(folder, step)
        if points:
            from tfgan import toy

            field = np.asarray(discriminator(toy.field_grid(toy_name), training=False), np.float32)
            media.atomic_write_bytes(target, media.png_bytes(toy.render(samples, toy_name, real, field,
                                                                        f"step {step}")))
        else:
            media.save_grid(samples, target, scale=2 if samples.shape[1] < 48 else 1)
        drawn.append(step)
    if skipped:
        print(f"notice: skipped {len(skipped)} damaged checkpoint(s): {', '.join(skipped[:3])}")
    if not drawn:
        raise TfganError(f"every checkpoint of {run_dir} is damaged: nothing to draw")
    media.atomic_write_bytes(folder / INFO_FILE, json.dumps({"num_samples": num, "seed": seed}).encode())
    return {"folder": str(folder), "steps": drawn, "skipped": len(skipped)}
