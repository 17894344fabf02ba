"""The standard first cell of every notebook: seed, device, quick mode, threads, versions.

``setup_book()`` is the one call a notebook makes before anything else. The
device fallback, the quick-mode switch and the thread default live here, not in
the notebooks. Figures go to ``build/figures/`` unless ``$DGGBOOK_FIGURES``
says otherwise; only ``make book`` points it at the committed ``figures/``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..environment import DEFAULT_TORCH_THREADS, QUICK_ENV, check_threads, describe, pin_cpu_math, quick_mode  # noqa: F401
from ..paths import FIGURES_ENV, figures_dir, project_root  # noqa: F401  (FIGURES_ENV: public name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class BookSettings:
    """What ``setup_book`` chose: the seed, the device, quick mode and the torch thread count."""

    seed: int
    device: "torch.device"
    quick: bool
    threads: int

    def __str__(self) -> str:
        mode = ("QUICK (DGGBOOK_QUICK is set: tiny settings for CI; these outputs are not the book's)"
                if self.quick else "full")
        return (f"dggbook: mode={mode}\n"
                f"dggbook: seed={self.seed} device={self.device.type} torch_threads={self.threads} "
                f"figures -> {_shown(figures_dir())}\n"
                f"dggbook: {describe()}")


def _shown(path: Path) -> str:
    """A path relative to the repository when it lies inside it (outputs then read the same on every clone)."""
    try:
        return str(path.resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def setup_book(seed: int = 0, device: str = "auto", *, threads: int | None = DEFAULT_TORCH_THREADS,
               verbose: bool = True) -> BookSettings:
    """Seed everything, pick the device, read quick mode, set torch's CPU threads; print the choice and versions.

    ``threads=None`` keeps torch's own thread count (README, "Threads"). It first pins the CPU math kernels
    (:func:`dggbook.environment.pin_cpu_math`), which takes effect when this is the notebook's first cell,
    before anything imported torch.
    """
    pin_cpu_math()
    import torch

    from ..model.runtime import pick_device

    check_threads(threads)
    seed_everything(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    settings = BookSettings(seed=seed, device=pick_device(device), quick=quick_mode(),
                            threads=torch.get_num_threads())
    if verbose:
        print(settings)
    return settings


def savefig(fig, name: str, *, dpi: int = 110) -> Path:
    """Save a matplotlib figure as ``<figures_dir>/<name>.png`` (stable name) and return the path.

    The folder is ``build/figures/`` by default and ``figures/`` under ``make book``
    (:func:`dggbook.paths.figures_dir`), so an interactive run never rewrites a committed figure.
    """
    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"name={name!r} must be a bare stem such as 'js_rotated'; the .png is added.")
    path = figures_dir() / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
