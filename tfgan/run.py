"""A run directory from start to finish: choose data and models, check the folder, resume, train.

This is the one path the command line and the notebooks share:
`start_run(preset, run_dir)` -> (trainer, images); `trainer.fit(images, steps)`.
"""

from __future__ import annotations

import atexit
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan import data as data_lib
from tfgan import losses, models
from tfgan import step as step_lib
from tfgan.data.pipeline import check_enough_images
from tfgan.errors import TfganError
from tfgan.presets import Preset
from tfgan.runs import bands, disk
from tfgan.runs import checkpoint as ckpt_lib
from tfgan.runs.config import CONFIG_VERSION, read_config, write_config
from tfgan.samples import is_toy
from tfgan.train import GANTrainer

DEFAULT_ROOT = Path("checkpoints")


def default_run_dir(preset: Preset) -> Path:
    return DEFAULT_ROOT / preset.name


def architecture_for(preset: Preset, image_shape: tuple[int, int, int]) -> str:
    """'auto' picks the 28×28 models for MNIST-sized data, the toy MLPs for 2-D points and DCGAN ones for
    larger images."""
    if preset.architecture != "auto":
        return preset.architecture
    if is_toy(image_shape):
        return "toy"
    return "mnist" if tuple(image_shape[:2]) == (28, 28) else "dcgan"


def run_config(preset: Preset, image_shape, dataset: str, seed: int) -> dict:
    config = preset.to_dict()
    config.update(preset=preset.name, architecture=architecture_for(preset, image_shape),
                  image_shape=list(image_shape), dataset=dataset, seed=seed,
                  config_version=CONFIG_VERSION)
    return config


def claim_run_dir(run_dir: Path, check_only: bool = False) -> None:
    """One training process per run directory: two would overwrite each other's checkpoints.

    The claim is a file holding this process's id; a claim by a process that has ended is stale and
    taken over, and the same process (a notebook kernel training on) may claim again. `check_only`
    raises if another live process holds the folder but writes nothing.
    """
    lock = run_dir / "train.pid"
    try:
        other = int(lock.read_text().strip())
    except (OSError, ValueError):
        other = None
    if other and other != os.getpid():
        try:
            os.kill(other, 0)  # signal 0: only asks whether the process exists
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:  # it exists, owned by someone else
            alive = True
        if alive:
            raise TfganError(f"another process (pid {other}) is training in {run_dir}: wait for it to "
                             f"finish or stop it, or pass another --run-dir")
    if check_only:
        return
    lock.write_text(str(os.getpid()))
    atexit.register(lambda: lock.unlink(missing_ok=True) if lock.is_file() and
                    lock.read_text().strip() == str(os.getpid()) else None)


