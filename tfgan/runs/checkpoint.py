"""Saving and resuming a run: `tf.train.Checkpoint` + `tf.train.CheckpointManager`.

One checkpoint holds everything that resuming needs: both networks, both optimizers (their moment
estimates and iteration counts), the step and epoch counters, the fixed sample noise behind the
progress frames and the state of the noise generator. The run's `config.json` records the model
shapes (`tfgan.runs.config`), so a checkpoint from another architecture is refused with a message instead
of being half-restored.

A run killed mid-save never loses its last checkpoint: TensorFlow writes the files under a temporary
name and only then updates the `checkpoint` state file (atomically), and a checkpoint whose files are
damaged anyway (a full disk, a bad copy) is skipped with a notice for the one before it.
"""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

import tensorflow as tf

from tfgan.errors import TfganError
from tfgan.presets import FIELD_DEFAULTS
from tfgan.runs import disk
from tfgan.runs.files import atomic_write_bytes

# Fields of config.json that fix the shapes of the saved variables.
ARCHITECTURE_KEYS = ("architecture", "latent_dim", "image_shape", "width", "loss", "num_samples",
                     "num_classes", "ema", "acgan", "spectral_norm", "hidden", "g_batchnorm", "g_upsample",
                     "draw_size", "minibatch_std", "pack")


class CheckpointMismatch(TfganError):
    """The run directory holds a checkpoint of a different model."""


class CheckpointDamaged(TfganError):
    """Every checkpoint of the run directory is unreadable."""


def check_compatible(saved: dict, wanted: dict, run_dir: str | Path) -> None:
    """Raise CheckpointMismatch naming every architecture field that differs."""
    # A config written before a setting existed describes the setting's default.
    defaults = {key: FIELD_DEFAULTS[key] for key in ARCHITECTURE_KEYS if key in FIELD_DEFAULTS}
    saved, wanted = {**defaults, **saved}, {**defaults, **wanted}
    diffs = []
    for key in ARCHITECTURE_KEYS:
        a, b = saved.get(key), wanted.get(key)
        if key == "loss" and a is not None and b is not None:
            # Switching between non-Wasserstein losses keeps the same models; to or from a critic not.
            a, b = a.startswith("wgan"), b.startswith("wgan")
        if key == "ema":  # only whether there is an averaged generator changes what is saved
            a, b = bool(a or 0), bool(b or 0)
        if a is not None and b is not None and _norm(a) != _norm(b):
            diffs.append(f"{key} {saved.get(key)} ≠ {wanted.get(key)}")
    if diffs:
        raise CheckpointMismatch(
            f"{run_dir} holds a '{saved.get('preset')}' run whose models differ ({'; '.join(diffs)}): "
            "pass another --run-dir, or --fresh to discard it"
        )


