"""Datasets as uint8 image arrays (or 2-D points): MNIST, Fashion-MNIST, .npz files, folders, faces, toys.

`load(name)` returns images (N, H, W, C) uint8 plus labels (or None). Every source has an offline
path: MNIST falls back to 5,000 real digits shipped in the package, the anime faces to a procedural
cartoon-face set. (`tfgan.data.pipeline.batches()` turns the array into the stream the train step reads.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfgan.assets import MNIST_SUBSET
from tfgan.data import faces, image_folder, toy
from tfgan.errors import DataError
from tfgan.samples import unit_to_255

ANIME_KAGGLE = "splcher/animefacedataset"


@dataclass
class Images:
    images: np.ndarray  # uint8 (N, H, W, C); for the 2-D toy datasets float32 points (N, 2)
    labels: np.ndarray | None
    source: str  # one line for the log: where the images came from
    # Procedural faces only: each face's hair colour, hair style and eye colour (see tfgan.data.faces).
    attributes: dict[str, np.ndarray] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])


def as_uint8_images(x: np.ndarray, where: str) -> np.ndarray:
    """Accept (N, H, W) or (N, H, W, C) images as uint8 0..255 or floats in [0, 1] or [-1, 1]."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(f"{where}: images must have shape (N, H, W) or (N, H, W, 1|3), got {x.shape}")
    if len(x) == 0:
        raise DataError(f"{where}: the image array is empty")
    if x.dtype == np.uint8:
        return x
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{where}: the images contain NaN or Inf values; clean or drop those images")
    lo, hi = float(x.min()), float(x.max())
    if lo >= -1.0 - 1e-6 and hi <= 1.0 + 1e-6 and lo < 0:
        x = unit_to_255(x)
    elif lo >= 0 and hi <= 1.0 + 1e-6:
        x = x * 255.0
    elif not (lo >= 0 and hi <= 255.0 + 1e-6):
        raise DataError(
            f"{where}: pixel values span [{lo:g}, {hi:g}]; expected uint8 0..255 or floats in "
            "[0, 1] or [-1, 1]: rescale the array"
        )
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def load_npz(path: str | os.PathLike) -> Images:
    """Keras-style `x_train[, y_train]` or plain `x[, y]` arrays in an .npz file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset file not found: {path}; pass --dataset with an existing .npz file")
    try:
        arrays = np.load(path, allow_pickle=False)
    except Exception as e:  # a zip that is not an npz, a truncated file...
        raise DataError(f"cannot read {path} as .npz ({e}); save it with numpy.savez(x_train=...)") from e
    for x_key, y_key in (("x_train", "y_train"), ("x", "y"), ("images", "labels")):
        if x_key in arrays.files:
            x = as_uint8_images(_array(arrays, x_key, path), f"{path}[{x_key}]")
            y = _array(arrays, y_key, path).astype(np.int64).reshape(-1) if y_key in arrays.files else None
            if y is not None and len(y) != len(x):
                raise DataError(f"{path}: {len(x)} images but {len(y)} labels in '{y_key}'")
            return Images(x, y, f"{path.name}: {len(x):,} images {x.shape[1:]}")
    raise DataError(
        f"{path} has no image array (found: {', '.join(arrays.files) or 'nothing'}); "
        "name it x_train or x, e.g. numpy.savez(path, x_train=images)"
    )


def _array(arrays, key: str, path: Path) -> np.ndarray:
    """One array of an .npz, never unpickled: object arrays could run code when loaded."""
    try:
        return arrays[key]
    except ValueError as e:  # "Object arrays cannot be loaded when allow_pickle=False"
        raise DataError(f"{path}[{key}] is an array of Python objects, which tfgan never unpickles; "
                        "save plain numbers, e.g. numpy.savez(path, x_train=np.stack(images))") from e
    except Exception as e:  # a damaged member of the zip
        raise DataError(f"cannot read {path}[{key}] ({str(e)[:80]}); save the file again") from e


def load_keras(name: str) -> Images:
    """MNIST or Fashion-MNIST through keras.datasets (from ~/.keras/datasets or downloaded)."""
    import keras

    module = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist}[name]
    (x, y), _ = module.load_data()
    return Images(x[..., None], y.astype(np.int64), f"{name}: {len(x):,} training images (keras.datasets)")


def _cause(e: BaseException) -> str:
    """The real reason behind a failed download, in one short line: Keras wraps it in a bare Exception."""
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:100]}" if text else type(e).__name__


def load_mnist() -> Images:
    """Full MNIST when Keras can load it, else the shipped 5,000-digit subset, with a notice."""
    try:
        return load_keras("mnist")
    except Exception as e:  # noqa: BLE001 - offline fails in many ways (URLError, HTTP, bare Exception)
        subset = load_npz(MNIST_SUBSET)
        print(
            f"notice: full MNIST could not be loaded ({_cause(e)}); training on the "
            f"{len(subset.images):,} real MNIST digits shipped with tfgan. For all 60,000, run once "
            "online: python -c \"import keras; keras.datasets.mnist.load_data()\""
        )
        subset.source = f"mnist (offline subset): {len(subset.images):,} images"
        return subset


def load_fashion_mnist() -> Images:
    try:
        return load_keras("fashion_mnist")
    except Exception as e:
        raise DataError(
            f"Fashion-MNIST could not be loaded ({_cause(e)}). Run once online: "
            "python -c \"import keras; keras.datasets.fashion_mnist.load_data()\", "
            "or pass --dataset FILE.npz"
        ) from e


def fetch_anime_faces() -> Path | None:
    """Download (or find cached) Kaggle's Anime Face Dataset with kagglehub; None when unavailable."""
    try:
        import kagglehub

        return Path(kagglehub.dataset_download(ANIME_KAGGLE))
    except Exception as e:  # noqa: BLE001 - not installed, offline, no credentials
        print(f"notice: the Kaggle anime-face set is unavailable ({type(e).__name__}: {str(e)[:80]})")
        return None


