"""Sphinx extension for the dggbook site.

* writes filtered copies of ../notebooks/*.ipynb into site/notebooks/ (generated, not committed):
  - by default the STUDENT copies (dggbook.book.course.student_notebook: solutions stubbed, exercise outputs
    cleared, prose answers replaced), and the student .ipynb as the page's download; with the config value
    ``dggbook_solutions`` (conf.py: DGGBOOK_SITE_SOLUTIONS=1, ``make site SOLUTIONS=1``) the solution
    notebooks, each solution cell and prose answer collapsed behind a "Show the solution" control;
  - the title cell first (a notebook's setup cell may come before it), then a cell linking the page's .ipynb
    (copied to build/site/notebooks/ via html_extra_path);
  - ipywidgets outputs (application/vnd.jupyter.widget-view+json) are replaced by a note: a static
    page has no kernel, and their text/plain is only "VBox(...)";
  - plotly outputs (application/vnd.plotly.v1+json) get a text/html rendering that calls the local
    plotly.min.js (added once to _static/, loaded only on the pages that need it);
* copies MathJax 3 (from the django-static-mathjax wheel) into _static/mathjax/ and points
  mathjax_path at it;
* the ``dggbook-checks`` directive: the table of dggbook.derivation.checks.run_checks(), run at build time.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

SITE = Path(__file__).resolve().parents[1]
REPO = SITE.parent
GEN_NOTEBOOKS = SITE / "notebooks"
GEN_STATIC = SITE / "_generated_static"
GEN_EXTRA = SITE / "_generated_extra"

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_NOTE = (
    '<div class="admonition note dggbook-widget"><p class="admonition-title">Interactive widget</p>'
    "<p>This cell shows an ipywidgets explorer, which needs a running kernel: open the notebook in "
    "JupyterLab (<code>make lab</code>) to use it. The static fallback figure below shows the same "
    "explorer at a grid of settings.</p></div>"
)
PLOTLY_PAGES: set[str] = set()


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _copy_if_changed(src: Path, dst: Path) -> None:
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def _plotly_html(fig: dict) -> str:
    import plotly.io as pio

    # the stored width is dropped: the figure takes its column's width (and follows it), never wider
    fig = copy.deepcopy(fig)
    layout = fig.setdefault("layout", {})
    layout.pop("width", None)
    layout["autosize"] = True
    figure_html = pio.to_html(fig, include_plotlyjs=False, full_html=False, validate=False,
                              default_width="100%", config={"responsive": True})
    return f'<div class="dggbook-plotly">{figure_html}</div>'


SHOW_SOLUTION = {"code_prompt_show": "Show the solution", "code_prompt_hide": "Hide the solution"}
SHOW_CHECK_OUTPUT = {"code_prompt_show": "Show what the check prints when solved",
                     "code_prompt_hide": "Hide the check's output"}


def _tag(cell: dict, tag: str, prompts: dict) -> None:
    metadata = cell.setdefault("metadata", {})
    metadata.setdefault("tags", [])
    if tag not in metadata["tags"]:
        metadata["tags"].append(tag)
    metadata["mystnb"] = {**metadata.get("mystnb", {}), **prompts}


def with_solutions_collapsed(nb: dict, name: str) -> dict:
    """The lecturer's page: solution cells (code and output) behind "Show the solution", the outputs of the
    check cells behind their own control, and each prose answer inside a closed <details>."""
    import nbformat

    from dggbook.book.course import find_exercises, is_answer

    node = nbformat.reads(json.dumps(nb), as_version=4)
    for exercise in find_exercises(node, name):
        for index in exercise.solutions:
            _tag(nb["cells"][index], "hide-cell", SHOW_SOLUTION)
        for index in exercise.checks:
            _tag(nb["cells"][index], "hide-output", SHOW_CHECK_OUTPUT)
    for cell, parsed in zip(nb["cells"], node.cells):
        if is_answer(parsed):
            cell["source"] = ('<details class="dggbook-solution">\n<summary>Show the answer</summary>\n\n'
                              + parsed.source + "\n\n</details>")
    return nb


def student_copy(nb: dict, name: str) -> dict:
    """The student copy of a notebook, made by ``make course``'s own function (one implementation)."""
    import nbformat

    from dggbook.book.course import student_notebook

    return json.loads(nbformat.writes(student_notebook(nbformat.reads(json.dumps(nb), as_version=4), name)))


def title_first(nb: dict) -> None:
    """Move the notebook's title cell (the first markdown cell opening with '# ') to the top, in place."""
    cells = nb["cells"]
    index = next((i for i, cell in enumerate(cells) if cell["cell_type"] == "markdown"
                  and "".join(cell["source"]).lstrip().startswith("# ")), 0)
    cells.insert(0, cells.pop(index))


