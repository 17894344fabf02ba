"""Every exercise is guarded: an answer that calls the library function it is asked to write fails its check.

Three layers (README, "Course mode"):

- ``library_blocked`` itself (:mod:`dggbook.book.exercises`), on a throw-away package: a function blocked by its
  module path, under a ``from … import … as`` alias in another module, a class method; everything restored after
  the block, also when the block raised; a bad path or no target refused before anything is replaced;
- the notebooks, read statically: every exercise heading gives kind, time and stars, every exercise has a check
  cell that calls ``library_blocked`` with its own number and at least one target, and every target resolves to a
  callable; the course has enough substantial exercises; the README's per-notebook points are the headings' stars;
- one synthetic exercise graded end to end in a kernel (``--grade``): the solution passes and earns the stars, an
  answer that imports the library function fails with ``LibraryCalled`` and earns nothing, and an answer that
  passes one check of two earns nothing either.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import re
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from dggbook.book.course import (
    KINDS,
    blocked_calls,
    build_course,
    find_exercises,
    grade_class,
    string_constants,
    without_markers,
)
from dggbook.book.exercises import LibraryCalled, library_blocked, resolve_target

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITH_EXERCISES = [path for path in NOTEBOOKS if not path.name.startswith("00")]

def _read(path: Path):
    return nbformat.read(path, as_version=4)


# ------------------------------------------------------------------------------------ library_blocked, unit tests
TOY_CORE = '''
def area(side):
    """The library function the exercise asks the student to write."""
    return side * side


class Square:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side
'''
TOY_USER = '''
from toylib.core import area as surface


def floor_area(side):
    """Library code elsewhere that calls area under another name."""
    return surface(side)
'''


@pytest.fixture
def toylib(tmp_path, monkeypatch):
    """A throw-away package ``toylib`` (``core``: a function and a class; ``user``: imports the function under an
    alias), importable for one test and forgotten after it."""
    package = tmp_path / "toylib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text(TOY_CORE)
    (package / "user.py").write_text(TOY_USER)
    monkeypatch.syspath_prepend(str(tmp_path))
    core, user = importlib.import_module("toylib.core"), importlib.import_module("toylib.user")
    yield core, user
    for name in [name for name in sys.modules if name == "toylib" or name.startswith("toylib.")]:
        del sys.modules[name]


def test_a_function_blocked_by_its_module_path_raises_library_called(toylib):
    core, _ = toylib
    with library_blocked("9.1", "toylib.core.area"):
        with pytest.raises(LibraryCalled, match=r"Exercise 9\.1: your answer calls toylib\.core\.area"):
            core.area(3)
        assert (lambda side: side * side)(3) == 9  # the student's own code runs
    assert core.area(3) == 9


def test_an_alias_in_another_module_is_blocked_too(toylib):
    core, user = toylib
    original = core.area
    with library_blocked("9.1", "toylib.core.area"):
        with pytest.raises(LibraryCalled, match="toylib.core.area"):
            user.floor_area(3)  # calls `surface`, the name `from toylib.core import area as surface` bound
        assert user.surface is not original
    assert user.surface is original and user.floor_area(3) == 9


def test_a_class_method_is_blocked_and_restored(toylib):
    core, _ = toylib
    square, original = core.Square(3), core.Square.area
    with library_blocked("9.2", "toylib.core.Square.area"):
        with pytest.raises(LibraryCalled, match=r"Exercise 9\.2: your answer calls toylib\.core\.Square\.area"):
            square.area()
        assert core.area(3) == 9, "only the named target is blocked"
    assert core.Square.area is original and square.area() == 9


def test_everything_is_restored_after_an_exception_in_the_block(toylib):
    core, user = toylib
    originals = (core.area, user.surface, core.Square.area)
    with pytest.raises(RuntimeError, match="the student's code broke"):
        with library_blocked("9.1", "toylib.core.area", "toylib.core.Square.area"):
            raise RuntimeError("the student's code broke")
    assert (core.area, user.surface, core.Square.area) == originals
    with pytest.raises(LibraryCalled):  # and after the refusal itself escaped the block
        with library_blocked("9.1", "toylib.core.area"):
            user.floor_area(2)
    assert (core.area, user.surface, core.Square.area) == originals and user.floor_area(2) == 4


@pytest.mark.parametrize("targets", [("toylib.core.volume",), ("toylib.nosuchmodule.area",), ("area",),
                                     ("toylib.core.area", "toylib.core.Square.perimeter")])
def test_a_bad_path_is_refused_before_anything_is_replaced(toylib, targets):
    core, user = toylib
    originals = (core.area, user.surface, core.Square.area)
    with pytest.raises(ValueError, match="does not name a function; give its full dotted path"):
        with library_blocked("9.1", *targets):
            pass
    assert (core.area, user.surface, core.Square.area) == originals


def test_no_target_is_refused():
    with pytest.raises(ValueError, match="needs at least one target"):
        with library_blocked("9.1"):
            pass


def test_blocked_calls_reads_the_number_and_the_targets_of_each_call():
    source = textwrap.dedent('''\
        %matplotlib inline
        from dggbook.book import exercises
        with library_blocked("4.1", "a.b.c",
                             "a.b.d"):
            mine = f()
        with exercises.library_blocked("4.2", name):
            pass
        ''')
    assert blocked_calls(source) == [("4.1", ["a.b.c", "a.b.d"]), ("4.2", [])]
    assert blocked_calls("with library_blocked(number, 'x.y'):\n    pass") == [(None, ["x.y"])]
    assert blocked_calls("print('no guard here')") == []


def test_blocked_calls_follows_names_bound_to_strings_in_the_cell_or_before_it():
    source = textwrap.dedent('''\
        PARTS = ("a.b.c",
                 "a.b.d")
        def run():
            with library_blocked(NUMBER, *PARTS, ONE, *EARLIER):
                pass
        ''')
    earlier = string_constants('NUMBER = "7.5"\nONE = "x.y"\nEARLIER = ["p.q", "r.s"]\nNOT_STRINGS = (1, 2)')
    assert earlier == {"NUMBER": ("7.5",), "ONE": ("x.y",), "EARLIER": ("p.q", "r.s")}
    assert blocked_calls(source, earlier) == [("7.5", ["a.b.c", "a.b.d", "x.y", "p.q", "r.s"])]
    assert blocked_calls(source) == [(None, ["a.b.c", "a.b.d"])]  # the other names are unknown here


def test_an_exercise_blocks_the_targets_named_by_an_earlier_cell():
    """Notebook 07 names the functions of Algorithm 1 once, in a cell before its exercise, and its check blocks
    ``*ALGORITHM_1``: the exercise's ``blocked`` list (the rubric's, the static test's) must follow the name."""
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook(cells=[
        code('PARTS = ("operator.add", "operator.mul")'), md("## Exercises"),
        md("### Exercise 9.1 — sum (implementation, 5 min, ★)"),
        code("def my_sum(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION"),
        code("with library_blocked('9.1', *PARTS, 'operator.sub'):\n    assert my_sum(1, 2) == 3",
             metadata={"tags": ["check"]})])
    assert find_exercises(nb)[0].blocked == ["operator.add", "operator.mul", "operator.sub"]


