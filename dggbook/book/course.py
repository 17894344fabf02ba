"""``make course``: student copies of the notebooks, with every exercise's solution replaced by a stub.

    python -m dggbook.book.course notebooks/*.ipynb                 # -> course/student/, course/nbgrader/
    python -m dggbook.book.course --execute --out /tmp/c notebooks/04_pi_update.ipynb
    python -m dggbook.book.course --grade returned/*/04_pi_update.ipynb     # per exercise: checks passed

The conventions are nbgrader's, so a lecturer can use this builder or nbgrader itself (README, "Course mode"):

- an exercise opens with a markdown cell whose first line starts with ``### Exercise`` (``### Exercise 4.1 — …``);
- its solution is the body of a function, between a ``### BEGIN SOLUTION`` line and a ``### END SOLUTION`` line;
- one or more cells tagged ``check`` follow; they call the function and compare its answer
  (:mod:`dggbook.book.exercises`).

The student copy replaces each solution block, markers included, by ``raise NotImplementedError(...)`` at the
block's indentation, and clears the outputs of solution and check cells (the other cells keep theirs: they
never depend on an exercise, see below). So, as shipped, every check cell fails and every other cell runs.

Exercises come last in each notebook and nothing outside their own check cells uses what they define: the
student copies are *independent* of the exercises rather than falling back to the library. ``--execute`` runs
each student copy and verifies exactly that, cell by cell. ``--grade`` marks returned notebooks the way nbgrader
does: only the students' solution cells are taken from them; the checks and the rest come from the solution
notebook, so a changed or deleted check changes nothing.

``course/nbgrader/source/<notebook>/<notebook>.ipynb`` is the solution notebook with nbgrader's cell metadata
(solution cells, and check cells as autograded tests worth one point each), ready for
``nbgrader generate_assignment``.
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..paths import build_dir
from .execution import DEFAULT_CELL_TIMEOUT, DEFAULT_SILENT_TIMEOUT, NotebookFailed
from .execution import execute_notebook as run_notebook

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CHECK_TAG = "check"
EXERCISE_HEADING = re.compile(r"^### Exercise\s+(?P<number>[0-9]+\.[0-9]+)")
NBGRADER_SCHEMA = 3


@dataclass
class Exercise:
    """One exercise of a notebook: its number, the index of its heading cell, its solution and check cells."""

    number: str
    heading: int
    solutions: list[int] = field(default_factory=list)
    checks: list[int] = field(default_factory=list)


def stub_line(number: str, indent: str) -> str:
    """What the student sees in place of a solution block."""
    return f'{indent}raise NotImplementedError("Exercise {number} is not solved yet: write your solution here.")'


def strip_solutions(source: str, number: str) -> str:
    """``source`` with every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` block replaced by a stub.

    Raises ``ValueError`` for an unclosed, unopened or nested block, or a block at the top level of the cell
    (a top-level ``raise`` would stop the student's cell; solutions are function bodies).
    """
    kept: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"exercise {number}: nested {BEGIN!r}; close the first block with {END!r}")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise ValueError(f"exercise {number}: a solution block must be a function body (indented); "
                                 f"wrap the solution in `def my_...():`")
            kept.append(stub_line(number, indent))
            inside = True
        elif stripped == END:
            if not inside:
                raise ValueError(f"exercise {number}: {END!r} without {BEGIN!r}")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"exercise {number}: {BEGIN!r} is never closed by {END!r}")
    return "\n".join(kept)


def solution_lines(source: str) -> list[str]:
    """The stripped, non-empty lines strictly inside the solution blocks of ``source``."""
    lines, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped in (BEGIN, END):
            inside = stripped == BEGIN
        elif inside and stripped:
            lines.append(stripped)
    return lines


def is_check(cell) -> bool:
    return cell.cell_type == "code" and CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def _first_line(cell) -> str:
    return cell.source.lstrip().split("\n", 1)[0] if cell.source.strip() else ""


def exercise_number(cell) -> str | None:
    """"4.1" for a markdown cell whose first line is a well-formed ``### Exercise 4.1 — …`` heading, else None."""
    match = EXERCISE_HEADING.match(_first_line(cell)) if cell.cell_type == "markdown" else None
    return match["number"] if match else None


def find_exercises(nb, name: str = "notebook") -> list[Exercise]:
    """The exercises of ``nb`` in order; ``ValueError`` when one breaks the conventions of this module."""
    exercises: list[Exercise] = []
    for index, cell in enumerate(nb.cells):
        first_line = _first_line(cell)
        if cell.cell_type == "markdown" and first_line.startswith("### Exercise"):
            number = exercise_number(cell)
            if number is None:
                raise ValueError(f"{name}: exercise heading {first_line!r} must read '### Exercise N.k — title'")
            exercises.append(Exercise(number, index))
        elif cell.cell_type == "code" and BEGIN in cell.source:
            if not exercises:
                raise ValueError(f"{name}: cell {index} holds a solution but no '### Exercise' heading precedes it")
            exercises[-1].solutions.append(index)
        elif is_check(cell):
            if not exercises or not exercises[-1].solutions:
                raise ValueError(f"{name}: check cell {index} comes before any exercise solution")
            exercises[-1].checks.append(index)
        elif cell.cell_type == "markdown" and cell.source.lstrip().startswith("## ") and exercises:
            raise ValueError(f"{name}: section {first_line!r} after the exercises; exercises come last")
    numbers = [exercise.number for exercise in exercises]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"{name}: exercise numbers repeat: {numbers}")
    for exercise in exercises:
        if not exercise.solutions or not exercise.checks:
            raise ValueError(f"{name}: exercise {exercise.number} needs a solution cell and at least one cell "
                             f"tagged {CHECK_TAG!r} after it")
    return exercises


def _clear(cell) -> None:
    cell.outputs = []
    cell.execution_count = None


def student_notebook(nb, name: str = "notebook"):
    """A copy of ``nb`` with every solution block stubbed and the outputs of exercise cells cleared."""
    student = copy.deepcopy(nb)
    for exercise in find_exercises(nb, name):
        for index in exercise.solutions:
            cell = student.cells[index]
            cell.source = strip_solutions(cell.source, exercise.number)
            _clear(cell)
        for index in exercise.checks:
            _clear(student.cells[index])
    return student


def nbgrader_notebook(nb, name: str = "notebook"):
    """A copy of ``nb`` with nbgrader's metadata: solution cells, and check cells as 1-point autograded tests."""
    source = copy.deepcopy(nb)
    for exercise in find_exercises(nb, name):
        tag = "ex" + exercise.number.replace(".", "_")
        for position, index in enumerate(exercise.solutions):
            source.cells[index].metadata["nbgrader"] = {
                "grade": False, "solution": True, "locked": False, "task": False,
                "grade_id": f"{tag}_solution_{position}", "schema_version": NBGRADER_SCHEMA}
        for position, index in enumerate(exercise.checks):
            source.cells[index].metadata["nbgrader"] = {
                "grade": True, "solution": False, "locked": True, "task": False, "points": 1,
                "grade_id": f"{tag}_check_{position}", "schema_version": NBGRADER_SCHEMA}
    return source


def build_course(notebooks: list[Path], out: Path) -> dict[Path, int]:
    """Write ``out/student/<name>.ipynb`` for each notebook, and ``out/nbgrader/source/<stem>/<name>.ipynb`` for
    each one that has exercises; return each student copy's path with its number of exercises.

    Every notebook is read and converted before anything is written, so a broken one leaves ``out`` as it was.
    """
    converted = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        count = len(find_exercises(nb, path.name))
        converted.append((path, count, student_notebook(nb, path.name), nbgrader_notebook(nb, path.name)))
    written = {}
    for path, count, student, source in converted:
        target = out / "student" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student, target)
        if count:  # an nbgrader assignment needs something to grade
            graded = out / "nbgrader" / "source" / path.stem / path.name
            graded.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(source, graded)
        written[target] = count
    return written


def _error_of(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return None


EXECUTION_RETRIES = 1  # a safety net only (reported on stderr); stalled cells are stopped by the shared watchdog


def execute_notebook(path: Path, timeout: int = DEFAULT_CELL_TIMEOUT, silent_timeout: float = DEFAULT_SILENT_TIMEOUT,
                     failed_dir: Path | None = None):
    """Run a notebook top to bottom in a fresh kernel, errors allowed; figures go to a temporary folder.

    The execution is :func:`dggbook.book.execution.execute_notebook`, the one the book runner uses: a cell
    silent for ``silent_timeout`` seconds or running past ``timeout`` stops the run with ``CellStalled``
    (naming the notebook and the cell; the partly executed notebook is kept in ``failed_dir``, by default
    ``build/failed/``). Such a stop runs the notebook once more, and says so on stderr, before giving up.
    """
    saved = os.environ.get("DGGBOOK_FIGURES")
    try:
        with tempfile.TemporaryDirectory() as figures:
            os.environ["DGGBOOK_FIGURES"] = figures
            return run_notebook(path, cell_timeout=timeout, silent_timeout=silent_timeout, allow_errors=True,
                                failed_dir=build_dir() / "failed" if failed_dir is None else failed_dir,
                                retries=EXECUTION_RETRIES,
                                what_next=f"then rerun: python -m dggbook.book.course --execute {path}").nb
    finally:
        if saved is None:
            os.environ.pop("DGGBOOK_FIGURES", None)
        else:
            os.environ["DGGBOOK_FIGURES"] = saved


def execute_student_notebook(path: Path, timeout: int = DEFAULT_CELL_TIMEOUT) -> list[str]:
    """Run a student copy; return what breaks the promise of this module (every check cell fails, every other
    code cell runs)."""
    nb = execute_notebook(path, timeout)
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        error = _error_of(cell)
        if is_check(cell) and error is None:
            problems.append(f"{path.name}: check cell {index} passed with the solution stubbed out")
        elif not is_check(cell) and error is not None:
            problems.append(f"{path.name}: cell {index} failed in the student copy ({error})")
    return problems


def submitted_solutions(submission, exercises: list[Exercise], name: str) -> dict[str, list[str]]:
    """The student's solution cells of each exercise: the code cells after its heading that are not checks.

    ``ValueError`` when an exercise is missing or has another number of solution cells than the solution notebook.
    """
    found: dict[str, list[str]] = {}
    number = None
    for cell in submission.cells:
        if (heading := exercise_number(cell)) is not None:
            number = heading
            found[number] = []
        elif number is not None and cell.cell_type == "code" and not is_check(cell):
            found[number].append(cell.source)
    for exercise in exercises:
        cells = found.get(exercise.number)
        if cells is None:
            raise ValueError(f"{name}: exercise {exercise.number} is missing from the submission")
        if len(cells) != len(exercise.solutions):
            raise ValueError(f"{name}: exercise {exercise.number} has {len(cells)} solution cells; "
                             f"the solution notebook has {len(exercise.solutions)}")
    return found


def graded_notebook(solution, submission, name: str = "notebook"):
    """The solution notebook with only its solution cells taken from the submission, as nbgrader does: the
    checks and everything else are the lecturer's, so editing or deleting a check gains nothing."""
    exercises = find_exercises(solution, name)
    answers = submitted_solutions(submission, exercises, name)
    graded = copy.deepcopy(solution)
    for exercise in exercises:
        for index, source in zip(exercise.solutions, answers[exercise.number]):
            graded.cells[index].source = source
    for cell in graded.cells:
        if cell.cell_type == "code":
            _clear(cell)
    return graded


def grade_notebook(submission: Path, solution: Path, timeout: int = DEFAULT_CELL_TIMEOUT) -> dict[str, tuple[int, int]]:
    """Run a returned notebook's solution cells (the student's code runs!) inside the solution notebook, and count,
    per exercise, the lecturer's check cells that pass."""
    solved = nbformat.read(solution, as_version=4)
    graded = graded_notebook(solved, nbformat.read(submission, as_version=4), submission.name)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / submission.name
        nbformat.write(graded, path)
        executed = execute_notebook(path, timeout)
    return {e.number: (sum(_error_of(executed.cells[i]) is None for i in e.checks), len(e.checks))
            for e in find_exercises(solved, solution.name)}


def _grade(paths: list[Path], solutions: Path) -> int:
    for path in paths:
        solution = solutions / path.name
        if not solution.is_file():
            print(f"error: --solutions: no {path.name} in {solutions}/", file=sys.stderr)
            return 2
        try:
            scores = grade_notebook(path, solution)
        except (ValueError, NotebookFailed) as error:  # NotebookFailed: a stalled cell, named; the batch goes on
            print(f"{path}: not graded: {error}")
            continue
        passed = sum(ok == total for ok, total in scores.values())
        print(f"{path}: {passed} of {len(scores)} exercises pass all their checks")
        for number, (ok, total) in scores.items():
            print(f"  Exercise {number}: {ok}/{total} checks pass")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dggbook.book.course", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="solution notebooks (notebooks/NN_*.ipynb)")
    parser.add_argument("--out", type=Path, default=Path("course"), help="output folder (default: course/)")
    parser.add_argument("--execute", action="store_true",
                        help="also run each student copy and check that exactly its check cells fail")
    parser.add_argument("--grade", action="store_true",
                        help="instead: grade each given returned notebook: its solution cells run inside the solution "
                             "notebook of the same name (--solutions), and each exercise's checks are counted")
    parser.add_argument("--solutions", type=Path, default=Path("notebooks"),
                        help="with --grade: the folder of solution notebooks (default: notebooks/)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"error: notebooks: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.grade:
        return _grade(args.notebooks, args.solutions)
    try:
        written = build_course(args.notebooks, args.out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path, count in written.items():
        print(f"wrote {path} ({count} exercises)")
    if not args.execute:
        return 0
    problems = []
    for path in written:
        try:
            found = execute_student_notebook(path)
        except NotebookFailed as error:  # a stalled cell, twice: named, kept, and what to do next
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"ran {path.name}: " + ("every check cell fails, every other cell runs" if not found
                                      else f"{len(found)} problem(s)"))
        problems += found
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
