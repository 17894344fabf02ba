"""Autochecks for the exercises at the end of notebooks 01–08 (README, "Course mode").

An exercise is a markdown cell whose first line starts with ``### Exercise N.k``, a code cell that
defines a function whose body sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the lines
``make course`` replaces by a stub, :mod:`dggbook.book.course`), and one or more cells tagged
``check`` that call the function and compare its answer with the library's own or with an
independent computation, through the functions below. A failed check raises ``AssertionError``
saying which exercise, what was expected and what was received; a passed one prints one line.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Any, Iterator

import numpy as np

__all__ = ["check_close", "check_equal", "check_true", "library_blocked", "LibraryCalled", "resolve_target"]


def _as_array(value: Any) -> np.ndarray:
    """A float NumPy array from a number, a list, an array or a torch tensor (detached, on the CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _unanswered(exercise: str, what: str, received: Any) -> None:
    if received is None or received is Ellipsis:
        raise AssertionError(f"Exercise {exercise}: {what} is {received!r}, so it has not been answered yet: "
                             f"write the solution in the cell above and run it again.")


def _shown(values: np.ndarray, limit: int = 6) -> str:
    flat = values.ravel()
    text = np.array2string(flat[:limit], precision=6, separator=", ")
    return text if flat.size <= limit else f"{text[:-1]}, … ({flat.size} values)]"


def check_close(exercise: str, received: Any, expected: Any, *, what: str = "the answer",
                rtol: float = 1e-7, atol: float = 1e-10) -> None:
    """Pass when ``received`` equals ``expected`` elementwise to ``atol + rtol·|expected|``; else say where not.

    ``what`` names the quantity in the messages ("π_i", "term 2"). Shapes must match exactly.
    """
    _unanswered(exercise, what, received)
    got, want = _as_array(received), _as_array(expected)
    if got.shape != want.shape:
        raise AssertionError(f"Exercise {exercise}: {what} has shape {got.shape}; expected shape {want.shape}.")
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"Exercise {exercise}: {what} contains NaN or inf: received {_shown(got)}.")
    error = np.abs(got - want)
    tolerance = atol + rtol * np.abs(want)
    if np.any(error > tolerance):
        worst = np.unravel_index(int(np.argmax(error - tolerance)), error.shape) if error.ndim else ()
        at = f" (largest error at index {tuple(int(i) for i in worst)})" if worst else ""
        raise AssertionError(f"Exercise {exercise}: {what} is wrong{at}.\n  expected {_shown(want)}\n"
                             f"  received {_shown(got)}\n  largest |difference| = {error.max():.3g}, "
                             f"tolerance {atol:g} + {rtol:g}·|expected|")
    print(f"Exercise {exercise}: {what} is right (largest |difference| {error.max():.1e}).")


def _plain(value: Any) -> Any:
    """Tensors and arrays as nested tuples of Python numbers, lists as tuples: ``[2, 0]``, ``(2, 0)`` and
    ``np.array([2, 0])`` compare equal."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(_plain(item) for item in value)
    return value


def check_equal(exercise: str, received: Any, expected: Any, *, what: str = "the answer") -> None:
    """Pass when ``received`` equals ``expected`` (for discrete answers: labels, pairs, counts, booleans); lists,
    tuples, arrays and tensors of the same numbers count as equal."""
    _unanswered(exercise, what, received)
    if _plain(received) != _plain(expected):
        raise AssertionError(f"Exercise {exercise}: {what} is wrong.\n  expected {expected!r}\n"
                             f"  received {received!r}")
    print(f"Exercise {exercise}: {what} is right ({received!r}).")


def check_true(exercise: str, condition: bool, message: str) -> None:
    """Pass when ``condition`` holds; else fail with ``message`` (which should say what was expected and seen)."""
    if condition is None or condition is Ellipsis:
        _unanswered(exercise, "the answer", condition)
    if not condition:
        raise AssertionError(f"Exercise {exercise}: {message}")
    print(f"Exercise {exercise}: passed.")


class LibraryCalled(AssertionError):
    """Raised by a blocked library function: the answer called what the exercise asks the student to write."""


def resolve_target(dotted: str) -> tuple[Any, str, Any]:
    """(owner, attribute, object) of ``"package.module.function"`` or ``"package.module.Class.method"``."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for name in parts[split:-1]:
                owner = getattr(owner, name)
            return owner, parts[-1], getattr(owner, parts[-1])
        except AttributeError:
            break
    raise ValueError(f"library_blocked: {dotted!r} does not name a function; give its full dotted path, "
                     "e.g. 'dggbook.derivation.pi_update.update_pi'.")


@contextlib.contextmanager
def library_blocked(exercise: str, *targets: str) -> Iterator[None]:
    """Within the block, each function named in ``targets`` (full dotted paths) raises :class:`LibraryCalled`.

    The function is replaced where it is defined and in every loaded module that holds it under any name
    (the notebook's own namespace too: ``from dggbook.derivation.pi_update import update_pi`` is caught), and
    restored on exit. Compute the expected answer with the library *before* the block, and call only the
    student's function inside it.
    """
    if not targets:
        raise ValueError("library_blocked needs at least one target: the library function(s) the exercise "
                         "asks the student to write.")
    resolved = [resolve_target(dotted) for dotted in targets]
    originals = {id(obj): (dotted, obj) for dotted, (_, _, obj) in zip(targets, resolved)}
    replaced: list[tuple[Any, str, Any]] = []

    def refusal(dotted: str):
        def refuse(*args, **kwargs):
            raise LibraryCalled(f"Exercise {exercise}: your answer calls {dotted}, the library function this "
                                "exercise asks you to write yourself. Replace that call by your own code.")
        return refuse

    try:
        for owner, name, obj in resolved:  # methods and functions where they are defined
            setattr(owner, name, refusal(originals[id(obj)][0]))
            replaced.append((owner, name, obj))
        for module in list(sys.modules.values()):  # and every other name that holds them
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for name, value in list(namespace.items()):
                if id(value) in originals and originals[id(value)][1] is value:
                    namespace[name] = refusal(originals[id(value)][0])
                    replaced.append((module, name, value))
        yield
    finally:
        for owner, name, value in reversed(replaced):
            setattr(owner, name, value)