def check_writable(run_dir: Path) -> None:
    """Fail before the data loads when the folder can't take files at all (whether the disk has room for
    this run is reckoned from its models when training starts: `GANTrainer.space_needed`)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write_test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        raise TfganError(
            f"cannot write to run directory {run_dir} ({e.strerror or e}): choose a writable --run-dir"
        ) from e


def build_models(preset: Preset, image_shape, seed: int = 0):
    check_pack(preset)
    keras.utils.set_random_seed(seed)  # the same seed gives the same initial weights
    return models.build(architecture_for(preset, image_shape), preset.latent_dim, tuple(image_shape),
                        preset.width, critic=losses.is_wasserstein(preset.loss), num_classes=preset.num_classes,
                        acgan=preset.acgan, spectral_norm=preset.spectral_norm, g_dropout=preset.g_dropout,
                        d_dropout=preset.d_dropout, hidden=preset.hidden,
                        g_batchnorm=preset.g_batchnorm, g_upsample=preset.g_upsample,
                        draw_size=preset.draw_size, minibatch_std=preset.minibatch_std, pack=preset.pack)


def check_labels(images: data_lib.Images, num_classes: int, dataset: str) -> None:
    """A conditional GAN needs one label in [0, num_classes) per image."""
    if images.labels is None:
        raise TfganError(f"a conditional GAN needs labels, and {dataset} has none: use an .npz with y_train "
                         "(or y) beside x_train, or an unconditional preset such as mnist-dcgan")
    labels = np.asarray(images.labels).reshape(-1)
    if len(labels) != len(images.images):
        raise TfganError(f"{dataset}: {len(images.images)} images but {len(labels)} labels")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise TfganError(f"{dataset}: labels run from {labels.min()} to {labels.max()}, but the model has "
                         f"{num_classes} classes (0 to {num_classes - 1})")
    images.labels = labels.astype(np.int64)


def start_run(
    preset: Preset,
    run_dir: str | os.PathLike | None = None,
    dataset: str | None = None,
    seed: int = 0,
    fresh: bool = False,
    images: data_lib.Images | None = None,
    generator: keras.Model | None = None,
    discriminator: keras.Model | None = None,
    jit_compile: bool = False,
    mixed_precision: bool | str = False,
    verbose: bool = True,
    strategy: tf.distribute.Strategy | None = None,
    steps_per_call: int | None = None,
    checkpoint_secs: float = 60.0,
    keep_every: int = 0,
    init: Callable[[GANTrainer], str] | None = None,
    max_checkpoints: int = 3,
) -> tuple[GANTrainer, data_lib.Images]:
    """Load the data, build (or take) the models, and resume the run directory's last checkpoint.

    Pass `generator` / `discriminator` to train your own models with the same loop (under a
    `strategy`, build them inside `strategy.scope()`). `preset.batch_size` is the global batch.
    A conditional preset (num_classes > 0) needs labelled data: train with
    `trainer.fit(images.images, steps, labels=images.labels)`. `steps_per_call` fixes how many train
    steps run per compiled call (default: automatic, about 0.25 s of work each). Checkpoints come every
    `preset.checkpoint_every` steps and also by time: 10 s into training, then every `checkpoint_secs`
    (0: by steps only). Only the latest `max_checkpoints` (3) are kept, plus, with `keep_every` N, those
    of every N-th step (for re-drawing the progress later: `python -m tfgan frames`); 1 suits a small
    disk, and a resumed run then deletes its older ones. `init` is called on a new run
    (nothing to resume) to set its starting weights and say from where, e.g.
    `init=lambda t: trained.start_from(t, "runs/mnist-dcgan")` to fine-tune another run's networks.
    """
    strategy = strategy or tf.distribute.get_strategy()
    say = print if verbose else (lambda *a, **k: None)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(preset)
    dataset = dataset or preset.dataset
    check_preset(preset, seed)
    folder = None if images is not None else _image_folder(dataset, run_dir)
    keras.mixed_precision.set_global_policy(step_lib.precision_policy(mixed_precision))
    if images is None and (folder is not None or dataset in ("anime", "faces")) and (
            generator is None or discriminator is None):
        # These sources are resized to image_size: an unsupported size fails before any image is decoded.
        generator, discriminator = _build_in(strategy, preset, (preset.image_size,) * 2 + (preset.channels,), seed)
    saved = None if fresh else read_config(run_dir)
    made = [p for p in (run_dir, *run_dir.parents) if not p.exists()]  # the folders this call creates
    check_writable(run_dir)
    try:
        return _stand_up(preset, run_dir, dataset, seed, fresh, images, generator, discriminator, saved,
                         strategy, say, init, jit_compile=jit_compile, mixed_precision=mixed_precision,
                         steps_per_call=steps_per_call, checkpoint_secs=checkpoint_secs,
                         keep_every=keep_every, max_to_keep=max_checkpoints)
    except BaseException:
        for new_folder in made:  # deepest first; a folder that has files in it by now stays
            try:
                new_folder.rmdir()
            except OSError:
                break
        raise


def _stand_up(preset: Preset, run_dir: Path, dataset: str, seed: int, fresh: bool, images, generator,
              discriminator, saved: dict | None, strategy, say, init, **trainer_kwargs):
    """start_run's work once the folder is known to be writable: the data, the models, the trainer."""
    claim_run_dir(run_dir, check_only=True)  # before --fresh could delete a live run's files
    images, shape = _images_for(preset, dataset, seed, images)
    say(f"data: {images.source}")
    if generator is None or discriminator is None:
        generator, discriminator = _build_in(strategy, preset, shape, seed)
    # --fresh sets the old run's files aside and drops them only once the new run stands: a refusal
    # below (another architecture to start from, too few images) leaves the folder as it was.
    aside = _set_aside(run_dir) if fresh and run_dir.exists() else None
    try:
        trainer = _trainer_for(preset, generator, discriminator, run_dir, saved, shape, dataset, images, seed,
                               init, say, strategy=strategy, **trainer_kwargs)
    except BaseException:
        _put_back(aside, run_dir)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return trainer, images


