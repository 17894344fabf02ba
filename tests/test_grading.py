"""The class grader (``python -m dggbook.book.course --grade``, README "Course mode") on a tiny fake class.

Three returned copies of a two-exercise toy notebook: one solved, one half done (one exercise wrong, one left
as shipped), and one whose first exercise never ends. The mark sheet must say which is which, per exercise, and
the hanging notebook must be stopped by the per-notebook limit and recorded while the batch goes on. The limits
are a few seconds, so the whole file runs in well under a minute.
"""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import nbformat
import pytest

from dggbook.book.course import (
    ANSWER_STUB,
    MARK_FIELDS,
    build_course,
    grade_class,
    student_name,
)
from dggbook.book.course import main as course_main

SOLVED_SUM = '''def my_sum(a, b):
    """a + b."""
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION'''

SOLVED_PRODUCT = '''def my_product(a, b):
    """a * b."""
    ### BEGIN SOLUTION
    return a * b
    ### END SOLUTION'''


def toy_notebook():
    """Two exercises, each with one check; the body prints whether quick mode reached the kernel."""
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    return nbformat.v4.new_notebook(cells=[
        md("# 99 — Toy"),
        code("import os\nQUICK = os.environ.get('DGGBOOK_QUICK')\nprint('quick', QUICK)"),
        md("## Exercises"),
        md("### Exercise 9.1 — sum\nWrite it."), code(SOLVED_SUM),
        code("assert QUICK == '1', 'graded outside quick mode'\n"
             "assert my_sum(1, 2) == 3, f'my_sum(1, 2) is {my_sum(1, 2)}, expected 3'",
             metadata={"tags": ["check"]}),
        md("### Exercise 9.2 — product\nWrite it."), code(SOLVED_PRODUCT),
        code("assert my_product(2, 3) == 6, f'my_product(2, 3) is {my_product(2, 3)}, expected 6'",
             metadata={"tags": ["check"]}),
        md("Why is the sum symmetric?"),
        md("Because addition commutes, whatever the order of the arguments.", metadata={"tags": ["answer"]}),
    ])


@pytest.fixture(scope="module")
def fake_class(tmp_path_factory):
    """notebooks/99_toy.ipynb (solutions) and returned/<student>/99_toy.ipynb for ada, bob and cy."""
    root = tmp_path_factory.mktemp("class")
    solutions = root / "notebooks"
    solutions.mkdir()
    nbformat.write(toy_notebook(), solutions / "99_toy.ipynb")
    build_course([solutions / "99_toy.ipynb"], root / "course")
    shipped = nbformat.read(root / "course" / "student" / "99_toy.ipynb", as_version=4)
    returned = {}
    for student, (sum_body, product_body) in {
        "ada": ("return a + b", "return a * b"),           # both right
        "bob": ("return a - b", None),                      # 9.1 wrong, 9.2 as shipped
        "cy": ("while True:\n        pass", "return a * b"),  # 9.1 never ends (busy, never silent)
    }.items():
        nb = nbformat.read(root / "course" / "student" / "99_toy.ipynb", as_version=4)
        nb.cells[4].source = f"def my_sum(a, b):\n    {sum_body}"
        if product_body is not None:
            nb.cells[7].source = f"def my_product(a, b):\n    {product_body}"
        folder = root / "returned" / student
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "99_toy.ipynb")
        returned[student] = folder / "99_toy.ipynb"
    assert shipped.cells[10].source == ANSWER_STUB
    return root, solutions, returned


@pytest.fixture(scope="module")
def graded(fake_class):
    root, solutions, returned = fake_class
    start = time.perf_counter()
    marks = grade_class([returned[s] for s in ("ada", "cy", "bob")], solutions, root / "marks",
                        timeout=60, silent_timeout=30, notebook_timeout=6, quick=True)
    return marks, time.perf_counter() - start, root / "marks"


def _row(marks, student, exercise):
    return next(m for m in marks if m.student == student and m.exercise == exercise)


def test_mark_sheet_tells_passed_wrong_not_attempted_and_timed_out_apart(graded):
    marks, _, _ = graded
    assert [(m.student, m.exercise) for m in marks] == [
        ("ada", "9.1"), ("ada", "9.2"), ("cy", "9.1"), ("cy", "9.2"), ("bob", "9.1"), ("bob", "9.2")]
    for mark in marks:  # exactly one state per row
        assert sum((mark.passed, mark.not_attempted, mark.wrong, mark.timed_out)) == 1, mark
    assert _row(marks, "ada", "9.1").passed and _row(marks, "ada", "9.2").passed
    assert _row(marks, "ada", "9.1").first_failure == ""
    bob_sum = _row(marks, "bob", "9.1")
    assert bob_sum.wrong and bob_sum.checks_passed == 0
    assert "AssertionError: my_sum(1, 2) is -1, expected 3" in bob_sum.first_failure
    bob_product = _row(marks, "bob", "9.2")
    assert bob_product.not_attempted and "not solved yet" in bob_product.first_failure


def test_a_notebook_that_never_ends_is_recorded_as_timed_out_and_the_batch_goes_on(graded):
    marks, seconds, _ = graded
    for exercise in ("9.1", "9.2"):  # 9.2's check comes after the hanging one, so it never ran
        mark = _row(marks, "cy", exercise)
        assert mark.timed_out, mark
        assert "notebook limit of 6 s" in mark.first_failure and "cell 5 (\"assert QUICK" in mark.first_failure
    assert _row(marks, "bob", "9.1").wrong, "the student after the hanging notebook was not graded"
    assert seconds < 40, f"the batch took {seconds:.0f} s: the per-notebook limit of 6 s did not stop the loop"


def test_mark_sheet_files(graded):
    marks, _, folder = graded
    with open(folder / "marks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == MARK_FIELDS and len(rows) == len(marks) == 6
    assert rows[0]["student"] == "ada" and rows[0]["passed"] == "1" and rows[0]["timed_out"] == "0"
    data = json.loads((folder / "marks.json").read_text())
    assert data[4]["student"] == "bob" and data[4]["wrong"] is True and "expected 3" in data[4]["first_failure"]


def test_student_name_reads_plain_and_nbgrader_layouts():
    assert student_name(Path("returned/alice/04_pi_update.ipynb")) == "alice"
    assert student_name(Path("submitted/alice/04_pi_update/04_pi_update.ipynb")) == "alice"


def test_grade_cli_rejects_bad_limits_and_a_missing_solution(fake_class, tmp_path, capsys):
    root, _, returned = fake_class
    with pytest.raises(SystemExit):
        course_main(["--grade", "--notebook-timeout", "0", str(returned["ada"])])
    assert "--notebook-timeout" in capsys.readouterr().err
    assert course_main(["--grade", "--solutions", str(tmp_path), "--marks", str(tmp_path / "m"),
                        str(returned["ada"])]) == 2
    assert "no 99_toy.ipynb in" in capsys.readouterr().err
    assert not (tmp_path / "m").exists(), "nothing may be written before the inputs are checked"