def _norm(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def checkpoint_paths(directory: str | Path) -> list[str]:
    """The checkpoints of a `ckpt` folder, newest first.

    These are the ones the `checkpoint` state file lists (it only names complete saves); should that
    file be missing or unreadable, every ckpt-N.index present, by N.
    """
    state = tf.train.get_checkpoint_state(str(directory))
    if state is not None and state.all_model_checkpoint_paths:
        return list(reversed(state.all_model_checkpoint_paths))
    found = [(int(m.group(1)), str(p)[: -len(".index")]) for p in Path(directory).glob("ckpt-*.index")
             if (m := re.fullmatch(r"ckpt-(\d+)\.index", p.name))]
    return [path for _, path in sorted(found, reverse=True)]


def restore_newest(checkpoint: tf.train.Checkpoint, directory: str | Path, partial: bool = False) -> str | None:
    """Restore the newest readable checkpoint in `directory`; None when there is none.

    Damaged files (truncated, missing, failing their checksums) make it fall back to the checkpoint
    before, with a notice. Variables that do not fit (other shapes, other layers) raise
    CheckpointMismatch: the other checkpoints of the folder come from the same models.
    `partial=True` restores only the objects `checkpoint` holds (e.g. just the generator).
    """
    damaged = []
    for path in checkpoint_paths(directory):
        damage = restore_one(checkpoint, path, partial)
        if damage is not None:
            damaged.append(damage)
            continue
        if damaged:
            print(f"notice: skipped damaged checkpoint(s) {', '.join(damaged)}; resuming from {Path(path).name}")
        return path
    if damaged:
        raise CheckpointDamaged(
            f"every checkpoint in {directory} is damaged: {', '.join(damaged)}; pass --fresh to start over"
        )
    return None


def restore_one(checkpoint: tf.train.Checkpoint, path: str, partial: bool = False) -> str | None:
    """Restore the checkpoint at `path`; None when it worked, else a short description of the damage
    (truncated, missing, failing their checksums). Variables that do not fit (other shapes, other
    layers) raise CheckpointMismatch. `partial=True` restores only the objects `checkpoint` holds."""
    try:
        status = checkpoint.restore(path)
        if partial:
            status.expect_partial()
        status.assert_existing_objects_matched()
    except (ValueError, AssertionError) as e:
        raise CheckpointMismatch(
            f"checkpoint {path} does not fit these models ({_first_line(e)}): "
            "pass another --run-dir, or --fresh to discard it"
        ) from e
    except Exception as e:  # noqa: BLE001 - damage shows as IndexError, DataLossError, NotFoundError...
        return f"{Path(path).name} ({_first_line(e, 100)})"
    return None


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", str(error)).strip()  # TF op errors' prefix
    return (text.splitlines()[0] if text else type(error).__name__)[:limit]


def kept_checkpoints(run_dir: str | Path) -> list[tuple[int, str]]:
    """(step, path) of every checkpoint a run still has, oldest first: those kept for good by
    `--keep-every` (in ckpt/kept) and the latest few of ckpt/. A checkpoint counts once its .index
    file is there: it is linked last."""
    found = {}
    for folder in (Path(run_dir) / "ckpt" / "kept", Path(run_dir) / "ckpt"):
        for p in folder.glob("ckpt-*.index"):
            if m := re.fullmatch(r"ckpt-(\d+)\.index", p.name):
                found.setdefault(int(m.group(1)), str(p)[: -len(".index")])
    return sorted(found.items())


def remove_partial(directory: str | Path) -> None:
    """What a failed save left in a checkpoint folder: TensorFlow's temporary files, and any checkpoint
    its `checkpoint` state file does not list."""
    state = tf.train.get_checkpoint_state(str(directory)) if Path(directory).is_dir() else None
    disk.remove_partial_checkpoints(Path(directory), list(state.all_model_checkpoint_paths) if state else None)


class RunCheckpoint:
    """The checkpoint of one run directory, with step and epoch counters.

    The manager keeps the latest `max_to_keep`; with `keep_every` N, the checkpoints of steps that are
    multiples of N are also kept for good in ckpt/kept (hard links, so no second copy on disk), which
    lets `python -m tfgan frames` redraw the whole progress with new noise later.
    """

    def __init__(self, run_dir: str | Path, max_to_keep: int = 3, keep_every: int = 0, **objects):
        if max_to_keep < 1:
            raise TfganError(f"--max-checkpoints must be at least 1, got {max_to_keep}")
        if keep_every < 0:
            raise TfganError(f"--keep-every must be 0 (keep only the latest) or more, got {keep_every}")
        self.directory = Path(run_dir) / "ckpt"
        self.objects = objects
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.max_to_keep = max_to_keep
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), max_to_keep)
        self.keep_every = keep_every

    def paths(self) -> list[str]:
        """The latest checkpoints, newest first."""
        return checkpoint_paths(self.directory)

    def size_bytes(self) -> int:
        """Bytes of the variables one checkpoint saves (the files add a few KB)."""
        return disk.variable_bytes(self.objects.values())

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def restore(self, path: str | None = None) -> str | None:
        """Restore the newest intact (or the given) checkpoint; every saved variable must match the models."""
        # A save killed midway leaves a ckpt-N_temp folder, or data without its index, that nothing reads
        # again. A complete checkpoint the state file does not list stays: it may be the one asked for.
        disk.remove_partial_checkpoints(self.directory, None)
        if path is None:
            restored = restore_newest(self.checkpoint, self.directory)
            self._keep_only_latest(restored)
            return restored
        damage = restore_one(self.checkpoint, path)
        if damage is not None:  # a path asked for by name has no older one to fall back to
            raise CheckpointMismatch(f"checkpoint {damage} cannot be restored into these models: "
                                     "pass another --run-dir, or --fresh to discard it")
        return path

    def save(self, step: int) -> str:
        try:
            path = self.manager.save(checkpoint_number=step)
            if self.keep_every and step % self.keep_every == 0:
                self._keep(path)
            return path
        except (OSError, tf.errors.OpError) as e:
            raise TfganError(
                f"could not write a checkpoint to {self.directory} ({_first_line(e, 160)}): "
                "free disk space or choose a writable --run-dir; the previous checkpoint is intact"
            ) from e

    def _keep_only_latest(self, restored: str | None) -> None:
        """A run resumed with fewer checkpoints to keep (`--max-checkpoints 1` on a full disk) drops the
        older ones now, not after the next save, which needs their room: only once the newest restored."""
        state = tf.train.get_checkpoint_state(str(self.directory))
        paths = list(state.all_model_checkpoint_paths) if state else []
        if restored is None or len(paths) <= self.max_to_keep or Path(paths[-1]).name != Path(restored).name:
            return
        stamps = list(state.all_model_checkpoint_timestamps)[-self.max_to_keep:]
        # The files first: on a full disk their room is what lets the state file be written. A stop in
        # between leaves older checkpoints listed but gone, which restoring skips.
        dropped = paths[: -self.max_to_keep]
        for path in dropped:
            for f in sorted(disk.checkpoint_files(path), key=lambda p: p.suffix != ".index"):
                f.unlink(missing_ok=True)
        lines = [f'model_checkpoint_path: "{Path(paths[-1]).name}"']
        lines += [f'all_model_checkpoint_paths: "{Path(p).name}"' for p in paths[-self.max_to_keep:]]
        lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in stamps]
        lines += [f"last_preserved_timestamp: {state.last_preserved_timestamp!r}"]
        atomic_write_bytes(self.directory / "checkpoint", ("\n".join(lines) + "\n").encode())
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), self.max_to_keep)
        print(f"keeping the latest {self.max_to_keep} checkpoint(s): deleted the older "
              f"{', '.join(Path(p).name for p in dropped)}")

    def clean_failed_save(self) -> None:
        """After a save that failed (a full disk): remove whatever it left half-written, and forget it
        (the manager may have counted a checkpoint whose state file was never written)."""
        remove_partial(self.directory)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), self.max_to_keep)

    def _keep(self, path: str) -> None:
        """Link a checkpoint's files into ckpt/kept, where the manager never deletes them; the .index
        last, so that a kill midway leaves no checkpoint that looks complete."""
        kept = self.directory / "kept"
        kept.mkdir(exist_ok=True)
        name = Path(path).name
        files = sorted(self.directory.glob(f"{name}.*"), key=lambda p: p.suffix == ".index")
        for source in files:
            target = kept / source.name
            target.unlink(missing_ok=True)
            try:
                target.hardlink_to(source)
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK):
                    raise
                try:  # a file system without hard links: a copy
                    shutil.copyfile(source, target)
                except BaseException:
                    target.unlink(missing_ok=True)
                    raise

    def drop_kept_after(self, step: int) -> None:
        """Resuming from `step`: kept checkpoints past it belong to a history that is being redone."""
        for kept_step, path in kept_checkpoints(self.directory.parent):
            if kept_step > step and Path(path).parent.name == "kept":
                for f in sorted(disk.checkpoint_files(path), key=lambda p: p.suffix != ".index"):  # index first
                    f.unlink(missing_ok=True)
