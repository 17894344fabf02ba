"""Headless-Chromium checks of the built site (build/site/), page by page, offline.

Every request that is not file:// (or data:/blob:/about:) is aborted and counted as a failure, so a
page that needs the network fails here. Per page: no console error or uncaught exception, no failed
file:// request, every <img> loaded, MathJax finished with every math element typeset, no raw
$$ / \\( / \\[ left in the prose, no MathJax error node, every plotly figure drew its SVG, no widget
repr (`VBox(`, `HBox(`, `Output()`) visible; no displayed equation wider than its column unless that
column scrolls; notebook pages link an existing .ipynb. And (issue 23):

- no solution text: the solution lines, the outputs of solved exercises and the prose answers are derived
  from notebooks/*.ipynb by dggbook.book.course.leak_texts (not a hand list); on the student site (the
  default) none may be anywhere in a page's text, hidden or not, nor in a downloadable .ipynb; on the
  lecturer's site (`make site SOLUTIONS=1`, recorded in build/site/dggbook-site.json) none may be visible
  before its "Show the solution" control is opened;
- no figure (<img>) or plotly plot wider than its column: its bounding box may not exceed the content width
  of the block that holds it by more than 1 px;
- the title first: the page's first heading comes before any notebook cell or output;
- no stray repr in an output: `PosixPath(`, `<Figure size …>`, `<matplotlib… object at 0x…>`, and the like.

Screenshots go to build/site-screens/. Exit status 1 if any page fails.

    python site/check_pages.py [--site build/site] [--screens build/site-screens] [--chromium /usr/bin/chromium]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
REPO = Path(__file__).resolve().parents[1]

# printed by accident: the return value of a call that ended a cell (savefig's path, a figure, an artist)
STRAY_REPR = re.compile(r"\b(?:Posix|Windows|PurePosix|PureWindows)Path\(|<Figure size [0-9.]+x[0-9.]+ with"
                        r"|<matplotlib\.[\w.]+ (?:object )?at 0x|\bobject at 0x[0-9a-fA-F]{6,}>|<Axes: ")

TEXT_JS = "() => ({all: document.body.textContent, visible: document.body.innerText})"

OUTPUT_TEXT_JS = ("() => Array.from(document.querySelectorAll('main .cell_output, main .output'))"
                  ".map(e => e.textContent).join('\\n')")

# images and plotly figures wider than their column: than the content box of any block that holds them, up to
# the article (a wrapper may be as wide as the figure inside a narrower, scrolling or clipping, column)
WIDE_FIGURES_JS = r"""
() => {
  const article = document.querySelector('article') || document.querySelector('main') || document.body;
  const wide = [];
  for (const el of article.querySelectorAll('img, .plotly-graph-div')) {
    const box = el.getBoundingClientRect();
    if (!box.width) continue;                          // not rendered (a closed <details>)
    let column = Infinity;
    for (let c = el.parentElement; c; c = c.parentElement) {
      const cs = getComputedStyle(c);
      if (!/^(inline|contents)/.test(cs.display))
        column = Math.min(column, c.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight));
      if (c === article) break;
    }
    if (box.width > column + 1)
      wide.push({what: el.tagName === 'IMG' ? (el.getAttribute('src') || '').split('/').pop() : 'plotly figure',
                 width: Math.round(box.width), column: Math.round(column)});
  }
  return wide;
}
"""

# the page's first (rendered) heading must come before any notebook cell or output
TITLE_FIRST_JS = r"""
() => {
  const root = document.querySelector('article') || document.querySelector('main') || document.body;
  const heading = Array.from(root.querySelectorAll('h1, h2')).find(h => h.getClientRects().length);
  const cell = root.querySelector('div.cell, .cell_output, .output');
  if (!heading) return cell ? 'no heading on a page with notebook cells' : null;
  if (cell && (heading.compareDocumentPosition(cell) & Node.DOCUMENT_POSITION_PRECEDING))
    return 'a notebook cell comes before the title: ' + cell.textContent.trim().slice(0, 80);
  return null;
}
"""

# text outside code blocks, math and scripts, for the raw-TeX and widget-repr checks
VISIBLE_PROSE_JS = r"""
() => {
  const skip = new Set(['SCRIPT','STYLE','PRE','CODE','MJX-CONTAINER','NOSCRIPT','TEXTAREA']);
  const out = [];
  const walk = (n) => {
    if (n.nodeType === Node.TEXT_NODE) { out.push(n.textContent); return; }
    if (n.nodeType !== Node.ELEMENT_NODE) return;
    if (skip.has(n.tagName) || n.classList.contains('highlight')) return;
    const cs = getComputedStyle(n);
    if (cs.display === 'none' || cs.visibility === 'hidden') return;
    for (const c of n.childNodes) walk(c);
  };
  walk(document.querySelector('main') || document.body);
  return out.join(' ');
}
"""

ALL_TEXT_JS = "() => (document.querySelector('main') || document.body).innerText"

MATH_STATE_JS = r"""
async () => {
  const mathEls = document.querySelectorAll('span.math, div.math');
  if (!mathEls.length) return {math: 0, typeset: 0, errors: 0, mathjax: !!window.MathJax};
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return {math: mathEls.length, typeset: 0, errors: 0, mathjax: false};
  await MathJax.startup.promise;
  let typeset = 0;
  for (const el of mathEls) if (el.querySelector('mjx-container')) typeset++;
  const errs = Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent);
  return {math: mathEls.length, typeset, errors: errs.length, errorTexts: errs.slice(0, 3), mathjax: true};
}
"""

IMAGES_JS = r"""
async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  return imgs.map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
}
"""

WIDE_MATH_JS = r"""
() => Array.from(document.querySelectorAll('mjx-container[display="true"]')).filter(c => {
  const box = c.getBoundingClientRect(), column = c.parentElement.getBoundingClientRect();
  return box.left < column.left - 2 || box.right > column.right + 2;  // spills out of its column: clipped
}).map(c => c.textContent.slice(0, 60))
"""

PLOTLY_JS = r"""
async () => {
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  const t0 = Date.now();
  while (Date.now() - t0 < 15000) {
    if (divs.every(d => d.querySelector('svg.main-svg') && d.querySelectorAll('svg.main-svg *').length > 20)) break;
    await new Promise(r => setTimeout(r, 200));
  }
  return {plotly: typeof window.Plotly !== 'undefined' ? window.Plotly.version : null,
          figures: divs.length,
          drawn: divs.filter(d => d.querySelector('svg.main-svg') && d.querySelectorAll('svg.main-svg *').length > 20).length};
}
"""


def solution_texts(notebooks: Path) -> list[str]:
    """Every solution text of the notebooks that no student copy shows (dggbook.book.course.leak_texts, with
    what all the student copies show left out, so a line one notebook shares with another is not a leak)."""
    import nbformat

    from dggbook.book.course import leak_texts, shown_text, student_notebook

    books = {path.stem: nbformat.read(path, as_version=4) for path in sorted(notebooks.glob("*.ipynb"))}
    if not books:
        raise SystemExit(f"no notebooks in {notebooks}: the solution texts are derived from them")
    shown = "\n".join(shown_text(student_notebook(nb, name)) for name, nb in books.items())
    found: list[str] = []
    for name, nb in books.items():
        found += [text for text in leak_texts(nb, name, also_shown=shown) if text not in found]
    return found


def leaked(text: str, solutions: list[str]) -> list[str]:
    from dggbook.book.course import normalised

    flat = normalised(text)
    return [line for line in solutions if line in flat]


def check_downloads(site: Path, solutions: list[str]) -> dict:
    """The student site's .ipynb downloads: no solution block and no solution text."""
    import nbformat

    from dggbook.book.course import BEGIN, shown_text

    problems = []
    files = sorted((site / "notebooks").glob("*.ipynb"))
    for path in files:
        nb = nbformat.read(path, as_version=4)
        found = leaked(shown_text(nb), solutions)
        if found or BEGIN in path.read_text(encoding="utf-8"):
            problems.append(f"{path.name}: solution text in the download: {(found or [BEGIN])[:2]}")
    if not files:
        problems.append("no .ipynb downloads in notebooks/")
    return {"page": "notebooks/*.ipynb (downloads)", "ok": not problems, "problems": problems,
            "downloads": len(files)}


