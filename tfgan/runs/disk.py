"""Disk space: what a run will need, what it already holds, and what can go when the disk fills up.

A checkpoint holds every variable once: both networks, the weight average, and both optimizers' slots
(Adam keeps two numbers per weight), so it is about five times the generator and discriminator
together (49 MB for `mnist-dcgan`). `tf.train.CheckpointManager` keeps the latest `max_to_keep` and
writes the next one beside them before it deletes the oldest: at its peak a run holds
`max_to_keep + 1` checkpoints, plus those kept for good by `--keep-every`, the progress frames, the GIF
and the history. TensorFlow-free: sizes are read off the variables' shapes and dtypes.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfgan.errors import TfganError

MB = 2**20
CHECKPOINT_OVERHEAD = 64 * 1024  # the .index file, the save counter, the object graph (5–15 KB measured)
HISTORY_ROW_BYTES = 16  # per logged value, in history.csv (the step, losses, D(x), images/s...)
OTHER_BYTES = 1 * MB  # config.json, losses.png, warnings.log
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
FULL_TEXTS = ("No space left on device", "Disk quota exceeded")


class DiskFull(TfganError):
    """The disk is too full to start the run, or filled up while it trained."""


def variable_bytes(objects) -> int:
    """Bytes of every variable that a `tf.train.Checkpoint` of these objects saves: Keras models and
    optimizers (`.variables`), `tf.Variable`s, a `tf.random.Generator` (`.state`), and lists of them."""
    total = 0
    for obj in objects:
        if isinstance(obj, (list, tuple)):
            total += variable_bytes(obj)
            continue
        if hasattr(obj, "state") and hasattr(obj, "normal"):  # tf.random.Generator
            obj = obj.state
        variables = [obj] if hasattr(obj, "shape") and hasattr(obj, "dtype") else obj.variables
        for v in variables:
            dtype = np.dtype(getattr(v.dtype, "as_numpy_dtype", v.dtype))  # tf.DType or Keras' dtype name
            total += int(np.prod(v.shape)) * dtype.itemsize
    return total


@dataclass
class SpaceNeeded:
    """What a run will still write to disk, by kind, less what it deletes first."""

    checkpoint_bytes: int  # one checkpoint, as the models stand
    checkpoints: int  # checkpoints the disk must still take at the run's peak
    frames: int  # progress frames still to draw
    frame_bytes: int  # one frame, as PNG
    gif_bytes: int
    history_bytes: int  # history.csv, twice: it is rewritten beside itself
    dropped: int = 0  # checkpoints beyond the number to keep, which a resumed run deletes before it writes
    callbacks_bytes: int = 0  # what callbacks write (--eval-every: the best generator and its logs)

    @property
    def total(self) -> int:
        return (self.checkpoint_bytes * (self.checkpoints - self.dropped) + self.frames * self.frame_bytes
                + self.gif_bytes + self.history_bytes + self.callbacks_bytes + OTHER_BYTES)

    def describe(self) -> str:
        dropped = f", less {self.dropped} older one{'s' * (self.dropped != 1)} it deletes" if self.dropped else ""
        return (f"about {_mb(self.total)}: {self.checkpoints} checkpoint{'s' * (self.checkpoints != 1)} of "
                f"{_mb(self.checkpoint_bytes)}{dropped}, {self.frames} frames of {self.frame_bytes / 1024:.0f} KB, "
                f"the GIF (~{_mb(self.gif_bytes)}), "
                + (f"{_mb(self.callbacks_bytes)} for --eval-every's best generator, " if self.callbacks_bytes else "")
                + "and the history")


def space_needed(checkpoint_bytes: int, max_to_keep: int, keep_every: int, step: int, steps: int,
                 sample_every: int, frame_bytes: int, log_values: int,
                 checkpoints_held: list[bool], frames_held: int, callbacks_bytes: int = 0) -> SpaceNeeded:
    """The space a run still needs to train from `step` to `steps`.

    Checkpoints: the one being written beside the kept ones, the kept ones the folder does not hold yet,
    and those `keep_every` will keep for good. `checkpoints_held` says, newest first, of each checkpoint
    the folder holds whether deleting it frees its space (not when --keep-every keeps a hard link to it):
    only those make room as newer ones replace them, and those beyond `max_to_keep` are deleted first. Frames: one every `sample_every` steps and the last, each half as
    large again as one drawn now (a learning G's frames measured up to 1.5× its first). The GIF takes
    no more per frame than its PNG (measured: 0.3–1×, `benchmarks/disk_space.py`).
    """
    kept_for_good = steps // keep_every - step // keep_every if keep_every else 0
    frees = sum(checkpoints_held[:max_to_keep])  # latest ones whose room a newer checkpoint takes over
    checkpoints = 1 + max(0, max_to_keep - frees) + kept_for_good
    frames_total = steps // sample_every + 1 + (steps % sample_every > 0)
    frames = max(0, frames_total - frames_held)
    frame_bytes = frame_bytes * 3 // 2
    return SpaceNeeded(checkpoint_bytes + CHECKPOINT_OVERHEAD, checkpoints, frames, frame_bytes,
                       gif_bytes=frames_total * frame_bytes, history_bytes=2 * steps * log_values * HISTORY_ROW_BYTES,
                       dropped=sum(checkpoints_held[max_to_keep:]), callbacks_bytes=callbacks_bytes)


def check_space(run_dir: Path, needed: SpaceNeeded, with_one: SpaceNeeded | None = None) -> str:
    """Refuse, in one line, a run the disk cannot hold (saying what keeping one checkpoint would need,
    `with_one`); else say what it needs and what is free."""
    free = shutil.disk_usage(run_dir).free
    if free < needed.total:
        fewer = f", keep fewer checkpoints (--max-checkpoints 1 needs {with_one.describe()})" if with_one else ""
        raise DiskFull(f"not enough disk space for this run: it needs {needed.describe()}, and only {_mb(free)} "
                       f"is free where {run_dir} lives: free some space{fewer}, or choose another --run-dir")
    return f"disk: this run needs {needed.describe()}; {_mb(free)} free"


def is_disk_full(error: BaseException | None, run_dir: str | Path | None = None) -> bool:
    """Did this error (or one it was raised from) come from a full disk or an exhausted quota (the one
    `run_dir` is on, when given and the error names its file)?"""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            return run_dir is None or not error.filename or _same_disk(error.filename, run_dir)
        if any(text in str(error) for text in FULL_TEXTS):  # TensorFlow's own writes: an OpError
            return True
        error = error.__cause__ or error.__context__
    return False


def _same_disk(filename, run_dir: str | Path) -> bool:
    folder = Path(os.fsdecode(filename)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder.stat().st_dev == Path(run_dir).stat().st_dev


def _size(path: Path, seen: set) -> int:
    """Bytes of a file or folder, each file counted once however many hard links it has."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
    total = 0
    for f in files:
        st = f.stat()
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def held(run_dir: Path) -> dict[str, int]:
    """What a run directory holds, in bytes: the latest checkpoints, those kept for good, the frames,
    the GIF, and the rest."""
    seen: set = set()
    ckpt = run_dir / "ckpt"
    latest = sum(_size(p, seen) for p in ckpt.glob("ckpt-*")) if ckpt.is_dir() else 0
    parts = {"checkpoints": latest, "kept checkpoints": _size(ckpt / "kept", seen),
             "frames": _size(run_dir / "frames", seen), "GIF": _size(run_dir / "progress.gif", seen)}
    parts["other"] = _size(run_dir, seen)  # what is left: counted files are skipped
    return parts


def frees_space(path: str | Path) -> bool:
    """Would deleting this checkpoint free its space? Not when another name (ckpt/kept) links its files."""
    files = checkpoint_files(path)
    return bool(files) and all(f.stat().st_nlink == 1 for f in files)


def checkpoint_files(path: str | Path) -> list[Path]:
    """The files of one checkpoint (`.../ckpt-N`): its data shards and its index."""
    path = Path(path)
    return [p for p in path.parent.glob(f"{path.name}.*")
            if re.fullmatch(rf"{re.escape(path.name)}\.(index|data-\d+-of-\d+)", p.name)]


def full_message(run_dir: Path, saved_step: int, error: BaseException, newest_first: list[str]) -> str:
    """The one line for a disk that filled up: where the run stands, what it holds, what can go."""
    parts = held(run_dir)
    total = sum(parts.values())
    where = f"the newest complete checkpoint (step {saved_step}) is intact" if saved_step >= 0 else \
        "no checkpoint was complete yet"
    holds = ", ".join(f"{name} {_mb(size)}" for name, size in parts.items() if size >= MB // 10)
    safe = []
    older = [path for path in newest_first[1:] if frees_space(path)]
    if older:
        size = sum(f.stat().st_size for path in older for f in checkpoint_files(path))
        safe.append(f"the {len(older)} checkpoint(s) older than the newest in {run_dir / 'ckpt'} ({_mb(size)}; or "
                    "resume with --max-checkpoints 1, which deletes them)")
    if parts["frames"] and parts["GIF"]:
        safe.append(f"{run_dir / 'frames'} ({_mb(parts['frames'])}) once you have copied progress.gif, which shows "
                    "them: a resumed run remakes the GIF from the frames left")
    can_go = "; safe to delete: " + " and ".join(safe) if safe else ""
    return (f"the disk filled up ({_reason(error)}): {where}; {run_dir} holds {_mb(total)} ({holds}){can_go}; "
            "free some space and re-run the same command to resume")


def _reason(error: BaseException) -> str:
    for text in FULL_TEXTS:
        if text in str(error):
            return text
    return os.strerror(errno.ENOSPC)


def remove_partial_checkpoints(ckpt_dir: Path, listed: list[str] | None) -> None:
    """After a failed save: TensorFlow's temporary folders go, and so do the files of any checkpoint
    that the `checkpoint` state file does not list (`listed`; None: there is no state file, and
    nothing is judged by it), i.e. a save that failed after its data was written."""
    if not ckpt_dir.is_dir():
        return
    for temp in ckpt_dir.glob("ckpt-*_temp*"):
        shutil.rmtree(temp, ignore_errors=True) if temp.is_dir() else temp.unlink(missing_ok=True)
    names = None if listed is None else {Path(path).name for path in listed}
    for f in ckpt_dir.glob("ckpt-*") if names is not None else []:
        m = re.fullmatch(r"(ckpt-\d+)\.(index|data-\d+-of-\d+)", f.name)
        if m and m.group(1) not in names:
            f.unlink(missing_ok=True)
    for folder in (ckpt_dir, ckpt_dir / "kept"):  # data without its index (written, or linked, last)
        for data in folder.glob("ckpt-*.data-*") if folder.is_dir() else []:
            if not (folder / f"{data.name.split('.')[0]}.index").exists():
                data.unlink(missing_ok=True)


def _mb(size: float) -> str:
    return f"{size / 2**30:.1f} GB" if size >= 2**30 else f"{size / MB:.1f} MB" if size < 10 * MB else \
        f"{size / MB:.0f} MB"
