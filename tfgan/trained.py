"""A trained generator back: from a run directory's latest (or best) checkpoint, or from an exported
`.keras` file, and images drawn from it.

`load_generator(run_dir)` -> (generator, config, step); `sample_images(generator, num, latent_dim)`.
Everything after training (`sample`, `eval`, `export`, `frames`) starts here.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan import models
from tfgan.errors import TfganError
from tfgan.presets import FIELD_DEFAULTS, Preset
from tfgan.run import build_models
from tfgan.runs import checkpoint as ckpt_lib
from tfgan.runs.config import generator_key, read_config, uses_ema
from tfgan.tricks import latent

METADATA_KEY = "tfgan"  # where an exported .keras file keeps what tfgan knows of it


def read_info(path: str | os.PathLike) -> dict:
    """The tfgan metadata of an exported `.keras` file; a clear error for any other file."""
    path = Path(path)
    if not path.is_file():
        raise TfganError(f"{path} not found: pass a run directory or a .keras file from `python -m tfgan export`")
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise TfganError(f"{path} is not a Keras model file ({e}): export one with `python -m tfgan export RUN_DIR`"
                         ) from e
    info = metadata.get(METADATA_KEY)
    if not isinstance(info, dict) or "latent_dim" not in info:
        raise TfganError(f"{path} is a Keras model but not a tfgan generator (no '{METADATA_KEY}' metadata): "
                         "export one with `python -m tfgan export RUN_DIR`")
    return info


def load_exported(path: str | os.PathLike) -> tuple[keras.Model, dict, int]:
    """(generator, config, step) from an exported `.keras` file, like `load_generator` for a run."""
    info = read_info(path)
    try:
        generator = keras.saving.load_model(path)  # safe_mode stays on: the file needs no custom code
    except Exception as e:  # Keras raises many kinds for a damaged file
        raise TfganError(f"{path} could not be loaded ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from e
    return generator, dict(info), int(info.get("step", 0))


def preset_of(config: dict) -> Preset:
    """The preset a run's config.json describes (its architecture as resolved for the data)."""
    return Preset(**{k: v for k, v in config.items() if k in Preset.__dataclass_fields__})


def models_of_run(run_dir: str | os.PathLike) -> tuple[keras.Model, keras.Model, dict]:
    """Untrained models of a run directory's architecture, and its config."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise TfganError(f"run directory not found: {run_dir}; train first or pass an existing RUN_DIR")
    config = read_config(run_dir)
    if config is None:
        raise TfganError(f"{run_dir} has no config.json: is it a tfgan run directory?")
    generator, discriminator = build_models(preset_of(config), tuple(config["image_shape"]),
                                            config.get("seed", 0))
    return generator, discriminator, config


GENERATOR_FIELDS = ("width", "hidden", "latent_dim", "num_classes", "latent", "g_batchnorm", "g_dropout",
                    "g_upsample", "draw_size", "ema")


def trained_step(run_dir: str | os.PathLike, preset: Preset) -> int:
    """How far a run directory has trained `preset`'s generator: its newest checkpoint's step, or 0 when
    the folder is missing, has no checkpoint, or holds another preset or another generator.

    For a notebook that needs a model another notebook trains: reuse that run when it is far enough.
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir) if (run_dir / "config.json").is_file() else None
    if config is None or config.get("preset") != preset.name:
        return 0
    if any(config.get(field, FIELD_DEFAULTS[field]) != getattr(preset, field) for field in GENERATOR_FIELDS):
        return 0
    newest = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    return int(newest.rsplit("-", 1)[-1]) if newest else 0


def load_generator(run_dir: str | os.PathLike, best: bool = False) -> tuple[keras.Model, dict, int]:
    """The generator of a run directory's latest checkpoint (or its best, kept by evaluation during
    training), its config and step. An exported `.keras` file (`python -m tfgan export`) works too."""
    run_dir = Path(run_dir)
    if run_dir.suffix == ".keras" or run_dir.is_file():
        if best:
            raise TfganError(f"{run_dir} is an exported generator, which has no best checkpoint: drop --best")
        return load_exported(run_dir)
    generator, _, config = models_of_run(run_dir)
    step = tf.Variable(0, dtype=tf.int64)
    # The best checkpoint holds the generator alone; its step is in its file name.
    # Sampling uses the weight average when the run kept one.
    checkpoint = tf.train.Checkpoint(generator=generator) if best else tf.train.Checkpoint(
        **{generator_key(config): generator}, step=step)
    path = ckpt_lib.restore_newest(checkpoint, run_dir / ("best" if best else "ckpt"), partial=True)
    if path is None:
        if best:
            raise TfganError(f"{run_dir} has no best checkpoint: train with --eval-every to keep one")
        raise TfganError(f"{run_dir} has no checkpoint yet: train it first")
    if best:
        step.assign(int(str(path).rsplit("-", 1)[-1]))
    return generator, config, int(step)


