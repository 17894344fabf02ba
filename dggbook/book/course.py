"""``make course``: student copies of the notebooks (solutions stubbed), a solutions guide, and a class grader.

The student copies replace every exercise's solution by a stub; the guide is for the lecturer.

    python -m dggbook.book.course notebooks/*.ipynb      # -> course/student/, course/nbgrader/, course/solutions/
    python -m dggbook.book.course --execute --out /tmp/c notebooks/04_pi_update.ipynb
    python -m dggbook.book.course --grade returned/*/04_pi_update.ipynb   # -> course/marks/marks.csv, marks.json

The conventions are nbgrader's, so a lecturer can use this builder or nbgrader itself (README, "Course mode"):

- an exercise opens with a markdown cell whose first line is its heading,
  ``### Exercise N.k — Title (kind, T min, ★…)``: kind is ``derivation``, ``implementation`` or ``analysis``,
  T the minutes it takes, and one to three stars its difficulty, which is also its number of points
  (:func:`parse_heading`; a heading without the parenthesis is still read, worth one point per check cell);
- its solution is the body of a function, between a ``### BEGIN SOLUTION`` line and a ``### END SOLUTION`` line;
- one or more cells tagged ``check`` follow; they call the function and compare its answer
  (:mod:`dggbook.book.exercises`), calling it inside ``library_blocked("N.k", "dotted.path", …)`` so that an
  answer that calls the library function it is asked to write fails (:func:`blocked_calls` reads those names);
- a worked answer in prose (to an "ask yourself" prompt, an end-of-notebook question or an exercise) is a
  markdown cell tagged ``answer`` (:data:`ANSWER_TAG`), anywhere in the notebook.

The student copy replaces each solution block, markers included, by ``raise NotImplementedError(...)`` at the
block's indentation, and clears the outputs of solution and check cells (the other cells keep theirs: they
never depend on an exercise, see below), and replaces the text of each ``answer`` cell by :data:`ANSWER_STUB`.
So, as shipped, every check cell fails and every other cell runs. The website's student pages are these copies
(``site/_ext/dggbook_site.py``), and :func:`leak_texts` gives the solution text that neither may show.

``course/solutions/<notebook>.md`` is the solutions guide: per notebook, each exercise's kind, time, stars, points
and marking rubric (:func:`rubric`), its statement, its solution code, what its checks print when solved, and every
``answer`` cell with the prompt before it (:func:`solutions_guide`); ``course/solutions/README.md`` opens with the
table of every exercise of the course (:func:`exercise_table`).

Exercises come last in each notebook and nothing outside their own check cells uses what they define: the
student copies are *independent* of the exercises rather than falling back to the library. ``--execute`` runs
each student copy and verifies exactly that, cell by cell. ``--grade`` marks returned notebooks the way nbgrader
does: only the students' solution cells are taken from them; the checks and the rest come from the solution
notebook, so a changed or deleted check changes nothing. It runs in quick mode (``DGGBOOK_QUICK=1``; the checks
compare the student's function with the library on the same inputs, and ``make test`` runs every check in quick
mode) unless ``--full`` is given, each notebook under a wall-clock limit (``--notebook-timeout``), and writes the
class mark sheet: one row per (student, exercise), with the exercise's points earned only when every one of its
checks passes, see :class:`Mark`.

``course/nbgrader/source/<notebook>/<notebook>.ipynb`` is the solution notebook with nbgrader's cell metadata
(solution cells, and check cells as autograded tests whose points add up to the exercise's stars,
:func:`check_points`), ready for ``nbgrader generate_assignment``.
"""
from __future__ import annotations

import argparse
import ast
import copy
import csv
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from ..paths import build_dir
from .execution import DEFAULT_CELL_TIMEOUT, DEFAULT_SILENT_TIMEOUT, CellStalled, NotebookFailed, cell_text
from .execution import execute_notebook as run_notebook

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CHECK_TAG = "check"
ANSWER_TAG = "answer"  # a markdown cell holding a worked answer in prose: stubbed in student copies
ANSWER_STUB = ("**Your answer.** *Write it here. (A worked answer is in the solutions guide, "
               "`make course` → `course/solutions/`.)*")
EXERCISE_HEADING = re.compile(r"^### Exercise\s+(?P<number>[0-9]+\.[0-9]+)")
KINDS = ("derivation", "implementation", "analysis")
STAR = "\u2605"  # ★
HEADING_FORMAT = "'### Exercise N.k — Title (kind, T min, ★…)'"
# the heading with its tags: number, title, then (kind, minutes, stars) as the last parenthesis of the line
TAGGED_HEADING = re.compile(r"^### Exercise\s+(?P<number>[0-9]+\.[0-9]+)\s+\u2014\s+(?P<title>.*?\S)\s*"
                            r"\(\s*(?P<kind>[A-Za-z]+)\s*,\s*(?P<minutes>[0-9]+)\s*min\s*,"
                            r"\s*(?P<stars>\u2605+)\s*\)\s*$")
# a closing parenthesis that mentions minutes or stars: an attempt at the tags, so it must parse
TAGS_ATTEMPTED = re.compile(r"\([^()]*(\bmin\b|\u2605)[^()]*\)\s*$")
NBGRADER_SCHEMA = 3


