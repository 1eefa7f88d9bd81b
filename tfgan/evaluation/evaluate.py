"""Scoring a run: samples from a checkpoint measured with `tfgan.evaluation.metrics`, during or after
training.

- `evaluate_run(run_dir)` is `python -m tfgan eval RUN_DIR`. What it measures depends on the data
  (`metric_kind`), and every number stands beside its real-vs-real floor:
  - `mnist` (28×28 grayscale): the shipped digit classifier (`tfgan.evaluation.metrics`): Fréchet distance, KID,
    class coverage, confident share;
  - `faces` (the procedural faces): the shipped face-attribute classifier (`tfgan.evaluation.face_metrics`): FD,
    KID, confident hair colour + style, coverage of the 80 hair-colour × style combinations, their KL;
  - `colour` (any other data): FD and KID on the face classifier's features (labelled as such), pixel
    statistics, and Inception KID when its ImageNet weights are present;
  - `toy` (the 2-D datasets of `tfgan.data.toy`): modes covered, the high-quality share, KL from uniform.
- `EvalCallback` scores the generator every K steps while training, adds the figures to the history
  and TensorBoard, and keeps the best checkpoint by a chosen metric besides the latest ones: long DCGAN
  runs can get worse late, and then the best one is what you want to sample from.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan import data as data_lib
from tfgan.data import toy
from tfgan.errors import TfganError
from tfgan.evaluation import face_metrics, metrics, toy_metrics
from tfgan.evaluation import neighbours as neighbours_lib
from tfgan.presets import PRESETS
from tfgan.runs import bands, disk
from tfgan.runs.files import atomic_write_bytes
from tfgan.samples import is_toy
from tfgan.trained import load_generator, preset_of, sample_images

# For each metric, whether larger is better.
HIGHER_IS_BETTER = {"confident_share": True, "classes_covered": True, "combos_covered": True, "fd": False,
                    "kid_mean": False, "kl_uniform": False, "kl_real": False,
                    "modes_covered": True, "high_quality": True, "kl_modes": False}
METRIC_KINDS = ("mnist", "faces", "colour", "toy")


def real_images(config: dict, image_size: int | None = None) -> data_lib.Images:
    """The run's own training data, reloaded (uint8), for the comparison."""
    images = data_lib.load(config["dataset"], image_size or config["image_shape"][0], config.get("seed", 0))
    images.images = data_lib.match_channels(images.images, config["image_shape"][-1])
    return images


def is_mnist_like(image_shape) -> bool:
    return tuple(image_shape) == (28, 28, 1)


def metric_kind(images: data_lib.Images | np.ndarray) -> str:
    """Which metrics fit this data: 'mnist' (28×28 grey), 'faces' (the procedural faces), 'toy' (2-D
    points) or 'colour'."""
    array = images.images if isinstance(images, data_lib.Images) else np.asarray(images)
    if is_toy(array.shape[1:]):
        return "toy"
    if is_mnist_like(array.shape[1:]):
        return "mnist"
    if isinstance(images, data_lib.Images) and images.attributes is not None:
        return "faces"
    return "colour"


def default_metric(kind: str) -> str:
    """What `--eval-every` keeps the best checkpoint by, unless told otherwise."""
    return {"colour": "fd", "toy": "modes_covered"}.get(kind, "confident_share")


def evaluate_images(fake: np.ndarray, real: np.ndarray, seed: int = 0, kind: str | None = None,
                    inception: bool = True) -> dict:
    """Metrics of generated images against real ones; `kind` (see `metric_kind`) defaults by shape.
    `inception=False` leaves Inception KID out of the 'colour' metrics (slow on a CPU)."""
    kind = kind or metric_kind(fake)
    if kind == "mnist":
        return {"kind": "mnist", **metrics.evaluate_mnist(fake, real, seed=seed)}
    if kind == "faces":
        return face_metrics.evaluate_faces(fake, real, seed=seed)
    if kind == "colour":
        return face_metrics.evaluate_colour(fake, real, seed=seed, inception=inception)
    if kind == "toy":
        return toy_metrics.mode_metrics(fake, toy.identify(real))
    raise TfganError(f"unknown metric kind '{kind}': choose one of {', '.join(METRIC_KINDS)}")


def format_metrics(result: dict) -> str:
    kind = result.get("kind", "mnist")
    if kind == "faces":
        return face_metrics.format_faces(result)
    if kind == "colour":
        return face_metrics.format_colour(result)
    if kind == "toy":
        return toy_metrics.format_mode_metrics(result)
    return metrics.format_report(result)


def evaluate_run(run_dir: str | os.PathLike, num: int = 2000, seed: int = 0, best: bool = False,
                 neighbours: int = 0) -> dict:
    """Sample `num` images from the run's latest (or best) checkpoint (or an exported `.keras` file) and
    score them. `neighbours` = K > 0 adds the memorisation check (`tfgan.evaluation.neighbours`) under
    result["neighbours"] and saves samples beside their K nearest training images, whose path is
    result["neighbours_picture"]."""
    generator, config, step = load_generator(run_dir, best=best)
    fake = sample_images(generator, num, config["latent_dim"], seed, latent_kind=config.get("latent", "gaussian"))
    real = real_images(config)
    kind = metric_kind(real)
    result = evaluate_images(fake, real.images, seed, kind)
    result["step"] = step
    result["normal_runs"] = normal_runs(config, result, step)
    if neighbours and kind == "toy":
        raise TfganError("--neighbours compares images; for 2-D toy data the mode counts above say it all")
    if neighbours:
        train_features = neighbours_lib.features(real.images, kind)  # once, for the rates and the picture
        result["neighbours"] = neighbours_lib.find_copies(fake[:1000], real.images, kind, seed, train_features)
        path = Path(run_dir)
        out = path.with_name(f"{path.stem}_neighbours.png") if path.is_file() else path / "neighbours.png"
        result["neighbours_picture"] = str(neighbours_lib.save_picture(fake, real.images, kind, out, k=neighbours,
                                                                       train_features=train_features))
    return result


