import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from tfgan.assets import MNIST_SUBSET


@pytest.fixture(scope="session")
def digits() -> np.ndarray:
    """512 real MNIST digits from the shipped subset, uint8 (N, 28, 28, 1)."""
    subset = np.load(MNIST_SUBSET)
    idx = np.random.default_rng(0).permutation(len(subset["x_train"]))[:512]
    return subset["x_train"][idx][..., None]


@pytest.fixture
def digits_npz(tmp_path, digits) -> str:
    path = tmp_path / "digits.npz"
    np.savez(path, x_train=digits[:256])
    return str(path)