@dataclass
class Exercise:
    """One exercise of a notebook: its number, the index of its heading cell, its solution and check cells, and
    what its heading says (:func:`parse_heading`): title, kind, minutes and stars (None when the heading carries
    no tags), and the library functions its checks block (:func:`blocked_calls`)."""

    number: str
    heading: int
    solutions: list[int] = field(default_factory=list)
    checks: list[int] = field(default_factory=list)
    title: str = ""
    kind: str | None = None
    minutes: int | None = None
    stars: int | None = None
    blocked: list[str] = field(default_factory=list)

    @property
    def tagged(self) -> bool:
        """True when the heading gives kind, time and stars."""
        return self.stars is not None

    @property
    def points(self) -> int:
        """What the exercise is worth: its stars (marks weighted by substance). A heading without tags keeps the
        old weighting, one point per check cell."""
        return self.stars if self.stars is not None else len(self.checks)


def parse_heading(line: str, name: str = "notebook") -> dict:
    """Number, title, kind, minutes and stars of an exercise heading ``### Exercise N.k — Title (kind, T min, ★)``.

    A heading without the closing parenthesis gives None for kind, minutes and stars (and the whole rest of the
    line as its title); one whose closing parenthesis mentions minutes or ★ but breaks the format (an unknown
    kind, no whole minutes, zero or more than three stars) raises ``ValueError`` naming the notebook, the
    exercise and the format. :func:`find_exercises` with ``require_tags=True`` makes the tags compulsory.
    """
    match = EXERCISE_HEADING.match(line)
    if match is None:
        raise ValueError(f"{name}: exercise heading {line!r} must read {HEADING_FORMAT}")
    number = match["number"]
    tagged = TAGGED_HEADING.match(line.rstrip())
    if tagged is None:
        if TAGS_ATTEMPTED.search(line):
            raise ValueError(f"{name}: exercise {number}: the tags of {line!r} do not parse; write {HEADING_FORMAT} "
                             f"with kind one of {', '.join(KINDS)}, T a whole number of minutes and 1 to 3 {STAR}, "
                             f"e.g. '(derivation, 15 min, {STAR * 2})'")
        title = line[match.end():].strip().lstrip("\u2014-").strip()
        return {"number": number, "title": title, "kind": None, "minutes": None, "stars": None}
    kind, minutes, stars = tagged["kind"], int(tagged["minutes"]), len(tagged["stars"])
    if kind not in KINDS or minutes < 1 or not 1 <= stars <= 3:
        raise ValueError(f"{name}: exercise {number}: heading {line!r} has kind {kind!r}, {minutes} min and {stars} "
                         f"{STAR}; the kind must be one of {', '.join(KINDS)}, the time at least 1 minute and the "
                         f"stars 1 to 3 ({HEADING_FORMAT})")
    return {"number": number, "title": tagged["title"], "kind": kind, "minutes": minutes, "stars": stars}


def _parsed(source: str):
    """The syntax tree of a code cell (IPython magic lines read as ``pass``), or None when it does not parse."""
    try:
        return ast.parse(re.sub(r"^(\s*)[%!].*$", r"\1pass", source, flags=re.M))
    except SyntaxError:
        return None


def string_constants(source: str) -> dict[str, tuple[str, ...]]:
    """The top-level names that the code ``source`` binds to string literals, or to a tuple or list of them:
    ``GRAPH_BUILDERS = ("dggbook.model.graph.build_graph", ...)`` gives ``{"GRAPH_BUILDERS": (...)}``."""
    tree, found = _parsed(source), {}
    for node in tree.body if tree is not None else []:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        items = value.elts if isinstance(value, (ast.Tuple, ast.List)) else [value]
        if items and all(isinstance(item, ast.Constant) and isinstance(item.value, str) for item in items):
            found[node.targets[0].id] = tuple(item.value for item in items)
    return found


def blocked_calls(source: str, constants: dict[str, tuple[str, ...]] | None = None
                  ) -> list[tuple[str | None, list[str]]]:
    """Each ``library_blocked(exercise, *targets)`` call in the code ``source``: (its exercise number, its target
    paths). An argument counts when it is a string literal, a name bound to one, or ``*NAME`` with NAME bound to
    a tuple or list of them, in ``source`` itself or in ``constants`` (names bound by earlier cells,
    :func:`string_constants`); a number given otherwise reads as None, other targets are left out. Lines of
    IPython magic are skipped; code that does not parse has no calls."""
    known = {**(constants or {}), **string_constants(source)}
    tree = _parsed(source)
    calls = []
    for node in ast.walk(tree) if tree is not None else []:
        if not isinstance(node, ast.Call):
            continue
        function = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if function != "library_blocked" or not node.args:
            continue
        strings: list[list[str]] = []
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                strings.append([arg.value])
            elif isinstance(arg, ast.Name) and len(known.get(arg.id, ())) == 1:
                strings.append(list(known[arg.id]))
            elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name) and arg.value.id in known:
                strings.append(list(known[arg.value.id]))
            else:
                strings.append([])
        number = strings[0][0] if len(strings[0]) == 1 and not isinstance(node.args[0], ast.Starred) else None
        calls.append((number, [target for group in strings[1:] for target in group]))
    return calls


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


def is_answer(cell) -> bool:
    """True for a markdown cell tagged :data:`ANSWER_TAG`: a worked answer that only the solutions guide shows."""
    return cell.cell_type == "markdown" and ANSWER_TAG in cell.get("metadata", {}).get("tags", [])


