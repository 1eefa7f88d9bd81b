import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from tfgan.assets import MNIST_SUBSET


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first. With `--maxschedchunk=1` (pyproject.toml) pytest -n hands each worker a test or
    two at a time, so the long ones are shared out as workers free up and the quick ones fill the end;
    by default each worker is first given a quarter of the list in one block, and one block can hold
    most of the long tests while the other worker runs out of work."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def digits() -> np.ndarray:
    """512 real MNIST digits from the shipped subset, uint8 (N, 28, 28, 1)."""
    subset = np.load(MNIST_SUBSET)
    idx = np.random.default_rng(0).permutation(len(subset["x_train"]))[:512]
    return subset["x_train"][idx][..., None]


@pytest.fixture
def refused(capsys):
    """`refused(*args)` runs `python -m tfgan ARGS` in this process (no fresh TensorFlow import per message)
    and asserts that it refused as a user should see it: exit 2, one `error:` line and nothing else on
    stderr (argparse's usage line aside), no traceback. It returns the error line."""
    from tfgan import cli

    def run(*args) -> str:
        capsys.readouterr()
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as e:  # argparse's own refusals print their usage line first
            code = e.code
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        if lines and lines[0].startswith("usage:"):  # argparse's usage, wrapped over lines that start with spaces
            lines = [line for line in lines if not line.startswith(("usage:", " "))]
        assert code == 2 and "Traceback" not in err, (code, err)
        assert len(lines) == 1 and "error: " in lines[0], err
        return lines[0]

    return run


@pytest.fixture
def digits_npz(tmp_path, digits) -> str:
    path = tmp_path / "digits.npz"
    np.savez(path, x_train=digits[:256])
    return str(path)
