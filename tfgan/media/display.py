"""Inline notebook display: grids, GIFs, files, figures, source code, history plots, a live preview.

The helpers display and return None, so a helper on a cell's last line is not shown a second time.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tfgan.errors import TfganError
from tfgan.media.images import grid, png_bytes


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
                 smooth: int | None = None, size: tuple[float, float] = (5.0, 3.4), band: dict | None = None):
    """One plot per panel of history keys, e.g. [["d_loss", "g_loss"], ["D(x)", "D(G(z))"]].

    `history` is a trainer's history (a list of rows), or {name: history} to overlay several runs.
    Raw values are drawn faintly, a moving average (default window: 1/50 of the run) on top. `band`
    (`tfgan.runs.bands.load(preset)`) draws what normal runs of the preset looked like behind them.
    """
    import matplotlib.pyplot as plt

    from tfgan.media.history import draw_band

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
                if name == "":
                    draw_band(ax, band, key, line.get_color(), upto=steps[-1])
        ax.set(xlabel="generator step", title=titles[i] if titles else ", ".join(keys))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    show_figure(fig)


def live_preview(every: int = 100, scale: int = 2, keys: Sequence[str] = ("d_loss", "g_loss")):
    """A training callback that redraws the generator's samples in place every `every` steps.

    `trainer.callbacks.append(display.live_preview(50))` before `trainer.fit(...)`: one output area in
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

