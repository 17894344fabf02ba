"""A linear-Gaussian mixture whose posterior is exact — notebook 01.

p(c = k) = π_k,  p(z|k) = N(μ_k, Σ_k),  p(x|z) = N(W z + b, σ_x² I)
(σ_x² = ``noise_var``; notation: notebooks/notation.md).

Then p(x|k) = N(W μ_k + b, W Σ_k Wᵀ + σ_x² I), ln p(x) is a log-sum-exp, and
p(z, c | x) is a Gaussian mixture with V_k = (Σ_k⁻¹ + WᵀW/σ_x²)⁻¹,
m_k = V_k (Σ_k⁻¹ μ_k + Wᵀ(x − b)/σ_x²) and weights p(k|x) ∝ π_k p(x|k).
Every step of the DGG derivation checks to machine precision on it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ..validation import check_covariance, check_finite, check_nonnegative
from .joint import GaussianMixtureJoint
from .quadrature import log_mvn


@dataclass(frozen=True)
class LinearGaussianMixture:
    """The tractable model of notebook 01 (weights (K,), means (K, M), covs (K, M, M), loading W (D, M), offset b (D,))."""

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    loading: np.ndarray
    offset: np.ndarray
    noise_var: float

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=float)
        check_finite("weights", w)
        check_nonnegative("weights", w)
        if w.ndim != 1 or abs(w.sum() - 1) > 1e-10:
            raise ValueError("weights must be a probability vector (K,) summing to 1; divide by its sum.")
        if not (w > 0).all():
            raise ValueError("weights must be positive (ln π_k is taken); drop clusters of weight 0.")
        k = w.size
        means = np.asarray(self.means, dtype=float)
        if means.shape[0] != k or means.ndim != 2:
            raise ValueError(f"means must have shape ({k}, M), got {means.shape}.")
        m = means.shape[1]
        covs = np.asarray(self.covs, dtype=float)
        if covs.shape != (k, m, m):
            raise ValueError(f"covs must have shape {(k, m, m)}, got {covs.shape}.")
        for i, c in enumerate(covs):
            check_covariance(f"covs[{i}]", c)
        loading = np.asarray(self.loading, dtype=float)
        if loading.ndim != 2 or loading.shape[1] != m:
            raise ValueError(f"loading must have shape (D, {m}), got {loading.shape}.")
        offset = np.asarray(self.offset, dtype=float)
        if offset.shape != (loading.shape[0],):
            raise ValueError(f"offset must have shape ({loading.shape[0]},), got {offset.shape}.")
        if not self.noise_var > 0:
            raise ValueError(f"noise_var must be positive, got {self.noise_var}.")
        for name, value in (("weights", w), ("means", means), ("covs", covs), ("loading", loading), ("offset", offset)):
            check_finite(name, value)
            object.__setattr__(self, name, value)

    @classmethod
    def random(cls, *, n_clusters=3, latent_dim=2, data_dim=4, noise_var=0.5, diagonal=True, seed=0):
        """A random, well-conditioned instance (diagonal prior covariances, as in DGG, by default)."""
        rng = np.random.default_rng(seed)
        weights = rng.dirichlet(np.full(n_clusters, 3.0))
        means = rng.normal(scale=1.5, size=(n_clusters, latent_dim))
        if diagonal:
            covs = np.stack([np.diag(rng.uniform(0.3, 1.2, latent_dim)) for _ in range(n_clusters)])
        else:
            a = rng.normal(size=(n_clusters, latent_dim, latent_dim))
            covs = a @ a.transpose(0, 2, 1) / latent_dim + 0.3 * np.eye(latent_dim)
        loading = rng.normal(size=(data_dim, latent_dim))
        offset = rng.normal(scale=0.5, size=data_dim)
        return cls(weights, means, covs, loading, offset, noise_var)

    @property
    def n_clusters(self) -> int:
        return self.weights.size

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1]

    def _x(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        check_finite("x", x)
        if x.shape != self.offset.shape:
            raise ValueError(f"x must have shape {self.offset.shape}, got {x.shape}.")
        return x

    def log_evidence_per_cluster(self, x) -> np.ndarray:
        """ln π_k + ln N(x; W μ_k + b, W Σ_k Wᵀ + σ_x² I) for every k."""
        x = self._x(x)
        eye = np.eye(self.offset.size)
        return np.array([
            math.log(w) + log_mvn(x[None], self.loading @ mu + self.offset, self.loading @ cov @ self.loading.T + self.noise_var * eye)[0]
            for w, mu, cov in zip(self.weights, self.means, self.covs)
        ])

    def log_evidence(self, x) -> float:
        """ln p(x) exactly (notebook 01)."""
        return float(logsumexp(self.log_evidence_per_cluster(x)))

    def log_joint(self, x, z: np.ndarray) -> np.ndarray:
        """ln p(x, z, c) at P points z → (P, K)."""
        x = self._x(x)
        recon = self.log_likelihood(x, z)
        prior = np.stack([math.log(w) + log_mvn(z, mu, cov) for w, mu, cov in zip(self.weights, self.means, self.covs)], 1)
        return prior + recon[:, None]

    def log_likelihood(self, x, z: np.ndarray) -> np.ndarray:
        """ln p(x | z) = ln N(x; W z + b, σ_x² I) at P points → (P,)."""
        resid = x[None] - (z @ self.loading.T + self.offset)
        d = self.offset.size
        return -0.5 * (resid**2).sum(1) / self.noise_var - 0.5 * d * math.log(2 * math.pi * self.noise_var)

    def expected_log_likelihood(self, x, mean, var) -> float:
        """E_{N(z; mean, diag var)}[ln p(x|z)] in closed form (exact term 1 of DGG eq. (4) for this model)."""
        x = self._x(x)
        mean, var = np.asarray(mean, dtype=float), np.asarray(var, dtype=float)
        resid = x - self.loading @ mean - self.offset
        trace = float((self.loading**2 @ var).sum())
        d = self.offset.size
        return -0.5 * (resid @ resid + trace) / self.noise_var - 0.5 * d * math.log(2 * math.pi * self.noise_var)

    def posterior(self, x) -> GaussianMixtureJoint:
        """The exact p(z, c | x) as a Gaussian mixture over (z, c) (notebook 01)."""
        x = self._x(x)
        log_w = self.log_evidence_per_cluster(x)
        log_w = log_w - logsumexp(log_w)
        wtw = self.loading.T @ self.loading / self.noise_var
        proj = self.loading.T @ (x - self.offset) / self.noise_var
        means, covs = [], []
        for mu, cov in zip(self.means, self.covs):
            prec = np.linalg.inv(cov)
            s = np.linalg.inv(prec + wtw)
            s = 0.5 * (s + s.T)
            means.append(s @ (prec @ mu + proj))
            covs.append(s)
        return GaussianMixtureJoint(log_w, np.array(means), np.array(covs))

    def sample(self, n_samples: int, *, seed: int = 0):
        """Draw (x, z, c) from the generative model: c ~ π, z ~ N(μ_c, Σ_c), x ~ N(W z + b, σ_x² I)."""
        if n_samples < 1:
            raise ValueError(f"n_samples must be positive, got {n_samples}.")
        rng = np.random.default_rng(seed)
        c = rng.choice(self.n_clusters, size=n_samples, p=self.weights)
        z = np.stack([rng.multivariate_normal(self.means[k], self.covs[k]) for k in c])
        x = z @ self.loading.T + self.offset + rng.normal(scale=math.sqrt(self.noise_var), size=(n_samples, self.offset.size))
        return x, z, c
