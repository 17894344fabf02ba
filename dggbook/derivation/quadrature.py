"""Gauss–Hermite expectations under a Gaussian in 1–3 dimensions (notebook 01).

A rule with n nodes per dimension integrates polynomials of degree ≤ 2n − 1
exactly, so expectations of quadratics (the ELBO's Gaussian terms) are exact
with n = 2, and smooth integrands such as a log-sum-exp converge quickly.
These are the reference values every closed form in dggbook is checked against.

Also here, shared by :mod:`.joint` and :mod:`.divergence`: the full-covariance
log-density :func:`log_mvn` and the constant ``LN2`` (JS <= ln 2).
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy.special import roots_hermitenorm

from ..validation import check_covariance, check_finite, check_positive_int

MAX_DIM = 3
LN2 = math.log(2.0)  # the largest JS divergence, in nats


def log_mvn(z: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """ln N(z; mean, cov) for a (P, M) array of points, full covariance, through its Cholesky factor."""
    chol = np.linalg.cholesky(cov)
    sol = np.linalg.solve(chol, (z - mean).T)
    return -0.5 * ((sol**2).sum(0) + 2.0 * np.log(np.diag(chol)).sum() + mean.size * math.log(2 * math.pi))


@lru_cache(maxsize=64)
def standard_normal_rule(n_points: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (n^dim, dim) and weights (n^dim,) with Σ w f(ξ) ≈ E_{N(0, I)}[f(ξ)]."""
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(f"dim must be 1, 2 or 3 for tensor-product quadrature, got {dim}.")
    check_positive_int("n_points", n_points)
    x, w = roots_hermitenorm(n_points)  # stable for large n, unlike numpy's hermegauss
    w = w / w.sum()
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    weights = np.meshgrid(*([w] * dim), indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    weight = np.prod(np.stack([g.ravel() for g in weights], axis=1), axis=1)
    nodes.setflags(write=False)
    weight.setflags(write=False)
    return nodes, weight


def gaussian_nodes(mean, cov, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the Gauss–Hermite rule for N(mean, cov) (full covariance)."""
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    check_finite("mean", mean)
    cov = check_covariance("cov", np.atleast_2d(np.asarray(cov, dtype=float)))
    if cov.shape != (mean.size, mean.size):
        raise ValueError(f"cov must have shape {(mean.size, mean.size)} to match mean, got {cov.shape}.")
    xi, w = standard_normal_rule(int(n_points), mean.size)
    chol = np.linalg.cholesky(cov)
    return mean + xi @ chol.T, w


def gaussian_expectation(func: Callable[[np.ndarray], np.ndarray], mean, cov, n_points: int = 32):
    """E_{N(mean, cov)}[func(z)] by Gauss–Hermite quadrature.

    ``func`` maps an (P, M) array of nodes to an array whose first axis is P;
    the result has the remaining shape (a scalar for a scalar integrand).
    """
    z, w = gaussian_nodes(mean, cov, n_points)
    values = np.asarray(func(z), dtype=float)
    if values.shape[:1] != (len(w),):
        raise ValueError(f"func must return an array with first axis {len(w)}, got shape {values.shape}.")
    return np.tensordot(w, values, axes=(0, 0))
