"""Sphinx extension for the dggbook site.

* writes filtered copies of ../notebooks/*.ipynb into site/notebooks/ (generated, not committed):
  - a first cell linking the page's original .ipynb (copied to build/site/notebooks/ via html_extra_path);
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

    # the stored layout (its width) is kept; a wider figure scrolls inside the page column
    figure_html = pio.to_html(fig, include_plotlyjs=False, full_html=False, validate=False,
                              config={"responsive": True})
    return f'<div class="dggbook-plotly" style="overflow-x:auto">{figure_html}</div>'


def filter_notebook(nb: dict, name: str) -> tuple[dict, bool]:
    """The site's copy of one notebook; returns it and whether it holds a plotly figure."""
    nb = copy.deepcopy(nb)
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
    link = (f'<p class="dggbook-ipynb-link">This page is the notebook <a href="{name}.ipynb" download>'
            f"<code>{name}.ipynb</code></a> with its stored outputs; download it to run it.</p>")
    link_cell = {"cell_type": "markdown", "metadata": {}, "source": link, "id": "dggbook-site-link"}
    # after the title cell, so the page title stays the notebook's own
    nb["cells"].insert(1, link_cell)
    return nb, has_plotly


def prepare_sources(app, config) -> None:
    GEN_NOTEBOOKS.mkdir(exist_ok=True)
    for src in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(src.read_text(encoding="utf-8"))
        site_nb, has_plotly = filter_notebook(nb, src.stem)
        if has_plotly:
            PLOTLY_PAGES.add(f"notebooks/{src.stem}")
        _write_if_changed(GEN_NOTEBOOKS / src.name, json.dumps(site_nb, indent=1, ensure_ascii=False) + "\n")
        _copy_if_changed(src, GEN_EXTRA / "notebooks" / src.name)
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
        lines[i] = "".join(parts)


def unsplit_tagged_math(app, doctree) -> None:
    """Sphinx wraps display math holding a line break in ``split``, where MathJax refuses ``\\tag``
    (notebook 03's (4)). Such blocks are emitted as they are, inside \\[ \\], as JupyterLab shows them."""
    for node in doctree.findall(nodes.math_block):
        text = node.astext()
        if "\\tag" in text and "\\\\" in text and not node.get("nowrap"):
            node.children = [nodes.Text(f"\\[{text}\\]")]
            node["nowrap"] = True


def setup(app):
    app.connect("doctree-read", unsplit_tagged_math)
    # The navigation shows notebook titles with math (notebook 04's "\\(\\pi_i\\)"), so every page
    # needs MathJax, not only the pages whose body has math.
    app.set_html_assets_policy("always")
    app.connect("autodoc-process-docstring", escape_docstring)
    app.connect("config-inited", prepare_sources, priority=100)
    app.connect("html-page-context", add_plotly)
    app.add_directive("dggbook-checks", ChecksDirective)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
