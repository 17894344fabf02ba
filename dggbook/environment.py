"""What a result was computed with, and the CPU settings that make it repeat.

Three things decide whether a seeded run gives the same numbers twice:

1. the library versions (pinned in ``requirements-lock.txt``; :func:`versions`
   reports them, every notebook prints them, ``metrics.json`` stores them);
2. the CPU's math kernels. On x86-64, torch's matrix products go through MKL,
   which picks a code path for the processor it finds, and torch's own
   vectorised kernels do the same (AVX-512 or AVX2). Different paths round
   differently, and training amplifies the difference: on digits, seed 0, the
   MKL path alone moved ACC from 0.853 to 0.803 (README, "Reproducibility").
   :func:`pin_cpu_math` fixes both to the AVX2 path, which every x86-64 CPU of
   the last decade has, unless the user chose otherwise. It only takes effect
   when it runs before torch is imported; the entry points call it (``import
   dggbook`` does not). Pinning makes two CPUs agree more often, not always:
   what holds across CPUs is stated in the README, "Reproducibility";
3. the number of torch threads, which changes the order of sums.
   :data:`DEFAULT_TORCH_THREADS` is 1, measured by ``benchmarks/bench_threads.py``
   (README, "Threads"); :func:`torch_threads` applies a count for one block.
"""
from __future__ import annotations

import contextlib
import os
import platform
import sys
import warnings
from importlib import metadata

__all__ = ["DEFAULT_TORCH_THREADS", "PINNED_MATH_ENV", "pin_cpu_math", "cpu_math", "versions",
           "describe", "torch_threads", "check_threads", "torch_seeded", "env_flag", "QUICK_ENV", "quick_mode"]

DEFAULT_TORCH_THREADS = 1
# Environment variables read once, when torch loads MKL and picks its kernels.
PINNED_MATH_ENV = {"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
OPT_OUT_ENV = "DGGBOOK_NATIVE_MATH"
PACKAGES = ("torch", "numpy", "scipy", "scikit-learn")
QUICK_ENV = "DGGBOOK_QUICK"  # tiny settings everywhere (tests, CI)


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to anything but '', '0', 'false' or 'no'."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def quick_mode() -> bool:
    """True when ``DGGBOOK_QUICK`` is set to anything but '', '0', 'false' or 'no'."""
    return env_flag(QUICK_ENV)


def pin_cpu_math() -> bool:
    """Ask MKL and torch for their AVX2 code paths on x86-64, for this process and every process it starts.

    An explicit call, made by the book's entry points before they import torch: the
    command line, ``make`` (which exports the same variables), the book runner, the
    benchmarks and the tests. ``import dggbook`` does not call it, so importing the
    library changes no environment variable. Values the user already exported are
    kept (``ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE`` stands in for another
    CPU); ``DGGBOOK_NATIVE_MATH=1`` keeps the processor's own, possibly faster, paths.

    Returns True when this process computes on the pinned kernels. When torch was
    imported before and the variables were not set then, it warns: this process keeps
    the kernels torch found, and only the processes it starts (a notebook kernel) are pinned.
    """
    if platform.machine().lower() not in ("x86_64", "amd64") or env_flag(OPT_OUT_ENV):
        return False
    missing = [name for name in PINNED_MATH_ENV if name not in os.environ]
    for name in missing:
        os.environ[name] = PINNED_MATH_ENV[name]
    if missing and "torch" in sys.modules:  # MKL and the dispatcher have read their settings already
        warnings.warn("torch was imported before pin_cpu_math() ran, so this process keeps the kernels torch "
                      "found (results may differ from the README's); processes it starts are pinned. Call "
                      f"dggbook.pin_cpu_math() before importing torch, or set {OPT_OUT_ENV}=1 to silence this.",
                      stacklevel=2)
        return False
    return True


def cpu_math() -> str:
    """The torch CPU kernel level in use and the MKL setting, e.g. ``'AVX2, MKL_CBWR=AVX2'``."""
    import torch

    return f"{torch.backends.cpu.get_cpu_capability()}, MKL_CBWR={os.environ.get('MKL_CBWR', 'unset')}"


def versions() -> dict:
    """Python, torch, numpy, scipy and scikit-learn versions, and the CPU math settings."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["cpu_math"] = cpu_math()
    return found


def describe() -> str:
    """One line: every entry of :func:`versions`."""
    return " ".join(f"{k}={v}" for k, v in versions().items())


def check_threads(n_threads) -> None:
    """Raise ``ValueError`` unless ``n_threads`` is None (leave torch alone) or a positive int."""
    from .validation import check_positive_int  # here, not at the top: it imports torch, which must load after pinning

    if n_threads is None:
        return
    try:
        check_positive_int("n_threads", n_threads)
    except ValueError:
        raise ValueError(f"n_threads must be None (keep torch's setting) or a positive int, got {n_threads!r}; "
                         f"{DEFAULT_TORCH_THREADS} is fastest on a shared machine (benchmarks/bench_threads.py).") from None


@contextlib.contextmanager
def torch_threads(n_threads: int | None):
    """Run a block with ``n_threads`` torch CPU threads, then restore the previous count (None: no change)."""
    import torch

    check_threads(n_threads)
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def torch_seeded(seed: int | None, device=None):
    """Run a block on a forked copy of torch's generator seeded with ``seed``; the caller's state comes back after.

    So a seeded fit gives the same result whatever the caller drew before, and
    leaves the caller's draws after it unchanged. When ``device`` is a CUDA device
    (a ``torch.device`` or its name), the generator of that device is forked too:
    ``cuda:1`` forks device 1's, and a bare ``cuda`` the current device's
    (:func:`torch.cuda.current_device`), which is where its tensors go. ``seed=None``
    runs the block unseeded, on the caller's generator.
    """
    import torch

    if seed is None:
        yield
        return
    device = torch.device(device) if isinstance(device, str) else device
    devices = []
    if device is not None and getattr(device, "type", "") == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
