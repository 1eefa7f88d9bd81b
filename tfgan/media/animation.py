"""Re-exporting training progress: GIF, WebP or MP4, any cells, any steps, any pace, several runs side by
side, within a size budget. `export_progress(...)` is `python -m tfgan gif ...`; `make_gif` writes the
progress GIF at the end of training.

A run's frames are grids whose layout is known from its config (`frames.frame_layout`): rows and columns of
cells, 2 px of padding, scaled 2× for images under 48 px. So a 4×4 crop of the 8×8 grid for a README,
or whole digit rows of a cGAN, are cut from the saved frames without retraining. The pace decides which
frames: `linear` (evenly in steps) or `log` (evenly in log-steps, so that the fast early changes get as
much screen time as the slow late ones).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tfgan.errors import TfganError
from tfgan.media.frames import Layout, frame_layout, list_frames, read_frames
from tfgan.media.history import read_history
from tfgan.media.images import grid, same_size, with_caption, with_title
from tfgan.runs.config import read_config
from tfgan.runs.files import atomic_write_bytes

ANIMATION_FORMATS = (".gif", ".webp", ".mp4")


def parse_cells(spec: str, total: int) -> list[int]:
    """'0,5,9-12' -> [0, 5, 9, 10, 11, 12]; every index must be in [0, total)."""
    cells: list[int] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        try:
            lo, _, hi = part.partition("-")
            cells += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
        except ValueError:
            raise TfganError(f"cannot read '{part}' in --cells '{spec}': use indices and ranges like 0,5,9-12") from None
    bad = [c for c in cells if not 0 <= c < total]
    if not cells or bad:
        raise TfganError(f"--cells {spec}: each frame has cells 0 to {total - 1}" +
                         (f", not {', '.join(map(str, bad[:5]))}" if bad else ""))
    return cells


def crop_cells(picture: np.ndarray, layout: Layout, cells: list[int], cols: int | None = None) -> np.ndarray:
    """Cut the chosen cells out of a frame and tile them again (padding as in the frame)."""
    crops = []
    for index in cells:
        r, k = divmod(index, layout.cols)
        y, x = layout.pad + r * (layout.cell + layout.pad), layout.pad + k * (layout.cell + layout.pad)
        crops.append(picture[y:y + layout.cell, x:x + layout.cell])
    return grid(np.stack(crops), cols=cols, pad=layout.pad)


def choose_steps(steps: list[int], every: int = 1, pace: str = "linear", step_range: tuple | None = None
                 ) -> list[int]:
    """Which frames to keep: a step range, then every k-th (linear) or as many spread evenly in
    log(step + 1) (log). The last frame of the range is always kept."""
    if step_range is not None:
        lo, hi = step_range
        steps = [s for s in steps if (lo is None or s >= lo) and (hi is None or s <= hi)]
    if not steps:
        raise TfganError("no frames in that step range" if step_range else "no frames to export")
    if pace == "linear":
        chosen = steps[::every]
    elif pace == "log":
        count = max(2, math.ceil(len(steps) / every))
        targets = np.geomspace(steps[0] + 1, steps[-1] + 1, count) - 1
        logs = np.log1p(np.asarray(steps, np.float64))
        chosen = sorted({steps[int(np.argmin(np.abs(logs - np.log1p(t))))] for t in targets})
    else:
        raise TfganError(f"unknown pace '{pace}': choose linear or log")
    if chosen[-1] != steps[-1]:
        chosen.append(steps[-1])
    return chosen


def wall_minutes(run_dir: str | os.PathLike) -> dict[int, float]:
    """Minutes of training at each logged step, from history.csv's images/s and the batch size."""
    try:
        config = read_config(run_dir) or {}
    except TfganError:
        config = {}
    per_step = config.get("batch_size", 64) * config.get("d_steps", 1)
    seconds, out = 0.0, {}
    for row in read_history(run_dir):
        rate = row.get("images/s")
        if isinstance(rate, (int, float)) and rate > 0 and math.isfinite(rate):
            seconds += per_step / rate
        out[int(row["step"])] = seconds / 60
    return out


