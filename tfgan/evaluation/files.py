"""Scoring images made elsewhere: `python -m tfgan eval --images PATH --against DATASET`.

Samples from your own code (a folder of images, a `.npy` array or an `.npz` file) are converted to
the dataset's size and channels and scored with the same metrics and real-against-real floors as a
tfgan run (`evaluate.evaluate_images`): the digit classifier for MNIST, the face-attribute classifier
for the procedural faces, mode counts for 2-D toy points, features and pixel statistics otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from tfgan import data as data_lib
from tfgan.data import image_folder
from tfgan.data.sources import as_uint8_images
from tfgan.errors import DataError, TfganError
from tfgan.evaluation import evaluate
from tfgan.samples import from_uint8


def load_samples(path: str | os.PathLike, image_size: int) -> np.ndarray:
    """The images (uint8 NHWC) or 2-D points (float32 N×2) at `path`: a folder of images (decoded at
    `image_size`), a `.npy` array or an `.npz` file (x, x_train or images)."""
    path = Path(path).expanduser()
    if path.is_dir():
        return image_folder.load_image_folder(path, image_size, cache=False, verbose=False)
    if not path.is_file():
        raise DataError(f"no images at {path}: pass a folder of images, a .npy or an .npz file")
    if path.suffix.lower() == ".npz":
        return data_lib.load_npz(path).images
    if path.suffix.lower() != ".npy":
        raise DataError(f"{path.name} is not a folder, .npy or .npz: save the samples with numpy.save(path, array)")
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as e:  # object arrays, a truncated or foreign file
        raise DataError(f"cannot read {path} as a plain .npy array ({str(e)[:80]}): save it with numpy.save") from e
    if array.ndim == 2 and array.shape[1] == 2:  # 2-D toy points
        if not np.isfinite(array).all():
            raise DataError(f"{path}: the points contain NaN or Inf values; drop those rows")
        return array.astype(np.float32)
    return as_uint8_images(array, str(path))


def stored_shape(path: str | os.PathLike, samples: np.ndarray) -> tuple[int, ...]:
    """The (H, W, C) the samples had on disk: a folder's images are decoded at the dataset's size, so
    read the first file's own size and bands."""
    path = Path(path).expanduser()
    if not path.is_dir():
        return samples.shape[1:]
    with Image.open(image_folder.list_image_files(path)[0]) as first:
        return first.height, first.width, 1 if first.mode in ("L", "1", "I", "I;16") else 3


def fit_to(images: np.ndarray, shape) -> np.ndarray:
    """uint8 images resized (bilinear) and converted (grey <-> RGB) to `shape` (H, W, C)."""
    h, w, c = shape
    images = data_lib.match_channels(images, c)
    if images.shape[1:3] == (h, w):
        return images
    mode = "L" if c == 1 else "RGB"
    resized = [np.asarray(Image.fromarray(x[..., 0] if c == 1 else x, mode).resize((w, h), Image.BILINEAR))
               for x in images]
    return np.stack(resized).reshape(len(images), h, w, c)


def evaluate_files(path: str | os.PathLike, against: str, num: int = 2000, seed: int = 0,
                   image_size: int = 64) -> dict:
    """Score up to `num` images (or points) at `path` against the dataset `against`; the result also
    says how many were read ("scored") and how they were converted ("converted")."""
    # A file is read first, so that a wrong one fails before the dataset loads; a folder's images are
    # decoded at the dataset's size, known only once it has.
    fake = None if Path(path).expanduser().is_dir() else load_samples(path, image_size)
    real = data_lib.load(against, image_size, seed)
    if fake is None:
        fake = load_samples(path, real.images.shape[1] if real.images.ndim == 4 else image_size)
    if (fake.ndim == 2) != (real.images.ndim == 2):
        what = "2-D points" if fake.ndim == 2 else "images"
        raise TfganError(f"{path} holds {what} but {against} does not: score points against ring8, grid25 or "
                         f"spiral, and images against an image dataset")
    fake = fake[:num]
    converted = None
    if fake.ndim == 4:
        on_disk = stored_shape(path, fake)
        if tuple(on_disk) != tuple(real.shape):
            converted = f"{'×'.join(map(str, on_disk))} -> {'×'.join(map(str, real.shape))}"
        fake = from_uint8(fit_to(fake, real.shape).astype(np.float32))
    result = evaluate.evaluate_images(fake, real.images, seed, evaluate.metric_kind(real), inception=False)
    return {**result, "scored": len(fake), "converted": converted, "against": real.source}
