"""Load a folder of images (any format, size or colour mode) as one uint8 array.

Every image is converted to RGB, centre-cropped to a square and resized, so a
scraped folder of mixed photos, PNG sprites and GIFs can be fed to a GAN as is.
Decoding is parallel and the result is cached on disk, keyed by the folder's
contents, so the second run on the same folder starts almost at once.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from tfgan.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")

# Bump when the decoding below changes, so old cache files are not reused.
_CACHE_FORMAT = 1
# Files decoded per task handed to a worker thread.
_CHUNK = 32
# Below this many files a progress bar is just noise.
_PROGRESS_MIN_FILES = 200
# How many skipped file names the one-line report shows.
_SKIP_NAMES_SHOWN = 3
# Transparent pixels become white: sprite and icon datasets are drawn to be
# seen on a light page, and the colour hidden under alpha=0 is often junk.
_ALPHA_BACKGROUND = (255, 255, 255)


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """Return the image files under ``folder``, recursively, in sorted order.

    Files count as images by extension (case-insensitive). Hidden files and
    folders (name starting with ".") are skipped: they are thumbnails, editor
    backups or VCS metadata, never training data.
    """
    root = _check_folder(folder)
    found = []
    # followlinks stays False so a symlink loop cannot make this walk forever. Plain strings, not
    # pathlib, until the end: on 100,000 files pathlib's relative_to alone took seconds.
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        relative = os.path.relpath(dirpath, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                found.append((prefix + name, dirpath, name))
    # Sort on the relative path so the order is the same wherever the folder is.
    found.sort()
    return [Path(dirpath, name) for _, dirpath, name in found]


def load_image_folder(
    folder: str | os.PathLike,
    image_size: int = 64,
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = True,
    verbose: bool = True,
    cache: bool = True,
) -> np.ndarray:
    """Decode every image under ``folder`` into a ``(N, size, size, 3)`` uint8 array.

    Args:
        folder: folder of images; subfolders are included.
        image_size: side of the square output images, in pixels.
        cache_dir: where decoded arrays are cached; ``None`` means
            ``$TFGAN_CACHE_DIR`` or else ``~/.cache/tfgan/image_folders``.
        workers: decoding threads; ``None`` means one per CPU core.
        progress: show a progress bar for folders of more than a few hundred files.
        verbose: print skipped files and cache notices.
        cache: set to False to neither read nor write the cache.

    Raises:
        DataError: the folder is missing, holds no image files, or none of
            them could be read.
    """
    if image_size < 1:
        raise ValueError(f"image_size must be a positive number of pixels, got {image_size}")
    root = _check_folder(folder).resolve()
    files = list_image_files(root)
    if not files:
        raise DataError(_no_images_message(root))

    cache_path = None
    if cache:
        cache_path = _cache_path(_cache_root(cache_dir), root, files, image_size)
        cached = _read_cache(cache_path, image_size)
        if cached is not None:
            if verbose:
                print(f"loaded {len(cached):,} images from cache {cache_path}")
            return cached

    images, failures = _decode_all(files, image_size, workers, progress)
    if not len(images):
        example = f"{printable(failures[0][0].name)}: {failures[0][1]}"
        raise DataError(
            f"none of the {len(files):,} image files in {root} could be read "
            f"(e.g. {example}) — check they are real images, not HTML pages or "
            "partial downloads"
        )
    if failures and verbose:
        print(_skipped_message(failures, len(files)))
    if cache_path is not None:
        _write_cache(cache_path, images, verbose)
    return images


def _check_folder(folder: str | os.PathLike) -> Path:
    path = Path(folder).expanduser()
    if not path.exists():
        raise DataError(
            f"dataset folder not found: {path} — pass --dataset with an existing folder of images"
        )
    if not path.is_dir():
        hint = (
            f"pass --dataset {path.parent} to use the folder it is in"
            if path.suffix.lower() in IMAGE_EXTENSIONS
            else "pass --dataset with a folder of images (unpack archives first)"
        )
        raise DataError(f"dataset path is a file, not a folder: {path} — {hint}")
    return path


def _no_images_message(root: Path) -> str:
    others = sum(1 for p in root.rglob("*") if p.is_file())
    wanted = ", ".join(IMAGE_EXTENSIONS)
    if not others:
        return f"dataset folder is empty: {root} — put images in it or pass another --dataset"
    return (
        f"no image files ({wanted}) in {root}, only {others:,} other file{'s' if others > 1 else ''} — "
        "put images in it or pass another --dataset"
    )


# ---------------------------------------------------------------- decoding


def _decode_all(
    files: Sequence[Path], size: int, workers: int | None, progress: bool
) -> tuple[np.ndarray, list[tuple[Path, str]]]:
    """Decode ``files`` in parallel; return the images and (path, reason) failures."""
    out = np.empty((len(files), size, size, 3), dtype=np.uint8)
    ok = np.zeros(len(files), dtype=bool)
    failures: list[tuple[Path, str]] = []

    def work(chunk: range) -> list[tuple[int, str]]:
        bad = []
        for i in chunk:
            try:
                out[i] = _decode_one(files[i], size)
                ok[i] = True
            except Exception as exc:  # noqa: BLE001 -- a broken file is skipped, not fatal
                bad.append((i, _reason(exc)))
        return bad

    # Threads, not processes. Pillow releases the GIL while decoding and
    # resizing, so on 2 cores threads match a process pool on 256 px JPEGs;
    # processes win (~1.5x) only on tiny files, where Python overhead
    # dominates. That is not worth forking a process that already runs
    # TensorFlow's threads (deadlock risk) or spawning workers that re-run
    # unguarded user scripts, and the cache makes it a one-off cost anyway.
    n_workers = workers or _cpu_count()
    # Small chunks keep the bar moving and the workers balanced without
    # creating one future per file on folders of 100k+ images.
    chunks = [range(i, min(i + _CHUNK, len(files))) for i in range(0, len(files), _CHUNK)]
    bar = tqdm(
        total=len(files),
        unit="img",
        desc="decoding images",
        disable=not progress or len(files) <= _PROGRESS_MIN_FILES,
    )
    with bar, ThreadPoolExecutor(max_workers=n_workers) as pool:
        for chunk, bad in zip(chunks, pool.map(work, chunks)):
            failures.extend((files[i], why) for i, why in bad)
            bar.update(len(chunk))
    return (out if ok.all() else out[ok]), failures


def _decode_one(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        # For GIFs (and animated WebP/PNG) the open file sits on frame 0.
        if im.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: much faster for
            # big photos, and still at least twice the target size.
            im.draft("RGB", (2 * size, 2 * size))
        im = _to_rgb(_upright(im))
        w, h = im.size
        if min(w, h) < _min_side(size):
            raise ValueError(f"too small ({w}×{h}) to make a {size}×{size} image")
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        if side != w or side != h:
            # Crop first: resize(box=...) would blend in pixels from outside
            # the box at its edges.
            im = im.crop((left, top, left + side, top + side))
        # reducing_gap first shrinks by an integer factor with a cheap box
        # filter, then finishes with bicubic (antialiased in Pillow): close to
        # Lanczos at these sizes and ~40% faster.
        im = im.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
        return np.asarray(im, dtype=np.uint8)


def _min_side(size: int) -> int:
    """Images whose shorter side is below this are skipped: blown up 8 times or more they are blur."""
    return max(4, size // 8)


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag: phone photos are stored sideways."""
    try:
        # In place: otherwise every image without the tag is copied for nothing.
        ImageOps.exif_transpose(im, in_place=True)
    except Exception:  # noqa: BLE001, S110 -- broken EXIF should not cost a good image
        pass
    return im


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, _ALPHA_BACKGROUND + (255,))
        return Image.alpha_composite(background, im).convert("RGB")
    if im.mode.startswith("I") or im.mode == "F":
        # 16-bit greyscale PNGs: Pillow's own conversion clips at 255 (nearly
        # all white), so rescale the 0..65535 range to 0..255 instead.
        a = np.asarray(im, dtype=np.float32)
        if im.mode.startswith("I;16") or a.max() > 255:
            a = a / 257.0
        grey = np.clip(a + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    return im.convert("RGB")  # L, 1, P, CMYK, YCbCr, ...


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "cannot identify image file"  # the full message repeats the path
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 60 else text[:59] + "…"


def printable(name: str) -> str:
    """A file name that prints anywhere: bytes that are not UTF-8 become \\xNN escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _skipped_message(failures: Sequence[tuple[Path, str]], total: int) -> str:
    shown = ", ".join(f"{printable(p.name)} ({why})" for p, why in failures[:_SKIP_NAMES_SHOWN])
    more = ", …" if len(failures) > _SKIP_NAMES_SHOWN else ""
    return f"skipped {len(failures):,} of {total:,} files: {shown}{more}"


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects taskset / container limits
    except AttributeError:
        return os.cpu_count() or 1


# ------------------------------------------------------------------- cache


def _cache_root(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("TFGAN_CACHE_DIR"):
        return Path(os.environ["TFGAN_CACHE_DIR"]).expanduser()
    return Path("~/.cache/tfgan/image_folders").expanduser()


def _cache_path(root_dir: Path, folder: Path, files: Sequence[Path], size: int) -> Path:
    """Name the cache file after the folder and a hash of everything that shapes it.

    The name is ``<folder>-<size>px-<where>-<what>.npy``: <where> hashes the
    folder path and size, <what> the file list with sizes and mtimes, so any
    added, removed or edited file gives a new name.
    """
    where = hashlib.sha256(json.dumps([str(folder), size, _CACHE_FORMAT]).encode())
    what = hashlib.sha256(where.digest())
    start = len(str(folder).rstrip(os.sep)) + 1  # the relative path by slicing: pathlib is slow on 100k files
    for p in map(str, files):
        try:
            st = os.stat(p)
        except OSError:  # a broken link or a link loop: decoding will skip it, the hash just notes it
            st = os.stat_result((0,) * 10)
        # surrogateescape: a file name that is not valid UTF-8 is hashed by its raw bytes
        what.update(f"{p[start:].replace(os.sep, '/')}\0{st.st_size}\0{st.st_mtime_ns}\n".encode(
            "utf-8", "surrogateescape"))
    name = f"{folder.name or 'root'}-{size}px-{where.hexdigest()[:8]}-{what.hexdigest()[:16]}.npy"
    return root_dir / name


def _read_cache(path: Path, size: int) -> np.ndarray | None:
    try:
        images = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # missing, unreadable or half-written: decode again
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
        return None
    return images


def _write_cache(path: Path, images: np.ndarray, verbose: bool) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash or a parallel run never leaves a
        # half-written file under the real name.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
            tmp = Path(f.name)
            np.save(f, images)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if verbose:
            print(f"not caching decoded images: cannot write to {path.parent} ({exc.strerror or exc})")
        return
    _remove_stale(path)


def _remove_stale(path: Path) -> None:
    """Delete older caches of the same folder and size, so they do not pile up."""
    prefix = path.name.rsplit("-", 1)[0] + "-"
    for old in path.parent.glob(f"{glob.escape(prefix)}*.npy"):
        if old != path:
            try:
                old.unlink()
            except OSError:
                pass  # another process got there first, or read-only: harmless
