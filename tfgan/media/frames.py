"""A run's progress frames: where they are saved, how they are listed and read back, how big they are drawn
and how their grid is laid out (so that `gif --cells` can cut cells out of them). TensorFlow-free."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfgan.errors import TfganError
from tfgan.media.images import PAD, read_image
from tfgan.runs.config import read_config
from tfgan.samples import is_toy

FRAMES_INFO = "frames.json"  # in a redrawn frames folder: how many samples each frame holds, and the seed
FRAME_PATTERN = re.compile(r"step_(\d+)\.png$")


def frame_path(frames_dir: str | os.PathLike, step: int) -> Path:
    return Path(frames_dir) / f"step_{step:07d}.png"


def list_frames(frames_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, path) of the saved frames, in step order."""
    frames_dir = Path(frames_dir)
    if not frames_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in frames_dir.iterdir() if (m := FRAME_PATTERN.search(p.name))]
    return sorted(found)


def read_frames(paths: Sequence[Path]) -> dict[Path, np.ndarray]:
    """The frames that can be read, by path; the others (a stray file named like a frame, a frame cut
    short) are skipped with one notice."""
    pictures, unreadable = {}, []
    for path in dict.fromkeys(paths):
        try:
            pictures[path] = read_image(path)
        except (OSError, ValueError) as e:
            unreadable.append(f"{path.name} ({str(e).splitlines()[0][:60]})")
    if unreadable:
        print(f"notice: skipped {len(unreadable)} unreadable frame file(s): {', '.join(unreadable[:3])}")
    return pictures



def frame_scale(image_size: int) -> int:
    """How much a frame's grid is enlarged: 2× for images under 48 px, so small digits stay visible."""
    return 2 if image_size < 48 else 1


@dataclass
class Layout:
    rows: int
    cols: int
    cell: int  # cell height and width in the frame, in pixels (after the frame's scale)
    pad: int  # padding in the frame, in pixels (after the frame's scale)


def frame_layout(run_dir: str | os.PathLike, frames: str = "frames") -> Layout | None:
    """How the run's frames are tiled (None for frames that are not grids: the 2-D toy plots).
    A folder redrawn by `python -m tfgan frames` says how many samples its grids hold."""
    try:
        config = read_config(run_dir)
    except TfganError:
        config = None
    shape = (config or {}).get("image_shape", [])
    if not shape or is_toy(shape):
        return None
    n = int(config.get("num_samples", 64))
    try:
        n = int(json.loads((Path(run_dir) / frames / FRAMES_INFO).read_text())["num_samples"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # the training frames: the config's num_samples
    cols = math.ceil(math.sqrt(n))
    scale = frame_scale(shape[0])
    return Layout(rows=math.ceil(n / cols), cols=cols, cell=shape[0] * scale, pad=PAD * scale)