# ------------------------------------------------------------------------------------ the notebooks, statically
@pytest.mark.parametrize("solved", WITH_EXERCISES, ids=lambda p: p.stem)
def test_every_exercise_heading_gives_kind_time_and_stars(solved):
    exercises = find_exercises(_read(solved), solved.name, require_tags=True)  # ValueError names the heading
    assert exercises
    for exercise in exercises:
        assert exercise.kind in KINDS and exercise.minutes >= 1 and 1 <= exercise.stars <= 3, exercise


def _resolves_to_callable(dotted: str) -> bool:
    """True when ``dotted`` is a module path followed by attributes, ending in something callable."""
    try:
        return callable(resolve_target(dotted)[2])
    except ValueError:
        return False


def _constants_before(nb, index: int) -> dict:
    """The names bound to strings by the code cells before cell ``index`` (what its library_blocked may use)."""
    constants: dict = {}
    for cell in nb.cells[:index]:
        if cell.cell_type == "code":
            constants.update(string_constants(cell.source))
    return constants


@pytest.mark.parametrize("solved", WITH_EXERCISES, ids=lambda p: p.stem)
def test_every_exercise_has_a_check_that_blocks_the_library(solved):
    """A check cell of each exercise calls ``library_blocked`` with the exercise's own number and at least one
    target; no check names another exercise's number; every target names an importable callable."""
    nb = _read(solved)
    problems = []
    for exercise in find_exercises(nb, solved.name):
        calls = [call for index in exercise.checks
                 for call in blocked_calls(nb.cells[index].source, _constants_before(nb, index))]
        if not any(number == exercise.number and targets for number, targets in calls):
            problems.append(f"exercise {exercise.number}: no check cell calls library_blocked("
                            f"{exercise.number!r}, 'dotted.path', …) with a target")
        problems += [f"exercise {exercise.number}: a check calls library_blocked({number!r}, …)"
                     for number, _ in calls if number != exercise.number]
        unresolved = [target for target in exercise.blocked if not _resolves_to_callable(target)]
        problems += [f"exercise {exercise.number}: {target!r} does not name an importable callable"
                     for target in unresolved]
        if exercise.blocked and not unresolved:
            with library_blocked(exercise.number, *exercise.blocked):  # and library_blocked accepts them
                pass
    assert not problems, f"{solved.name}: " + "; ".join(problems)


