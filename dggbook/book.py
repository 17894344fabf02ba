"""The standard first cell of every notebook: seed, device, quick mode.

``setup_book()`` is the one call a notebook makes before anything else. The
device fallback and the quick-mode switch live here, not in the notebooks.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

QUICK_ENV = "DGGBOOK_QUICK"
FIGURES_ENV = "DGGBOOK_FIGURES"


def quick_mode() -> bool:
    """True when ``DGGBOOK_QUICK`` is set to anything but '', '0', 'false' or 'no'."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA when available, else CPU; pass other names through."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; use device='auto' or 'cpu'.")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class BookSettings:
    """What ``setup_book`` chose: the seed, the device and whether quick mode is on."""

    seed: int
    device: torch.device
    quick: bool

    def __str__(self) -> str:
        mode = "quick (CI)" if self.quick else "full"
        return f"dggbook: seed={self.seed} device={self.device.type} mode={mode} torch={torch.__version__}"


def setup_book(seed: int = 0, device: str = "auto", *, verbose: bool = True) -> BookSettings:
    """Seed everything, pick the device and read quick mode; print the choice."""
    seed_everything(seed)
    settings = BookSettings(seed=seed, device=pick_device(device), quick=quick_mode())
    if verbose:
        print(settings)
    return settings


def figures_dir() -> Path:
    """Where figures go: ``$DGGBOOK_FIGURES`` if set, else ``figures/`` at the repository root."""
    env = os.environ.get(FIGURES_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "figures"


def savefig(fig, name: str, *, dpi: int = 110) -> Path:
    """Save a matplotlib figure as ``figures/<name>.png`` (stable name) and return the path."""
    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"name={name!r} must be a bare stem such as 'js_rotated'; the .png is added.")
    path = figures_dir() / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
