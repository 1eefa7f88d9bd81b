"""Pictures of training: sample grids, progress frames, the progress GIF, loss curves, inline display.

Every file is written to a temporary name and renamed into place, so a run killed mid-write never
leaves a half-written PNG or GIF behind.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tfgan.errors import TfganError

FRAME_PATTERN = re.compile(r"step_(\d+)\.png$")
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temp file in the same folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] floats -> uint8 0..255."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, cols: int | None = None, pad: int = 2, scale: int = 1) -> np.ndarray:
    """Tile (N, H, W, C) images (uint8, or floats in [-1, 1]) into one RGB uint8 picture."""
    if images.dtype != np.uint8:
        images = to_uint8(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i, img in enumerate(images):
        r, k = divmod(i, cols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + k * (w + pad):pad + k * (w + pad) + w] = img
    if scale > 1:
        canvas = canvas.repeat(scale, axis=0).repeat(scale, axis=1)
    return canvas


def png_bytes(picture: np.ndarray, compress_level: int = 6) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def save_grid(images: np.ndarray, path: str | os.PathLike, cols: int | None = None, scale: int = 1,
              compress_level: int = 6) -> Path:
    """A grid as a PNG. Progress frames use compress_level=1: 2.3× faster to write, a third larger."""
    return atomic_write_bytes(path, png_bytes(grid(images, cols, scale=scale), compress_level))


def frame_path(frames_dir: str | os.PathLike, step: int) -> Path:
    return Path(frames_dir) / f"step_{step:07d}.png"


def list_frames(frames_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, path) of the saved frames, in step order."""
    frames_dir = Path(frames_dir)
    if not frames_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in frames_dir.iterdir() if (m := FRAME_PATTERN.search(p.name))]
    return sorted(found)


def _caption(picture: np.ndarray, text: str) -> np.ndarray:
    """Add a white strip with the step number under a frame."""
    img = Image.fromarray(picture)
    strip = 14 if img.width < 200 else 20
    out = Image.new("RGB", (img.width, img.height + strip), "white")
    out.paste(img, (0, 0))
    ImageDraw.Draw(out).text((4, img.height + 2), text, fill=(0, 0, 0))
    return np.asarray(out)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as an RGB uint8 array (H, W, 3)."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


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


def same_size(pictures: list[np.ndarray]) -> list[np.ndarray]:
    """Pictures of another size than the first (a stray file among the frames) scaled to match it."""
    size = pictures[0].shape[1::-1]
    return [p if p.shape[1::-1] == size else np.asarray(Image.fromarray(p).resize(size, Image.NEAREST))
            for p in pictures]


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
        pictures.append(_caption(picture, f"step {step}") if caption else picture)
    if not pictures:
        raise TfganError(f"none of the frames in {frames_dir} could be read: delete them and train again")
    pictures = same_size(pictures)
    durations = [1.0 / fps] * len(pictures)
    durations[-1] = max(durations[-1], hold_last)
    from tfgan.animation import encode

    return atomic_write_bytes(out, encode(pictures, durations, ".gif"))


def _titled(picture: np.ndarray, title: str, height: int) -> np.ndarray:
    """The picture scaled to `height` pixels, under a white strip with its title."""
    img = Image.fromarray(picture)
    if img.height != height:
        img = img.resize((round(img.width * height / img.height), height), Image.NEAREST)
    out = Image.new("RGB", (img.width, img.height + 16), "white")
    out.paste(img, (0, 16))
    ImageDraw.Draw(out).text((4, 2), title, fill=(0, 0, 0))
    return np.asarray(out)


def side_by_side_gif(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike,
                     titles: Sequence[str] | None = None, fps: float = 8.0, hold_last: float = 1.5) -> Path:
    """One GIF of several runs' progress frames side by side, at the steps all of them have a frame for,
    each under its title (default: the run directory's name). Frames of other sizes are scaled to the
    first run's height. (`export_progress` has every other option.)"""
    titles = list(titles) if titles is not None else [Path(d).name for d in run_dirs]
    return Path(export_progress(list(run_dirs), out, titles=titles, fps=fps, hold_last=hold_last)["path"])


def export_progress(run_dirs, out: str | os.PathLike, **options) -> dict:
    """GIF, WebP or MP4 of one run's frames or several runs side by side, with cell crops, step ranges,
    log pace, captions and a size budget: see `tfgan.animation.export_progress`."""
    from tfgan import animation

    return animation.export_progress(run_dirs, out, **options)


def read_history(run_dir: str | os.PathLike) -> list[dict]:
    """A run's history.csv as dicts of floats (step and epoch as ints); [] for a run without one. Here,
    not beside the loop that writes it, so that reading it (for captions) does not import TensorFlow."""
    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            parsed = {k: float(v) for k, v in row.items() if k and v not in ("", None)}
            parsed["step"] = int(parsed["step"])
            parsed["epoch"] = int(parsed.get("epoch", 0))
            rows.append(parsed)
    return rows


def gif_frame_count(path: str | os.PathLike) -> int:
    with Image.open(path) as img:
        return getattr(img, "n_frames", 1)


