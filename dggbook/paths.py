"""Where dggbook writes: every output and cache folder in one place (README, "Folders").

Everything dggbook writes by itself goes under ``build/`` at the repository
root (or under the working directory when dggbook is installed outside a
checkout), which git ignores and ``make clean`` removes. The one exception is
``figures/``, the committed figures, which only ``make book`` writes to (it
sets ``DGGBOOK_FIGURES``).
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FIGURES_ENV", "CACHE_ENV", "project_root", "build_dir", "figures_dir", "cache_root",
           "committed_figures_dir"]

FIGURES_ENV = "DGGBOOK_FIGURES"
CACHE_ENV = "DGGBOOK_CACHE"


def project_root() -> Path:
    """The repository root when dggbook runs from a checkout, else the working directory."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").exists() and (root / "dggbook").is_dir() else Path.cwd()


def build_dir() -> Path:
    """``build/`` under :func:`project_root`: scratch output, ignored by git, removed by ``make clean``."""
    return project_root() / "build"


def committed_figures_dir() -> Path:
    """``figures/``: the figures the repository ships. Only ``make book`` points savefig here."""
    return project_root() / "figures"


def figures_dir() -> Path:
    """Where :func:`dggbook.book.savefig` writes: ``$DGGBOOK_FIGURES``, else ``build/figures/``."""
    env = os.environ.get(FIGURES_ENV)
    return Path(env) if env else build_dir() / "figures"


def cache_root() -> Path:
    """Cached weights and checkpoints: ``$DGGBOOK_CACHE``, else ``build/cache/``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else build_dir() / "cache"
