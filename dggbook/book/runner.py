"""``make book`` and ``make book-check``: execute every notebook headless at full settings.

    python -m dggbook.book.runner notebooks/*.ipynb            # make book: in place, figures -> figures/
    python -m dggbook.book.runner --check notebooks/*.ipynb    # make book-check: copies, tracked files untouched

Both run each notebook with quick mode off, a fresh empty cache (so nothing
computed by an older version of the code is reused) and the thread default of
:func:`dggbook.book.setup_book`. Each prints a line when a notebook starts and
when it ends, with the time.

``make book`` writes the executed notebook over the committed one and its
figures into ``figures/``. ``--check`` writes the executed copies and their
figures under ``build/book-check/`` and then compares them with the committed
ones. What it compares follows what reproduces (README, "Reproducibility"):

- on the same machine, the same seed gives the same labels and digits; across
  CPUs (different MKL and torch kernels round differently, and training
  amplifies it) only the book's conclusions hold, within stated bands;
- a cell marked ``# BOOK_CHECK_OUTPUT`` prints a CPU-independent result (a
  float64 derivation, Monte Carlo with a fixed seed, a committed results file):
  its output must equal the committed one exactly;
- a cell marked ``# BOOK_CHECK_PROMISE`` prints a trained model's results. It
  asserts the book's promise itself (a band, an ordering, a sign), so the run
  fails when the promise breaks; the check then asks that it contains an
  ``assert``, that its text with every number masked is the committed text
  (same rows, labels and words), and, if the marker line says ``atol=`` or
  ``rtol=``, that every number lies within that band of the committed one;
- every figure must be committed; those in :data:`TRAINED_FIGURES` (drawn from
  a trained model) must be valid PNGs within 10 % of the committed width and
  height, every other one byte for byte the committed one in ``figures/``.

Marked cells print results, never timings.

When a notebook fails, the executed notebook, with outputs up to the failing
cell, is kept as ``build/failed/<name>.ipynb`` and the error names that file.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from ..environment import QUICK_ENV, pin_cpu_math
from ..paths import CACHE_ENV, FIGURES_ENV, build_dir, committed_figures_dir
from .execution import DEFAULT_CELL_TIMEOUT, DEFAULT_SILENT_TIMEOUT, Executed, cell_text, execute_notebook

CHECK_MARKER = "# BOOK_CHECK_OUTPUT"  # output must equal the committed one: CPU-independent results only
# A trained model's result: the cell asserts the book's promise (a band, an ordering, a sign) itself; the check
# compares its text with every number masked, and the numbers within ``atol=``/``rtol=`` if the marker line gives them.
PROMISE_MARKER = "# BOOK_CHECK_PROMISE"
_NUMBER = re.compile(r"[-+\u2212]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_BAND = re.compile(r"\b(atol|rtol)=([0-9.eE+-]+)")
# Figures drawn from a trained model (notebook that writes each): training amplifies the rounding of the CPU's
# kernels, so these cannot be byte-identical across CPUs. --check asks only that each is a valid PNG whose width and
# height are within TRAINED_FIGURE_SIZE_TOLERANCE of the committed one. Every other figure is compared byte for byte.
TRAINED_FIGURES = {
    "neighbor_purity.png": "06 (purity in the trained Siamese embedding)",
    "training_curves.png": "07",
    "latent_clusters.png": "07",
    "decoded_means.png": "07",
    "confusion.png": "07",
    "failure_collapse.png": "09 (Algorithm 1 traced on iris)",
    "failure_start_choice.png": "09 (the UMAP starts of pretrained autoencoders on iris and two moons)",
    "graph_moons_cuts.png": "08 (DGG fitted on two moons from the k-means start)",
}
TRAINED_FIGURE_SIZE_TOLERANCE = 0.10
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


def _marker(source: str) -> str | None:
    """Which check a code cell's source asks for: :data:`CHECK_MARKER`, :data:`PROMISE_MARKER` or None."""
    if CHECK_MARKER in source:
        return CHECK_MARKER
    return PROMISE_MARKER if PROMISE_MARKER in source else None


def promise_band(source: str) -> tuple[float, float] | None:
    """``(atol, rtol)`` from the :data:`PROMISE_MARKER` line of ``source``, or None when it gives neither.

    ``# BOOK_CHECK_PROMISE atol=0.05`` allows every printed number to move by 0.05 from the committed one;
    ``rtol=`` adds a share of the committed number's magnitude. A bad value raises ValueError naming it.
    """
    line = next((ln for ln in source.splitlines() if PROMISE_MARKER in ln), "")
    found = dict(_BAND.findall(line))
    if not found:
        return None
    band = []
    for key in ("atol", "rtol"):
        try:
            value = float(found.get(key, "0"))
        except ValueError:
            raise ValueError(f"{PROMISE_MARKER}: {key}={found[key]!r} is not a number; write e.g. {key}=0.05") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{PROMISE_MARKER}: {key} must be a finite number >= 0, got {found[key]!r}")
        band.append(value)
    return band[0], band[1]


