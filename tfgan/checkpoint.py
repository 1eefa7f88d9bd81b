"""Saving and resuming a run: `tf.train.Checkpoint` + `tf.train.CheckpointManager`.

One checkpoint holds everything that resuming needs: both networks, both optimizers (their moment
estimates and iteration counts), the step and epoch counters, the fixed sample noise behind the
progress frames and the state of the noise generator. The run's `config.json` records the model
shapes, so a checkpoint from another architecture is refused with a message instead of being
half-restored.
"""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf

from tfgan.errors import TfganError
from tfgan.media import atomic_write_bytes

# Fields of config.json that fix the shapes of the saved variables.
ARCHITECTURE_KEYS = ("architecture", "latent_dim", "image_shape", "width", "loss", "num_samples",
                     "num_classes")


class CheckpointMismatch(TfganError):
    """The run directory holds a checkpoint of a different model."""


def read_config(run_dir: str | Path) -> dict | None:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise TfganError(f"{path} is unreadable ({e}); delete it or pass --fresh") from e


def write_config(run_dir: str | Path, config: dict) -> None:
    atomic_write_bytes(Path(run_dir) / "config.json", json.dumps(config, indent=2).encode())


def check_compatible(saved: dict, wanted: dict, run_dir: str | Path) -> None:
    """Raise CheckpointMismatch naming every architecture field that differs."""
    diffs = []
    for key in ARCHITECTURE_KEYS:
        a, b = saved.get(key), wanted.get(key)
        if key == "loss" and a is not None and b is not None:
            # Switching between non-Wasserstein losses keeps the same models; to or from a critic not.
            a, b = a.startswith("wgan"), b.startswith("wgan")
        if a is not None and b is not None and _norm(a) != _norm(b):
            diffs.append(f"{key} {saved.get(key)} ≠ {wanted.get(key)}")
    if diffs:
        raise CheckpointMismatch(
            f"{run_dir} holds a '{saved.get('preset')}' run whose models differ ({'; '.join(diffs)}): "
            "pass another --run-dir, or --fresh to discard it"
        )


def _norm(value):
    return list(value) if isinstance(value, (list, tuple)) else value


class RunCheckpoint:
    """The checkpoint of one run directory, with step and epoch counters."""

    def __init__(self, run_dir: str | Path, max_to_keep: int = 3, **objects):
        self.directory = Path(run_dir) / "ckpt"
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), max_to_keep)

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def restore(self, path: str | None = None) -> str | None:
        """Restore the latest (or given) checkpoint; every saved variable must match the models."""
        path = path or self.latest
        if path is None:
            return None
        try:
            status = self.checkpoint.restore(path)
            status.assert_existing_objects_matched()
        except (ValueError, AssertionError, tf.errors.OpError) as e:
            first = str(e).strip().splitlines()[0][:200]
            raise CheckpointMismatch(
                f"checkpoint {path} does not fit these models ({first}): "
                "pass another --run-dir, or --fresh to discard it"
            ) from e
        return path

    def save(self, step: int) -> str:
        try:
            return self.manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as e:
            raise TfganError(
                f"could not write a checkpoint to {self.directory} ({str(e).splitlines()[0][:160]}): "
                "free disk space or choose a writable --run-dir; the previous checkpoint is intact"
            ) from e
