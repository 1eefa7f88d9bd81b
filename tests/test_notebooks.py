"""The tutorial notebooks: committed clean, and each one runs top to bottom in smoke mode."""

import json
import os
import re
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


def _run_in_smoke_mode(nb, name: str, tmp_path, monkeypatch) -> str:
    """Execute a notebook top to bottom in smoke mode; returns everything its cells printed."""
    from nbclient import NotebookClient

    run_root = tmp_path / "runs"
    monkeypatch.setenv("TFGAN_SMOKE", "1")
    monkeypatch.setenv("TFGAN_RUN_ROOT", str(run_root))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    # The kernel runs in tmp_path, outside the clone: make `import tfgan` find this checkout.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    client = NotebookClient(nb, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    gif = run_root / name / "progress.gif"
    assert gif.is_file(), f"{name} left no GIF in its run dir"
    with Image.open(gif) as img:
        assert img.n_frames > 1
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if "### BEGIN SOLUTION" in p.read_text()]


@pytest.mark.slow  # a kernel per notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_smoke_mode_and_every_check_passes(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    printed = _run_in_smoke_mode(nb, path.stem, tmp_path, monkeypatch)
    solutions = path.read_text().count("### BEGIN SOLUTION")
    assert printed.count("✓ ") == solutions and "✗ " not in printed, printed[-3000:]
    assert printed.count("training on the CPU") == 1  # the device line, once, at the top
    # Progress bars are widgets in Jupyter too, not "IProgress not found" and text.
    assert "IProgress not found" not in printed
    widgets = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets or "trainer.fit(" not in printed_code(nb)


def printed_code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow  # a kernel per notebook
@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=[p.stem for p in EXERCISE_NOTEBOOKS])
def test_student_version_runs_with_every_exercise_undone(path, tmp_path, monkeypatch):
    from tfgan.exercises import course

    nb, exercises = course.student_version(path)
    assert exercises >= 1 and "### BEGIN SOLUTION" not in json.dumps(nb)
    printed = _run_in_smoke_mode(nb, path.stem, tmp_path, monkeypatch)
    assert printed.count("not done yet") == exercises, printed[-3000:]
    assert printed.count("reference answer") == exercises


def test_the_course_has_at_least_twelve_exercises_each_with_its_check():
    from tfgan import exercises

    names = []
    for path in EXERCISE_NOTEBOOKS:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        names += re.findall(r'exercises\.use\(\s*"(\w+)"', code)
        assert code.count("### BEGIN SOLUTION") == len(re.findall(r'exercises\.use\(', code)), path.name
    assert len(names) >= 12 and set(names) <= set(exercises.names()), names
