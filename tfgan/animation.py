"""Re-exporting training progress: GIF, WebP or MP4, any cells, any steps, any pace, several runs side by
side, within a size budget. `media.export_progress(...)` is `python -m tfgan gif ...`.

A run's frames are grids whose layout is known from its config (`frame_layout`): rows and columns of
cells, 2 px of padding, scaled 2× for images under 48 px. So a 4×4 crop of the 8×8 grid for a README,
or whole digit rows of a cGAN, are cut from the saved frames without retraining. The pace decides which
frames: `linear` (evenly in steps) or `log` (evenly in log-steps, so that the fast early changes get as
much screen time as the slow late ones).
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tfgan.errors import TfganError

FORMATS = (".gif", ".webp", ".mp4")
PAD = 2  # the padding media.grid puts around every cell, before scaling


@dataclass
class Layout:
    rows: int
    cols: int
    cell: int  # cell height and width in the frame, in pixels (after the frame's scale)
    pad: int  # padding in the frame, in pixels (after the frame's scale)


def frame_layout(run_dir: str | os.PathLike, frames: str = "frames") -> Layout | None:
    """How the run's frames are tiled (None for frames that are not grids: the 2-D toy plots).
    A folder redrawn by `python -m tfgan frames` says how many samples its grids hold."""
    config_path = Path(run_dir) / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError):
        return None
    shape = config.get("image_shape", [])
    if len(shape) != 3:
        return None
    n = int(config.get("num_samples", 64))
    try:
        n = int(json.loads((Path(run_dir) / frames / "frames.json").read_text())["num_samples"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # the training frames: the config's num_samples
    cols = math.ceil(math.sqrt(n))
    scale = 2 if shape[0] < 48 else 1  # as GANTrainer.save_frame draws them
    return Layout(rows=math.ceil(n / cols), cols=cols, cell=shape[0] * scale, pad=PAD * scale)


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
    from tfgan.media import grid

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
        config = json.loads((Path(run_dir) / "config.json").read_text())
    except (OSError, ValueError):
        config = {}
    per_step = config.get("batch_size", 64) * config.get("d_steps", 1)
    seconds, out = 0.0, {}
    from tfgan.media import read_history

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
    raise TfganError(f"unknown output format '{suffix}': use {', '.join(FORMATS)}")


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
    from tfgan import media

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise TfganError(f"unknown output format '{out.suffix or out.name}': name the file .gif, .webp or .mp4")
    run_dirs = [Path(d) for d in ([run_dirs] if isinstance(run_dirs, (str, os.PathLike)) else run_dirs)]
    titles = list(titles) if titles else ([d.name for d in run_dirs] if len(run_dirs) > 1 else [None])
    if len(titles) != len(run_dirs):
        raise TfganError(f"{len(run_dirs)} runs but {len(titles)} titles: give one title per run")
    if sum(x is not None for x in (cells, samples, rows)) > 1:
        raise TfganError("choose one of --cells, --samples and --rows")
    if fps <= 0 or every < 1 or scale <= 0 or (duration is not None and duration <= 0) or hold_last < 0:
        raise TfganError("--fps, --scale and --duration must be > 0, --every ≥ 1, --hold-last ≥ 0")
    if align not in ("step", "time"):
        raise TfganError(f"unknown --align '{align}': choose step or time")
    step_range = None
    if steps:
        lo, sep, hi = steps.partition(":")
        try:
            step_range = (int(lo) if lo else None, int(hi) if hi else None)
        except ValueError:
            raise TfganError(f"--steps '{steps}': use A:B, A: or :B with whole numbers") from None
        if not sep:
            raise TfganError(f"--steps '{steps}': use A:B, A: or :B")

    frame_folder, frames = frames, []
    for run_dir in run_dirs:
        found = dict(media.list_frames(run_dir / frame_folder))
        if not found:
            hint = ("train first (frames are saved while training)" if frame_folder == "frames" else
                    "draw them first: python -m tfgan frames RUN_DIR")
            raise TfganError(f"no frames in {run_dir / frame_folder}: {hint}")
        frames.append(found)
    minutes = [wall_minutes(d) for d in run_dirs]
    if align == "step":
        common = sorted(set.intersection(*(set(f) for f in frames)))
        if not common:
            raise TfganError("the runs have no frame at a common step: train them with the same --sample-every, "
                             "or use --align time")
        chosen = choose_steps(common, every, pace, step_range)
        per_run = [[s for _ in run_dirs] for s in chosen]
    else:
        chosen = choose_steps(sorted(frames[0]), every, pace, step_range)
        per_run = []
        for s in chosen:
            t = minutes[0].get(s, 0.0)
            row = [s]
            for f, m in zip(frames[1:], minutes[1:], strict=True):
                row.append(min(f, key=lambda x, m=m: abs(m.get(x, 0.0) - t)))
            per_run.append(row)

    selections = []
    for run_dir in run_dirs:
        layout = frame_layout(run_dir, frame_folder)
        if cells is None and samples is None and rows is None:
            selections.append((None, None))
            continue
        if layout is None:
            raise TfganError(f"{run_dir}'s frames are not grids of samples: --cells, --samples and --rows need one")
        total = layout.rows * layout.cols
        if samples is not None:
            if not 1 <= samples <= total:
                raise TfganError(f"--samples must be from 1 to {total} (the cells of a frame), got {samples}")
            chosen_cells, cols = list(range(samples)), None
        elif rows is not None:
            wanted = parse_cells(rows, layout.rows)
            chosen_cells, cols = [r * layout.cols + k for r in wanted for k in range(layout.cols)], layout.cols
        else:
            chosen_cells, cols = parse_cells(cells, total), None
        selections.append((layout, (chosen_cells, cols)))

    histories = [{int(r["step"]): r for r in media.read_history(d)} for d in run_dirs]
    readable = media.read_frames([frames[i][s] for row in per_run for i, s in enumerate(row)])
    per_run = [row for row in per_run if all(frames[i][s] in readable for i, s in enumerate(row))]
    if not per_run:
        raise TfganError(f"none of the frames in {run_dirs[0] / frame_folder} could be read: delete them and train again")
    pictures = []
    for row in per_run:
        panels = []
        for i, (run_dir, s) in enumerate(zip(run_dirs, row, strict=True)):
            picture = readable[frames[i][s]]
            layout, chosen_cells = selections[i]
            if layout is not None:
                picture = crop_cells(picture, layout, *chosen_cells)
            panels.append((picture, titles[i]))
        height = panels[0][0].shape[0]
        strip = [media._titled(p, t, height) if t is not None else p for p, t in panels]
        gap = np.full((strip[0].shape[0], 6, 3), 255, np.uint8)
        picture = np.concatenate([p for panel in strip for p in (panel, gap)][:-1], axis=1)
        if caption:
            picture = media._caption(picture, caption_text(caption, run_dirs[0], row[0], histories[0], minutes[0]))
        pictures.append(picture)
    pictures = media.same_size(pictures)

    base_fps = len(pictures) / duration if duration else fps
    result = _fit(pictures, base_fps, hold_last, scale, suffix, max_mb)
    media.atomic_write_bytes(out, result.pop("data"))
    return {"path": str(out), **result}


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
