"""Writing a benchmark's results: its rows as CSV, and the record of the runs that wrote them.

Shared by ``bench_suite.py``, ``bench_graph_gain.py`` and ``bench_start_choice.py``, which import it from
their own folder.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def write_rows(path: Path, fields, rows: list[dict]) -> None:
    """All ``rows`` to the CSV ``path`` (header ``fields``), rewritten whole: called after each row of a long run,
    so that a stopped run keeps what it finished."""
    with Path(path).open("w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)


def command_line(script: str, argv=None) -> str:
    """``python benchmarks/<script> <arguments>``: the command that reproduces a run (``argv`` when ``main`` was
    called with one, else the process's own arguments)."""
    return " ".join(["python", f"benchmarks/{script}", *(sys.argv[1:] if argv is None else argv)])


def record_run(meta_path: Path, command: str, **fields) -> None:
    """Add ``command`` to the ``commands`` of the JSON record at ``meta_path`` (one per run that wrote rows into
    the same CSV) and set ``fields``; every other key already there (a note written by hand) is kept."""
    meta_path = Path(meta_path)
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta["commands"] = [*meta.get("commands", []), command]
    meta.update(fields)
    meta_path.write_text(json.dumps(meta, indent=1, default=str) + "\n")