def load_anime(image_size: int = 64, fallback_size: int = 5000, seed: int = 0) -> Images:
    """The 63,632 Kaggle anime faces when reachable, else procedural cartoon faces (announced)."""
    folder = fetch_anime_faces()
    if folder is not None:
        x = image_folder.load_image_folder(folder, image_size)
        return Images(x, None, f"Kaggle anime faces: {len(x):,} images")
    print(
        f"notice: using {fallback_size:,} procedural cartoon faces instead. For the real set: "
        "pip install kagglehub, set up Kaggle credentials, or download "
        f"'{ANIME_KAGGLE}' yourself and pass --dataset FOLDER"
    )
    return _faces(image_size, seed, fallback_size)


def load(name: str, image_size: int = 64, seed: int = 0) -> Images:
    """Images for a dataset name, an .npz file or a folder of images."""
    if name == "mnist":
        return load_mnist()
    if name == "fashion_mnist":
        return load_fashion_mnist()
    if name in ("anime", "faces"):
        return load_anime(image_size, seed=seed) if name == "anime" else _faces(image_size, seed)
    if name in toy.DATASETS:
        points = toy.sample_points(name, toy.NUM_POINTS, seed)
        return Images(points, None, f"{name}: {len(points):,} 2-D points ({toy.num_modes(name)} modes)")
    path = Path(name).expanduser()
    if path.suffix.lower() == ".npz":
        return load_npz(path)
    if path.is_dir():
        x = image_folder.load_image_folder(path, image_size)
        return Images(x, None, f"{path}: {len(x):,} images")
    if path.exists():
        raise DataError(f"{path} is neither an .npz file nor a folder of images")
    raise DataError(
        f"dataset not found: '{name}'. Use mnist, fashion_mnist, anime, faces, ring8, grid25, spiral, a FILE.npz "
        "or a folder of images"
    )


def _faces(image_size: int, seed: int, n: int = 5000) -> Images:
    x, attributes = faces.make_labelled_faces(n, image_size, seed=seed, progress=True)
    return Images(x, None, f"procedural cartoon faces: {len(x):,} images", attributes)


def match_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """Repeat grayscale to RGB or average RGB to grayscale so data fits the model."""
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    return np.round(images.astype(np.float32).mean(axis=-1, keepdims=True)).astype(np.uint8)