def normal_runs(config: dict, result: dict, step: int) -> list[str]:
    """What normal runs of the run's preset scored at about this step, from its band file (when the run
    uses the preset as recorded): 'normal runs of mnist-dcgan at step 10,000: fd 0.8–1.1 (3 seeds)'."""
    if "init_from" in config:  # fine-tuned: normal runs start from scratch
        return []
    try:
        preset = preset_of(config)
    except (TypeError, ValueError):  # a config from another version of tfgan
        return []
    if preset.name in PRESETS:  # the config holds the architecture 'auto' resolved to
        preset = preset.replace(architecture=PRESETS[preset.name].architecture)
    band = bands.load(preset)
    if band is None or band["differs"]:
        return []
    # FD and KID shrink with more samples: compare them only at the count the band was scored with.
    same_count = result.get("samples") == band.get("quality_samples")
    return [line for metric in band["quality"] if metric in result and (same_count or metric not in ("fd", "kid"))
            and (line := bands.quality_line(band, metric, step)) is not None]


def write_scalar(tag: str, value: float) -> None:
    """tf.summary.scalar without the tensorboard package (TensorFlow no longer installs it): the same
    event record, tagged for TensorBoard's scalar dashboard."""
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    tf.summary.write(tag, tf.constant(value, tf.float32), metadata=metadata)


class EvalCallback:
    """Every `every` steps: score `num` samples, log them, keep the best checkpoint by `metric`.

    With `every_seconds` instead, it scores at the first chunk end, then at the first one after each such
    interval: two runs compared at equal wall time get the same number of evaluations, whatever their
    step rates.
    """

    def __init__(self, real: np.ndarray | data_lib.Images, every: int = 500, num: int = 1000,
                 metric: str | None = None, seed: int = 0, every_seconds: float | None = None):
        self.kind = metric_kind(real)
        metric = metric or default_metric(self.kind)
        if metric not in HIGHER_IS_BETTER:
            raise TfganError(f"unknown metric '{metric}': choose one of {', '.join(HIGHER_IS_BETTER)}")
        real = real.images if isinstance(real, data_lib.Images) else real
        self.real, self.num, self.metric, self.seed = real, num, metric, seed
        # every = 0 tells the loop not to end its chunks for this callback (see train.GANTrainer.fit).
        self.every, self.every_seconds = (0, every_seconds) if every_seconds else (every, None)
        self._last_time: float | None = None
        self.best_value: float | None = None
        self._best_manager = None
        self._writer = None

    def _due(self, trainer, step: int) -> bool:
        if self.every_seconds is None:
            return step % self.every == 0
        if step != int(trainer.step):  # inside a chunk the networks are already those of its last step
            return False
        now = time.monotonic()
        # The first chunk end is scored too: however short the run, it has at least one evaluation.
        if self._last_time is not None and now - self._last_time < self.every_seconds:
            return False
        self._last_time = now
        return True

    def disk_bytes(self, trainer) -> int:
        """Room for the best generator's checkpoint and the one written beside it, and the logs."""
        return 2 * disk.variable_bytes([trainer.ema_generator or trainer.generator]) + disk.MB

    def _load_best(self, run_dir: Path) -> None:
        path = run_dir / "best" / "best.json"
        if path.is_file():
            self.best_value = json.loads(path.read_text()).get(self.metric)

    def __call__(self, trainer, logs: dict) -> None:
        step = logs["step"]
        if not self._due(trainer, step):
            return
        if self._best_manager is None:
            self._load_best(trainer.run_dir)
            checkpoint = tf.train.Checkpoint(generator=trainer.ema_generator or trainer.generator)
            self._best_manager = tf.train.CheckpointManager(checkpoint, str(trainer.run_dir / "best"), 1)
            self._writer = tf.summary.create_file_writer(str(trainer.run_dir / "logs"))
        fake = sample_images(trainer.ema_generator or trainer.generator, self.num, trainer.latent_dim, self.seed,
                      latent_kind=trainer.preset.latent)
        result = evaluate_images(fake, self.real, self.seed, self.kind, inception=False)
        scalars = {k: float(v) for k, v in result.items()
                   if k in HIGHER_IS_BETTER or k.startswith("inception_kid")}
        logs.update({f"eval/{k}": v for k, v in scalars.items()})  # the same dict lands in history.csv
        with self._writer.as_default(step=step):
            for key, value in scalars.items():
                write_scalar(f"eval/{key}", value)
        value = scalars.get(self.metric)
        if value is None:
            return
        better = (self.best_value is None or
                  (value > self.best_value if HIGHER_IS_BETTER[self.metric] else value < self.best_value))
        if better:
            self.best_value = value
            self._best_manager.save(checkpoint_number=step)
            atomic_write_bytes(trainer.run_dir / "best" / "best.json",
                               json.dumps({"step": step, self.metric: value, **scalars}, indent=2).encode())