def filter_notebook(nb: dict, name: str, solutions: bool = False) -> tuple[dict, bool]:
    """The site's copy of one notebook (the student copy unless ``solutions``); returns it and whether it holds
    a plotly figure."""
    nb = with_solutions_collapsed(copy.deepcopy(nb), name) if solutions else student_copy(nb, name)
    title_first(nb)
    has_plotly = False
    for cell in nb["cells"]:
        new_outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_MIME in data:
                new_outputs.append({"output_type": "display_data", "metadata": {},
                                    "data": {"text/html": WIDGET_NOTE}})
                continue
            if PLOTLY_MIME in data:
                has_plotly = True
                out = copy.deepcopy(out)
                out["data"] = {"text/html": _plotly_html(data[PLOTLY_MIME])}
            new_outputs.append(out)
        if cell["cell_type"] == "code":
            cell["outputs"] = new_outputs
    kind = ("the notebook, solutions included," if solutions else
            "the student copy of the notebook (the exercises are left for you to solve)")
    link = (f'<p class="dggbook-ipynb-link">This page is {kind} <a href="{name}.ipynb" download>'
            f"<code>{name}.ipynb</code></a> with its stored outputs; download it to run it.</p>")
    link_cell = {"cell_type": "markdown", "metadata": {}, "source": link, "id": "dggbook-site-link"}
    # after the title cell, so the page title stays the notebook's own
    nb["cells"].insert(1, link_cell)
    return nb, has_plotly


def prepare_sources(app, config) -> None:
    GEN_NOTEBOOKS.mkdir(exist_ok=True)
    solutions = bool(config.dggbook_solutions)
    for src in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(src.read_text(encoding="utf-8"))
        site_nb, has_plotly = filter_notebook(nb, src.stem, solutions)
        if has_plotly:
            PLOTLY_PAGES.add(f"notebooks/{src.stem}")
        _write_if_changed(GEN_NOTEBOOKS / src.name, json.dumps(site_nb, indent=1, ensure_ascii=False) + "\n")
        download = nb if solutions else student_copy(nb, src.stem)  # the .ipynb the page links
        _write_if_changed(GEN_EXTRA / "notebooks" / src.name, json.dumps(download, indent=1, ensure_ascii=False)
                          + "\n")
    # what site/check_pages.py checks for: no solution text at all, or solutions only behind their controls
    _write_if_changed(GEN_EXTRA / "dggbook-site.json", json.dumps({"solutions": solutions}) + "\n")
    _copy_if_changed(REPO / "notebooks" / "notation.md", GEN_NOTEBOOKS / "notation.md")

    # MathJax 3.2.2: the combined TeX+MathML/CHTML component plus what it loads on demand
    import mathjax  # django-static-mathjax

    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    dst = GEN_STATIC / "mathjax"
    for rel in ["tex-mml-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y",
                "adaptors"]:
        s = es5 / rel
        if s.is_dir():
            for f in s.rglob("*"):
                if f.is_file():
                    _copy_if_changed(f, dst / rel / f.relative_to(s))
        else:
            _copy_if_changed(s, dst / rel)
    _copy_if_changed(Path(mathjax.__file__).parent / "static" / "mathjax" / "LICENSE", dst / "LICENSE")
    config.mathjax_path = "mathjax/tex-mml-chtml.js"

    import plotly

    _copy_if_changed(Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
                     GEN_STATIC / "plotly" / "plotly.min.js")
    # wide display equations (notebook 03's tagged (4) is ~920 px) scroll instead of being clipped
    _copy_if_changed(SITE / "_static" / "dggbook.css", GEN_STATIC / "dggbook.css")
    config.html_static_path = list(config.html_static_path) + [str(GEN_STATIC)]
    config.html_css_files = list(config.html_css_files) + ["dggbook.css"]


def add_plotly(app, pagename, templatename, context, doctree) -> None:
    if pagename in PLOTLY_PAGES:
        app.add_js_file("plotly/plotly.min.js", priority=400)