def caption_text(template: str, run_dir: Path, step: int, history: dict[int, dict], minutes: dict[int, float]
                 ) -> str:
    """Fill {step}, {epoch}, {minutes} and any metric logged at that step ({fd}, {confident_share}, ...)."""
    row = history.get(step, {})
    fields = {"step": step, "epoch": int(row.get("epoch", 0)), "minutes": minutes.get(step, float("nan"))}
    # Metrics come every --eval-every steps: show the last value logged at or before this step.
    for logged in sorted(history):
        for key, value in history[logged].items():
            if key.startswith("eval/"):
                name = key.split("/", 1)[1]
                if logged <= step:
                    fields[name] = value
                else:
                    fields.setdefault(name, float("nan"))
    try:
        return template.format(**fields)
    except (KeyError, ValueError, IndexError) as e:
        known = ", ".join("{" + k + "}" for k in fields)
        raise TfganError(f"caption '{template}' cannot be filled at step {step} ({e}): use {known}") from None


def make_gif(
    frames_dir: str | os.PathLike,
    out: str | os.PathLike,
    fps: float = 8.0,
    every: int = 1,
    scale: float = 1.0,
    hold_last: float = 1.5,
    caption: bool = True,
) -> Path:
    """Assemble the saved frames into a looping GIF (every k-th frame, the last one held)."""
    frames = list_frames(frames_dir)
    if not frames:
        raise TfganError(f"no frames in {frames_dir}: train first (frames are saved while training)")
    if every < 1 or fps <= 0 or scale <= 0:
        raise TfganError("--every must be ≥ 1, --fps and --scale > 0")
    chosen = frames[::every]
    if chosen[-1] != frames[-1]:
        chosen.append(frames[-1])  # always end on the latest samples
    readable = read_frames([path for _, path in chosen])
    pictures = []
    for step, path in chosen:
        if path not in readable:
            continue
        picture = readable[path]
        if scale != 1:
            size = (round(picture.shape[1] * scale), round(picture.shape[0] * scale))
            picture = np.asarray(Image.fromarray(picture).resize(size, Image.NEAREST))
        pictures.append(with_caption(picture, f"step {step}") if caption else picture)
    if not pictures:
        raise TfganError(f"none of the frames in {frames_dir} could be read: delete them and train again")
    pictures = same_size(pictures)
    durations = [1.0 / fps] * len(pictures)
    durations[-1] = max(durations[-1], hold_last)
    return atomic_write_bytes(out, encode(pictures, durations, ".gif"))


def side_by_side_gif(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike,
                     titles: Sequence[str] | None = None, fps: float = 8.0, hold_last: float = 1.5) -> Path:
    """One GIF of several runs' progress frames side by side, at the steps all of them have a frame for,
    each under its title (default: the run directory's name). Frames of other sizes are scaled to the
    first run's height. (`export_progress` has every other option.)"""
    titles = list(titles) if titles is not None else [Path(d).name for d in run_dirs]
    return Path(export_progress(list(run_dirs), out, titles=titles, fps=fps, hold_last=hold_last)["path"])


def gif_frame_count(path: str | os.PathLike) -> int:
    with Image.open(path) as img:
        return getattr(img, "n_frames", 1)


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------


def _even(picture: np.ndarray) -> np.ndarray:
    """H.264 needs even width and height: pad one white row / column where needed."""
    h, w = picture.shape[:2]
    return np.pad(picture, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)


