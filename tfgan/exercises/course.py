"""Student notebooks from the instructor's: the solutions cut out, stubs left in their place.

The committed notebooks are the instructor versions. A solution is marked inside a code cell the way
nbgrader marks it, so that a teacher who grades with nbgrader can use the same files:

    def discriminator_loss(real_logits, fake_logits):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

`write_student_versions` replaces each marked region with `raise NotImplementedError(...)` at the same
indent and clears the outputs. The cell after an exercise runs its check through `exercises.use`, which
reports an undone stub and carries on with tfgan's reference answer, so a student's notebook runs top
to bottom with any number of exercises still open. (nbgrader itself, with its database and server
extension, is far more than cutting solutions out needs.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tfgan.errors import TfganError

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("your code here: write it, then run this cell again to check it")'


def strip_solutions(source: str, where: str = "a cell") -> tuple[str, int]:
    """The cell's source with every solution region replaced by a stub, and how many there were."""
    lines, out, inside, count = source.split("\n"), [], False, 0
    for line in lines:
        if BEGIN in line:
            if inside:
                raise TfganError(f"{where}: a second {BEGIN} before {END}: close the first solution region")
            inside, count = True, count + 1
            out.append(re.match(r"\s*", line).group(0) + STUB)
        elif END in line:
            if not inside:
                raise TfganError(f"{where}: {END} without a {BEGIN} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise TfganError(f"{where}: {BEGIN} without an {END}: close the solution region")
    return "\n".join(out), count


def student_version(path: str | os.PathLike):
    """The student notebook of an instructor notebook (an nbformat node), and its number of exercises."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    total = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.source, count = strip_solutions(cell.source, f"{Path(path).name}, cell {i}")
        total += count
        cell.outputs, cell.execution_count = [], None
    return nb, total


def write_student_versions(out_dir: str | os.PathLike, notebooks_dir: str | os.PathLike | None = None) -> dict:
    """Write the student version of every notebook into `out_dir`; returns {notebook name: exercises}."""
    import nbformat

    notebooks_dir = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    paths = sorted(notebooks_dir.glob("*.ipynb"))
    if not paths:
        raise TfganError(f"no notebooks in {notebooks_dir}: pass the folder of the instructor notebooks")
    out_dir = Path(out_dir)
    if out_dir.resolve() == notebooks_dir.resolve():
        raise TfganError(f"{out_dir} holds the instructor notebooks: write the student versions elsewhere")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for path in paths:
        nb, count = student_version(path)
        nbformat.write(nb, out_dir / path.name)
        written[path.name] = count
    return written


def default_notebooks_dir() -> Path:
    """The notebooks/ folder of the clone this package runs from."""
    folder = Path(__file__).resolve().parents[2] / "notebooks"
    if not folder.is_dir():
        raise TfganError("no notebooks/ folder beside this installation of tfgan: pass --notebooks "
                         "with the folder of the instructor notebooks (from a clone of the repository)")
    return folder
