"""Running a notebook as JupyterLab does (a kernel, no dggbook variables set) writes no tracked file.

Notebook 02 is the cheapest one that saves figures (about 5 s at full settings).
Its figures must land in build/figures/, not in the committed figures/.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from dggbook import paths

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_the_bound.ipynb"


def tracked_state() -> dict[str, float]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / name for name in listed.decode().split("\0") if name]
    return {str(p): p.stat().st_mtime_ns for p in files if p.exists()}


def test_a_lab_style_run_leaves_tracked_files_alone(monkeypatch, tmp_path):
    for name in ("DGGBOOK_QUICK", paths.FIGURES_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    before = tracked_state()
    started = time.time()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    assert tracked_state() == before
    first = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "mode=full" in first and "figures -> build/figures" in first
    saved = [line.split()[-1] for c in nb.cells if c.cell_type == "code"
             for o in c.get("outputs", []) for line in o.get("text", "").splitlines() if line.startswith("saved ")]
    written = [paths.build_dir() / "figures" / name for name in saved]
    assert saved and all(p.exists() and p.stat().st_mtime >= started for p in written)
