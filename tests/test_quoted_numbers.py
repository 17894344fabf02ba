"""Every number the prose of a notebook quotes is one its stored outputs print.

The convention (notebook 08 follows it; extend ``NOTEBOOKS`` to add another):

1. A code cell whose printed output the prose quotes carries a cell tag ``quoted-NAME``
   (in the jupytext ``.py``: ``# %% tags=["quoted-NAME"]``).
2. A markdown cell that quotes numbers names its sources on a line of its own,
   ``<!-- quotes: NAME, OTHER -->`` (an HTML comment, so it does not show when rendered).
3. A *quoted number* is any decimal number in the markdown (``-0.004``, ``3.55``, ``+0.037``;
   ``−`` counts as ``-``), except inside ``$…$`` maths, inline code, link targets and URLs, and
   except exercise numbers (``Exercise 8.1``) and equation labels (``(9.1)``). Integers are not
   checked: they are counts, labels and equation numbers.
4. Every quoted number of a cell with a marker must match a number printed by one of the named
   cells: the same text, or a printed number that rounds to it at the quoted number's decimals
   (so ``-3.418`` may quote ``-3.41765``). The sign must agree.
5. Every interval ``Δ = a [b, c]`` must appear whole in one stored output line of a named cell.
6. A markdown cell without a marker may not contain a quoted number at all, unless the number is
   listed in ``ALLOWED`` with the reason it needs no output.

To extend this to notebook 07: tag the cells whose output the prose quotes (rule 1), add the
``<!-- quotes: … -->`` lines (rule 2), add ``"07_training_dgg"`` to ``NOTEBOOKS``, and run this test:
it lists every unmarked or unmatched number. Numbers that come from elsewhere (the README, another
notebook) either get a cell that prints them or an ``ALLOWED`` entry with the reason.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal, ROUND_HALF_EVEN, ROUND_HALF_UP
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["07_training_dgg", "08_the_seven_questions"]

#: (notebook, number as written) -> why that number needs no printed source.
ALLOWED: dict[tuple[str, str], str] = {}

MARKER = re.compile(r"<!--\s*quotes:\s*([^>]*?)\s*-->")
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+\.\d+(?!\w|\.\d)")
INTERVAL = re.compile(r"Δ = [-+−]?\d+\.\d+ \[[-+−]?\d+\.\d+, [-+−]?\d+\.\d+\]")
HIDDEN = re.compile(
    r"\$\$.*?\$\$|\$[^$\n]*\$"          # maths
    r"|`[^`]*`"                          # inline code
    r"|\]\([^)]*\)|https?://\S+"         # link targets and URLs
    r"|[Ee]xercises? \d+\.\d+"           # exercise numbers
    r"|\(\d+\.\d+\)",                    # equation labels such as (9.1)
    re.S,
)


def _minus(text: str) -> str:
    return text.replace("−", "-")


def _cells(name: str) -> list[dict]:
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _output_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append("".join(out["text"]))
        elif "text/plain" in out.get("data", {}):
            parts.append("".join(out["data"]["text/plain"]))
    return _minus("".join(parts))


def quoted_numbers(markdown: str) -> list[str]:
    """The decimal numbers of ``markdown`` that rule 3 counts as quoted, as written (− → -)."""
    return [_minus(n) for n in NUMBER.findall(HIDDEN.sub(" ", markdown))]


def matches(quoted: str, printed: list[str]) -> bool:
    """Rule 4: ``quoted`` is one of ``printed``, or one of them rounded to its decimals."""
    q, negative = Decimal(quoted), quoted.startswith("-")
    places = Decimal(1).scaleb(-len(quoted.split(".")[1]))
    for text in printed:
        if text.lstrip("+") == quoted.lstrip("+"):
            return True
        if text.startswith("-") != negative:
            continue
        p = Decimal(text)
        if any(p.quantize(places, rounding=mode) == q for mode in (ROUND_HALF_EVEN, ROUND_HALF_UP)):
            return True
    return False


def problems(name: str, cells: list[dict]) -> list[str]:
    """Every breach of rules 2–6 in the notebook ``name`` whose cells are ``cells``."""
    sources: dict[str, str] = {}
    for cell in cells:
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith("quoted-"):
                sources[tag[len("quoted-"):]] = _output_text(cell)
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        text = _source(cell)
        names = [n.strip() for m in MARKER.findall(text) for n in m.split(",") if n.strip()]
        numbers = quoted_numbers(text)
        where = f"{name}, markdown cell {index} ({text.strip().splitlines()[0][:50]!r})"
        if not names:
            found += [f"{where}: {n} has no source (add <!-- quotes: NAME -->)" for n in numbers
                      if (name, n) not in ALLOWED]
            continue
        missing = [n for n in names if n not in sources]
        if missing:
            found.append(f"{where}: no cell is tagged {['quoted-' + n for n in missing]}")
            continue
        outputs = "\n".join(sources[n] for n in names)
        printed = [_minus(n) for n in NUMBER.findall(outputs)]
        found += [f"{where}: {n} is printed by none of {names}" for n in numbers if not matches(n, printed)]
        lines = outputs.splitlines()
        for interval in INTERVAL.findall(_minus(HIDDEN.sub(" ", text))):
            if not any(interval in line for line in lines):
                found.append(f"{where}: the interval {interval!r} is in no output line of {names}")
    return found


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_quoted_number_is_printed_by_its_source(name):
    found = problems(name, _cells(name))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_convention_is_in_use(name):
    """A notebook in ``NOTEBOOKS`` has tagged sources and markers: the test above cannot pass vacuously."""
    cells = _cells(name)
    tags = [t for c in cells for t in c.get("metadata", {}).get("tags", []) if t.startswith("quoted-")]
    markers = [c for c in cells if c["cell_type"] == "markdown" and MARKER.search(_source(c))]
    assert tags and markers
    assert sum(len(quoted_numbers(_source(c))) for c in markers) >= 20


def _toy(markdown: str, output: str) -> list[dict]:
    return [{"cell_type": "markdown", "metadata": {}, "source": markdown},
            {"cell_type": "code", "metadata": {"tags": ["quoted-a"]}, "source": "",
             "outputs": [{"output_type": "stream", "name": "stdout", "text": output}]}]


@pytest.mark.parametrize("markdown, ok", [
    ("A miss of 1.71.\n<!-- quotes: a -->", True),                  # 1.70883 rounds to 1.71
    ("It gives −3.418.\n<!-- quotes: a -->", True),                 # − is -, and -3.41765 rounds to it
    ("A miss of 1.72.\n<!-- quotes: a -->", False),                 # a mutated number
    ("It gives 3.418.\n<!-- quotes: a -->", False),                 # a lost sign
    ("A miss of 1.71.", False),                                     # no marker
    ("A miss of 1.71.\n<!-- quotes: b -->", False),                 # an untagged source
    ("Δ = -0.004 [-0.006, -0.001]\n<!-- quotes: a -->", True),
    ("Δ = -0.004 [-0.006, -0.002]\n<!-- quotes: a -->", False),     # one end of the interval mutated
    ("Δ = -0.004 [-0.001, -0.006]\n<!-- quotes: a -->", False),     # each number printed, not this interval
    ("In $p = 0.25$, Exercise 8.1 and (9.1), nothing is quoted.", True),
])
def test_the_rules_on_a_toy_notebook(markdown, ok):
    output = "miss 1.70883, printed -3.41765\nACC Δ = -0.004 [-0.006, -0.001]\n"
    assert (not problems("toy", _toy(markdown, output))) == ok
