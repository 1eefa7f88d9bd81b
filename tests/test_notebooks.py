"""The tutorial notebooks: committed clean, and each one runs top to bottom in smoke mode."""

import ast
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


def _run_in_smoke_mode(nb, tmp_path, monkeypatch) -> str:
    """Execute a notebook top to bottom in smoke mode; returns everything its cells printed."""
    from nbclient import NotebookClient

    monkeypatch.setenv("TFGAN_SMOKE", "1")
    monkeypatch.setenv("TFGAN_RUN_ROOT", str(tmp_path / "runs"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    # The kernel runs in tmp_path, outside the clone: make `import tfgan` find this checkout.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    client = NotebookClient(nb, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


# --- which cells a student's notebook must run: those that use an exercise, directly or through a name ---


def _is_exercise_use(stmt: ast.stmt) -> bool:
    call = getattr(stmt, "value", None)
    return (isinstance(stmt, ast.Assign) and isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "use" and isinstance(call.func.value, ast.Name) and call.func.value.id == "exercises")


def _names(node: ast.AST, ctx: type) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def _reads_sets_changes(stmt: ast.stmt) -> tuple[set, set, set, set]:
    """The names a top-level statement reads, sets, sets attributes or items of (x.a = …, x[i] = …), and
    calls methods of (x.f(…)). A function or class counts by the globals its body reads."""
    sets, stores_into, calls_into, scopes = set(), set(), set(), []
    for node in ast.walk(stmt):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            scopes.append(node)
            sets |= {node.name} if not isinstance(node, ast.Lambda) else set()
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            stores_into |= _names(node.value, ast.Load)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls_into |= _names(node.func.value, ast.Load)
    reads, inside = set(), set()
    for scope in scopes:
        local = {a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg)} if hasattr(scope, "args") else set()
        reads |= _names(scope, ast.Load) - local - _names(scope, ast.Store)
        inside |= {id(n) for n in ast.walk(scope)}
    outside = [n for n in ast.walk(stmt) if isinstance(n, ast.Name) and id(n) not in inside]
    # A loop's, a comprehension's or a with's own target is set before its body reads it.
    targets = [getattr(n, "target", None) or getattr(n, "optional_vars", None) for n in ast.walk(stmt)
               if isinstance(n, (ast.For, ast.comprehension, ast.withitem))]
    fresh = set().union(*(_names(t, ast.Store) for t in targets if t is not None))
    reads |= {n.id for n in outside if isinstance(n.ctx, ast.Load)} - fresh
    sets |= {n.id for n in outside if isinstance(n.ctx, ast.Store)}
    return reads, sets, stores_into, calls_into


def last_cell_using_an_exercise(nb) -> int:
    """The index of the last code cell that reads what an exercise answer made: the answer itself, or a
    name set, or an object changed, from it by an earlier statement, or a function whose body reads one
    when it is called (a name set afresh from other values no longer counts). Past it, a student's
    notebook runs the instructor's code on the instructor's values, which the smoke run of the
    instructor's notebook executes."""
    from IPython.core.inputtransformer2 import TransformerManager

    trees = [(i, ast.parse(TransformerManager().transform_cell(c.source))) for i, c in enumerate(nb.cells)
             if c.cell_type == "code"]
    # A module's method calls (plt.plot(x), np.save(…, x)) do not make it hold x; storing into one does.
    modules = {alias.asname or alias.name.split(".")[0] for _, tree in trees for node in ast.walk(tree)
               if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    derived, body_reads, last = set(), {}, -1
    for i, tree in trees:
        for stmt in tree.body:
            reads, sets, stores_into, calls_into = _reads_sets_changes(stmt)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                body_reads[stmt.name] = reads  # read when it is called, whatever they hold then
            for name in reads & body_reads.keys():
                reads = reads | body_reads[name]
            if _is_exercise_use(stmt) or reads & derived:
                derived |= sets | stores_into | (calls_into - modules)
                last = i
            else:
                derived -= sets
    return last


def test_the_cells_a_student_run_needs_follow_an_answer_through_names_objects_and_loops():
    def last_using(*cells: str) -> int:
        setup = ["import numpy as np\nfrom tfgan import exercises\nclass T: pass",
                 "def f(x):\n    return x\nf = exercises.use('f', f)"]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in setup + list(cells)])
        return last_cell_using_an_exercise(nb)

    assert last_using("np.mean([1])", "print(np.pi)") == 1  # nothing after the answer uses it
    assert last_using("t = T()\nt.step = f", "np.mean([1])", "t.fit()") == 4  # kept in an object
    assert last_using("box = []\nbox.append(f)", "print(box)") == 3  # put into one
    assert last_using("for g in [f]:\n    y = g(1)", "print(y)") == 3  # through a loop
    assert last_using("def g():\n    return f(1)", "z = [v for v in [g()]]", "print(z)") == 4  # a function
    assert last_using("y = f(1)", "y = 2", "print(y)") == 2  # y set afresh
    assert last_using("for f in range(2):\n    print(f)", "print(f)") == 1  # a loop's own f
    assert last_using("t = T()\nt.step = f", "np.random.seed(0)\nt = T()", "t.fit()") == 2
    assert last_using("np.save('f.npy', f(1))", "print(np.pi)") == 2  # a module does not keep what it saves
    # A function defined before the answer reads it when it is called.
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in [
        "from tfgan import exercises", "def train():\n    return f(1)", "def f(x):\n    return x",
        "f = exercises.use('f', f)", "print(1)", "y = train()"]])
    assert last_cell_using_an_exercise(nb) == 5


EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if "### BEGIN SOLUTION" in p.read_text()]


@pytest.mark.slow  # a kernel per notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_smoke_mode_and_every_check_passes(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    printed = _run_in_smoke_mode(nb, tmp_path, monkeypatch)
    gif = tmp_path / "runs" / path.stem / "progress.gif"
    assert gif.is_file(), f"{path.stem} left no GIF in its run dir"
    with Image.open(gif) as img:
        assert img.n_frames > 1
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
    # Up to the last cell that uses an exercise's answer; the cells after it are the instructor's, on
    # the instructor's values, and the smoke run above executes them.
    last = last_cell_using_an_exercise(nb)
    instructor = nbformat.read(path, as_version=4)
    assert [c.source for c in nb.cells[last + 1:]] == [c.source for c in instructor.cells[last + 1:]]
    nb.cells = nb.cells[:last + 1]
    printed = _run_in_smoke_mode(nb, tmp_path, monkeypatch)
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