def asserts_something(source: str) -> bool:
    """True when the cell's code holds an ``assert`` statement: the promise the notebook checks as it runs."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


def masked(text: str) -> str:
    """``text`` with every number replaced by ``#`` and runs of spaces collapsed: what a promise cell must
    print unchanged on any CPU (its rows, labels and words), whatever digits training gives."""
    return "\n".join(re.sub(r"[ \t]+", " ", _NUMBER.sub("#", line)).strip() for line in text.splitlines())


def numbers(text: str) -> list[float]:
    """Every number printed in ``text``, in order (the minus sign U+2212 read as '-')."""
    return [float(m.replace("\u2212", "-")) for m in _NUMBER.findall(text)]


def compare_marked_outputs(committed, executed, name: str) -> list[str]:
    """One message per marked cell whose output breaks its check, comparing ``executed`` with ``committed``.

    - :data:`CHECK_MARKER` cells (CPU-independent results: float64 derivations, committed CSVs): the text
      must be identical; the message is a unified diff.
    - :data:`PROMISE_MARKER` cells (trained models): the cell must contain an ``assert`` (its promise,
      checked when the notebook ran); its text with the numbers masked (:func:`masked`) must be identical;
      and, when the marker gives a band (:func:`promise_band`), each number within it of the committed one.
    """
    problems = []
    pairs = [(a, b) for a, b in zip(committed.cells, executed.cells)
             if a.cell_type == "code" and _marker(a.source)]
    for index, (old, new) in enumerate(pairs, 1):
        kind = _marker(old.source)
        if old.source != new.source:
            problems.append(f"{name}: marked cell {index} has different source in the two notebooks")
            continue
        before, after = cell_text(old), cell_text(new)
        if kind == CHECK_MARKER:
            if before != after:
                diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "committed", "executed",
                                            lineterm="", n=1)
                problems.append(f"{name}: marked cell {index} printed something else:\n" + "\n".join(diff))
            continue
        if not asserts_something(old.source):
            problems.append(f"{name}: promise cell {index} asserts nothing; a {PROMISE_MARKER} cell must assert "
                            f"what the book promises (a band, an ordering, a sign)")
        if masked(before) != masked(after):
            diff = difflib.unified_diff(masked(before).splitlines(), masked(after).splitlines(), "committed",
                                        "executed", lineterm="", n=1)
            problems.append(f"{name}: promise cell {index} printed other text (numbers masked as #):\n"
                            + "\n".join(diff))
            continue
        band = promise_band(old.source)
        if band is not None:
            atol, rtol = band
            outside = [(a, b) for a, b in zip(numbers(before), numbers(after)) if abs(b - a) > atol + rtol * abs(a)]
            if outside:
                shown = ", ".join(f"{a:g} -> {b:g}" for a, b in outside[:8])
                problems.append(f"{name}: promise cell {index}: {len(outside)} number(s) outside the band "
                                f"atol={atol:g}, rtol={rtol:g} of the committed ones: {shown}")
    return problems


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels of the PNG at ``path``; ValueError when it is not a complete, valid PNG."""
    from PIL import Image  # matplotlib's own dependency

    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                raise ValueError(f"{path.name} is a {image.format} file, not a PNG")
            size = image.size
            image.load()  # decodes every pixel: a truncated or corrupt file fails here
    except (OSError, SyntaxError) as err:
        raise ValueError(f"{path.name} is not a valid PNG ({err})") from None
    return size


def compare_figures(written: list[Path], committed_dir: Path,
                    trained: dict[str, str] | frozenset[str] = TRAINED_FIGURES) -> list[str]:
    """One message per figure in ``written`` that is missing from ``committed_dir`` or does not match it.

    A figure named in ``trained`` (default :data:`TRAINED_FIGURES`) must be a valid PNG whose width and
    height are each within :data:`TRAINED_FIGURE_SIZE_TOLERANCE` of the committed one's; every other figure
    must equal the committed one byte for byte.
    """
    problems = []
    for path in written:
        committed = committed_dir / path.name
        if not committed.exists():
            problems.append(f"figure {path.name} is not committed in {committed_dir}/")
        elif path.name in trained:
            try:
                (w, h), (w0, h0) = png_size(path), png_size(committed)
            except ValueError as err:
                problems.append(f"trained figure {err}")
                continue
            if abs(w - w0) > TRAINED_FIGURE_SIZE_TOLERANCE * w0 or abs(h - h0) > TRAINED_FIGURE_SIZE_TOLERANCE * h0:
                problems.append(f"trained figure {path.name} is {w}x{h} pixels, the committed {committed} "
                                f"{w0}x{h0} (allowed: {TRAINED_FIGURE_SIZE_TOLERANCE:.0%} either way)")
        elif committed.read_bytes() != path.read_bytes():
            problems.append(f"figure {path.name} differs from the committed {committed}")
    return problems


