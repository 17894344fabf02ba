"""Affinity weights w_ij of the neighbour graph (notebook 06).

The paper weights the J neighbours of x_i by a Gaussian kernel whose rows sum
to one (notebook 06):

    w_ij = exp(-||x_i - x_j||^2 / 2 s_i^2) / sum_{l in N(i)} exp(-||x_i - x_l||^2 / 2 s_i^2).

Row normalisation is what makes the ln p(x_i) terms cancel in blog step (3),
so every weight matrix built here has rows summing to one unless asked not to.

Every function takes a torch tensor or a NumPy array and returns the same
kind. Distances are laid out as an (N, J) matrix: row i holds x_i's distances
to its J neighbours (self excluded), sorted ascending when a function says so.

What the public code's Gaussian branch (``sigma = dist_temp[11]``) computes
instead lives in :mod:`dggbook.derivation.reproductions`.
"""
from __future__ import annotations

import numbers

import torch

from ..validation import (
    as_float_tensor,
    check_finite,
    check_ndim,
    check_nonnegative,
    check_positive_int,
    check_rows_positive,
    same_kind_as_input,
)

__all__ = [
    "gaussian_weights",
    "local_scaling_window",
    "uniform_weights",
    "normalize_rows",
]


def _window_column(window, n_rows: int, like: torch.Tensor) -> torch.Tensor:
    """Return the window s_i as an (N, 1) column on ``like``'s device and dtype."""
    if isinstance(window, numbers.Real) and not isinstance(window, bool):
        s = torch.full((n_rows,), float(window), dtype=like.dtype, device=like.device)
    else:
        s, _ = as_float_tensor(window)
        s = s.to(device=like.device, dtype=like.dtype)
        if s.dim() == 0:
            s = s.expand(n_rows)
        elif tuple(s.shape) != (n_rows,):
            raise ValueError(
                f"window must be a scalar or have shape ({n_rows},) (one s_i per row), "
                f"got {tuple(s.shape)}; pass one window per row of sq_distances."
            )
    check_finite("window", s)
    if bool((s <= 0).any()):
        raise ValueError("window must be > 0 everywhere; a Gaussian kernel needs a positive width s_i.")
    return s.reshape(n_rows, 1)


def gaussian_weights(sq_distances, window, *, normalize: bool = True):
    """Gaussian affinity weights of notebook 06, one row per sample.

    ``w_ij = exp(-d_ij^2 / (2 s_i^2))``, then divided by the row sum when
    ``normalize`` is true (the paper's definition).

    Args:
        sq_distances: (N, J) **squared** Euclidean distances d_ij^2 from x_i to
            its J neighbours.
        window: the kernel width s_i, in distance (not squared) units: a
            positive scalar shared by all rows, or an (N,) vector, e.g. from
            :func:`local_scaling_window`.
        normalize: divide each row by its sum so that sum_j w_ij = 1.

    Returns:
        (N, J) weights, same kind (tensor / array) as ``sq_distances``.

    Numerics: with ``normalize=True`` the row is ``torch.softmax`` of
    -d_ij^2 / (2 s_i^2), which subtracts the row's largest logit (its nearest
    neighbour's) before the exponential, so no row can underflow to all zeros.
    With ``normalize=False`` the raw kernel is returned and may underflow for
    large d / s.
    """
    d2, was_numpy = as_float_tensor(sq_distances)
    check_ndim("sq_distances", d2, 2)
    check_finite("sq_distances", d2)
    check_nonnegative("sq_distances", d2)
    if d2.shape[1] == 0:
        raise ValueError("sq_distances has no columns; every row needs at least one neighbour.")
    s = _window_column(window, d2.shape[0], d2)
    logits = -d2 / (2.0 * s**2)
    result = torch.softmax(logits, dim=1) if normalize else torch.exp(logits)
    return same_kind_as_input(result, was_numpy)


def local_scaling_window(distances, k: int = 7, *, eps: float = 1e-8):
    """Per-sample window s_i = distance from x_i to its k-th nearest neighbour.

    This is the local scaling of self-tuning spectral clustering
    (Zelnik-Manor & Perona, NIPS 2004), a sound choice for the s_i that
    notebook 06 leaves "set in advance": dense regions get narrow kernels and
    sparse regions wide ones.

    Args:
        distances: (N, J) Euclidean distances (not squared) to each sample's
            neighbours, self excluded, sorted ascending along each row (the
            ``distances`` of :func:`dggbook.model.graph.nearest_neighbors`).
        k: which neighbour sets the scale, 1 <= k <= J (k = 7 in the original
            paper).
        eps: floor for the window. A window of zero happens when x_i has k or
            more exact duplicates; it is raised to ``eps`` so that
            :func:`gaussian_weights` stays finite and puts the row's weight on
            those duplicates.

    Returns:
        (N,) windows, same kind as ``distances``.
    """
    dist, was_numpy = as_float_tensor(distances)
    check_ndim("distances", dist, 2)
    check_finite("distances", dist)
    check_nonnegative("distances", dist)
    n_cols = dist.shape[1]
    check_positive_int("k", k, upper=n_cols, upper_text="the number of neighbour columns; or compute more neighbours")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}; it is the smallest window allowed.")
    if n_cols > 1 and bool((dist[:, 1:] < dist[:, :-1]).any()):
        raise ValueError(
            "distances must be sorted ascending along each row; "
            "pass the distances returned by nearest_neighbors, or sort them first."
        )
    window = dist[:, k - 1].clamp_min(eps)
    return same_kind_as_input(window, was_numpy)


def uniform_weights(n_rows: int, n_neighbors: int) -> torch.Tensor:
    """Equal weights 1/J for every neighbour: what the public DGG code uses (notebook 06).

    The public MNIST runs never reach the Gaussian branch; each of the 20
    neighbours gets weight 1/20 (0.025 after the code's extra 1/2 factor).

    Returns:
        float32 tensor of shape (n_rows, n_neighbors), every row summing to 1.
    """
    n_rows, n_neighbors = check_positive_int("n_rows", n_rows), check_positive_int("n_neighbors", n_neighbors)
    return torch.full((n_rows, n_neighbors), 1.0 / n_neighbors, dtype=torch.float32)


def normalize_rows(weights):
    """Divide each row of a non-negative weight matrix by its sum (notebook 06, blog step (3)).

    Raises ValueError naming ``weights`` when an entry is NaN/inf or negative,
    or when a row sums to zero (it cannot be normalised).
    """
    w, was_numpy = as_float_tensor(weights)
    check_ndim("weights", w, 2)
    check_finite("weights", w)
    check_nonnegative("weights", w)
    check_rows_positive("weights", w)
    return same_kind_as_input(w / w.sum(dim=1, keepdim=True), was_numpy)