def encode(pictures: list[np.ndarray], durations: list[float], suffix: str) -> bytes:
    """Frames (RGB uint8, one size) and their durations in seconds -> the file's bytes."""
    if suffix == ".gif":
        grey = all(np.array_equal(p[..., 0], p[..., 1]) and np.array_equal(p[..., 1], p[..., 2]) for p in pictures)
        # Grey frames keep 64 grey levels (a digit's anti-aliased edge needs no more, and LZW then packs
        # them about twice as tight); colour frames get an adaptive palette each.
        images = [Image.fromarray((np.round(p[..., 0] / 255 * 63) * (255 / 63)).astype(np.uint8)) if grey
                  else Image.fromarray(p).quantize(256, dither=Image.Dither.NONE) for p in pictures]
        buf = io.BytesIO()
        # Pillow stores only the changed rectangle of each frame after the first.
        images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], loop=0, optimize=True,
                       duration=[round(d * 1000) for d in durations])
        return buf.getvalue()
    if suffix == ".webp":
        buf = io.BytesIO()
        images = [Image.fromarray(p) for p in pictures]
        images[0].save(buf, format="WEBP", save_all=True, append_images=images[1:], loop=0, quality=80, method=4,
                       duration=[round(d * 1000) for d in durations])
        return buf.getvalue()
    if suffix == ".mp4":
        return _encode_mp4(pictures, durations)
    raise TfganError(f"unknown output format '{suffix}': use {', '.join(ANIMATION_FORMATS)}")


def _encode_mp4(pictures: list[np.ndarray], durations: list[float]) -> bytes:
    try:
        import imageio_ffmpeg  # noqa: F401  (the ffmpeg binary ships in this wheel)
    except ImportError:
        raise TfganError("MP4 needs the imageio-ffmpeg package (it ships its own ffmpeg): "
                         "pip install imageio-ffmpeg, or export .gif / .webp") from None
    import imageio.v2 as imageio

    fps = 1.0 / min(durations)
    # A video has one frame rate: a frame held longer is repeated.
    frames = [p for p, d in zip(pictures, durations, strict=True) for _ in range(max(1, round(d * fps)))]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.mp4"
        with imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", quality=7,
                                macro_block_size=1, ffmpeg_log_level="error",
                                output_params=["-pix_fmt", "yuv420p"]) as writer:
            for frame in frames:
                writer.append_data(_even(frame))
        return path.read_bytes()