def check_page(browser, site: Path, html: Path, screens: Path, full_page: bool,
               solutions: list[str] = (), lecturer: bool = False) -> dict:
    rel = html.relative_to(site).as_posix()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    blocked, console_errors, failed_files = [], [], []

    def route(r):
        url = r.request.url
        if url.startswith(LOCAL_SCHEMES):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: failed_files.append(r.url) if r.url.startswith("file:") else None)
    t0 = time.time()
    page.goto(html.as_uri(), wait_until="load")
    math = page.evaluate(MATH_STATE_JS)
    images = page.evaluate(IMAGES_JS)
    plotly = page.evaluate(PLOTLY_JS)
    wide_math = page.evaluate(WIDE_MATH_JS)
    prose = page.evaluate(VISIBLE_PROSE_JS)
    text = page.evaluate(ALL_TEXT_JS)
    links = page.eval_on_selector_all("main a[href$='.ipynb']", "els => els.map(e => e.getAttribute('href'))")
    texts = page.evaluate(TEXT_JS)
    outputs = page.evaluate(OUTPUT_TEXT_JS)
    wide_figures = page.evaluate(WIDE_FIGURES_JS)
    title_problem = page.evaluate(TITLE_FIRST_JS)
    page.wait_for_timeout(300)
    shot = screens / (rel.replace("/", "__").removesuffix(".html") + ".png")
    page.screenshot(path=str(shot), full_page=full_page)
    seconds = time.time() - t0
    ctx.close()

    problems = []
    if blocked:
        problems.append(f"{len(blocked)} non-file requests blocked: {blocked[:3]}")
    if console_errors:
        problems.append(f"console errors: {console_errors[:3]}")
    if failed_files:
        problems.append(f"missing files: {failed_files[:3]}")
    bad_imgs = [i["src"] for i in images if not i["ok"]]
    if bad_imgs:
        problems.append(f"images not loaded: {bad_imgs[:3]}")
    if math["math"] and not math["mathjax"]:
        problems.append("math on the page but MathJax not loaded")
    if math["typeset"] < math["math"]:
        problems.append(f"{math['math'] - math['typeset']} of {math['math']} math elements not typeset")
    if math["errors"]:
        problems.append(f"{math['errors']} MathJax errors: {math.get('errorTexts')}")
    if wide_math:
        problems.append(f"{len(wide_math)} displayed equations wider than their column: {wide_math[:2]}")
    for raw in ("$$", "\\(", "\\[", "\\begin{"):
        if raw in prose:
            i = prose.index(raw)
            problems.append(f"raw TeX {raw!r} visible: ...{prose[max(0, i - 40):i + 40]!r}")
    for repr_ in ("VBox(", "HBox(", "Output()"):
        if repr_ in text:
            problems.append(f"widget repr {repr_!r} visible")
    if lecturer:  # solutions on the page, but each behind its control
        shown = leaked(texts["visible"], solutions)
        if shown:
            problems.append(f"{len(shown)} solution texts visible without opening their control: {shown[:2]}")
    else:
        found = leaked(texts["all"], solutions)
        if found:
            problems.append(f"{len(found)} solution texts on the student site: {found[:2]}")
    if wide_figures:
        problems.append(f"{len(wide_figures)} figures wider than their column: {wide_figures[:3]}")
    if title_problem:
        problems.append(f"title not first: {title_problem}")
    stray = STRAY_REPR.search(outputs)
    if stray:
        problems.append(f"stray repr in an output: ...{outputs[max(0, stray.start() - 20):stray.end() + 60]!r}")
    if plotly["drawn"] < plotly["figures"]:
        problems.append(f"plotly: {plotly['figures'] - plotly['drawn']} of {plotly['figures']} figures not drawn")
    if rel.startswith("notebooks/") and rel != "notebooks/notation.html":
        targets = [(html.parent / unquote(urlparse(h).path)) for h in links]
        if not any(t.exists() and t.name == html.with_suffix(".ipynb").name for t in targets):
            problems.append(f"no link to an existing {html.stem}.ipynb (links: {links})")
    return {"page": rel, "ok": not problems, "problems": problems, "math": math["math"],
            "typeset": math["typeset"], "images": len(images), "plotly_figures": plotly["figures"],
            "plotly_drawn": plotly["drawn"], "plotly_version": plotly["plotly"], "ipynb_links": links,
            "seconds": round(seconds, 2), "screenshot": str(shot)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default="build/site")
    ap.add_argument("--screens", default="build/site-screens")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--json", default="build/site-test.json")
    ap.add_argument("--only", default="", help="check only the pages whose path contains this text")
    ap.add_argument("--notebooks", default=str(REPO / "notebooks"),
                    help="the solution notebooks the solution texts are derived from")
    args = ap.parse_args(argv)
    site, screens = Path(args.site).resolve(), Path(args.screens).resolve()
    if not (site / "index.html").exists():
        print(f"{site}/index.html not found: build the site first", file=sys.stderr)
        return 2
    marker = site / "dggbook-site.json"  # written by the dggbook_site extension; absent: judged as a student site
    lecturer = marker.exists() and json.loads(marker.read_text()).get("solutions", False)
    solutions = solution_texts(Path(args.notebooks))
    print(f"{'lecturer' if lecturer else 'student'} site; {len(solutions)} solution texts derived from "
          f"{args.notebooks} must {'stay collapsed' if lecturer else 'not appear'}")
    from playwright.sync_api import sync_playwright
    screens.mkdir(parents=True, exist_ok=True)
    pages = sorted(p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_static")
                   and args.only in p.relative_to(site).as_posix())
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        for html in pages:
            main_page = not html.relative_to(site).as_posix().startswith("_autosummary/")
            r = check_page(browser, site, html, screens, full_page=main_page, solutions=solutions,
                           lecturer=lecturer)
            results.append(r)
            status = "ok  " if r["ok"] else "FAIL"
            print(f"{status} {r['page']:<60} math {r['typeset']}/{r['math']}  img {r['images']}  "
                  f"plotly {r['plotly_drawn']}/{r['plotly_figures']}  {r['seconds']:.1f}s")
            for p in r["problems"]:
                print(f"       - {p}")
        browser.close()
    if not lecturer:
        r = check_downloads(site, solutions)
        results.append(r)
        print(f"{'ok  ' if r['ok'] else 'FAIL'} {r['page']:<60} {r['downloads']} notebooks")
        for p in r["problems"]:
            print(f"       - {p}")
    Path(args.json).write_text(json.dumps(results, indent=1))
    failed = sum(not r["ok"] for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
