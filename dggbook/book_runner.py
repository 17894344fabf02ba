"""``make book``: execute notebooks headless, in place, with outputs saved; report the figures written.

Usage: ``python -m dggbook.book_runner notebooks/*.ipynb``. Full settings are
used on whatever device is present (quick mode is switched off here).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .book import QUICK_ENV, figures_dir


def _strip_volatile(nb) -> None:
    """Drop widget state; it is large, changes every run, and nothing reads it back."""
    nb.metadata.pop("widgets", None)


def execute(path: Path, timeout: int = 3600) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    _strip_volatile(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(paths: list[str]) -> int:
    os.environ.pop(QUICK_ENV, None)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    figures = figures_dir()
    before = {p: p.stat().st_mtime for p in figures.glob("*")} if figures.exists() else {}
    for name in paths:
        seconds = execute(Path(name))
        print(f"executed {name} in {seconds:.1f} s")
    written = sorted(p for p in figures.glob("*") if before.get(p) != p.stat().st_mtime)
    print(f"figures written to {figures}/:")
    for p in written:
        print(f"  {p.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