def test_at_least_ten_exercises_ask_for_a_derivation_or_a_substantial_implementation():
    """Issue 23: "at least 10 exercises ask for a derivation or a substantial implementation" — by the headings,
    a ``derivation``, or an ``implementation`` of two stars or more."""
    substantial = [f"{exercise.number} ({exercise.kind}, {exercise.stars}★)"
                   for path in WITH_EXERCISES for exercise in find_exercises(_read(path), path.name)
                   if exercise.kind == "derivation" or (exercise.kind == "implementation" and exercise.stars >= 2)]
    assert len(substantial) >= 10, f"only {len(substantial)} substantial exercises: {substantial}"


def _readme_row(path: Path) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    start = readme.split("## Start here", 1)[1].split("\n## ", 1)[0]
    row = next((line for line in start.splitlines() if line.startswith("|") and f"`notebooks/{path.name}`" in line),
               None)
    assert row, f"the README's 'Start here' table has no row for {path.name}"
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


@pytest.mark.parametrize("solved", WITH_EXERCISES, ids=lambda p: p.stem)
def test_readme_points_and_exercise_minutes_are_the_headings(solved):
    """The 'Start here' table's points column is the sum of the notebook's stars, and the minutes for its
    exercises (in the notebook's **Time.** line and the table) are the sum of the headings' minutes."""
    exercises = find_exercises(_read(solved), solved.name, require_tags=True)
    row = _readme_row(solved)
    assert row[-1] == str(sum(exercise.stars for exercise in exercises)), f"README row {solved.name}: {row}"
    minutes = re.fullmatch(r"(\d+) \+ (\d+) min", row[1])
    assert minutes, f"README row {solved.name}: time {row[1]!r} is not 'A + B min'"
    assert int(minutes[2]) == sum(exercise.minutes for exercise in exercises), \
        f"{solved.name}: the exercises take {[e.minutes for e in exercises]} min by their headings; the README " \
        f"says {row[1]}"


def test_readme_start_here_table_has_a_points_column():
    readme = (ROOT / "README.md").read_text()
    header = next(line for line in readme.split("## Start here", 1)[1].splitlines() if line.startswith("| open"))
    assert header.rstrip().endswith("| points |"), header


# ------------------------------------------------------------------------------ one exercise graded end to end
SOLVED_PI = '''def my_update_pi(gamma_self, gamma_neighbors, weights):
    """pi_ik = sum_j w_ij (gamma_ik + gamma_jk) / (2 sum_j w_ij): eq. (31), for (B, K), (B, J, K), (B, J)."""
    ### BEGIN SOLUTION
    row_weight = weights.sum(-1, keepdim=True)
    pulled = (weights[..., None] * gamma_neighbors).sum(1)
    return (row_weight * gamma_self + pulled) / (2 * row_weight)
    ### END SOLUTION'''

CHECK_PI = '''from dggbook.book.exercises import check_close, library_blocked
from dggbook.derivation import pi_update

gamma = torch.softmax(torch.randn(6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64), 1)
neighbours = gamma[torch.tensor([[1, 2], [0, 3], [4, 5], [5, 1], [2, 0], [3, 4]])]
raw = torch.rand(6, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.1
weights = {weights}
expected = pi_update.update_pi(gamma, neighbours, weights)
with library_blocked("9.1", "dggbook.derivation.pi_update.update_pi",
                     "dggbook.derivation.pi_update.pi_objective_weights"):
    mine = my_update_pi(gamma, neighbours, weights)
check_close("9.1", mine, expected, what="pi with weights {weights}")'''


