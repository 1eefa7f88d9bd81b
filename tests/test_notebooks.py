"""The tutorial notebooks: committed clean, and each one runs top to bottom in smoke mode."""

import os
import sys
from pathlib import Path

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def test_notebooks_exist():
    assert {"01_mnist_dcgan", "02_anime_dcgan", "03_wgan_gp", "04_conditional_gan", "05_latent_space",
            "06_failure_modes"} <= set(IDS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_clean_with_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "clear the outputs"
    assert any("parameters" in c.metadata.get("tags", []) for c in code), "tag a cell 'parameters'"
    assert "colab-badge.svg" in nb.cells[0].source and f"notebooks/{path.name}" in nb.cells[0].source
    assert 'os.environ.get("TFGAN_SMOKE"' in "".join(c.source for c in code)


def test_python3_kernel_is_this_interpreter():
    # jupyter_client starts a kernelspec whose argv[0] is plain "python" with sys.executable.
    from jupyter_client.kernelspec import KernelSpecManager

    argv = KernelSpecManager().get_kernel_spec("python3").argv
    assert argv[0] in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                       sys.executable), argv


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_smoke_mode(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    run_root = tmp_path / "runs"
    monkeypatch.setenv("TFGAN_SMOKE", "1")
    monkeypatch.setenv("TFGAN_RUN_ROOT", str(run_root))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    # The kernel runs in tmp_path, outside the clone: make `import tfgan` find this checkout.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    gif = run_root / path.stem / "progress.gif"
    assert gif.is_file(), f"{path.name} left no GIF in its run dir"
    with Image.open(gif) as img:
        assert img.n_frames > 1