class ChecksDirective(SphinxDirective):
    """The derivation-check table, computed now."""

    has_content = False

    def run(self):
        from dggbook.derivation.checks import run_checks

        results = run_checks()
        header = ["step", "check", "|lhs − rhs|", "tol", "result"]   # the columns of `dggbook check`
        rows = []
        for r in results:
            verdict = "ok" if r.passed else "FAIL"
            if r.expect == "differ":
                verdict += " (must differ)"
            rows.append([r.equation, r.name, f"{r.error:.2e}", f"{r.tolerance:.0e}", verdict])
        failed = sum(not r.passed for r in results)
        table = nodes.table(classes=["dggbook-checks"])
        tgroup = nodes.tgroup(cols=len(header))
        table += tgroup
        for _ in header:
            tgroup += nodes.colspec(colwidth=1)
        thead = nodes.thead()
        tgroup += thead
        thead += self._row(header)
        tbody = nodes.tbody()
        tgroup += tbody
        for row in rows:
            tbody += self._row(row)
        summary = nodes.paragraph(text=f"{len(results) - failed} passed, {failed} failed "
                                       f"(computed when this page was built).")
        if failed:
            self.state.document.reporter.warning(f"{failed} derivation checks failed", line=self.lineno)
        return [table, summary]

    @staticmethod
    def _row(cells):
        row = nodes.row()
        for c in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=str(c))
            row += entry
        return row


_LITERAL = re.compile(r"(``.+?``|`[^`]+`)")


def escape_docstring(app, what, name, obj, options, lines) -> None:
    """dggbook's docstrings are plain prose: keep ``labels_`` and ``|x|`` from turning into RST markup."""
    for i, line in enumerate(lines):
        parts = _LITERAL.split(line)
        for k in range(0, len(parts), 2):            # even parts are outside literals
            parts[k] = re.sub(r"(\w)_(?=[\s,.;:)\]}]|$)", r"\1\\_", parts[k]).replace("|", "\\|")
            if k and parts[k][:1].isalnum():          # ``nn.Parameter``s: a literal needs a break after it
                parts[k] = "\\ " + parts[k]
        lines[i] = "".join(parts)
    lines[:] = _listed_parameters(lines)


_ITEM = re.compile(r"^(?P<indent> +)(?P<names>[A-Za-z_]\w*(?:, [A-Za-z_]\w*)*): (?P<text>.*)$")


def _listed_parameters(lines: list[str]) -> list[str]:
    """A block of three or more indented ``name, other: text`` lines after a blank line (DGG's parameters), each
    possibly continued on lines indented further, as a bullet list. reStructuredText reads such a block as
    block quotes and definition lists that end without a blank line (5 errors, 8 warnings) and shows
    run-together quote boxes. A block after a ``::`` line is a literal block and stays as it is."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _ITEM.match(lines[i])
        before = next((line for line in reversed(out) if line.strip()), "")
        if not match or (out and out[-1].strip()) or before.rstrip().endswith("::"):
            out.append(lines[i])
            i += 1
            continue
        indent, items, j = match["indent"], [], i
        while j < len(lines):
            item, used = _ITEM.match(lines[j]), 1
            if item is None and lines[j].rstrip().endswith(",") and j + 1 < len(lines):  # names on two lines
                item, used = _ITEM.match(lines[j].rstrip() + " " + lines[j + 1].strip()), 2
            if item and item["indent"] == indent:
                names = ", ".join(f"``{name}``" for name in item["names"].split(", "))
                items.append([f"- {names}: {item['text']}"])
                j += used
            elif items and lines[j].startswith(indent + " ") and lines[j].strip():
                items[-1].append("  " + lines[j].strip())
                j += 1
            else:
                break
        if len(items) < 3:
            out.append(lines[i])
            i += 1
            continue
        out += [line for item in items for line in item]
        if j < len(lines) and lines[j].strip():
            out.append("")  # a list ends with a blank line
        i = j
    return out


def unsplit_tagged_math(app, doctree) -> None:
    """Sphinx wraps display math holding a line break in ``split``, where MathJax refuses ``\\tag``
    (notebook 03's (4)). Such blocks are emitted as they are, inside \\[ \\], as JupyterLab shows them."""
    for node in doctree.findall(nodes.math_block):
        text = node.astext()
        if "\\tag" in text and "\\\\" in text and not node.get("nowrap"):
            node.children = [nodes.Text(f"\\[{text}\\]")]
            node["nowrap"] = True


def setup(app):
    app.add_config_value("dggbook_solutions", False, "env")  # conf.py: the lecturer's build (solutions collapsed)
    app.connect("doctree-read", unsplit_tagged_math)
    # The navigation shows notebook titles with math (notebook 04's "\\(\\pi_i\\)"), so every page
    # needs MathJax, not only the pages whose body has math.
    app.set_html_assets_policy("always")
    app.connect("autodoc-process-docstring", escape_docstring)
    app.connect("config-inited", prepare_sources, priority=100)
    app.connect("html-page-context", add_plotly)
    app.add_directive("dggbook-checks", ChecksDirective)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