def execute(source: Path, target: Path, failed_dir: Path, cell_timeout: int = DEFAULT_CELL_TIMEOUT,
            silent_timeout: float = DEFAULT_SILENT_TIMEOUT) -> Executed:
    """Execute ``source`` (working directory: its folder) and write the result to ``target``.

    Runs through :func:`dggbook.book.execution.execute_notebook`: a cell that stays silent for
    ``silent_timeout`` seconds, or runs past ``cell_timeout``, stops the notebook. On a stop or a cell
    error the partly executed notebook goes to ``failed_dir`` and the error (a ``RuntimeError``) names the
    notebook, the cell and that file.
    """
    result = execute_notebook(source, cell_timeout=cell_timeout, silent_timeout=silent_timeout,
                              failed_dir=failed_dir, tidy=_tidy_metadata,
                              what_next="then rerun this notebook alone: python -m dggbook.book.runner "
                                        f"{source}")
    _tidy_metadata(result.nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(result.nb, target)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dggbook.book.runner",
        description="Execute notebooks headless at full settings. Default (make book): in place, figures to "
                    "figures/. --check (make book-check): copies under build/book-check/, then compare the marked "
                    "outputs and the figures with the committed ones. A failed notebook is kept in build/failed/.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="execute copies under build/book-check/ and compare marked outputs; write no tracked file")
    parser.add_argument("--cell-timeout", type=int, default=DEFAULT_CELL_TIMEOUT,
                        help=f"seconds one cell may run in all (default {DEFAULT_CELL_TIMEOUT})")
    parser.add_argument("--silent-timeout", type=int, default=DEFAULT_SILENT_TIMEOUT,
                        help=f"seconds a cell may go without output or kernel CPU (default {DEFAULT_SILENT_TIMEOUT})")
    args = parser.parse_args(argv)
    for name in ("cell_timeout", "silent_timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be a positive number of seconds")
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"book_runner: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2

    saved_environment = dict(os.environ)
    try:
        pin_cpu_math()  # the kernels the notebooks compute on (they inherit this environment)
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
                result = execute(source, target, build / "failed", args.cell_timeout, args.silent_timeout)
            except RuntimeError as err:
                print(f"[{number}/{len(args.notebooks)}] {source.name}: FAILED", flush=True)
                print(err, file=sys.stderr)
                return 1
            slowest, slowest_s = result.slowest_cell
            print(f"[{number}/{len(args.notebooks)}] {source.name}: finished in {result.seconds:.1f} s "
                  f"(slowest cell: {slowest}, {slowest_s:.1f} s)", flush=True)
            if args.check:
                problems += compare_marked_outputs(nbformat.read(source, as_version=4),
                                                   nbformat.read(target, as_version=4), source.name)
    print(f"all {len(args.notebooks)} notebooks executed in {time.perf_counter() - total:.1f} s")
    written = sorted(p for p in figures.glob("*") if before.get(p) != p.stat().st_mtime)
    print(f"figures written to {figures}/: {', '.join(p.name for p in written) or 'none'}")
    if args.check:
        kinds = [_marker(c.source) for p in args.notebooks
                 for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code"]
        exact, promised = kinds.count(CHECK_MARKER), kinds.count(PROMISE_MARKER)
        trained = sum(p.name in TRAINED_FIGURES for p in written)
        problems += compare_figures(written, committed_figures_dir())
        compared = (f"{exact} exact and {promised} promise cells, {len(written) - trained} exact and "
                    f"{trained} trained figures")
        if problems:
            print("\n\n".join(problems), file=sys.stderr)
            print(f"book-check: {len(problems)} difference(s) from the committed outputs ({compared} compared; "
                  f"executed copies in {out_dir}/). Rerun `make book` and commit if the change is intended, "
                  f"or find what changed.", file=sys.stderr)
            return 1
        print(f"book-check: all {exact} exact cells print what the committed notebooks show and all {promised} "
              f"promise cells print the same text; all {len(written) - trained} exact figures equal the "
              f"committed ones byte for byte and all {trained} trained figures are valid PNGs of the committed size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
