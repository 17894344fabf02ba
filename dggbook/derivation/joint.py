"""KL, JS and the bound G between joint distributions over (z, c) — DGG step (1).

A joint is anything with ``log_prob(z) -> (P, K)`` (ln q(z, c) for every c at
P points z) and ``expect(f, n_points)`` (Σ_c E[... f(z)[:, c]] under itself).
Two kinds are used: the inference model q(z, c | x) = N(z; μ, Σ) softmax(Az + b)_c
(``GaussianSoftmaxJoint``) and the exact posterior of the tractable model, a
Gaussian mixture over (z, c) (``GaussianMixtureJoint``). Latent dimension 1–3.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import log_softmax

from ..validation import check_covariance, check_finite
from .quadrature import LN2, gaussian_nodes, log_mvn

DEFAULT_POINTS = 40


class GaussianSoftmaxJoint:
    """q(z, c) = N(z; mean, cov) · softmax(weight z + bias)_c — the DGG inference model q(z|x) q(c|z).

    ``weight`` (K, M) and ``bias`` (K,) play the classifier f2. With ``weight = 0``
    q(c|z) = softmax(bias) is constant in z: the mean-field γ of eqs. (4)–(5).
    """

    def __init__(self, mean, cov, weight, bias):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=float))
        check_finite("mean", self.mean)
        self.cov = check_covariance("cov", np.atleast_2d(np.asarray(cov, dtype=float)))
        self.weight = np.atleast_2d(np.asarray(weight, dtype=float))
        self.bias = np.atleast_1d(np.asarray(bias, dtype=float))
        check_finite("weight", self.weight)
        check_finite("bias", self.bias)
        m = self.mean.size
        if self.cov.shape != (m, m):
            raise ValueError(f"cov must have shape {(m, m)} to match mean, got {self.cov.shape}.")
        if self.weight.shape != (self.bias.size, m):
            raise ValueError(f"weight must have shape {(self.bias.size, m)} (K, M), got {self.weight.shape}.")

    @classmethod
    def mean_field(cls, mean, var, gamma):
        """q(z, c) = N(z; mean, diag var) · γ_c with γ constant in z (DGG eqs. (4)–(5))."""
        gamma = np.asarray(gamma, dtype=float)
        check_finite("gamma", gamma)
        if not (gamma > 0).all():
            raise ValueError("gamma must be positive (ln γ_c is taken); clip it away from 0 and renormalise.")
        return cls(mean, np.diag(np.atleast_1d(var)), np.zeros((gamma.size, np.size(mean))), np.log(gamma))

    @property
    def n_clusters(self) -> int:
        return self.bias.size

    def classifier_log_probs(self, z: np.ndarray) -> np.ndarray:
        """ln q(c|z) at P points → (P, K)."""
        return log_softmax(z @ self.weight.T + self.bias, axis=1)

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        """ln q(z, c) at P points → (P, K)."""
        return log_mvn(z, self.mean, self.cov)[:, None] + self.classifier_log_probs(z)

    def expect(self, func, n_points: int = DEFAULT_POINTS) -> float:
        """Σ_c E_{q(z)}[q(c|z) func(z)[:, c]] by Gauss–Hermite quadrature."""
        z, w = gaussian_nodes(self.mean, self.cov, n_points)
        return float(w @ (np.exp(self.classifier_log_probs(z)) * func(z)).sum(1))


class GaussianMixtureJoint:
    """p(z, c) = exp(log_weights_c) N(z; means_c, covs_c): the exact posterior of the tractable model (notebook 01)."""

    def __init__(self, log_weights, means, covs):
        self.log_weights = np.asarray(log_weights, dtype=float)
        self.means = np.atleast_2d(np.asarray(means, dtype=float))
        self.covs = np.asarray(covs, dtype=float)
        for k, cov in enumerate(self.covs):
            check_covariance(f"covs[{k}]", cov)

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        return np.stack([lw + log_mvn(z, m, c) for lw, m, c in zip(self.log_weights, self.means, self.covs)], axis=1)

    def expect(self, func, n_points: int = DEFAULT_POINTS) -> float:
        total = 0.0
        for k, (lw, m, c) in enumerate(zip(self.log_weights, self.means, self.covs)):
            z, w = gaussian_nodes(m, c, n_points)
            total += math.exp(lw) * float(w @ func(z)[:, k])
        return total


def kl_joint(q, p, n_points: int = DEFAULT_POINTS) -> float:
    """KL(q ‖ p) = Σ_c ∫ q(z, c) ln q(z, c)/p(z, c) dz."""
    return q.expect(lambda z: q.log_prob(z) - p.log_prob(z), n_points)


def _log_mixture(q_a, q_b):
    return lambda z: np.logaddexp(q_a.log_prob(z), q_b.log_prob(z)) - LN2


def js_joint(q_a, q_b, n_points: int = DEFAULT_POINTS) -> float:
    """JS(q_a, q_b) = ½ KL(q_a ‖ q̄) + ½ KL(q_b ‖ q̄), q̄ = ½(q_a + q_b)."""
    log_m = _log_mixture(q_a, q_b)
    return 0.5 * q_a.expect(lambda z: q_a.log_prob(z) - log_m(z), n_points) + 0.5 * q_b.expect(
        lambda z: q_b.log_prob(z) - log_m(z), n_points
    )


def kl_mixture(q_a, q_b, p, n_points: int = DEFAULT_POINTS) -> float:
    """KL(q̄ ‖ p) with q̄ = ½(q_a + q_b): the gap G − JS of DGG step (1)."""
    log_m = _log_mixture(q_a, q_b)
    f = lambda z: log_m(z) - p.log_prob(z)  # noqa: E731
    return 0.5 * q_a.expect(f, n_points) + 0.5 * q_b.expect(f, n_points)


def g_bound(q_i, q_j, p_i, n_points: int = DEFAULT_POINTS) -> float:
    """G(x_i, x_j) = ½ KL(q_i ‖ p_i) + ½ KL(q_j ‖ p_i) — DGG step (1); G = JS + KL(q̄ ‖ p_i) ≥ JS."""
    return 0.5 * kl_joint(q_i, p_i, n_points) + 0.5 * kl_joint(q_j, p_i, n_points)


def elbo_joint(q, log_joint, n_points: int = DEFAULT_POINTS) -> float:
    """E_q[ln p(x, z, c) − ln q(z, c)] — the (cross) ELBO of DGG step (2.1), by quadrature.

    ``log_joint(z) -> (P, K)`` is ln p(x_i, z, c). With q = q_i this is L(x_i);
    with the neighbour's q_j it is the cross ELBO L(x_i, x_j).
    """
    return q.expect(lambda z: log_joint(z) - q.log_prob(z), n_points)