def without_markers(source: str) -> str:
    """``source`` with its ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines removed (the solved function)."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


def _first_line(cell) -> str:
    return cell.source.lstrip().split("\n", 1)[0] if cell.source.strip() else ""


def exercise_number(cell) -> str | None:
    """"4.1" for a markdown cell whose first line is a well-formed ``### Exercise 4.1 — …`` heading, else None."""
    match = EXERCISE_HEADING.match(_first_line(cell)) if cell.cell_type == "markdown" else None
    return match["number"] if match else None


def find_exercises(nb, name: str = "notebook", *, require_tags: bool = False) -> list[Exercise]:
    """The exercises of ``nb`` in order; ``ValueError`` when one breaks the conventions of this module.

    ``require_tags``: also when a heading lacks its kind, time and stars (:func:`parse_heading`). The book builds
    without it, so a notebook whose headings are not yet tagged still builds; the tests require them.
    """
    exercises: list[Exercise] = []
    constants: dict[str, tuple[str, ...]] = {}  # names bound to strings so far: the targets of library_blocked
    for index, cell in enumerate(nb.cells):
        first_line = _first_line(cell)
        if cell.cell_type == "code":
            constants.update(string_constants(cell.source))
        if cell.cell_type == "markdown" and first_line.startswith("### Exercise"):
            number = exercise_number(cell)
            if number is None:
                raise ValueError(f"{name}: exercise heading {first_line!r} must read {HEADING_FORMAT}")
            heading = parse_heading(first_line, name)
            if require_tags and heading["stars"] is None:
                raise ValueError(f"{name}: exercise {number}: heading {first_line!r} lacks its kind, time and "
                                 f"difficulty; write {HEADING_FORMAT} with kind one of {', '.join(KINDS)}, T a whole "
                                 f"number of minutes and 1 to 3 {STAR}, e.g. '(derivation, 15 min, {STAR * 2})'")
            exercises.append(Exercise(number, index, title=heading["title"], kind=heading["kind"],
                                      minutes=heading["minutes"], stars=heading["stars"]))
        elif cell.cell_type == "code" and BEGIN in cell.source:
            if not exercises:
                raise ValueError(f"{name}: cell {index} holds a solution but no '### Exercise' heading precedes it")
            if is_check(cell):
                raise ValueError(f"{name}: cell {index} of exercise {exercises[-1].number} holds a solution and is "
                                 f"tagged {CHECK_TAG!r}; a solution cell carries no tag (remove it in the .py pair's "
                                 f"'# %%' line and update the .ipynb)")
            exercises[-1].solutions.append(index)
        elif is_check(cell):
            if not exercises or not exercises[-1].solutions:
                raise ValueError(f"{name}: check cell {index} comes before any exercise solution")
            exercises[-1].checks.append(index)
            for number, targets in blocked_calls(cell.source, constants):
                if number == exercises[-1].number:
                    exercises[-1].blocked += [t for t in targets if t not in exercises[-1].blocked]
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
    """A copy of ``nb`` with every solution block stubbed, the outputs of exercise cells cleared, and the text of
    every ``answer`` cell replaced by :data:`ANSWER_STUB` (the cells stay, so the copy has the same cells)."""
    student = copy.deepcopy(nb)
    for exercise in find_exercises(nb, name):
        for index in exercise.solutions:
            cell = student.cells[index]
            cell.source = strip_solutions(cell.source, exercise.number)
            _clear(cell)
        for index in exercise.checks:
            _clear(student.cells[index])
    for cell in student.cells:
        if is_answer(cell):
            cell.source = ANSWER_STUB
            cell.pop("attachments", None)
    return student


def shown_text(nb) -> str:
    """Everything a reader of ``nb`` sees as text: every cell's source and every code cell's printed output."""
    return "\n".join(cell.source + "\n" + (cell_text(cell) if cell.cell_type == "code" else "")
                     for cell in nb.cells)


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def normalised(text: str) -> str:
    """``text`` with runs of white space made one space and typographic quotes made straight (Sphinx curls them)."""
    return " ".join(text.translate(_QUOTES).split())


# Markup a rendered page does not show as it is written: math, inline code, links' targets, HTML tags, emphasis
# and heading marks, and what Sphinx's smartquotes rewrite (--, ...). Prose is cut at each into plain fragments.
_MARKUP = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\]\([^)]*\)|<[^>]+>|\*+|_+|#+|\[|\]|^\s*[->|]|\||-{2,}|\.{3}|\n",
                     re.S | re.M)
LEAK_MIN_LENGTH = 13  # shorter solution lines ("return out", ")") are too generic to count as a leak
# Prose runs of an answer cell between its math and markup are shorter and more common than code lines ("the exact
# posterior", ", whatever the" occur in docstrings and other notebooks too): only runs this long count as a leak.
PROSE_LEAK_MIN_LENGTH = 25


def prose_fragments(markdown: str) -> list[str]:
    """The runs of plain text in ``markdown`` between its markup (:data:`_MARKUP`), normalised: what a rendered
    page shows of it character for character, whatever the math and the links became."""
    return [normalised(part) for part in _MARKUP.split(markdown) if normalised(part)]


