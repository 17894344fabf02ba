"""Input checks and conversions shared by every layer.

Each check raises ``ValueError`` whose message names the offending argument and
says how to fix it, so a bad call fails loudly before any state is touched.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

ArrayLike = "np.ndarray | torch.Tensor | float | list"


def _as_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def check_positive_int(name: str, value, *, upper: int | None = None, upper_text: str = "") -> int:
    """``value`` as an ``int`` after checking 1 <= value (<= ``upper``); bools and floats are refused.

    ``upper_text`` says what the bound is, e.g. "N - 1, since self is excluded".
    """
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must be <= {upper} ({upper_text}), got {value}; pass a smaller {name}.")
    return int(value)


def check_positive_number(name: str, value) -> float:
    """``value`` as a ``float`` after checking it is a real number > 0 (bools refused)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def check_finite(name: str, value) -> None:
    """Raise if ``value`` holds NaN or inf."""
    if isinstance(value, torch.Tensor):
        ok = bool(torch.isfinite(value).all()) if value.numel() else True
    else:
        arr = np.asarray(value, dtype=float)
        ok = bool(np.isfinite(arr).all())
    if not ok:
        raise ValueError(
            f"{name} contains NaN or inf; remove or impute non-finite values before calling."
        )


def check_ndim(name: str, value, ndim: int) -> None:
    """Raise unless ``value`` has exactly ``ndim`` dimensions."""
    actual = value.dim() if isinstance(value, torch.Tensor) else np.ndim(value)
    if actual != ndim:
        shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
        raise ValueError(f"{name} must be {ndim}-D, got shape {shape}; reshape it to {ndim} dimensions.")


def check_shape(name: str, value, shape: tuple) -> None:
    """Raise unless ``value.shape`` matches ``shape`` (``None`` entries match anything)."""
    actual = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    if len(actual) != len(shape) or any(s is not None and s != a for s, a in zip(shape, actual)):
        want = tuple("*" if s is None else s for s in shape)
        raise ValueError(f"{name} must have shape {want}, got {actual}; pass arrays of matching shapes.")


def check_nonnegative(name: str, value) -> None:
    """Raise if any entry of ``value`` is negative."""
    if bool((_as_numpy(value) < 0).any()):
        raise ValueError(f"{name} has negative entries; weights and probabilities must be >= 0.")


def check_unit_interval(name: str, value) -> None:
    """Raise unless every entry lies in [0, 1] (Bernoulli data or probabilities)."""
    arr = _as_numpy(value)
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"{name} has values outside [0, 1] (min {arr.min():.4g}, max {arr.max():.4g}); "
            "rescale the data to [0, 1] or use likelihood='gaussian'."
        )


def check_rows_positive(name: str, value) -> None:
    """Raise if some row of a non-negative weight matrix sums to zero."""
    arr = _as_numpy(value)
    sums = arr.reshape(arr.shape[0], -1).sum(axis=1) if arr.ndim > 1 else arr
    bad = np.flatnonzero(sums <= 0)
    if bad.size:
        raise ValueError(
            f"{name} row {int(bad[0])} sums to zero; give every row at least one positive weight."
        )


def check_covariance(name: str, cov: np.ndarray, *, tol: float = 1e-12) -> np.ndarray:
    """Return ``cov`` as a float array after checking it is symmetric positive definite."""
    cov = np.asarray(cov, dtype=float)
    check_finite(name, cov)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {cov.shape}.")
    if not np.allclose(cov, cov.T, atol=1e-10 * max(1.0, np.abs(cov).max())):
        raise ValueError(f"{name} is not symmetric; pass (C + C.T) / 2 or fix its construction.")
    eig = np.linalg.eigvalsh(cov)
    if eig.min() <= tol * max(1.0, eig.max()):
        raise ValueError(
            f"{name} is not positive definite (smallest eigenvalue {eig.min():.3g}); "
            "add a small multiple of the identity or fix its construction."
        )
    return cov


def as_feature_matrix(name: str, X) -> torch.Tensor:
    """``X`` as a finite 2-D floating tensor (float64 stays float64, everything else becomes float32)."""
    if isinstance(X, torch.Tensor):
        t = X.detach()
    else:
        arr = np.asarray(X)
        if arr.dtype == object:
            raise ValueError(f"{name} must be a numeric array, got dtype object.")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype != torch.float64:
        t = t.to(torch.float32)
    check_ndim(name, t, 2)
    check_finite(name, t)
    return t


def as_float_tensor(value) -> tuple[torch.Tensor, bool]:
    """``value`` as a floating tensor (integers become float64) and whether it came in as NumPy."""
    if isinstance(value, torch.Tensor):
        return (value if value.is_floating_point() else value.double()), False
    arr = np.asarray(value)
    dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=dtype)), True


def same_kind_as_input(result: torch.Tensor, was_numpy: bool):
    """``result`` back as NumPy when the input was NumPy (see :func:`as_float_tensor`)."""
    return result.detach().cpu().numpy() if was_numpy else result