def sample_images(generator: keras.Model, num: int, latent_dim: int, seed: int = 0, batch_size: int = 500,
           labels=None, latent_kind: str = "gaussian", truncation: float | None = None) -> np.ndarray:
    """`num` images in [-1, 1]. A conditional generator draws `labels` (an int or one per image;
    default: every class in turn). `truncation` ψ < 1 shrinks the noise towards 0: cleaner, less
    varied samples (see `tricks.latent.truncate`)."""
    noise = latent.sample_latent(num, latent_dim, latent_kind, seed, truncation)
    if not models.is_conditional(generator):
        return np.concatenate([np.asarray(generator(noise[i:i + batch_size], training=False), np.float32)
                               for i in range(0, num, batch_size)])
    if labels is None:
        labels = np.arange(num) % models.num_classes(generator)
    labels = tf.constant(np.broadcast_to(np.asarray(labels, np.int32), (num,)))
    return np.concatenate([np.asarray(generator([tf.constant(noise[i:i + batch_size]), labels[i:i + batch_size]],
                                                training=False), np.float32)
                           for i in range(0, num, batch_size)])



def start_from(trainer, source: str | os.PathLike) -> str:
    """Fine-tuning: copy the weights of another run's latest checkpoint (G, D and G's weight average)
    or of an exported `.keras` generator (G only; D starts from scratch) into a new run's networks.
    Optimizers, step counters and the sample noise stay fresh. Returns what was copied, in words.

    A network of another shape is refused in one line naming both, before anything is written.
    """
    source = Path(source)
    if source.resolve().is_relative_to(Path(trainer.run_dir).resolve()):
        raise TfganError(f"--init-from {source} is this run's own directory: start from another run")
    if source.suffix == ".keras" or source.is_file():
        generator, config, step = load_exported(source)
        discriminator = ema_generator = None
    else:
        generator, discriminator, config = models_of_run(source)
        ema_generator = keras.models.clone_model(generator) if uses_ema(config) else None
        counter = tf.Variable(0, dtype=tf.int64)
        extra = {"ema_generator": ema_generator} if ema_generator is not None else {}
        checkpoint = tf.train.Checkpoint(generator=generator, discriminator=discriminator, step=counter, **extra)
        if ckpt_lib.restore_newest(checkpoint, source / "ckpt", partial=True) is None:
            raise TfganError(f"{source} has no checkpoint to start from: train it first, or drop --init-from")
        step = int(counter)
    name = config.get("preset", "?")
    kind, wanted = config.get("latent", "gaussian"), trainer.preset.latent
    if (kind == "uniform") != (wanted == "uniform"):  # the sphere is the Gaussian's shell; uniform is not
        raise ckpt_lib.CheckpointMismatch(
            f"cannot start from {source}: its generator was trained on {kind} noise and this run draws "
            f"{wanted} noise; pass --latent {kind}, or start from another run")
    _copy_weights(generator, trainer.generator, "generator", source, name, trainer.preset.name)
    if trainer.ema_generator is not None:
        trainer.ema_generator.set_weights((ema_generator or generator).get_weights())
    if discriminator is None:
        return f"G from {source} ('{name}' at step {step:,}); D from scratch (an exported file holds only G)"
    _copy_weights(discriminator, trainer.discriminator, "discriminator", source, name, trainer.preset.name)
    return f"G and D from {source} ('{name}' at step {step:,})"


def _copy_weights(source_model: keras.Model, target: keras.Model, role: str, source: Path, source_name: str,
                  target_name: str) -> None:
    weights = source_model.get_weights()
    shapes = [tuple(w.shape) for w in weights]
    if shapes != [tuple(w.shape) for w in target.weights]:
        raise ckpt_lib.CheckpointMismatch(
            f"cannot start from {source}: its {_describe(source_model, source_name, role)} differs from this "
            f"run's {_describe(target, target_name, role)}; start from a run of the same architecture and settings, or "
            "drop --init-from")
    target.set_weights(weights)


def _describe(model: keras.Model, preset_name: str, role: str) -> str:
    """'mnist-dcgan' generator (100 -> 28×28×1, 1,234 weights), in one phrase."""
    inputs = model.inputs[0].shape[1:]
    outputs = model.outputs[0].shape[1:]
    return (f"'{preset_name}' {role} ({'×'.join(map(str, inputs))} -> {'×'.join(map(str, outputs))}, "
            f"{model.count_params():,} weights)")