def leak_texts(nb, name: str = "notebook", also_shown: str = "", min_length: int = LEAK_MIN_LENGTH) -> list[str]:
    """The solution text of ``nb`` that its student copy must not show, normalised (:func:`normalised`).

    That is: every line inside a solution block, every line that a solution or check cell printed (a passing
    check says so), of at least ``min_length`` characters, and every plain-text fragment of an ``answer`` cell
    (:func:`prose_fragments`) of at least :data:`PROSE_LEAK_MIN_LENGTH`, leaving out those that the student copy (or ``also_shown``, e.g. the other
    notebooks) shows anyway. The student copies (tests/test_course.py) and the student site
    (``site/check_pages.py``) are checked against this list; it is derived from the notebook, not kept by hand.
    """
    candidates: list[tuple[str, int]] = []  # (text, the least length at which it counts)
    for exercise in find_exercises(nb, name):
        for index in exercise.solutions:
            candidates += [(line, min_length) for line in solution_lines(nb.cells[index].source)]
        for index in exercise.solutions + exercise.checks:
            candidates += [(line, min_length) for line in cell_text(nb.cells[index]).splitlines()]
    for cell in nb.cells:
        if is_answer(cell):
            candidates += [(part, max(min_length, PROSE_LEAK_MIN_LENGTH)) for part in prose_fragments(cell.source)]
    shown = normalised(shown_text(student_notebook(nb, name)) + "\n" + also_shown)
    found: list[str] = []
    for text, least in ((normalised(text), least) for text, least in candidates):
        if len(text) >= least and text not in shown and text not in found:
            found.append(text)
    return found