def _resize(picture: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1:
        return picture
    size = (max(1, round(picture.shape[1] * scale)), max(1, round(picture.shape[0] * scale)))
    resample = Image.NEAREST if scale >= 1 else Image.BOX
    return np.asarray(Image.fromarray(picture).resize(size, resample))


# --------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------


def export_progress(
    run_dirs,
    out: str | os.PathLike,
    *,
    fps: float = 8.0,
    duration: float | None = None,
    every: int = 1,
    scale: float = 1.0,
    cells: str | None = None,
    samples: int | None = None,
    rows: str | None = None,
    steps: str | None = None,
    pace: str = "linear",
    hold_last: float = 1.5,
    caption: str | None = "step {step}",
    titles=None,
    align: str = "step",
    max_mb: float | None = None,
    frames: str = "frames",
) -> dict:
    """Write one animation of one run's frames, or of several runs side by side; returns what it chose:
    {"path", "frames", "fps", "scale", "bytes", "note"}.

    `cells` ('0,5,9-12'), `samples` (the first N) or `rows` ('3,7': whole grid rows, e.g. a cGAN's digits)
    keep part of every frame. `steps` 'A:B' limits the range; `pace` linear|log spreads the frames;
    `duration` (seconds) sets the length instead of `fps`; `hold_last` holds the final frame. `caption`
    is a template ({step}, {epoch}, {minutes}, and metrics logged by --eval-every such as {fd}); None: no
    caption. Several runs are aligned by step (the steps all have) or by wall time (`align='time'`: each
    frame of the first run beside the other runs' frames nearest in minutes). `max_mb` lowers the frame
    rate, then the frame count, then the scale until the file fits. `frames` names each run's frames
    folder: a folder redrawn from checkpoints (`redraw.redraw_frames`) instead of the training frames.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    run_dirs = [Path(d) for d in ([run_dirs] if isinstance(run_dirs, (str, os.PathLike)) else run_dirs)]
    titles = list(titles) if titles else ([d.name for d in run_dirs] if len(run_dirs) > 1 else [None])
    step_range = _check_options(suffix, out, run_dirs, titles, cells, samples, rows, fps, every, scale,
                                duration, hold_last, align, steps)
    frame_folder = frames
    frames = [_frames_of(run_dir, frame_folder) for run_dir in run_dirs]
    minutes = [wall_minutes(d) for d in run_dirs]
    per_run = _aligned_steps(frames, minutes, every, pace, step_range, align)
    selections = [_cell_selection(run_dir, frame_folder, cells, samples, rows) for run_dir in run_dirs]
    pictures = _pictures(run_dirs, frame_folder, frames, per_run, selections, titles, caption, minutes)

    base_fps = len(pictures) / duration if duration else fps
    result = _fit(pictures, base_fps, hold_last, scale, suffix, max_mb)
    atomic_write_bytes(out, result.pop("data"))
    return {"path": str(out), **result}


def _pictures(run_dirs: list[Path], frame_folder: str, frames: list[dict[int, Path]], per_run: list[list[int]],
              selections: list, titles: list, caption: str | None, minutes: list[dict[int, float]]
              ) -> list[np.ndarray]:
    """The animation's pictures: at each row of steps the runs' frames side by side, captioned; rows with
    an unreadable frame are left out."""
    histories = [{int(r["step"]): r for r in read_history(d)} for d in run_dirs]
    readable = read_frames([frames[i][s] for row in per_run for i, s in enumerate(row)])
    per_run = [row for row in per_run if all(frames[i][s] in readable for i, s in enumerate(row))]
    if not per_run:
        raise TfganError(f"none of the frames in {run_dirs[0] / frame_folder} could be read: delete them and train again")
    pictures = []
    for row in per_run:
        picture = _side_by_side([(readable[frames[i][s]], selections[i], titles[i]) for i, s in enumerate(row)])
        if caption:
            picture = with_caption(picture, caption_text(caption, run_dirs[0], row[0], histories[0], minutes[0]))
        pictures.append(picture)
    return same_size(pictures)


def _check_options(suffix, out, run_dirs, titles, cells, samples, rows, fps, every, scale, duration, hold_last,
                   align, steps) -> tuple | None:
    """Every option checked before a frame is read; returns the step range of `steps` ('A:B')."""
    if suffix not in ANIMATION_FORMATS:
        raise TfganError(f"unknown output format '{out.suffix or out.name}': name the file .gif, .webp or .mp4")
    if len(titles) != len(run_dirs):
        raise TfganError(f"{len(run_dirs)} runs but {len(titles)} titles: give one title per run")
    if sum(x is not None for x in (cells, samples, rows)) > 1:
        raise TfganError("choose one of --cells, --samples and --rows")
    if fps <= 0 or every < 1 or scale <= 0 or (duration is not None and duration <= 0) or hold_last < 0:
        raise TfganError("--fps, --scale and --duration must be > 0, --every ≥ 1, --hold-last ≥ 0")
    if align not in ("step", "time"):
        raise TfganError(f"unknown --align '{align}': choose step or time")
    return parse_step_range(steps) if steps else None


def parse_step_range(steps: str) -> tuple[int | None, int | None]:
    """'A:B', 'A:' or ':B' -> (A or None, B or None)."""
    lo, sep, hi = steps.partition(":")
    try:
        step_range = (int(lo) if lo else None, int(hi) if hi else None)
    except ValueError:
        raise TfganError(f"--steps '{steps}': use A:B, A: or :B with whole numbers") from None
    if not sep:
        raise TfganError(f"--steps '{steps}': use A:B, A: or :B")
    return step_range


def _frames_of(run_dir: Path, frame_folder: str) -> dict[int, Path]:
    """The run's frames by step; none is an error that says how to make them."""
    found = dict(list_frames(run_dir / frame_folder))
    if not found:
        hint = ("train first (frames are saved while training)" if frame_folder == "frames" else
                "draw them first: python -m tfgan frames RUN_DIR")
        raise TfganError(f"no frames in {run_dir / frame_folder}: {hint}")
    return found


def _aligned_steps(frames: list[dict[int, Path]], minutes: list[dict[int, float]], every: int, pace: str,
                   step_range: tuple | None, align: str) -> list[list[int]]:
    """For each animation frame, the step of every run to show: the same step ('step'), or the first run's
    step beside the other runs' frames nearest in wall time ('time')."""
    if align == "step":
        common = sorted(set.intersection(*(set(f) for f in frames)))
        if not common:
            raise TfganError("the runs have no frame at a common step: train them with the same --sample-every, "
                             "or use --align time")
        return [[s] * len(frames) for s in choose_steps(common, every, pace, step_range)]
    per_run = []
    for s in choose_steps(sorted(frames[0]), every, pace, step_range):
        t = minutes[0].get(s, 0.0)
        row = [s]
        for f, m in zip(frames[1:], minutes[1:], strict=True):
            row.append(min(f, key=lambda x, m=m: abs(m.get(x, 0.0) - t)))
        per_run.append(row)
    return per_run


def _cell_selection(run_dir: Path, frame_folder: str, cells: str | None, samples: int | None, rows: str | None
                    ) -> tuple[Layout, list[int], int | None] | None:
    """Which cells of the run's frames to keep, as (layout, cells, columns); None: the whole frame."""
    if cells is None and samples is None and rows is None:
        return None
    layout = frame_layout(run_dir, frame_folder)
    if layout is None:
        raise TfganError(f"{run_dir}'s frames are not grids of samples: --cells, --samples and --rows need one")
    total = layout.rows * layout.cols
    if samples is not None:
        if not 1 <= samples <= total:
            raise TfganError(f"--samples must be from 1 to {total} (the cells of a frame), got {samples}")
        return layout, list(range(samples)), None
    if rows is not None:
        wanted = parse_cells(rows, layout.rows)
        return layout, [r * layout.cols + k for r in wanted for k in range(layout.cols)], layout.cols
    return layout, parse_cells(cells, total), None


def _side_by_side(panels: list[tuple[np.ndarray, tuple | None, str | None]]) -> np.ndarray:
    """One picture of the runs' frames (each cropped to its selection, under its title), 6 px apart."""
    cropped = [(crop_cells(picture, *selection) if selection else picture, title)
               for picture, selection, title in panels]
    height = cropped[0][0].shape[0]
    strip = [with_title(p, t, height) if t is not None else p for p, t in cropped]
    gap = np.full((strip[0].shape[0], 6, 3), 255, np.uint8)
    return np.concatenate([p for panel in strip for p in (panel, gap)][:-1], axis=1)


def _fit(pictures: list[np.ndarray], fps: float, hold_last: float, scale: float, suffix: str,
         max_mb: float | None) -> dict:
    """Encode; over the budget, try a lower frame rate (fewer frames, same length), then a smaller scale."""
    tried = []
    attempts = [(1, scale)]
    if max_mb is not None:
        attempts += [(k, scale) for k in (2, 3, 4)]
        attempts += [(4, scale * f) for f in (0.75, 0.5, 0.35, 0.25)]
    for stride, s in attempts:
        kept = pictures[::stride] if stride > 1 else list(pictures)
        if stride > 1 and not np.array_equal(kept[-1], pictures[-1]):
            kept.append(pictures[-1])
        rate = fps / stride
        durations = [1.0 / rate] * len(kept)
        durations[-1] = max(durations[-1], hold_last)
        data = encode([_resize(p, s) for p in kept], durations, suffix)
        size = len(data) / 2**20
        tried.append(f"{len(kept)} frames at {rate:.3g} fps, scale {s:.2g}: {size:.2f} MB")
        if max_mb is None or size <= max_mb:
            note = "" if len(tried) == 1 else f"fit {max_mb:g} MB with " + tried[-1]
            return {"data": data, "frames": len(kept), "fps": rate, "scale": s, "bytes": len(data), "note": note}
    raise TfganError(f"cannot fit {max_mb:g} MB: the smallest tried was {tried[-1]}; raise --max-mb, keep fewer "
                     "cells (--samples) or a shorter --steps range")