def pi_exercise_notebook():
    """One tagged exercise (the π update (31)) with two checks: rows of weights that sum to 1, then rows that do
    not."""
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    return nbformat.v4.new_notebook(cells=[
        md("# 99 — One exercise"), code("import torch"), md("## Exercises"),
        md("### Exercise 9.1 — The update (31) (derivation, 15 min, ★★★)\nDerive it, then write it."),
        code(SOLVED_PI),
        code(CHECK_PI.format(weights="raw / raw.sum(-1, keepdim=True)"), metadata={"tags": ["check"]}),
        code(CHECK_PI.format(weights="5 * raw"), metadata={"tags": ["check"]}),
    ])


ANSWERS = {
    "ada": without_markers(SOLVED_PI),
    "bob": ("from dggbook.derivation.pi_update import update_pi\n\n\n"  # the library, under the same name
            "def my_update_pi(gamma_self, gamma_neighbors, weights):\n"
            "    return update_pi(gamma_self, gamma_neighbors, weights)"),
    "cy": ("def my_update_pi(gamma_self, gamma_neighbors, weights):\n"  # divides by 2, not by 2 sum_j w_ij
           "    return (weights.sum(-1, keepdim=True) * gamma_self\n"
           "            + (weights[..., None] * gamma_neighbors).sum(1)) / 2"),
}


@pytest.fixture(scope="module")
def pi_class(tmp_path_factory):
    """The synthetic notebook, its student copy returned by ada (the solution), bob (calls the library) and cy
    (right only when the weights of each row sum to 1, as in the first check), then graded."""
    root = tmp_path_factory.mktemp("guarded")
    solutions = root / "notebooks"
    solutions.mkdir()
    nbformat.write(pi_exercise_notebook(), solutions / "99_guarded.ipynb")
    build_course([solutions / "99_guarded.ipynb"], root / "course")
    paths = []
    for student, answer in ANSWERS.items():
        nb = _read(root / "course" / "student" / "99_guarded.ipynb")
        nb.cells[4].source = answer
        (root / "returned" / student).mkdir(parents=True)
        nbformat.write(nb, root / "returned" / student / "99_guarded.ipynb")
        paths.append(root / "returned" / student / "99_guarded.ipynb")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        marks = grade_class(paths, solutions, root / "marks", timeout=120, silent_timeout=60, notebook_timeout=120,
                            quick=True)
    return marks, printed.getvalue()


def test_the_solution_passes_and_earns_the_stars(pi_class):
    """Three stars, two checks: the points are the stars, not the checks."""
    marks, _ = pi_class
    ada = next(mark for mark in marks if mark.student == "ada")
    assert ada.passed and ada.checks_passed == 2 and (ada.points_earned, ada.points_possible) == (3, 3), ada


def test_an_answer_calling_the_library_raises_library_called_and_earns_nothing(pi_class):
    marks, _ = pi_class
    bob = next(mark for mark in marks if mark.student == "bob")
    assert bob.wrong and bob.checks_passed == 0 and bob.points_earned == 0 and bob.points_possible == 3, bob
    assert bob.first_failure.startswith("LibraryCalled: Exercise 9.1: your answer calls "
                                        "dggbook.derivation.pi_update.update_pi"), bob.first_failure


def test_an_answer_passing_one_check_of_two_earns_nothing(pi_class):
    marks, _ = pi_class
    cy = next(mark for mark in marks if mark.student == "cy")
    assert cy.wrong and cy.checks_passed == 1 and cy.checks_total == 2 and cy.points_earned == 0, cy


def test_each_students_line_prints_the_points(pi_class):
    _, printed = pi_class
    assert "(ada): 1 of 1 exercises pass, 3 of 3 points" in printed
    assert "(cy): 0 of 1 exercises pass, 0 of 3 points" in printed
    assert "  Exercise 9.1: wrong, 1/2 checks pass, 0/3 points: AssertionError: Exercise 9.1:" in printed