def _title(nb, name: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip().splitlines()[0][2:].strip()
    return name


def _quoted(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines())


def _prompt(nb, index: int) -> str:
    """The last paragraph of the nearest markdown cell before cell ``index`` that is not an answer: the prompt."""
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type == "markdown" and not is_answer(cell) and cell.source.strip():
            return re.split(r"\n\s*\n", cell.source.strip())[-1]
    return ""


def solutions_guide(nb, name: str = "notebook") -> str | None:
    """The solutions guide of one notebook, in Markdown; None when it has no exercise and no ``answer`` cell.

    In notebook order: each prose answer (a markdown cell tagged ``answer``) under the section it belongs to,
    after the prompt it answers (the last paragraph before it); each exercise with its kind, time, stars and
    points, its marking rubric (:func:`rubric`), its statement, its solved function (the solution cells without
    the markers), what its checks print when it is solved (the stored outputs), and its prose answers.
    """
    exercises = {exercise.heading: exercise for exercise in find_exercises(nb, name)}
    if not exercises and not any(is_answer(cell) for cell in nb.cells):
        return None
    answered, current = set(), None  # the exercises with a worked answer in prose among their cells
    for index, cell in enumerate(nb.cells):
        current = exercises[index].number if index in exercises else current
        if current is not None and is_answer(cell):
            answered.add(current)
    parts = [f"# Solutions: {_title(nb, name)}",
             f"From `{name}`. For the lecturer: keep this guide away from the student copies."]
    section, exercise = "", None
    for index, cell in enumerate(nb.cells):
        text = cell.source.strip()
        if cell.cell_type == "markdown" and text.startswith("## "):
            section = text.splitlines()[0][3:].strip()
        if index in exercises:
            exercise = exercises[index]
            heading, _, statement = text.partition("\n")
            parts += [f"## {heading.lstrip('#').strip()}", _tags_line(exercise),
                      rubric(exercise, has_answer=exercise.number in answered),
                      _quoted(statement) if statement.strip() else ""]
        elif exercise is not None and index in exercise.solutions:
            parts += ["**Solution.**", f"```python\n{without_markers(cell.source).strip()}\n```"]
            if cell_text(cell).strip():
                parts += [f"```text\n{cell_text(cell).strip()}\n```"]
        elif exercise is not None and index in exercise.checks:
            printed = cell_text(cell).strip()
            if printed:
                parts += ["**The check prints, when it is solved:**", f"```text\n{printed}\n```"]
        elif is_answer(cell):
            if exercise is None:
                parts += [f"## {section or 'Answer'}: answer", _quoted(_prompt(nb, index))]
            parts += ["**Answer.**", text]
    return "\n\n".join(part for part in parts if part) + "\n"


def _stars(exercise: Exercise) -> str:
    return STAR * exercise.stars if exercise.stars else "–"


def _tags_line(exercise: Exercise) -> str:
    """The exercise's kind, time, stars and points in one line of the guide."""
    kind = exercise.kind or "not tagged"
    minutes = f"{exercise.minutes} min" if exercise.minutes else "–"
    return (f"*Kind:* {kind} · *time:* {minutes} · *difficulty:* {_stars(exercise)} · "
            f"*points:* {exercise.points:g}")


_PARTIAL = {  # partial credit when marking by hand, per kind of exercise
    "derivation": "Partial credit, by hand: about half the points for passing code with no written derivation, "
                  "and about half for a derivation that reaches the right closed form while the code still fails "
                  "a check; about a quarter for one that is set up correctly (the right objective, constraint or "
                  "expectation) but not finished.",
    "implementation": "Partial credit, by hand: about half the points for code that is right in its structure "
                      "but fails a check on one detail the check message names (a constant, a shape, a sign, "
                      "an edge case such as an empty cluster); none for code that does not run.",
    "analysis": "Partial credit, by hand: about half the points for a right computation whose reading (the "
                "conclusion the exercise asks for) is missing or not supported by the printed numbers.",
}


def rubric(exercise: Exercise, *, has_answer: bool = False) -> str:
    """The marking rubric of one exercise, for the solutions guide: what earns full marks, and partial credit.

    Full marks: every check passes, calling none of the library functions the checks block (the grader enforces
    both: :func:`grade_submission` gives the points only when every check passes); for a derivation also the
    derivation written out, marked against the worked answer (``has_answer``: the exercise has ``answer`` cells)
    or the solution. Then partial credit for hand marking, by kind (:data:`_PARTIAL`).
    """
    blocked = (" without calling " + ", ".join(f"`{target}`" for target in exercise.blocked)
               + " (the checks block them)") if exercise.blocked else ""
    worth = f"{exercise.points:g} point{'' if exercise.points == 1 else 's'}"
    full = f"**Rubric ({worth}).** Full marks: every check passes{blocked}"
    if exercise.kind == "derivation":
        reference = "the worked answer below" if has_answer else "the solution below"
        full += (f", and the derivation is written out (on paper or in a markdown cell) and agrees with "
                 f"{reference}, step by step")
    elif exercise.kind == "analysis":
        full += ", and the conclusion the exercise asks for is stated and follows from the printed numbers"
    partial = _PARTIAL.get(exercise.kind or "", "Partial credit, by hand: about half the points for an answer "
                                                "that fails a check on one detail the check message names.")
    return f"{full}. {partial} Calling a blocked library function earns nothing."


def exercise_table(rows: list[tuple[str, Exercise]]) -> str:
    """The Markdown table of the course's exercises, one row per (notebook name, exercise): notebook, number,
    title, kind, time, stars and points, and a last row with the totals."""
    lines = ["| notebook | exercise | title | kind | time | stars | points |", "|---|---|---|---|---|---|---|"]
    for name, exercise in rows:
        minutes = f"{exercise.minutes} min" if exercise.minutes else "–"
        title = exercise.title.replace("|", "\\|")  # a bar would end the cell
        lines.append(f"| {name} | {exercise.number} | {title} | {exercise.kind or '–'} | {minutes} | "
                     f"{_stars(exercise)} | {exercise.points:g} |")
    minutes = sum(exercise.minutes or 0 for _, exercise in rows)
    points = sum(exercise.points for _, exercise in rows)
    lines.append(f"| **all** | {len(rows)} | | | {minutes} min | | {points:g} |")
    return "\n".join(lines)


def check_points(exercise: Exercise) -> list[float]:
    """The nbgrader points of each check cell of ``exercise``: its :attr:`Exercise.points` shared evenly (to a
    hundredth; the last check takes what rounding left), so that they add up to the exercise's points."""
    count = len(exercise.checks)
    shares = [round(exercise.points / count, 2) for _ in range(count - 1)]
    shares.append(round(exercise.points - sum(shares), 2))
    return [int(share) if float(share).is_integer() else share for share in shares]


def nbgrader_notebook(nb, name: str = "notebook"):
    """A copy of ``nb`` with nbgrader's metadata: solution cells, and check cells as autograded tests whose
    points add up to the exercise's points (:func:`check_points`)."""
    source = copy.deepcopy(nb)
    for exercise in find_exercises(nb, name):
        tag = "ex" + exercise.number.replace(".", "_")
        for position, index in enumerate(exercise.solutions):
            source.cells[index].metadata["nbgrader"] = {
                "grade": False, "solution": True, "locked": False, "task": False,
                "grade_id": f"{tag}_solution_{position}", "schema_version": NBGRADER_SCHEMA}
        for position, (index, points) in enumerate(zip(exercise.checks, check_points(exercise))):
            source.cells[index].metadata["nbgrader"] = {
                "grade": True, "solution": False, "locked": True, "task": False, "points": points,
                "grade_id": f"{tag}_check_{position}", "schema_version": NBGRADER_SCHEMA}
    answers = [index for index, cell in enumerate(source.cells) if is_answer(cell)]
    for position, index in enumerate(answers):  # written answers: cleared by nbgrader, marked by hand (0 points)
        source.cells[index].metadata["nbgrader"] = {
            "grade": True, "solution": True, "locked": False, "task": False, "points": 0,
            "grade_id": f"answer_{position}", "schema_version": NBGRADER_SCHEMA}
    return source


def build_course(notebooks: list[Path], out: Path) -> dict[Path, int]:
    """Write ``out/student/<name>.ipynb`` for each notebook, ``out/nbgrader/source/<stem>/<name>.ipynb`` for
    each one that has exercises, and the solutions guide ``out/solutions/<stem>.md`` (with an index,
    ``out/solutions/README.md``) for each one that has exercises or answers; return each student copy's path
    with its number of exercises.

    Every notebook is read and converted before anything is written, so a broken one leaves ``out`` as it was.
    """
    converted, table = [], []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        exercises = find_exercises(nb, path.name)
        table += [(path.stem, exercise) for exercise in exercises]
        converted.append((path, len(exercises), student_notebook(nb, path.name), nbgrader_notebook(nb, path.name),
                          solutions_guide(nb, path.name),
                          sum(is_answer(cell) for cell in nb.cells), _title(nb, path.name)))
    written = {}
    index = ["# Solutions guide", "Worked solutions of the exercises and answers to the prompts, one page per "
             "notebook, built by `make course` from the solution notebooks (README, \"Course mode\"). Each "
             "exercise is worth its stars in points; its page gives the marking rubric.", ""]
    if table:
        index += ["## The exercises", "", exercise_table(table), "", "## The notebooks", ""]
    header_lines = len(index)
    for path, count, student, source, guide, answers, title in converted:
        target = out / "student" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student, target)
        if count:  # an nbgrader assignment needs something to grade
            graded = out / "nbgrader" / "source" / path.stem / path.name
            graded.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(source, graded)
        if guide is not None:
            page = out / "solutions" / f"{path.stem}.md"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(guide, encoding="utf-8")
            index.append(f"- [{title}]({page.name}): {count} exercises, {answers} prose answers")
        written[target] = count
    if len(index) > header_lines:
        (out / "solutions" / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    return written


def _error_of(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return None


EXECUTION_RETRIES = 1  # a safety net only (reported on stderr); stalled cells are stopped by the shared watchdog


class _Environment:
    """Set environment variables for the kernels started inside the ``with`` block (a kernel inherits them), and
    restore the old values after it."""

    def __init__(self, **values: str):
        self.values, self.saved = values, {}

    def __enter__(self):
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value
        return self

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        return False


def execute_notebook(path: Path, timeout: int = DEFAULT_CELL_TIMEOUT, silent_timeout: float = DEFAULT_SILENT_TIMEOUT,
                     failed_dir: Path | None = None, *, notebook_timeout: float | None = None,
                     retries: int = EXECUTION_RETRIES, quick: bool | None = None):
    """Run a notebook top to bottom in a fresh kernel, errors allowed; figures go to a temporary folder.

    The execution is :func:`dggbook.book.execution.execute_notebook`, the one the book runner uses: a cell
    silent for ``silent_timeout`` seconds or running past ``timeout``, or a run past ``notebook_timeout`` in all,
    stops the run with ``CellStalled`` (naming the notebook and the cell; the partly executed notebook is kept in
    ``failed_dir``, by default ``build/failed/``). Such a stop runs the notebook again ``retries`` times, and
    says so on stderr, before giving up. ``quick``: True or False sets ``DGGBOOK_QUICK`` for the kernel; None
    leaves the environment as it is.
    """
    values = {} if quick is None else {"DGGBOOK_QUICK": "1" if quick else "0"}
    with tempfile.TemporaryDirectory() as figures, _Environment(DGGBOOK_FIGURES=figures, **values):
        return run_notebook(path, cell_timeout=timeout, silent_timeout=silent_timeout, allow_errors=True,
                            failed_dir=build_dir() / "failed" if failed_dir is None else failed_dir,
                            retries=retries, notebook_timeout=notebook_timeout,
                            what_next=f"then rerun: python -m dggbook.book.course --execute {path}").nb


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


def _submitted(submission, exercises: list[Exercise], name: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The student's solution cells of each exercise (the code cells after its heading that are not checks), and
    what keeps an exercise from being graded: it is missing, or has another number of solution cells."""
    found: dict[str, list[str]] = {}
    number = None
    for cell in submission.cells:
        if (heading := exercise_number(cell)) is not None:
            number = heading
            found[number] = []
        elif number is not None and cell.cell_type == "code" and not is_check(cell):
            found[number].append(cell.source)
    problems = {}
    for exercise in exercises:
        cells = found.get(exercise.number)
        if cells is None:
            problems[exercise.number] = f"{name}: exercise {exercise.number} is missing from the submission"
        elif len(cells) != len(exercise.solutions):
            problems[exercise.number] = (f"{name}: exercise {exercise.number} has {len(cells)} solution cells; "
                                         f"the solution notebook has {len(exercise.solutions)}")
    return found, problems


def submitted_solutions(submission, exercises: list[Exercise], name: str) -> dict[str, list[str]]:
    """The student's solution cells of each exercise: the code cells after its heading that are not checks.

    ``ValueError`` when an exercise is missing or has another number of solution cells than the solution notebook.
    """
    found, problems = _submitted(submission, exercises, name)
    if problems:
        raise ValueError(next(iter(problems.values())))
    return found


def graded_notebook(solution, submission, name: str = "notebook", *, strict: bool = True):
    """The solution notebook with only its solution cells taken from the submission, as nbgrader does: the
    checks and everything else are the lecturer's, so editing or deleting a check gains nothing.

    ``strict``: a missing exercise, or one with another number of solution cells, raises ``ValueError``; without
    it, such an exercise keeps the student copy's stub, and the problems are returned too: ``(notebook, problems)``
    with ``problems`` mapping an exercise number to what is wrong with it.
    """
    exercises = find_exercises(solution, name)
    answers, problems = _submitted(submission, exercises, name)
    if strict and problems:
        raise ValueError(next(iter(problems.values())))
    graded = copy.deepcopy(solution)
    for exercise in exercises:
        for index in exercise.solutions:
            graded.cells[index].source = strip_solutions(solution.cells[index].source, exercise.number)
        if exercise.number not in problems:
            for index, source in zip(exercise.solutions, answers[exercise.number]):
                graded.cells[index].source = source
    for cell in graded.cells:
        if cell.cell_type == "code":
            _clear(cell)
    return graded if strict else (graded, problems)


# ------------------------------------------------------------------------------------------------ the mark sheet
MARK_FIELDS = ("student", "notebook", "exercise", "passed", "not_attempted", "wrong", "timed_out",
               "checks_passed", "checks_total", "first_failure", "points_possible", "points_earned")
DEFAULT_NOTEBOOK_TIMEOUT = 1200  # s per student notebook; the slowest (07) runs in ~2 min in quick mode


@dataclass
class Mark:
    """One row of the class mark sheet: one student's result on one exercise.

    Exactly one of ``passed`` (every check passes), ``not_attempted`` (the solution cells are the student copy's
    stub, or the exercise is missing), ``wrong`` (attempted, and a check or the solution cell fails, or the
    exercise cannot be graded) and ``timed_out`` (the notebook was stopped, by a limit, before its checks ran)
    is true. ``first_failure`` is the first error the student would have seen: the solution cell's, else the
    first failing check's (empty when passed). ``points_possible`` is the exercise's worth (its stars,
    :attr:`Exercise.points`); ``points_earned`` is all of it when ``passed`` and 0 otherwise: an exercise earns
    its points only when every check passes (partial credit is the lecturer's, by the guide's rubric).
    """

    student: str
    notebook: str
    exercise: str
    passed: bool
    not_attempted: bool
    wrong: bool
    timed_out: bool
    checks_passed: int
    checks_total: int
    first_failure: str = ""
    points_possible: float = 0
    points_earned: float = 0


def student_name(path: Path) -> str:
    """Who returned ``path``: the folder it is in (``returned/alice/04_pi_update.ipynb``), or the folder above
    when that is named after the notebook, as in nbgrader's ``submitted/alice/04_pi_update/04_pi_update.ipynb``."""
    path = Path(path).absolute()
    folder = path.parent
    return folder.parent.name if folder.name == path.stem else folder.name


def _unchanged(sources: list[str], solution, exercise: Exercise) -> bool:
    """True when the submitted solution cells are the student copy's, up to white space."""
    stubs = [strip_solutions(solution.cells[index].source, exercise.number) for index in exercise.solutions]
    return [normalised(s) for s in sources] == [normalised(s) for s in stubs]


def grade_submission(submission: Path, solution: Path, *, student: str | None = None,
                     timeout: int = DEFAULT_CELL_TIMEOUT, silent_timeout: float = DEFAULT_SILENT_TIMEOUT,
                     notebook_timeout: float | None = DEFAULT_NOTEBOOK_TIMEOUT, quick: bool | None = True) -> list[Mark]:
    """Grade one returned notebook: its solution cells (the student's code runs!) inside the solution notebook
    (:func:`graded_notebook`), run once with no retry under the limits; one :class:`Mark` per exercise.

    A stop (a silent cell, a cell past ``timeout``, the notebook past ``notebook_timeout``) keeps the marks of
    the exercises whose checks all ran before it and records the others as timed out, naming the cell.
    """
    solved = nbformat.read(solution, as_version=4)
    exercises = find_exercises(solved, solution.name)
    returned = nbformat.read(submission, as_version=4)
    graded, problems = graded_notebook(solved, returned, submission.name, strict=False)
    sources, _ = _submitted(returned, exercises, submission.name)
    stopped_at, stop_message = None, ""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / submission.name
        nbformat.write(graded, path)
        try:
            executed = execute_notebook(path, timeout, silent_timeout, Path(folder) / "stopped",
                                        notebook_timeout=notebook_timeout, retries=0, quick=quick)
        except CellStalled as stall:
            executed = nbformat.read(stall.kept, as_version=4)
            stopped_at = stall.cell_index if stall.cell_index is not None else 0
            stop_message = f"timed out: cell {stall.cell_index} ({stall.first_line!r}) {stall.reason}"
    who = student or student_name(submission)
    marks = []
    for exercise in exercises:
        checks = [_error_of(executed.cells[i]) for i in exercise.checks]
        ran = stopped_at is None or max(exercise.checks) < stopped_at
        solution_errors = [_error_of(executed.cells[i]) for i in exercise.solutions]
        failure = next((e for e in solution_errors + checks if e is not None), None) if ran else stop_message
        mark = Mark(who, submission.name, exercise.number, passed=False, not_attempted=False, wrong=False,
                    timed_out=False, checks_passed=sum(e is None for e in checks) if ran else 0,
                    checks_total=len(exercise.checks), first_failure=failure or "",
                    points_possible=exercise.points)
        stub_raised = failure is not None and failure.startswith("NotImplementedError") and "not solved yet" in failure
        if exercise.number in problems:
            mark.not_attempted = exercise.number not in sources
            mark.wrong = not mark.not_attempted
            mark.checks_passed, mark.first_failure = 0, problems[exercise.number]
        elif _unchanged(sources[exercise.number], solved, exercise) or (ran and stub_raised):
            mark.not_attempted = True
        elif not ran:
            mark.timed_out = True
        elif mark.checks_passed == mark.checks_total and not any(solution_errors):
            mark.passed = True
        else:
            mark.wrong = True
        mark.points_earned = mark.points_possible if mark.passed else 0
        marks.append(mark)
    return marks


def grade_notebook(submission: Path, solution: Path, timeout: int = DEFAULT_CELL_TIMEOUT) -> dict[str, tuple[int, int]]:
    """Per exercise, (checks passed, checks) of a returned notebook (:func:`grade_submission`, at the settings in
    the environment); ``ValueError`` when an exercise cannot be graded (missing, or other solution cells)."""
    solved = nbformat.read(solution, as_version=4)
    submitted_solutions(nbformat.read(submission, as_version=4), find_exercises(solved, solution.name),
                        submission.name)
    marks = grade_submission(submission, solution, timeout=timeout, notebook_timeout=None, quick=None)
    return {mark.exercise: (mark.checks_passed, mark.checks_total) for mark in marks}


def write_mark_sheet(marks: list[Mark], folder: Path) -> tuple[Path, Path]:
    """Write ``folder/marks.csv`` (booleans as 1/0) and ``folder/marks.json`` (a list of rows); return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [asdict(mark) for mark in marks]
    with open(folder / "marks.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MARK_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: int(v) if isinstance(v, bool) else v for k, v in row.items()})
    (folder / "marks.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder / "marks.csv", folder / "marks.json"


def grade_class(paths: list[Path], solutions: Path, marks_dir: Path, **limits) -> list[Mark]:
    """Grade every returned notebook in ``paths`` against ``solutions/<same name>`` (:func:`grade_submission`,
    ``limits`` passed on), print each student's result, and write the class mark sheet into ``marks_dir``
    (:func:`write_mark_sheet`). A notebook that cannot be read is skipped with its reason on stderr; one that
    stops is recorded and the batch goes on. ``ValueError`` (before any run) when a solution notebook is missing.
    """
    missing = sorted({p.name for p in paths if not (solutions / p.name).is_file()})
    if missing:
        raise ValueError(f"--solutions: no {', '.join(missing)} in {solutions}/ (the folder of solution notebooks)")
    marks: list[Mark] = []
    for path in paths:
        start = time.perf_counter()
        try:
            found = grade_submission(path, solutions / path.name, **limits)
        except (ValueError, OSError, nbformat.reader.NotJSONError) as error:
            print(f"{path}: not graded: {error}", file=sys.stderr)
            continue
        marks += found
        passed = sum(mark.passed for mark in found)
        earned, possible = sum(m.points_earned for m in found), sum(m.points_possible for m in found)
        print(f"{path} ({found[0].student if found else student_name(path)}): {passed} of {len(found)} exercises "
              f"pass, {earned:g} of {possible:g} points ({time.perf_counter() - start:.0f} s)")
        for mark in found:
            state = next(k for k in ("passed", "not_attempted", "wrong", "timed_out") if getattr(mark, k))
            detail = f": {mark.first_failure.splitlines()[0]}" if mark.first_failure else ""
            print(f"  Exercise {mark.exercise}: {state.replace('_', ' ')}, {mark.checks_passed}/{mark.checks_total} "
                  f"checks pass, {mark.points_earned:g}/{mark.points_possible:g} points{detail}")
    csv_path, json_path = write_mark_sheet(marks, marks_dir)
    print(f"mark sheet: {csv_path}, {json_path} ({len(marks)} rows)")
    return marks


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dggbook.book.course", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="solution notebooks (notebooks/NN_*.ipynb)")
    parser.add_argument("--out", type=Path, default=Path("course"), help="output folder (default: course/)")
    parser.add_argument("--execute", action="store_true",
                        help="also run each student copy and check that exactly its check cells fail")
    parser.add_argument("--grade", action="store_true",
                        help="instead: grade each given returned notebook: its solution cells run inside the solution "
                             "notebook of the same name (--solutions), and a class mark sheet is written (--marks)")
    parser.add_argument("--solutions", type=Path, default=Path("notebooks"),
                        help="with --grade: the folder of solution notebooks (default: notebooks/)")
    parser.add_argument("--marks", type=Path, default=None,
                        help="with --grade: the folder for marks.csv and marks.json (default: OUT/marks)")
    parser.add_argument("--notebook-timeout", type=_positive, default=DEFAULT_NOTEBOOK_TIMEOUT,
                        help=f"with --grade: seconds one student notebook may run in all; past it the notebook is "
                             f"recorded as timed out and the next one runs (default {DEFAULT_NOTEBOOK_TIMEOUT})")
    parser.add_argument("--cell-timeout", type=_positive, default=DEFAULT_CELL_TIMEOUT,
                        help=f"seconds one cell may run (default {DEFAULT_CELL_TIMEOUT})")
    parser.add_argument("--silent-timeout", type=_positive, default=DEFAULT_SILENT_TIMEOUT,
                        help=f"seconds a cell may stay silent, no output and no CPU (default {DEFAULT_SILENT_TIMEOUT})")
    parser.add_argument("--full", action="store_true",
                        help="with --grade: run at the book's full settings instead of quick mode (DGGBOOK_QUICK=1)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"error: notebooks: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.grade:
        try:
            grade_class(args.notebooks, args.solutions, args.marks or args.out / "marks",
                        timeout=int(args.cell_timeout), silent_timeout=args.silent_timeout,
                        notebook_timeout=args.notebook_timeout, quick=not args.full)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    try:
        written = build_course(args.notebooks, args.out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path, count in written.items():
        print(f"wrote {path} ({count} exercises)")
    if (args.out / "solutions" / "README.md").is_file():
        print(f"wrote the solutions guide {args.out / 'solutions'}/")
    if not args.execute:
        return 0
    problems = []
    for path in written:
        try:
            found = execute_student_notebook(path, int(args.cell_timeout))
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
