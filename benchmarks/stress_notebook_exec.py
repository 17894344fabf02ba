"""Execute one notebook many times in a row, optionally under CPU load, and count the executions that hang.

Issue 19 §3: ``make book`` once hung in notebook 05 (the widget explorer): the runner waited for a cell's
reply while the kernel sat idle. This script is the reproduction loop for that class of hang:

    python benchmarks/stress_notebook_exec.py --runs 30 --load 2                  # notebook 05, quick mode
    python benchmarks/stress_notebook_exec.py --minimal --runs 100 --load 2       # a 3-cell widget notebook
    python benchmarks/stress_notebook_exec.py --full --runs 5 --load 2            # notebook 05, full settings

Each run starts a fresh kernel and executes the notebook cell by cell with nbclient, with the per-cell
``--cell-timeout`` (seconds). ``--load N`` starts N busy-looping processes beside it for the whole loop (each
ends by itself after ``--budget`` seconds plus a margin, even if this script is killed). When a cell times out,
the run is counted as a hang and the kernel is probed before it is shut down: did the cell's output arrive
(so it ran), does its execute_reply arrive late, and does the kernel still answer a new request. ``--budget``
stops starting new runs after that many seconds. ``--via book`` executes through the book's own execution
function (:func:`dggbook.book.execution.execute_notebook`: sliced waits and the silent-cell watchdog) instead of plain nbclient.

Prints one line per run and a summary; ``--json PATH`` also writes every run's record.
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels: the notebook kernels it starts inherit them

dggbook.pin_cpu_math()

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_05 = ROOT / "notebooks" / "05_js_rotated_gaussians.ipynb"

# The pattern of dggbook.book.js_explorer in three cells, without importing dggbook (fast): widgets, an Output,
# a plotly figure displayed inside the Output while the cell runs (twice, as a slider change would do).
MINIMAL_CELLS = (
    "import ipywidgets as widgets\nfrom IPython.display import display, clear_output\n"
    "import plotly.graph_objects as go\nimport plotly.io as pio\npio.renderers.default = 'plotly_mimetype'",
    "box = widgets.VBox([widgets.FloatSlider(description=f's{i}') for i in range(4)] + [widgets.Output()])\n"
    "out = box.children[-1]\n"
    "for theta in (0.1, 0.2):\n"
    "    with out:\n"
    "        out.clear_output(wait=True)\n"
    "        display(go.Figure(go.Scatter(x=[0.0, theta, 1.0], y=[0.0, 1.0, theta])))\n"
    "display(box)",
    "print('done')",
)

LATE_REPLY_S = 2.0  # an execute_reply reaching nbclient this long after the kernel sent it counts as stalled
BUSY_LOOP = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def minimal_notebook(path: Path, repeat: int = 1) -> Path:
    """Write the widget notebook (:data:`MINIMAL_CELLS`, its widget cell ``repeat`` times) to ``path``."""
    first, widget, last = MINIMAL_CELLS
    nb = new_notebook(cells=[new_code_cell(source) for source in (first, *[widget] * repeat, last)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def start_load(processes: int, seconds: float) -> list[subprocess.Popen]:
    """``processes`` busy loops, each ending by itself after ``seconds``."""
    code = BUSY_LOOP.format(seconds=float(seconds))
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(processes)]


def stop_load(load: list[subprocess.Popen]) -> None:
    for process in load:  # only the processes this script started, by their handle
        process.terminate()
    for process in load:
        process.wait(timeout=10)


async def _probe(client, parent_id: str) -> dict:
    """After a cell timeout: did its reply come late, and does the kernel still answer a new request?"""
    from queue import Empty

    import zmq

    kc = client.kc
    # A message already waiting in the client's own socket means the client missed it, not the kernel.
    found = {"waiting_in_client_socket": bool(kc.shell_channel.socket.get(zmq.EVENTS) & zmq.POLLIN),
             "late_reply": False, "answers_kernel_info": False}
    request = kc.kernel_info()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not found["answers_kernel_info"]:
        try:
            msg = await kc.shell_channel.get_msg(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            break
        parent = msg["parent_header"].get("msg_id")
        found["late_reply"] |= parent == parent_id
        found["answers_kernel_info"] |= parent == request
    if found["answers_kernel_info"] and not found["late_reply"]:  # a reply freed by the new request?
        try:
            while True:
                msg = await kc.shell_channel.get_msg(timeout=2)
                found["late_reply"] |= msg["parent_header"].get("msg_id") == parent_id
        except Empty:
            pass
    return found


async def _run_plain(path: Path, cell_timeout: int) -> dict:
    """Execute ``path`` with plain nbclient, cell by cell; on a timeout, probe the kernel (:func:`_probe`)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    import datetime

    nb = nbformat.read(path, as_version=4)
    sent: dict[int, str] = {}
    record: dict = {"hang": False, "late_replies": []}

    def reply_lag(cell, cell_index, execute_reply, **_):
        """A reply that reaches nbclient seconds after the kernel sent it (header date) is a lost wakeup:
        nbclient picks it up only when its wait times out (after an hour in ``make book`` before the fix)."""
        lag = (datetime.datetime.now(datetime.timezone.utc) - execute_reply["header"]["date"]).total_seconds()
        if lag > LATE_REPLY_S:
            record["late_replies"].append([cell_index, round(lag, 1)])

    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", on_cell_executed=reply_lag,
                            resources={"metadata": {"path": str(path.parent)}})
    async with client.async_setup_kernel():
        await client.async_wait_for_reply(client.kc.kernel_info())
        original_execute = client.kc.execute

        def execute(*args, **kwargs):  # remember each cell's request id, for the probe
            msg_id = original_execute(*args, **kwargs)
            sent[len(sent)] = msg_id
            return msg_id

        client.kc.execute = execute
        for index, cell in enumerate(nb.cells):
            try:
                await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellTimeoutError:
                record.update(hang=True, cell=index, first_line=cell.source.strip().splitlines()[0][:70],
                              outputs_before_timeout=len(cell.get("outputs", [])))
                record.update(await _probe(client, sent[len(sent) - 1]))
                break
    return record


