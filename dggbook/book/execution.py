"""Execute a notebook headless, and stop a cell that has gone silent: the one execution function of the book.

``make book`` / ``make book-check`` (:mod:`dggbook.book.runner`) and ``make course``
(:mod:`dggbook.book.course`) run notebooks through :func:`execute_notebook`. It is nbclient with two
additions, both about a cell whose reply never comes (issue 19, section 3):

- **No lost wakeups.** nbclient waits for a cell's ``execute_reply`` with one long asyncio poll of the
  kernel's shell socket. When a cell captures output into an ``ipywidgets.Output``, nbclient, acting as the
  front end, sends the widget's state back to the kernel on that same socket while the poll is pending.
  With pyzmq's edge-triggered socket events that send sometimes swallows the wakeup of the reply: the
  reply sits in nbclient's socket and is read only when the poll times out, which was after the 3600 s
  cell limit in ``make book``. Measured with ``benchmarks/stress_notebook_exec.py`` (2 busy loops beside it
  on 2 cores): notebook 05's explorer cell got its reply only at the timeout in 5 of 5 runs, and in a
  minimal widget notebook 5 of 48 capturing cells did, against 0 of 72 with nbclient's state sync switched
  off. The kernel had sent each reply at once (its header date). ``js_explorer`` no longer captures, and
  the channels here wait in slices of :data:`POLL_SLICE_S` seconds, each ending with a fresh check of the
  socket, so such a reply is read within a second.
- **A watchdog for silent cells.** A cell is *silent* when, for ``silent_timeout`` seconds, no message came
  from the kernel and the kernel (with its child processes) used less than :data:`ACTIVE_CPU_S` of CPU. A
  long computation is never silent (it uses CPU); a hung kernel or a cell waiting forever is. A silent cell,
  or one that runs longer than ``cell_timeout`` in all, stops the notebook with :class:`CellStalled`, which
  names the notebook, the cell (index and first line) and where the partly executed notebook was kept.

``notebook_timeout`` bounds a whole run as well (kernel start included): the cell running when the notebook
passes it is stopped the same way. A busy loop is never silent and each cell may be well under its own
limit, so this is what stops a student notebook that never ends (``--grade``, :mod:`dggbook.book.course`).

``retries`` may run a notebook again after a stalled cell, as a safety net only: each retry is reported on
stderr.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

__all__ = ["POLL_SLICE_S", "ACTIVE_CPU_S", "DEFAULT_CELL_TIMEOUT", "DEFAULT_SILENT_TIMEOUT", "KERNEL_NAME",
           "CellStalled", "NotebookFailed", "Executed", "cell_text", "execute_notebook", "first_line"]

POLL_SLICE_S = 1.0
# CPU seconds the kernel (and its children) must use to count as working; an idle ipykernel uses ~0.01 s/min.
ACTIVE_CPU_S = 1.0
# Defaults of make book/book-check/course. The slowest cell at full settings is notebook 07's fit, 45 s on
# 2 idle cores; 15 min leaves it 20 times that. A silent cell is stopped after 2 min.
DEFAULT_CELL_TIMEOUT = 900
DEFAULT_SILENT_TIMEOUT = 120
KERNEL_NAME = "python3"


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


def _sliced(get_msg, *, on_empty, on_message):
    """``get_msg`` (a channel's async receive) waiting in slices of :data:`POLL_SLICE_S` seconds, each ending
    with a fresh check of the socket, so a reply whose wakeup was lost is read within a slice. ``on_empty``
    runs after each empty slice (it may raise ``Empty`` to give up), ``on_message`` after each message."""

    async def sliced_get_msg(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE_S if deadline is None else min(POLL_SLICE_S, deadline - time.monotonic())
            if left <= 0:
                raise Empty
            try:
                message = await get_msg(timeout=left)
            except Empty:
                on_empty()
                continue
            on_message()
            return message

    return sliced_get_msg


def first_line(source: str) -> str:
    """The first non-empty line of a cell's source, for messages."""
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


class NotebookFailed(RuntimeError):
    """A notebook stopped: a cell raised, or the kernel died. ``kept`` is the partly executed notebook."""

    def __init__(self, message: str, notebook: Path, cell_index: int | None, kept: Path | None):
        super().__init__(message)
        self.notebook, self.cell_index, self.kept = notebook, cell_index, kept


class CellStalled(NotebookFailed):
    """A cell was silent for ``silent_timeout`` seconds, or ran past ``cell_timeout`` (``reason`` says which)."""

    def __init__(self, message: str, notebook: Path, cell_index: int, source: str, reason: str, seconds: float,
                 kept: Path | None):
        super().__init__(message, notebook, cell_index, kept)
        self.first_line, self.reason, self.seconds = first_line(source), reason, seconds


@dataclass
class Executed:
    """A notebook executed to the end: the notebook, its wall time, its slowest cell (index, seconds),
    and how many attempts it took (more than 1 only after a retry)."""

    nb: nbformat.NotebookNode
    seconds: float
    slowest_cell: tuple[int, float]
    attempts: int


def _kernel_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of the process ``pid`` and its live descendants; None when unknown."""
    if pid is None:
        return None
    try:
        import psutil

        process = psutil.Process(pid)
        total = sum(process.cpu_times()[:2])
        for child in process.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.Error:
                pass
        return total
    except Exception:  # no psutil, or the process is gone: no CPU evidence either way
        return None


class WatchedClient(NotebookClient):
    """nbclient with sliced channel waits and a silent-cell watchdog (module docstring)."""

    def __init__(self, nb, silent_timeout: float, notebook_timeout: float | None = None, **kwargs):
        super().__init__(nb, **kwargs)
        self.silent_timeout = float(silent_timeout)
        self.notebook_timeout = None if notebook_timeout is None else float(notebook_timeout)
        self._started = time.monotonic()
        self.stalled: tuple[int, str, float] | None = None  # (cell index, reason, seconds)
        self.cell_seconds: dict[int, float] = {}
        self._cell: tuple[int, float] | None = None  # (index, start) of the running cell
        self.last_cell: int | None = None  # index of the last cell started
        self._active_at = 0.0
        self._cpu_at_active: float | None = None

    # ---- the current cell and its activity
    def _activity(self) -> None:
        self._active_at = time.monotonic()
        self._cpu_at_active = _kernel_cpu_seconds(self._kernel_pid())

    def _kernel_pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def _is_silent(self) -> bool:
        """True once the running cell has sent nothing and used no CPU for ``silent_timeout`` seconds."""
        if self._cell is None:
            return False
        cpu = _kernel_cpu_seconds(self._kernel_pid())
        if cpu is not None and self._cpu_at_active is not None and cpu - self._cpu_at_active >= ACTIVE_CPU_S:
            self._active_at, self._cpu_at_active = time.monotonic(), cpu
        return time.monotonic() - self._active_at > self.silent_timeout

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        start = time.monotonic()
        self._cell, self.last_cell = (cell_index, start), cell_index
        self._activity()
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except CellTimeoutError:
            if self.stalled is None:
                self.stalled = (cell_index, f"ran longer than the cell limit of {self.timeout} s",
                                time.monotonic() - start)
            raise
        finally:
            self.cell_seconds[cell_index] = time.monotonic() - start
            self._cell = None

    # ---- the channels: sliced waits
    async def async_start_new_kernel_client(self):
        result = await super().async_start_new_kernel_client()
        self._slice_waits()
        return result

    def _slice_waits(self) -> None:
        shell, iopub = self.kc.shell_channel, self.kc.iopub_channel

        def check_silence() -> None:
            if (self._cell is not None and self.notebook_timeout is not None
                    and time.monotonic() - self._started > self.notebook_timeout):
                index, start = self._cell
                self.stalled = (index, f"ran past the notebook limit of {self.notebook_timeout:g} s",
                                time.monotonic() - start)
                raise Empty
            if self._is_silent():  # the Empty raised next becomes nbclient's CellTimeoutError
                index, start = self._cell
                self.stalled = (index, f"silent for {self.silent_timeout:.0f} s (no output, no kernel CPU)",
                                time.monotonic() - start)
                raise Empty

        shell.get_msg = _sliced(shell.get_msg, on_empty=check_silence, on_message=lambda: None)
        iopub.get_msg = _sliced(iopub.get_msg, on_empty=lambda: None, on_message=self._activity)


def _keep(nb, source: Path, failed_dir: Path | None, tidy) -> Path | None:
    if failed_dir is None:
        return None
    failed_dir.mkdir(parents=True, exist_ok=True)
    kept = failed_dir / source.name
    if tidy is not None:
        tidy(nb)
    nbformat.write(nb, kept)
    return kept


def execute_notebook(source: Path, *, cell_timeout: int = DEFAULT_CELL_TIMEOUT,
                     silent_timeout: float = DEFAULT_SILENT_TIMEOUT, allow_errors: bool = False,
                     failed_dir: Path | None = None, retries: int = 0, tidy=None, what_next: str = "",
                     notebook_timeout: float | None = None) -> Executed:
    """Execute ``source`` top to bottom in a fresh kernel (working directory: its folder).

    ``cell_timeout``: seconds one cell may run in all; ``silent_timeout``: seconds a cell may stay silent
    (module docstring); ``notebook_timeout``: seconds the whole run may take, kernel start included (None: no
    limit; each retry gets the full limit again). With ``allow_errors`` a cell's exception is recorded and the run goes on; without,
    it stops the notebook. A stop raises :class:`NotebookFailed` (:class:`CellStalled` for a stalled cell)
    naming the notebook and the cell; the partly executed notebook goes to ``failed_dir/<name>`` when
    ``failed_dir`` is given (after ``tidy(nb)``, if given). ``what_next`` is added to the message.
    ``retries``: runs after a stalled cell before giving up, each reported on stderr (a safety net).
    """
    source = Path(source)
    limits = [("cell_timeout", cell_timeout), ("silent_timeout", silent_timeout)]
    if notebook_timeout is not None:
        limits.append(("notebook_timeout", notebook_timeout))
    for name, value in limits:
        if not value or value <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    if retries < 0:
        raise ValueError(f"retries must be 0 or more, got {retries!r}")
    for attempt in range(1, retries + 2):
        nb = nbformat.read(source, as_version=4)
        client = WatchedClient(nb, silent_timeout, notebook_timeout, timeout=int(cell_timeout), kernel_name=KERNEL_NAME,
                               allow_errors=allow_errors, resources={"metadata": {"path": str(source.parent)}})
        start = time.perf_counter()
        try:
            client.execute()
        except CellTimeoutError:
            index, reason, seconds = client.stalled or (None, "timed out", 0.0)
            cell_source = nb.cells[index].source if index is not None else ""
            where = f"cell {index} ({first_line(cell_source)!r})"
            if attempt <= retries:
                print(f"{source.name}: {where} {reason}; running the notebook again "
                      f"(retry {attempt} of {retries})", file=sys.stderr, flush=True)
                continue
            kept = _keep(nb, source, failed_dir, tidy)
            message = (f"{source}: {where} {reason} after {seconds:.0f} s; stopped"
                       + (f". The notebook, executed up to that cell, is {kept}" if kept else "")
                       + ". Open it to see the cell's last output; run the cell by itself in Jupyter to see "
                         "whether it hangs there too" + (f"; {what_next}" if what_next else "") + ".")
            raise CellStalled(message, source, index, cell_source, reason, seconds, kept) from None
        except (CellExecutionError, DeadKernelError) as error:
            index = client.last_cell
            kept = _keep(nb, source, failed_dir, tidy)
            where = f"cell {index} ({first_line(nb.cells[index].source)!r})" if index is not None else "a cell"
            kind = "the kernel died in" if isinstance(error, DeadKernelError) else "an error in"
            message = (f"{source} failed: {kind} {where}"
                       + (f"; the executed notebook, with outputs up to the failing cell, is {kept}" if kept else "")
                       + f"\n{error}")
            raise NotebookFailed(message, source, index, kept) from None
        seconds = time.perf_counter() - start
        slowest = max(client.cell_seconds.items(), key=lambda item: item[1], default=(-1, 0.0))
        return Executed(nb, seconds, slowest, attempt)
    raise AssertionError("unreachable")
