"""Student notebooks from the instructor's: solutions cut out, stubs in their place, checks kept."""

import nbformat
import pytest

from tfgan.cli import main
from tfgan.errors import TfganError
from tfgan.exercises import course

SOLVED = '''def discriminator_loss(real_logits, fake_logits):
    """Both halves of the cross-entropy."""
    ### BEGIN SOLUTION
    real = bce(tf.ones_like(real_logits), real_logits)
    return real + bce(tf.zeros_like(fake_logits), fake_logits)
    ### END SOLUTION

discriminator_loss = exercises.use("d_loss", discriminator_loss)'''


def test_a_solution_region_becomes_a_stub_at_its_indent():
    source, count = course.strip_solutions(SOLVED)
    assert count == 1
    assert "bce(" not in source and "BEGIN SOLUTION" not in source
    assert '    raise NotImplementedError("your code here' in source
    assert source.startswith("def discriminator_loss(") and source.endswith('exercises.use("d_loss", discriminator_loss)')
    assert course.strip_solutions("x = 1\n") == ("x = 1\n", 0)


@pytest.mark.parametrize("source, words", [
    ("### BEGIN SOLUTION\nx = 1\n", "without an ### END SOLUTION"),
    ("x = 1\n### END SOLUTION\n", "without a ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "a second ### BEGIN SOLUTION"),
])
def test_broken_markers_are_one_line_errors(source, words):
    with pytest.raises(TfganError, match=words):
        course.strip_solutions(source, "nb.ipynb, cell 3")


def _instructor(folder):
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A lab"), nbformat.v4.new_code_cell(SOLVED),
                nbformat.v4.new_code_cell("print(1)")]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nbformat.write(nb, folder / "01_lab.ipynb")
    return folder


def test_the_course_command_writes_student_notebooks(tmp_path, capsys):
    notebooks = _instructor(tmp_path / "instructor")
    assert main(["course", "student", str(tmp_path / "student"), "--notebooks", str(notebooks)]) == 0
    assert "1 exercise left for the student" in capsys.readouterr().out
    student = nbformat.read(tmp_path / "student" / "01_lab.ipynb", as_version=4)
    assert "NotImplementedError" in student.cells[1].source and "bce(" not in student.cells[1].source
    assert student.cells[2].outputs == [] and student.cells[0].source == "# A lab"
    assert "bce(" in nbformat.read(notebooks / "01_lab.ipynb", as_version=4).cells[1].source  # left as it was


def test_the_course_command_refuses_to_overwrite_the_instructor_notebooks(tmp_path, capsys):
    notebooks = _instructor(tmp_path / "instructor")
    assert main(["course", "student", str(notebooks), "--notebooks", str(notebooks)]) == 2
    assert "holds the instructor notebooks" in capsys.readouterr().err
    assert main(["course", "student", str(tmp_path / "out"), "--notebooks", str(tmp_path)]) == 2
    assert "no notebooks in" in capsys.readouterr().err
