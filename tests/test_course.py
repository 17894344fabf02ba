"""Course mode (README, "Course mode"): the exercises, the student copies and the notebooks' header and closing.

The student copies are built from the committed notebooks into a temporary folder and executed in quick mode:
every cell tagged ``check`` must fail there (the solutions are stubs) and every other cell must run. In the same
kernel, the solution notebook's exercises then run after the copy, and every cell of them must pass: one
execution per notebook checks the student copy and runs every notebook (``make notebooks`` runs them once
more under nbval, outside ``make test``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from dggbook.book.course import (
    BEGIN,
    END,
    build_course,
    check_points,
    execute_notebook,
    execute_student_notebook,
    find_exercises,
    grade_notebook,
    is_answer,
    is_check,
    nbgrader_notebook,
    parse_heading,
    solution_lines,
    solutions_guide,
    strip_solutions,
    student_notebook,
)
from dggbook.book.course import main as course_main
from dggbook.book.runner import cell_text

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITH_EXERCISES = [p for p in NOTEBOOKS if "01" <= p.name[:2] <= "09"]
# each notebook's number of exercises, as its headings, the README and the roadmap give it (29 in all)
EXERCISE_COUNTS = {"01": 4, "02": 3, "03": 4, "04": 3, "05": 3, "06": 3, "07": 5, "08": 2, "09": 2}
LINK_TARGETS = ("notation.md", "00_roadmap.ipynb")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


SOLVED = '''def my_sum(a, b):
    """a + b."""
    ### BEGIN SOLUTION
    both = a + b
    return both
    ### END SOLUTION'''


def test_strip_solutions_replaces_the_block_by_an_indented_stub():
    student = strip_solutions(SOLVED, "9.1")
    assert student.splitlines() == ["def my_sum(a, b):", '    """a + b."""',
                                    ('    raise NotImplementedError("Exercise 9.1 is not solved yet: '
                                     'write your solution here.")')]
    namespace: dict = {}
    exec(student, namespace)  # noqa: S102 (our own test string) the stubbed cell still runs: it only defines
    with pytest.raises(NotImplementedError, match="9.1"):
        namespace["my_sum"](1, 2)


@pytest.mark.parametrize("source, message", [
    (f"def f():\n    {BEGIN}\n    return 1\n", "never closed"),
    (f"def f():\n    return 1\n    {END}\n", "without"),
    (f"def f():\n    {BEGIN}\n    {BEGIN}\n    {END}\n", "nested"),
    (f"{BEGIN}\nx = 1\n{END}\n", "function body"),
])
def test_strip_solutions_rejects_broken_markers(source, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(source, "9.1")


def test_solution_lines_are_the_lines_between_the_markers():
    assert solution_lines(SOLVED) == ["both = a + b", "return both"]


def _toy_notebook(*, with_check: bool = True, heading: str = "### Exercise 9.1 — sum"):
    cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("## Exercises"),
             nbformat.v4.new_markdown_cell(f"{heading}\nWrite it."), nbformat.v4.new_code_cell(SOLVED)]
    if with_check:
        cells.append(nbformat.v4.new_code_cell("assert my_sum(1, 2) == 3", metadata={"tags": ["check"]}))
    return nbformat.v4.new_notebook(cells=cells)


TAGGED = "### Exercise 9.1 — The sum (of two numbers) (derivation, 15 min, ★★)"


def test_parse_heading_reads_title_kind_minutes_and_stars():
    assert parse_heading(TAGGED) == {"number": "9.1", "title": "The sum (of two numbers)", "kind": "derivation",
                                     "minutes": 15, "stars": 2}
    assert parse_heading("### Exercise 9.1 — The sample (23)") == {
        "number": "9.1", "title": "The sample (23)", "kind": None, "minutes": None, "stars": None}
    exercise = find_exercises(_toy_notebook(heading=TAGGED))[0]
    assert (exercise.kind, exercise.minutes, exercise.stars, exercise.points) == ("derivation", 15, 2, 2)
    assert find_exercises(_toy_notebook())[0].points == 1  # untagged: one point per check, as before


@pytest.mark.parametrize("heading, message", [
    ("### Exercise 9.1 — sum (derivations, 15 min, ★★)", "the kind must be one of derivation, implementation"),
    ("### Exercise 9.1 — sum (analysis, 15 min, ★★★★)", "the stars 1 to 3"),
    ("### Exercise 9.1 — sum (analysis, 0 min, ★)", "at least 1 minute"),
    ("### Exercise 9.1 — sum (analysis, 15 minutes, ★)", "do not parse"),
    ("### Exercise 9.1 — sum (analysis, ★, 15 min)", "do not parse"),
])
def test_broken_tags_are_refused_with_the_expected_format(heading, message):
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        find_exercises(_toy_notebook(heading=heading), "99_toy.ipynb")
    assert str(refused.value).startswith("99_toy.ipynb: exercise 9.1:")
    assert "'### Exercise N.k — Title (kind, T min, ★…)'" in str(refused.value)


def test_require_tags_refuses_a_heading_without_them_and_names_it():
    with pytest.raises(ValueError) as refused:
        find_exercises(_toy_notebook(), "99_toy.ipynb", require_tags=True)
    assert str(refused.value).startswith(
        "99_toy.ipynb: exercise 9.1: heading '### Exercise 9.1 — sum' lacks its kind, time and difficulty; write "
        "'### Exercise N.k — Title (kind, T min, ★…)'")
    assert find_exercises(_toy_notebook(heading=TAGGED), require_tags=True)[0].stars == 2


def test_check_points_add_up_to_the_stars():
    nb = _toy_notebook(heading=TAGGED.replace("★★)", "★★★)"))
    for _ in range(2):  # three checks share three stars... and then seven checks share them
        nb.cells.append(nbformat.v4.new_code_cell("assert my_sum(0, 0) == 0", metadata={"tags": ["check"]}))
    exercise = find_exercises(nb)[0]
    assert check_points(exercise) == [1, 1, 1]
    for _ in range(4):
        nb.cells.append(nbformat.v4.new_code_cell("assert my_sum(0, 1) == 1", metadata={"tags": ["check"]}))
    exercise = find_exercises(nb)[0]
    points = [cell.metadata["nbgrader"]["points"] for cell in nbgrader_notebook(nb).cells if is_check(cell)]
    assert points == check_points(exercise) and len(points) == 7
    assert sum(points) == pytest.approx(3, abs=1e-9) and min(points) > 0


def test_guide_gives_each_exercise_its_tags_and_rubric_and_the_index_the_course_table(tmp_path):
    nb = _toy_notebook(heading=TAGGED)
    nb.cells[4].source = ('with library_blocked("9.1", "operator.add"):\n    assert my_sum(1, 2) == 3\n'
                          'with library_blocked("9.2", "operator.mul"):  # another exercise\'s number: not 9.1\'s\n'
                          '    pass')
    nb.cells.append(nbformat.v4.new_markdown_cell("Adding the two numbers is the derivation.",
                                                  metadata={"tags": ["answer"]}))
    guide = solutions_guide(nb, "99_toy.ipynb")
    assert "*Kind:* derivation · *time:* 15 min · *difficulty:* ★★ · *points:* 2" in guide
    assert "**Rubric (2 points).** Full marks: every check passes without calling `operator.add` (the" in guide
    assert "operator.mul" not in guide.split("**Solution.**")[0]
    assert "the derivation is written out (on paper or in a markdown cell) and agrees with the worked answer" in guide
    assert "Partial credit, by hand: about half the points for passing code with no written derivation" in guide
    untagged = solutions_guide(_toy_notebook(), "99_toy.ipynb")
    assert "*Kind:* not tagged · *time:* – · *difficulty:* – · *points:* 1" in untagged
    assert "**Rubric (1 point).** Full marks: every check passes." in untagged
    nbformat.write(nb, tmp_path / "99_toy.ipynb")
    nbformat.write(_toy_notebook(heading="### Exercise 8.1 — twice (implementation, 5 min, ★)"),
                   tmp_path / "98_toy.ipynb")
    build_course([tmp_path / "98_toy.ipynb", tmp_path / "99_toy.ipynb"], tmp_path / "out")
    index = (tmp_path / "out" / "solutions" / "README.md").read_text()
    assert ("| notebook | exercise | title | kind | time | stars | points |\n|---|---|---|---|---|---|---|\n"
            "| 98_toy | 8.1 | twice | implementation | 5 min | ★ | 1 |\n"
            "| 99_toy | 9.1 | The sum (of two numbers) | derivation | 15 min | ★★ | 2 |\n"
            "| **all** | 2 | | | 20 min | | 3 |") in index
    assert index.index("## The exercises") < index.index("(98_toy.md)") < index.index("(99_toy.md)")


def test_find_exercises_requires_a_check_cell_after_each_solution():
    assert [e.number for e in find_exercises(_toy_notebook())] == ["9.1"]
    with pytest.raises(ValueError, match="check"):
        find_exercises(_toy_notebook(with_check=False))


def test_find_exercises_rejects_a_solution_cell_tagged_check():
    nb = _toy_notebook()
    nb.cells[3].metadata["tags"] = ["check"]
    with pytest.raises(ValueError, match="cell 3 of exercise 9.1 holds a solution and is tagged 'check'"):
        find_exercises(nb, "99_toy.ipynb")


def test_find_exercises_rejects_a_section_after_the_exercises():
    nb = _toy_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("## Appendix"))
    with pytest.raises(ValueError, match="exercises come last"):
        find_exercises(nb)


def test_student_notebook_clears_exercise_outputs_and_keeps_the_others():
    nb = _toy_notebook()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="shown\n")]
    student = student_notebook(nb)
    assert student.cells[0].outputs, "a cell outside the exercises lost its output"
    assert not student.cells[3].outputs and not student.cells[4].outputs
    assert BEGIN not in student.cells[3].source and "both = a + b" not in student.cells[3].source
    assert BEGIN in nb.cells[3].source, "the solution notebook itself was changed"


def test_exercise_counts():
    counts = {p.name[:2]: len(find_exercises(_read(p), p.name)) for p in WITH_EXERCISES}
    assert counts == EXERCISE_COUNTS
    assert sum(counts.values()) == 29, counts


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    build_course(NOTEBOOKS, out)
    return out


def _shipped_text(nb) -> str:
    """Everything a student can read in a notebook: every cell's source and every code cell's printed output."""
    return "\n".join(cell.source + "\n" + (cell_text(cell) if cell.cell_type == "code" else "")
                     for cell in nb.cells)


@pytest.mark.parametrize("solved", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_solution_line_reaches_the_student_copy(course, solved):
    """Every solution line that the notebook does not also show outside its solution cells stays out of the copy."""
    source = _read(solved)
    student_file = course / "student" / solved.name
    assert BEGIN not in student_file.read_text() and END not in student_file.read_text()
    solutions = [cell for cell in source.cells if cell.cell_type == "code" and BEGIN in cell.source]
    elsewhere = _shipped_text(nbformat.v4.new_notebook(cells=[c for c in source.cells if c not in solutions]))
    distinctive = [line for cell in solutions for line in solution_lines(cell.source)
                   if len(line) > 12 and line not in elsewhere]
    assert len(distinctive) >= len(solutions), f"{solved.name}: solutions too generic to check for leaks"
    shipped = _shipped_text(_read(student_file))
    found = [line for line in distinctive if line in shipped]
    assert not found, f"{solved.name}: solution lines in the student copy: {found}"


def student_then_solutions(solved: Path, student: Path, out: Path) -> tuple[Path, int, int]:
    """Write to ``out`` the student copy followed by the solution notebook's exercise cells (from its first
    exercise heading on); return the path, the number of student cells and the solution index of the first
    appended cell.

    Run top to bottom in one fresh kernel, its first part is the student copy exactly as a student runs it;
    the second part then runs the solutions and their checks in the state the notebook's body left (the
    exercises come last, their solutions only define functions, and the body is the same in both copies).
    So one execution per notebook checks both promises, where ``make test`` used to execute every notebook
    twice: once as the student copy, once more under nbval.
    """
    solution, copy_ = _read(solved), _read(student)
    exercises = find_exercises(solution, solved.name)
    first = exercises[0].heading if exercises else len(solution.cells)
    tail = solution.cells[first:]
    for number, cell in enumerate(tail):
        cell["id"] = f"solution-{first + number}"  # the student copy holds the same cell ids
    combined = nbformat.v4.new_notebook(cells=copy_.cells + tail, metadata=copy_.metadata)
    path = out / solved.name
    nbformat.write(combined, path)
    return path, len(copy_.cells), first


def run_problems(executed, n_student: int, first: int, name: str) -> list[str]:
    """What breaks a promise in an executed :func:`student_then_solutions` notebook: a check cell of the student
    part that passes, another cell of it that fails, or any cell of the solution part that fails."""
    problems = []
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        error = next((f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                      if o.get("output_type") == "error"), None)
        if index >= n_student:
            if error is not None:
                problems.append(f"{name}: cell {first + index - n_student} failed in the solution notebook, run "
                                f"after the student copy ({error})")
        elif is_check(cell) and error is None:
            problems.append(f"{name}: check cell {index} passed with the solution stubbed out")
        elif not is_check(cell) and error is not None:
            problems.append(f"{name}: cell {index} failed in the student copy ({error})")
    return problems


@pytest.mark.parametrize("solved", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_runs_and_only_its_checks_fail_in_the_student_copy(course, solved, tmp_path):
    """The slow one, one kernel per notebook in quick mode (DGGBOOK_QUICK is set by `make unit`): in the student
    copy every check cell fails and every other cell runs; after it, the solutions and their checks all run."""
    path, n_student, first = student_then_solutions(solved, course / "student" / solved.name, tmp_path)
    assert run_problems(execute_notebook(path), n_student, first, solved.name) == []


def test_nbgrader_metadata(course):
    """Solution cells and locked check cells; the checks of an exercise are worth its points (its stars when its
    heading is tagged) in all, none of them nothing."""
    for solved in WITH_EXERCISES:
        graded = _read(course / "nbgrader" / "source" / solved.stem / solved.name)
        for exercise in find_exercises(graded, solved.name):
            points = [graded.cells[index].metadata["nbgrader"]["points"] for index in exercise.checks]
            assert sum(points) == pytest.approx(exercise.points, abs=1e-9) and min(points) > 0, (exercise, points)
            assert exercise.points == (exercise.stars if exercise.tagged else len(exercise.checks))
        ids = []
        for cell in graded.cells:
            meta = cell.metadata.get("nbgrader")
            if is_check(cell):
                assert meta["grade"] and meta["locked"], solved.name
            elif cell.cell_type == "code" and BEGIN in cell.source:
                assert meta["solution"] and not meta["grade"], solved.name
            elif is_answer(cell):  # a written answer: cleared by nbgrader, marked by hand
                assert meta["solution"] and meta["points"] == 0, solved.name
            else:
                assert meta is None
                continue
            ids.append(meta["grade_id"])
        assert ids and len(ids) == len(set(ids)), f"{solved.name}: grade ids repeat: {ids}"
    assert nbgrader_notebook(_toy_notebook()).cells[4].metadata["nbgrader"]["grade_id"] == "ex9_1_check_0"


@pytest.mark.parametrize("solved", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_objectives_prerequisites_time_references(solved):
    first = next(cell.source for cell in _read(solved).cells if cell.cell_type == "markdown")
    lines = first.splitlines()
    for label in ("**Learning objectives.**", "**Prerequisites.**", "**Time.**", "**References.**"):
        assert any(line.startswith(label) for line in lines), f"{solved.name}: header lacks {label}"
    objectives = first.split("**Learning objectives.**", 1)[1].split("**Prerequisites.**", 1)[0]
    bullets = [line for line in objectives.splitlines() if line.startswith("- ")]
    assert 3 <= len(bullets) <= 5, f"{solved.name}: {len(bullets)} learning objectives, want 3 to 5"
    for target in LINK_TARGETS:
        if not solved.name.startswith(target[:2]):
            assert f"]({target})" in first, f"{solved.name}: header does not link to {target}"


@pytest.mark.parametrize("solved", [p for p in NOTEBOOKS if not p.name.startswith("00")], ids=lambda p: p.stem)
def test_notebook_closes_with_what_you_can_do_and_its_exercises(solved):
    """The last sections are "What you should now be able to do" and "Exercises"; an appendix ("## Appendix…",
    such as 07's reproducibility details) may sit between them, out of the teaching flow."""
    sections = [cell.source.splitlines()[0] for cell in _read(solved).cells
                if cell.cell_type == "markdown" and cell.source.startswith("## ")
                and not cell.source.startswith("## Appendix")]
    assert sections[-2:] == ["## What you should now be able to do", "## Exercises"] or \
        (sections[-1] == "## What you should now be able to do" and solved not in WITH_EXERCISES), \
        f"{solved.name} ends with the sections {sections[-2:]}"


def test_glossary_and_roadmap_exist_and_name_every_notebook():
    glossary = (ROOT / "notebooks" / "notation.md").read_text()
    roadmap = json.dumps(json.loads((ROOT / "notebooks" / "00_roadmap.ipynb").read_text()))
    for path in NOTEBOOKS[1:]:
        assert path.name in roadmap, f"the roadmap does not link to {path.name}"
    for symbol in ("\\sigma_x^2", "\\lambda_i", "\\Phi_i", "\\Sigma_A"):
        assert symbol in glossary, f"the glossary does not define {symbol}"


def test_grade_runs_the_students_solution_cells_against_the_lecturers_checks(tmp_path):
    solved = tmp_path / "99_toy.ipynb"
    nbformat.write(_toy_notebook(), solved)
    build_course([solved], tmp_path / "out")
    returned = tmp_path / "out" / "student" / solved.name
    assert grade_notebook(solved, solved) == {"9.1": (1, 1)}
    assert grade_notebook(returned, solved) == {"9.1": (0, 1)}
    cheat = _read(returned)
    cheat.cells[4].source = "pass"  # the student weakens the check: the lecturer's check is run instead
    nbformat.write(cheat, tmp_path / "cheat.ipynb")
    assert grade_notebook(tmp_path / "cheat.ipynb", solved) == {"9.1": (0, 1)}
    del cheat.cells[4]  # or deletes it
    nbformat.write(cheat, tmp_path / "cheat.ipynb")
    assert grade_notebook(tmp_path / "cheat.ipynb", solved) == {"9.1": (0, 1)}
    split = _read(returned)
    split.cells.insert(4, nbformat.v4.new_code_cell("helper = 1"))  # a second solution cell: which one is graded?
    nbformat.write(split, tmp_path / "split.ipynb")
    with pytest.raises(ValueError, match="exercise 9.1 has 2 solution cells; the solution notebook has 1"):
        grade_notebook(tmp_path / "split.ipynb", solved)
    del cheat.cells[2]  # an exercise heading removed: the notebook cannot be graded, and says why
    nbformat.write(cheat, tmp_path / "cheat.ipynb")
    with pytest.raises(ValueError, match="exercise 9.1 is missing"):
        grade_notebook(tmp_path / "cheat.ipynb", solved)


def test_course_cli_rejects_a_missing_notebook_and_a_broken_one(tmp_path, capsys):
    assert course_main(["--out", str(tmp_path), str(tmp_path / "missing.ipynb")]) == 2
    assert "notebooks: no such file" in capsys.readouterr().err
    broken = tmp_path / "98_broken.ipynb"
    nbformat.write(_toy_notebook(with_check=False), broken)
    assert course_main(["--out", str(tmp_path / "out"), str(broken)]) == 2
    assert "exercise 9.1 needs a solution cell" in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "a broken notebook must leave the output folder as it was"


def _header_minutes(path: Path) -> tuple[int, int]:
    """(read and run, exercises) in minutes, from the notebook's **Time.** line."""
    first = next(cell.source for cell in _read(path).cells if cell.cell_type == "markdown")
    match = re.search(r"\*\*Time\.\*\* About (\d+) minutes to read and run, plus about (\d+) minutes for the "
                      r"exercises", " ".join(first.split()))
    assert match, f"{path.name}: the **Time.** line does not read 'About A minutes to read and run, plus about B …'"
    return int(match[1]), int(match[2])


@pytest.mark.parametrize("table", ["README.md", "notebooks/00_roadmap.ipynb"])
def test_course_tables_quote_each_notebooks_time_and_exercise_count(table):
    """The 'Start here' table of the README and the roadmap's table repeat each header's time and exercise count."""
    text = (ROOT / table).read_text()
    if table.endswith(".ipynb"):
        text = "\n".join(cell.source for cell in _read(ROOT / table).cells)
    for path in NOTEBOOKS[1:]:
        row = next((line for line in text.splitlines() if path.name in line and line.startswith("|")), None)
        assert row, f"{table} has no table row for {path.name}"
        read, exercises = _header_minutes(path)
        count = len(find_exercises(_read(path), path.name))
        assert f"| {read} + {exercises} min | {count} |" in row, f"{table}, row {path.name}: {row}"
    total = sum(len(find_exercises(_read(p), p.name)) for p in NOTEBOOKS)
    if table == "README.md":
        assert f"exercises ({total} in all)" in text


def test_roadmap_totals_are_the_sum_of_the_notebooks():
    text = " ".join("\n".join(c.source for c in _read(NOTEBOOKS[0]).cells).replace("#", " ").split())
    minutes = [_header_minutes(p) for p in NOTEBOOKS[1:]]
    exercises = sum(len(find_exercises(_read(p), p.name)) for p in NOTEBOOKS)
    expected = (f"{sum(m[0] for m in minutes)} minutes to read and run notebooks 01–{NOTEBOOKS[-1].name[:2]}, and "
                f"{sum(m[1] for m in minutes)} minutes for their {exercises} exercises")
    assert expected in text, f"the roadmap's **Time.** line should say: {expected}"


def test_the_student_copy_verifier_reports_a_check_that_cannot_fail_and_a_cell_that_uses_an_exercise(tmp_path):
    nb = _toy_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("assert True", metadata={"tags": ["check"]}))
    nb.cells.append(nbformat.v4.new_code_cell("print(my_sum(1, 2))"))
    path = tmp_path / "97_toy.ipynb"
    nbformat.write(student_notebook(nb), path)
    problems = execute_student_notebook(path)
    assert len(problems) == 2, problems
    assert "check cell 5 passed with the solution stubbed out" in problems[0]
    assert "cell 6 failed in the student copy (NotImplementedError" in problems[1]


