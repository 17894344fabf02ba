"""``make book`` and ``make book-check``: execute every notebook headless at full settings.

    python -m dggbook.book.runner notebooks/*.ipynb            # make book: in place, figures -> figures/
    python -m dggbook.book.runner --check notebooks/*.ipynb    # make book-check: copies, tracked files untouched

Both run each notebook with quick mode off, a fresh empty cache (so nothing
computed by an older version of the code is reused) and the thread default of
:func:`dggbook.book.setup_book`. Each prints a line when a notebook starts and
when it ends, with the time.

``make book`` writes the executed notebook over the committed one and its
figures into ``figures/``. ``--check`` writes the executed copies and their
figures under ``build/book-check/`` and then compares, cell by cell, the output
of every cell marked ``# BOOK_CHECK_OUTPUT`` with the committed notebook's: such
cells print results (scores, minima, counts) and never timings, so a difference
means the committed numbers no longer reproduce. Every figure it writes must
also be byte-for-byte the committed one in ``figures/``.

When a notebook fails, the executed notebook, with outputs up to the failing
cell, is kept as ``build/failed/<name>.ipynb`` and the error names that file.
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from ..environment import QUICK_ENV
from ..paths import CACHE_ENV, FIGURES_ENV, build_dir, committed_figures_dir

CHECK_MARKER = "# BOOK_CHECK_OUTPUT"
# The kernel `make install` registers in the virtual environment; stored in every .ipynb so Jupyter opens it
# without asking for a kernel.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (dggbook)", "language": "python"}


def _tidy_metadata(nb) -> None:
    """Drop widget state and per-cell execution timestamps (they change every run and nothing reads them),
    and set the kernelspec (:data:`KERNELSPEC`)."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def cell_text(cell) -> str:
    """The text a code cell showed: its stdout/stderr streams and the text/plain of its results."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", "") + "\n")
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}\n")
    return "".join(parts)


def compare_marked_outputs(committed, executed, name: str) -> list[str]:
    """Unified diffs, one per ``# BOOK_CHECK_OUTPUT`` cell whose output differs from the committed one."""
    problems = []
    pairs = [(a, b) for a, b in zip(committed.cells, executed.cells)
             if a.cell_type == "code" and CHECK_MARKER in a.source]
    for index, (old, new) in enumerate(pairs, 1):
        if old.source != new.source:
            problems.append(f"{name}: marked cell {index} has different source in the two notebooks")
            continue
        before, after = cell_text(old), cell_text(new)
        if before != after:
            diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "committed", "executed",
                                        lineterm="", n=1)
            problems.append(f"{name}: marked cell {index} printed something else:\n" + "\n".join(diff))
    return problems


def compare_figures(written: list[Path], committed_dir: Path) -> list[str]:
    """One message per figure that is missing from ``committed_dir`` or differs from it byte for byte."""
    problems = []
    for path in written:
        committed = committed_dir / path.name
        if not committed.exists():
            problems.append(f"figure {path.name} is not committed in {committed_dir}/")
        elif committed.read_bytes() != path.read_bytes():
            problems.append(f"figure {path.name} differs from the committed {committed}")
    return problems


def execute(source: Path, target: Path, failed_dir: Path, timeout: int = 3600) -> float:
    """Execute ``source`` (working directory: its folder) and write the result to ``target``.

    On a cell error, the partly executed notebook goes to ``failed_dir`` and the
    error is raised again with that path in its message.
    """
    nb = nbformat.read(source, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(source.parent)}})
    try:
        client.execute()
    except CellExecutionError as err:
        failed_dir.mkdir(parents=True, exist_ok=True)
        kept = failed_dir / source.name
        _tidy_metadata(nb)
        nbformat.write(nb, kept)
        raise RuntimeError(f"{source} failed; the executed notebook, with outputs up to the failing cell, "
                           f"is {kept}\n{err}") from None
    _tidy_metadata(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dggbook.book.runner",
        description="Execute notebooks headless at full settings. Default (make book): in place, figures to "
                    "figures/. --check (make book-check): copies under build/book-check/, then compare the marked "
                    "outputs and the figures with the committed ones. A failed notebook is kept in build/failed/.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="execute copies under build/book-check/ and compare marked outputs; write no tracked file")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"book_runner: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2

    saved_environment = dict(os.environ)
    try:
        return _run(args)
    finally:  # the caller's environment comes back (tests call main() in-process)
        os.environ.clear()
        os.environ.update(saved_environment)


def _run(args) -> int:
    build = build_dir()
    out_dir = build / "book-check" if args.check else None
    figures = out_dir / "figures" if args.check else committed_figures_dir()
    os.environ.pop(QUICK_ENV, None)
    os.environ[FIGURES_ENV] = str(figures)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    before = {p: p.stat().st_mtime for p in figures.glob("*")} if figures.exists() else {}
    build.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="book-cache-", dir=build) as cache:
        os.environ[CACHE_ENV] = cache
        for number, source in enumerate(args.notebooks, 1):
            target = out_dir / source.name if args.check else source
            print(f"[{number}/{len(args.notebooks)}] {source.name}: started {time.strftime('%H:%M:%S')}", flush=True)
            try:
                seconds = execute(source, target, build / "failed")
            except RuntimeError as err:
                print(f"[{number}/{len(args.notebooks)}] {source.name}: FAILED", flush=True)
                print(err, file=sys.stderr)
                return 1
            print(f"[{number}/{len(args.notebooks)}] {source.name}: finished in {seconds:.1f} s", flush=True)
            if args.check:
                problems += compare_marked_outputs(nbformat.read(source, as_version=4),
                                                   nbformat.read(target, as_version=4), source.name)
    print(f"all {len(args.notebooks)} notebooks executed in {time.perf_counter() - total:.1f} s")
    written = sorted(p for p in figures.glob("*") if before.get(p) != p.stat().st_mtime)
    print(f"figures written to {figures}/: {', '.join(p.name for p in written) or 'none'}")
    if args.check:
        marked = sum(CHECK_MARKER in c.source for p in args.notebooks
                     for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
        problems += compare_figures(written, committed_figures_dir())
        if problems:
            print("\n\n".join(problems), file=sys.stderr)
            print(f"book-check: {len(problems)} difference(s) from the committed outputs ({marked} marked cells, "
                  f"{len(written)} figures compared; executed copies in {out_dir}/). Rerun `make book` and "
                  f"commit if the change is intended, or find what changed.", file=sys.stderr)
            return 1
        print(f"book-check: all {marked} marked cells print what the committed notebooks show, "
              f"and all {len(written)} figures equal the committed ones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