def run_once(path: Path, cell_timeout: int, via: str) -> dict:
    """One execution of ``path`` in a fresh kernel: its wall time and whether (and where) it hung."""
    start = time.perf_counter()
    if via == "book":
        from dggbook.book.execution import CellStalled, execute_notebook

        record = {"hang": False}
        try:
            execute_notebook(path, cell_timeout=cell_timeout, silent_timeout=cell_timeout)
        except CellStalled as error:
            record.update(hang=True, cell=error.cell_index, first_line=error.first_line)
    else:
        record = asyncio.run(_run_plain(path, cell_timeout))
    record["seconds"] = round(time.perf_counter() - start, 1)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=NOTEBOOK_05)
    parser.add_argument("--minimal", action="store_true", help="run the 3-cell widget notebook instead")
    parser.add_argument("--repeat", type=int, default=1,
                        help="with --minimal: the widget cell this many times per kernel (more tries per minute)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds a cell may run (default 120)")
    parser.add_argument("--load", type=int, default=0, help="busy-looping processes beside the runs (default 0)")
    parser.add_argument("--budget", type=float, default=1800, help="start no run after this many seconds")
    parser.add_argument("--full", action="store_true", help="full settings (default: DGGBOOK_QUICK=1)")
    parser.add_argument("--via", choices=("plain", "book"), default="plain",
                        help="plain nbclient (default) or the book's execution function")
    parser.add_argument("--json", type=Path, help="write every run's record here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    if args.cell_timeout < 1:
        parser.error(f"--cell-timeout must be at least 1 second, got {args.cell_timeout}")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if args.load < 0:
        parser.error(f"--load must be 0 or more processes, got {args.load}")

    os.environ.pop("DGGBOOK_QUICK", None) if args.full else os.environ.setdefault("DGGBOOK_QUICK", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    scratch = tempfile.TemporaryDirectory(prefix="stress-")
    os.environ["DGGBOOK_FIGURES"] = scratch.name  # never overwrite the committed figures
    path = minimal_notebook(Path(scratch.name) / "minimal_widget.ipynb", args.repeat) if args.minimal else args.notebook
    if not path.is_file():
        parser.error(f"no such notebook: {path}")

    load = start_load(args.load, args.budget + 600)
    records = []
    begin = time.perf_counter()
    try:
        for run in range(1, args.runs + 1):
            if time.perf_counter() - begin > args.budget:
                print(f"budget of {args.budget:.0f} s spent; stopping before run {run}")
                break
            record = run_once(path, args.cell_timeout, args.via)
            records.append(record)
            where = f"HANG in cell {record['cell']} ({record['first_line']!r})" if record["hang"] else "ok"
            if record.get("late_replies"):
                where += f"; replies that arrived late [cell, seconds]: {record['late_replies']}"
            extra = {k: record[k] for k in ("outputs_before_timeout", "waiting_in_client_socket", "late_reply",
                                                     "answers_kernel_info")
                     if k in record}
            print(f"run {run:3d}: {record['seconds']:6.1f} s  {where} {extra or ''}", flush=True)
    finally:
        stop_load(load)
        scratch.cleanup()
    hangs = sum(r["hang"] for r in records)
    late = sum(bool(r.get("late_replies")) for r in records)
    mode = "full" if args.full else "quick"
    print(f"{path.name} ({mode} mode, load {args.load}, cell timeout {args.cell_timeout} s, via {args.via}): "
          f"{hangs} hang(s) and {late} run(s) with a reply that arrived only at the cell timeout (a lost wakeup), "
          f"in {len(records)} runs, {time.perf_counter() - begin:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"notebook": path.name, "mode": mode, "load": args.load,
                                         "cell_timeout": args.cell_timeout, "via": args.via,
                                         "hangs": hangs, "late": late, "runs": records}, indent=1))
    return 1 if hangs or late else 0


if __name__ == "__main__":
    sys.exit(main())