def test_readme_start_here_links_exist():
    """The files 'Start here' tells a learner to open (and its screenshot) are in the repository."""
    readme = (ROOT / "README.md").read_text()
    start = readme.split("## Start here", 1)[1].split("\n## ", 1)[0]
    paths = set(re.findall(r"`(notebooks/[\w.]+)`", start)) | set(re.findall(r"\]\(([\w/.]+)\)", start))
    assert "figures/start_here_jupyterlab.png" in paths and len(paths) >= 11, sorted(paths)
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"README 'Start here' points at missing files: {missing}"


def test_nbgrader_folder_holds_only_notebooks_with_exercises(course):
    assigned = sorted(p.name for p in (course / "nbgrader" / "source").iterdir())
    assert assigned == [p.stem for p in NOTEBOOKS if find_exercises(_read(p), p.name)]
    assert "00_roadmap" not in assigned and len(assigned) == 9


def test_no_control_characters_in_the_course_text():
    """A '\\b' or '\\t' written through a non-raw string turns LaTeX into a backspace or a tab."""
    bad = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f]")  # a tab counts: nothing here is indented with tabs
    files = [*sorted((ROOT / "notebooks").glob("*.py")), ROOT / "notebooks" / "notation.md", ROOT / "README.md"]
    found = [f"{path.name}:{number}" for path in files
             for number, line in enumerate(path.read_text().split("\n"), 1) if bad.search(line)]
    found += [f"{path.name}, cell {index}" for path in NOTEBOOKS  # JSON stores them escaped: read the cells
              for index, cell in enumerate(_read(path).cells) if bad.search(cell.source)]
    assert not found, f"control characters in: {found}"