def _trainer_for(preset: Preset, generator, discriminator, run_dir: Path, saved: dict | None, shape: tuple,
                 dataset: str, images: data_lib.Images, seed: int, init, say, **trainer_kwargs) -> GANTrainer:
    """The trainer of a run directory: checked, resumed (or started from `init`), its config written."""
    config = run_config(preset, shape, dataset, seed)
    if saved is not None:
        ckpt_lib.check_compatible(saved, config, run_dir)
    check_enough_images(len(images.images), preset.batch_size, preset.d_steps)
    strategy = trainer_kwargs["strategy"]
    if preset.batch_size % strategy.num_replicas_in_sync:
        raise TfganError(f"batch size {preset.batch_size} does not split evenly over "
                         f"{strategy.num_replicas_in_sync} devices: use a multiple of that")
    check_pack(preset, strategy.num_replicas_in_sync)
    trainer = GANTrainer(preset, generator, discriminator, run_dir, seed=seed, **trainer_kwargs)
    step = trainer.restore()
    if step is None and init is not None:
        config["init_from"] = init(trainer)  # may refuse: nothing is written yet
    elif step is not None and saved is not None and "init_from" in saved:
        config["init_from"] = saved["init_from"]
    # The band of normal runs is of runs from scratch, on the run's own data.
    band = None if "init_from" in config else bands.load(preset.replace(dataset=dataset))
    trainer.band = trainer.health.band = band
    claim_run_dir(run_dir)  # written only once nothing can fail: bad input leaves the folder as it was
    if step is not None:
        ignored = "; --init-from is ignored: the run goes on from its own checkpoint" if init is not None else ""
        say(f"resuming {run_dir} from step {step} (epoch {int(trainer.epoch)}){ignored}")
    else:
        say(f"starting a new run in {run_dir}" + (f": {config['init_from']}" if "init_from" in config else ""))
    try:
        write_config(run_dir, config)
    except OSError as e:
        if not disk.is_disk_full(e, run_dir):
            raise
        raise disk.DiskFull(disk.full_message(run_dir, -1 if step is None else step, e,
                                              trainer.checkpoint.paths())) from e
    return trainer


def _build_in(strategy: tf.distribute.Strategy, preset: Preset, shape: tuple, seed: int):
    with strategy.scope():
        return build_models(preset, shape, seed)


def check_preset(preset: Preset, seed: int) -> None:
    """Settings that cannot work fail now, before any data loads."""
    for name, value in (("batch size", preset.batch_size), ("d_steps", preset.d_steps),
                        ("latent size", preset.latent_dim), ("sample_every", preset.sample_every),
                        ("checkpoint_every", preset.checkpoint_every), ("width", preset.width)):
        if value < 1:
            raise TfganError(f"{name} must be at least 1, got {value}")
    if round(np.sqrt(preset.num_samples)) ** 2 != preset.num_samples:
        raise TfganError(f"num_samples must be a square number (e.g. 16, 64), got {preset.num_samples}")
    if seed < 0:
        raise TfganError(f"seed must be 0 or more, got {seed}")
    losses.get(preset.loss)  # an unknown loss fails now, not after the data has loaded
    check_pack(preset)


def check_pack(preset: Preset, replicas: int = 1) -> None:
    """D's packs must fill each device's share of the batch exactly (see `models.Pack`)."""
    if preset.pack > 1 and (preset.batch_size // replicas) % preset.pack:
        where = f" ({preset.batch_size // replicas} on each of {replicas} devices)" if replicas > 1 else ""
        raise TfganError(f"--pack {preset.pack} needs a batch size divisible by {preset.pack}, got "
                         f"{preset.batch_size}{where}: change --batch-size or --pack")


def _image_folder(dataset: str, run_dir: Path) -> Path | None:
    """The folder of images the dataset names (None for the named datasets and files), which must not
    hold the run directory: its frames would be read as training images."""
    folder = Path(dataset).expanduser()
    if dataset in ("mnist", "fashion_mnist", "anime", "faces") or not folder.is_dir():
        return None
    if run_dir.resolve().is_relative_to(folder.resolve()):
        raise TfganError(f"the run directory {run_dir} is inside the dataset folder {dataset}: its frames would "
                         "be read as training images; choose another --run-dir")
    return folder


def _images_for(preset: Preset, dataset: str, seed: int, images: data_lib.Images | None
                ) -> tuple[data_lib.Images, tuple]:
    """The training data (loaded unless given), fitted to the preset's channels and labels, and the shape
    of one sample."""
    if images is None:
        images = data_lib.load(dataset, preset.image_size, seed)
    if is_toy(images.shape):  # 2-D toy points, not images
        shape = images.shape
    else:
        shape = (*images.shape[:2], preset.channels)
        images.images = data_lib.match_channels(images.images, preset.channels)
    if preset.num_classes:
        check_labels(images, preset.num_classes, dataset)
    return images, shape


RUN_FILES = ("ckpt", "frames", "history.csv", "progress.gif", "losses.png", "config.json", "warnings.log")


def _set_aside(run_dir: Path) -> Path:
    """--fresh: move what an earlier run left in the folder (and only that) into a hidden folder."""
    aside = run_dir / f".fresh-{os.getpid()}"
    aside.mkdir(exist_ok=True)
    for name in RUN_FILES:
        if (run_dir / name).exists():
            os.replace(run_dir / name, aside / name)
    return aside


def _put_back(aside: Path | None, run_dir: Path) -> None:
    """The new run failed to start: the earlier run's files return, over anything half-made."""
    if aside is None:
        return
    for name in RUN_FILES:
        if (aside / name).exists():
            target = run_dir / name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(aside / name, target)
    shutil.rmtree(aside, ignore_errors=True)


