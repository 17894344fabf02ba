"""Solutions kept apart (issue 23, section 3): the student copies and the student site show no solution text, the
lecturer's site shows it only collapsed, and ``make course`` writes a solutions guide.

The solution text is derived from the notebooks themselves (:func:`dggbook.book.course.leak_texts`), and the site's
notebook pages are checked through the site extension's own filter, without Sphinx (``make site-test`` checks the
built pages in a browser).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

from dggbook.book.course import (
    ANSWER_STUB,
    BEGIN,
    build_course,
    find_exercises,
    is_answer,
    leak_texts,
    normalised,
    nbgrader_notebook,
    prose_fragments,
    shown_text,
    solution_lines,
    solutions_guide,
    student_notebook,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ANSWER = ("The update keeps every row on the simplex because the multiplier $\\lambda_i$ equals the row sum "
          "of the weights, so dividing by it normalises the row.")


def _site_extension():
    spec = importlib.util.spec_from_file_location("dggbook_site", ROOT / "site" / "_ext" / "dggbook_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SITE = _site_extension()


def _toy():
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    return nbformat.v4.new_notebook(cells=[
        code("print('setup')"),
        md("# 99 — Toy"),
        md("## The update\nAsk yourself: why does every row of the update sum to one?"),
        md(ANSWER, metadata={"tags": ["answer"]}),
        md("## Exercises"),
        md("### Exercise 9.1 — sum\nWrite `my_sum`."),
        code('def my_sum(a, b):\n    ### BEGIN SOLUTION\n    both_together = a + b\n    return both_together\n'
             '    ### END SOLUTION'),
        code("assert my_sum(1, 2) == 3\nprint(f'Exercise 9.1: the sum {my_sum(1, 2)} is right')",
             metadata={"tags": ["check"]},
             outputs=[nbformat.v4.new_output("stream", text="Exercise 9.1: the sum 3 is right\n")]),
    ])


def test_leak_texts_are_the_solution_lines_outputs_and_answer_prose():
    texts = leak_texts(_toy())
    assert "both_together = a + b" in texts and "return both_together" in texts
    assert "Exercise 9.1: the sum 3 is right" in texts
    assert "The update keeps every row on the simplex because the multiplier" in texts  # cut at the math
    assert "equals the row sum of the weights, so dividing by it normalises the row." in texts
    assert not any("lambda" in text for text in texts), "math is rendered by MathJax, so it is not matched as typed"


def test_short_answer_fragments_are_too_generic_to_count_as_a_leak():
    nb = _toy()
    nb.cells[3].source = "So $a$ the exact posterior $b$ and this fragment is long enough to count as a leak."
    texts = leak_texts(nb)
    assert "the exact posterior" not in texts  # 19 characters: docstrings and other pages say it too
    assert "and this fragment is long enough to count as a leak." in texts


def test_prose_fragments_cut_at_markup():
    assert prose_fragments("A **bold** claim, see [the paper](https://x.org) -- and `code`.") == [
        "A", "bold", "claim, see", "the paper", "and", "."]


def test_student_copy_stubs_answers_and_shows_no_leak_text():
    nb = _toy()
    student = student_notebook(nb)
    assert len(student.cells) == len(nb.cells)
    assert student.cells[3].source == ANSWER_STUB and is_answer(student.cells[3])
    shown = normalised(shown_text(student))
    assert [text for text in leak_texts(nb) if text in shown] == []
    assert nbgrader_notebook(nb).cells[3].metadata["nbgrader"]["solution"] is True


@pytest.mark.parametrize("solved", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_site_page_and_download_show_no_solution_text(solved):
    """The site's page (the extension's filter) and its download: none of the notebook's solution texts, the
    title first; the lecturer's page keeps every solution cell, collapsed behind a control."""
    raw = json.loads(solved.read_text(encoding="utf-8"))
    nb = nbformat.read(solved, as_version=4)
    texts = leak_texts(nb, solved.name)
    page, _ = SITE.filter_notebook(raw, solved.stem, solutions=False)
    shown = normalised(shown_text(nbformat.reads(json.dumps(page), as_version=4)))
    assert [text for text in texts if text in shown] == [], f"{solved.name}: solution text on the student page"
    assert BEGIN not in json.dumps(page)
    download = SITE.student_copy(raw, solved.stem)
    assert not [text for text in texts if text in normalised(shown_text(nbformat.reads(json.dumps(download), as_version=4)))]
    first = page["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# "), "title not first"
    lecturer, _ = SITE.filter_notebook(raw, solved.stem, solutions=True)
    for exercise in find_exercises(nb, solved.name):
        for index in exercise.solutions:  # the title moved up by one place when a setup cell came first
            cell = next(c for c in lecturer["cells"] if c.get("id") == nb.cells[index].get("id"))
            assert BEGIN in "".join(cell["source"]) and "hide-cell" in cell["metadata"]["tags"]
            assert cell["metadata"]["mystnb"]["code_prompt_show"] == "Show the solution"


def test_lecturer_page_wraps_answers_in_details_and_student_page_stubs_them():
    raw = json.loads(nbformat.writes(_toy()))
    lecturer, _ = SITE.filter_notebook(raw, "99_toy", solutions=True)
    answer = next("".join(c["source"]) for c in lecturer["cells"] if "<details" in "".join(c["source"]))
    assert answer.startswith('<details class="dggbook-solution">') and ANSWER in answer
    assert answer.rstrip().endswith("</details>")
    student, _ = SITE.filter_notebook(raw, "99_toy", solutions=False)
    sources = ["".join(c["source"]) for c in student["cells"]]
    assert sources[0] == "# 99 — Toy" and "dggbook-ipynb-link" in sources[1], "the title, then the download link"
    assert ANSWER_STUB in sources
    assert not any(ANSWER[:40] in json.dumps(c) for c in student["cells"])


def test_plotly_figure_takes_its_column_width():
    html = SITE._plotly_html({"data": [], "layout": {"width": 900, "height": 400}})
    assert '"width":900' not in html.replace(" ", "") and "width:100%" in html.replace(" ", "")


def test_solutions_guide_holds_each_exercise_and_each_answer(tmp_path):
    guide = solutions_guide(_toy(), "99_toy.ipynb")
    assert guide.startswith("# Solutions: 99 — Toy")
    assert "## The update: answer" in guide and "> Ask yourself: why does every row" in guide and ANSWER in guide
    assert "## Exercise 9.1 — sum" in guide and "both_together = a + b" in guide and BEGIN not in guide
    assert "Exercise 9.1: the sum 3 is right" in guide
    path = tmp_path / "99_toy.ipynb"
    nbformat.write(_toy(), path)
    build_course([path], tmp_path / "course")
    assert (tmp_path / "course" / "solutions" / "99_toy.md").read_text() == guide
    assert "[99 — Toy](99_toy.md): 1 exercises, 1 prose answers" in (
        tmp_path / "course" / "solutions" / "README.md").read_text()


@pytest.mark.parametrize("solved", [p for p in NOTEBOOKS if not p.name.startswith("00")], ids=lambda p: p.stem)
def test_solutions_guide_of_each_notebook_has_every_solution_line(solved):
    nb = nbformat.read(solved, as_version=4)
    guide = solutions_guide(nb, solved.name)
    exercises = find_exercises(nb, solved.name)
    for exercise in exercises:
        assert f"## Exercise {exercise.number}" in guide
        for index in exercise.solutions:
            for line in solution_lines(nb.cells[index].source):
                assert line in guide, f"{solved.name}: {line!r} is missing from the guide"
    for cell in nb.cells:
        if is_answer(cell):
            assert cell.source.strip() in guide