def plot_history(history: Sequence[dict], out: str | os.PathLike) -> Path | None:
    """Loss curves (left) and the discriminator's outputs or the Wasserstein estimate (right)."""
    if not history:
        return None
    # A bare Figure (no pyplot) draws off-screen without switching a notebook's plotting backend.
    from matplotlib.figure import Figure

    steps = np.array([row["step"] for row in history])

    def series(key):
        return np.array([row.get(key, np.nan) for row in history], dtype=float)

    window = max(1, len(history) // 100)

    def smooth(v, k=window):
        return np.convolve(v, np.ones(k) / k, mode="valid") if len(v) >= k else v

    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 2)
    for key in ("d_loss", "g_loss"):
        v = smooth(series(key))
        axes[0].plot(steps[len(steps) - len(v):], v, label=key)
    axes[0].set(title="losses", xlabel="step")
    right = [k for k in ("D(x)", "D(G(z))", "wasserstein", "gp", "grad_norm") if k in history[-1]]
    for key in right:
        v = smooth(series(key))
        axes[1].plot(steps[len(steps) - len(v):], v, label=key)
    axes[1].set(title="discriminator view", xlabel="step")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return atomic_write_bytes(out, buf.getvalue())


# --- Notebook display -----------------------------------------------------------------------------


def show_images(images: np.ndarray, cols: int | None = None, scale: int = 3) -> None:
    """Display a grid inline (Colab and Jupyter)."""
    from IPython.display import Image as IPImage
    from IPython.display import display

    display(IPImage(data=png_bytes(grid(images, cols, scale=scale))))


def show_gif(path: str | os.PathLike, width: int = 400) -> None:
    """Display a GIF inline as a base64 <img> (animates in Colab, Jupyter and saved notebooks)."""
    from IPython.display import HTML, display

    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    # Returning nothing: a returned object would be shown a second time on a cell's last line.
    display(HTML(f'<img src="data:image/gif;base64,{data}" width="{width}">'))


# --- Notebook helpers: source code, files, figures, side-by-side grids, live preview ---------------
# They display and return None, so a helper on a cell's last line is not shown a second time.


def show_source(obj):
    """Display the source of a function, method or class as a highlighted code block."""
    import inspect
    import textwrap

    from IPython.display import Markdown, display

    display(Markdown(f"```python\n{textwrap.dedent(inspect.getsource(obj)).rstrip()}\n```"))


def show_file(path: str | os.PathLike, width: int | None = None):
    """Display a PNG (or JPEG) file inline."""
    from IPython.display import Image as IPImage
    from IPython.display import display

    path = Path(path)
    if not path.is_file():
        raise TfganError(f"no image at {path}: train first, or check the run directory")
    display(IPImage(data=path.read_bytes(), width=width))


def show_figure(fig, dpi: int = 90) -> None:
    """Display a matplotlib figure inline as a PNG and close it.

    Rendering the PNG here works whatever pyplot's backend is: plot_history switches pyplot to Agg,
    after which plt.show() and IPython's own figure display draw nothing in a notebook.
    """
    import matplotlib.pyplot as plt
    from IPython.display import Image as IPImage
    from IPython.display import display

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    display(IPImage(data=buf.getvalue()))


def show_side_by_side(panels: dict, cols: int | None = None, size: float = 4.5):
    """Grids of images next to each other under titles, e.g. {"real": x, "generated": g}.

    Each value is (N, H, W, C) uint8 or floats in [-1, 1].
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size + 0.4), squeeze=False)
    for ax, (title, images) in zip(axes[0], panels.items()):
        ax.imshow(grid(np.asarray(images), cols), interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    show_figure(fig)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def show_history(history, panels: Sequence[Sequence[str]], titles: Sequence[str] | None = None,
                 smooth: int | None = None, size: tuple[float, float] = (5.0, 3.4)):
    """One plot per panel of history keys, e.g. [["d_loss", "g_loss"], ["D(x)", "D(G(z))"]].

    `history` is a trainer's history (a list of rows), or {name: history} to overlay several runs.
    Raw values are drawn faintly, a moving average (default window: 1/50 of the run) on top.
    """
    import matplotlib.pyplot as plt

    runs = history if isinstance(history, dict) else {"": history}
    fig, axes = plt.subplots(1, len(panels), figsize=(size[0] * len(panels), size[1]), squeeze=False)
    for i, (ax, keys) in enumerate(zip(axes[0], panels)):
        for name, rows in runs.items():
            for key in keys:
                if not rows or key not in rows[-1]:
                    continue
                steps = np.array([row["step"] for row in rows])
                values = np.array([row.get(key, np.nan) for row in rows], dtype=float)
                window = smooth or max(1, len(rows) // 50)
                label = f"{name}: {key}" if name else key
                (line,) = ax.plot(steps, values, alpha=0.25, linewidth=0.8)
                smoothed = _smooth(values, window)
                ax.plot(steps[len(steps) - len(smoothed):], smoothed, color=line.get_color(), label=label)
        ax.set(xlabel="generator step", title=titles[i] if titles else ", ".join(keys))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    show_figure(fig)


def live_preview(every: int = 100, scale: int = 2, keys: Sequence[str] = ("d_loss", "g_loss")):
    """A training callback that redraws the generator's samples in place every `every` steps.

    `trainer.callbacks.append(media.live_preview(50))` before `trainer.fit(...)`: one output area in
    the notebook shows the fixed-noise samples and the latest losses, updated as training runs.
    """
    from IPython.display import HTML, display

    handle = None

    def callback(trainer, logs: dict) -> None:
        nonlocal handle
        step = int(logs["step"])
        if handle is not None and step % every:
            return
        data = base64.b64encode(png_bytes(grid(trainer.generate(), scale=scale))).decode("ascii")
        text = "  ".join(f"{k} {logs[k]:.3g}" for k in keys if k in logs)
        out = HTML(f'<div><img src="data:image/png;base64,{data}"><br><code>step {step}  {text}</code></div>')
        if handle is None:
            handle = display(out, display_id=True)
        else:
            handle.update(out)

    callback.every = every  # the training loop ends a chunk of steps there, so the preview is live
    return callback
