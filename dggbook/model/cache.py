"""On-disk cache of trained weights, so a notebook skips work already done.

A cached file is named by a hash of everything that determines its content:
the dataset's name, a fingerprint of the data itself, every setting and the
seed, and what the numbers are computed with (:func:`result_environment`: torch's
thread count, the versions of torch, numpy, scikit-learn and umap-learn, the CPU
kernels). Change any of them and the key changes, so a stale file is never reused.

Files are written and read as plain tensors and containers only: :func:`load_cached`
loads with ``weights_only=True``, so a cache file cannot run code.

The cache lives in ``$DGGBOOK_CACHE`` when that is set, else in ``build/cache/``
(:mod:`dggbook.paths`; ignored by git, removed by ``make clean``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import warnings
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from ..environment import cpu_math

__all__ = [
    "cache_root", "resolve_cache_dir", "data_fingerprint", "result_environment", "cache_key", "cache_file",
    "load_cached", "save_atomic", "write_atomic",
]

from ..paths import CACHE_ENV, cache_root  # noqa: F401  (public names, kept here)

# Packages whose version changes trained numbers (umap-learn: the UMAP start and graph space).
RESULT_PACKAGES = ("torch", "numpy", "scikit-learn", "umap-learn")
# What a truncated or corrupt file raises from torch.load (and what weights_only raises for a foreign object).
CORRUPT_FILE_ERRORS = (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile)


def resolve_cache_dir(cache_dir) -> Path | None:
    """Map a user's ``cache_dir`` argument to a folder. Caching is opt-in: None or False -> no cache,
    True -> :func:`cache_root` (``$DGGBOOK_CACHE`` or ``build/cache/``), a str or Path -> that folder."""
    if cache_dir is None or cache_dir is False:
        return None
    if cache_dir is True:
        return cache_root()
    return Path(cache_dir)


def data_fingerprint(*arrays) -> str:
    """SHA-256 of each array's shape, dtype and bytes, in order (first 16 hex digits)."""
    digest = hashlib.sha256()
    for X in arrays:
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        X = np.ascontiguousarray(X)
        digest.update(repr((X.shape, str(X.dtype))).encode())
        digest.update(X.tobytes())
    return digest.hexdigest()[:16]


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def result_environment() -> dict:
    """What changes trained numbers besides data, settings and seed: torch's CPU thread count now (the
    order of sums), the versions of :data:`RESULT_PACKAGES` and the CPU kernels
    (:func:`dggbook.environment.cpu_math`). Every :func:`cache_key` includes it."""
    return {"torch_threads": torch.get_num_threads(), "cpu_math": cpu_math(),
            **{package: _version(package) for package in RESULT_PACKAGES}}


def cache_key(*parts) -> str:
    """A stable 16-hex-digit hash of JSON-serialisable parts (dataclasses allowed) and of
    :func:`result_environment`, so that a file computed with other threads, libraries or kernels is not reused.

    Call it where the work runs (inside the fit's thread setting): the thread count is read then.
    """
    text = json.dumps(_jsonable([*parts, result_environment()]), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_file(folder: Path | None, kind: str, name: str, key: str) -> Path | None:
    """``folder/<kind>-<name>-<key>.pt`` with ``name`` reduced to safe characters; None without a folder."""
    if folder is None:
        return None
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (name or "data"))
    return Path(folder) / f"{kind}-{stem}-{key}.pt"


def load_cached(path: Path | None):
    """Load a cached object onto the CPU (``weights_only=True``: tensors and plain containers only), or None
    when there is no cache, no such file, or the file is truncated or corrupt (then with a warning, and the
    work is recomputed). Any other error (a folder in the way, no permission) is raised."""
    if path is None or not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except CORRUPT_FILE_ERRORS as error:
        warnings.warn(f"cache file {path} is truncated or corrupt and was ignored "
                      f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                      "recomputing it.", stacklevel=2)
        return None


def write_atomic(path: Path, write) -> Path:
    """``write(temporary_path)``, then rename it to ``path``: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def save_atomic(obj, path: Path) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically (:func:`write_atomic`)."""
    return write_atomic(path, lambda tmp: torch.save(obj, tmp))