def test_a_silent_cell_is_retried_once_with_a_report_then_stopped_named_and_kept(tmp_path, capsys):
    """The retry is a safety net and says so on stderr; a cell silent on every attempt stops the run with an
    error naming the notebook and the cell, and the partly executed notebook is kept."""
    from dggbook.book.course import execute_notebook
    from dggbook.book.execution import CellStalled

    marker = tmp_path / "first-attempt-done"
    once = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import pathlib, time\nmarker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n    marker.touch()\n    time.sleep(10**6)\nprint('second attempt')")])
    nbformat.write(once, tmp_path / "once.ipynb")
    executed = execute_notebook(tmp_path / "once.ipynb", timeout=60, silent_timeout=3, failed_dir=tmp_path / "failed")
    assert "second attempt" in cell_text(executed.cells[0])
    err = capsys.readouterr().err
    assert "once.ipynb: cell 0 ('import pathlib, time') silent for 3 s" in err and "running the notebook again" in err
    always = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('before')"),
                                             nbformat.v4.new_code_cell("import time\ntime.sleep(10**6)")])
    nbformat.write(always, tmp_path / "always.ipynb")
    with pytest.raises(CellStalled) as stop:
        execute_notebook(tmp_path / "always.ipynb", timeout=60, silent_timeout=3, failed_dir=tmp_path / "failed")
    assert stop.value.cell_index == 1 and stop.value.first_line == "import time"
    assert "always.ipynb: cell 1 ('import time') silent for 3 s" in str(stop.value)
    kept = nbformat.read(tmp_path / "failed" / "always.ipynb", as_version=4)
    assert cell_text(kept.cells[0]) == "before\n"
    assert "retry 1 of 1" in capsys.readouterr().err
