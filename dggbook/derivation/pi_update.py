"""The per-sample prior π_i and its closed-form update — DGG eq. (31).

Maximising ½ Σ_j w_ij Σ_k (γ_ik + γ_jk) ln π_ik subject to Σ_k π_ik = 1 with a
Lagrange multiplier gives π_ik = Σ_j w_ij (γ_ik + γ_jk) / (2 Σ_j w_ij).

The blog's printed formula and the public code's update are in
:mod:`dggbook.derivation.reproductions`.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize

from ..validation import check_finite, check_ndim, check_nonnegative, check_rows_positive


def check_pi_inputs(gamma_self, gamma_neighbors, weights) -> None:
    check_ndim("gamma_self", gamma_self, 2)
    check_ndim("gamma_neighbors", gamma_neighbors, 3)
    check_ndim("weights", weights, 2)
    b, k = gamma_self.shape
    if tuple(gamma_neighbors.shape[::2]) != (b, k):
        raise ValueError(
            f"gamma_neighbors must have shape ({b}, J, {k}) to match gamma_self, got {tuple(gamma_neighbors.shape)}."
        )
    if tuple(weights.shape) != tuple(gamma_neighbors.shape[:2]):
        raise ValueError(f"weights must have shape {tuple(gamma_neighbors.shape[:2])} (B, J), got {tuple(weights.shape)}.")
    for name, t in (("gamma_self", gamma_self), ("gamma_neighbors", gamma_neighbors), ("weights", weights)):
        check_finite(name, t)
        check_nonnegative(name, t)
    check_rows_positive("weights", weights)


def pi_objective_weights(gamma_self, gamma_neighbors, weights):
    """a_ik = ½ Σ_j w_ij (γ_ik + γ_jk): the coefficients of ln π_ik in the objective (DGG eq. (31))."""
    return 0.5 * (weights.sum(-1, keepdim=True) * gamma_self + (weights[..., None] * gamma_neighbors).sum(1))


def update_pi(gamma_self, gamma_neighbors, weights, *, validate: bool = True) -> torch.Tensor:
    """π_ik = Σ_j w_ij (γ_ik + γ_jk) / (2 Σ_j w_ij) — DGG eq. (31), the Lagrangian stationary point.

    Shapes: gamma_self (B, K), gamma_neighbors (B, J, K), weights (B, J) → (B, K).
    Rows of the result lie on the simplex whether or not the rows of ``weights`` sum to 1.
    """
    if validate:
        check_pi_inputs(gamma_self, gamma_neighbors, weights)
    a = pi_objective_weights(gamma_self, gamma_neighbors, weights)
    return a / weights.sum(-1, keepdim=True)


def pi_update_numeric(gamma_self, gamma_neighbors, weights) -> np.ndarray:
    """Maximise the π objective of eq. (31) numerically (softmax parametrisation, BFGS), row by row.

    The independent check of the closed form: no Lagrangian involved.
    """
    check_pi_inputs(gamma_self, gamma_neighbors, weights)
    a = pi_objective_weights(
        torch.as_tensor(gamma_self, dtype=torch.float64),
        torch.as_tensor(gamma_neighbors, dtype=torch.float64),
        torch.as_tensor(weights, dtype=torch.float64),
    ).numpy()
    rows = []
    for a_i in a:
        rows.append(_maximise_row(a_i))
    return np.stack(rows)


def _maximise_row(a_i: np.ndarray) -> np.ndarray:
    """argmax over the simplex of Σ_k a_k ln π_k, with π = softmax([θ, 0]) (no constraint, no multiplier).

    BFGS gets close; a few Newton steps on the same parametrisation then
    polish the answer to machine precision (the objective is strictly concave in θ).
    """
    total = a_i.sum()

    def negative(theta):
        log_pi = np.append(theta, 0.0)
        log_pi = log_pi - np.logaddexp.reduce(log_pi)
        grad = -(a_i - total * np.exp(log_pi))[:-1]
        return -(a_i @ log_pi), grad

    theta = minimize(negative, np.zeros(a_i.size - 1), jac=True, method="BFGS", options={"gtol": 1e-12}).x
    for _ in range(20):
        log_pi = np.append(theta, 0.0)
        pi = np.exp(log_pi - np.logaddexp.reduce(log_pi))[:-1]
        grad = a_i[:-1] - total * pi
        hessian = -total * (np.diag(pi) - np.outer(pi, pi))
        step = np.linalg.solve(hessian, grad)
        theta = theta - step
        if np.abs(step).max() < 1e-15:
            break
    log_pi = np.append(theta, 0.0)
    return np.exp(log_pi - np.logaddexp.reduce(log_pi))
