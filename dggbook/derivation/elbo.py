"""The ELBO terms of DGG in closed form — blog eqs. (4) and (5), paper eq. (21).

L(x_i) = E[ln p(x_i|z)] + E[ln p(z|c)] + E[ln p(c)/q(c|z)] − E[ln q(z|x_i)],
with q(c|z) evaluated at the sampled z_i (a mean-field step), giving γ_i.

The cross ELBO (5), L(x_i, x_j), is the *same function* called with the
neighbour's posterior (μ̃_j, σ̃_j, γ_j), the neighbour's reconstruction g(z_j)
scored against x_i, and the anchor's prior π_i. The training loss in
``dggbook.model.algorithm1`` calls exactly these functions.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ..validation import check_finite, check_ndim, check_unit_interval
from .gaussian import LOG_2PI, entropy_normal_diag, expected_log_gaussian

CORRECT_COEFFICIENT = 0.5


class ElboTerms(NamedTuple):
    """The four terms of DGG eq. (4)/(5), each of shape (B,)."""

    reconstruction: torch.Tensor  # term 1: E[ln p(x|z)], one sample
    prior_z: torch.Tensor  # term 2: E[ln p(z|c)]
    prior_c: torch.Tensor  # term 3: E[ln p(c)/q(c|z)]
    entropy_z: torch.Tensor  # term 4: −E[ln q(z|x)]

    @property
    def total(self) -> torch.Tensor:
        return self.reconstruction + self.prior_z + self.prior_c + self.entropy_z


def bernoulli_log_likelihood(x, logits, *, validate: bool = True) -> torch.Tensor:
    """Σ_d x_d ln μ_d + (1 − x_d) ln(1 − μ_d), μ = sigmoid(logits) (DGG eq. (4), term 1, Bernoulli).

    Computed from logits, so μ never rounds to 0 or 1. Shapes (B, D) → (B,).
    """
    if validate:
        check_finite("x", x)
        check_finite("logits", logits)
        check_unit_interval("x", x)
        if x.shape != logits.shape:
            raise ValueError(f"logits must have the shape of x {tuple(x.shape)}, got {tuple(logits.shape)}.")
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def gaussian_log_likelihood(x, mean, noise_var: float = 1.0, constants: bool = True, *, validate: bool = True):
    """ln N(x; mean, σ_x² I) = −‖x − mean‖²/(2σ_x²) − (D/2) ln(2πσ_x²) (DGG eq. (4), term 1).

    σ_x² is ``noise_var``. Note the minus sign: the blog prints +‖x − g(z)‖²/(2λ) (its λ is σ_x²),
    which is not a log-density.
    """
    if validate:
        check_finite("x", x)
        check_finite("mean", mean)
        if x.shape != mean.shape:
            raise ValueError(f"mean must have the shape of x {tuple(x.shape)}, got {tuple(mean.shape)}.")
        if not noise_var > 0:
            raise ValueError(f"noise_var must be positive, got {noise_var}.")
    out = -((x - mean) ** 2).sum(-1) / (2.0 * noise_var)
    if constants:
        out = out - 0.5 * x.shape[-1] * math.log(2 * math.pi * noise_var)
    return out


def elbo_terms(
    recon_loglik,
    mu,
    logvar,
    gamma,
    pi,
    means,
    logvars,
    *,
    coefficient: float = CORRECT_COEFFICIENT,
    constants: bool = True,
    validate: bool = True,
) -> ElboTerms:
    """The four terms of L(x_i) — DGG eq. (4) — or of L(x_i, x_j) — eq. (5).

    Shapes: recon_loglik (B,); mu, logvar (B, M) of q(z|x); gamma (B, K) = q(c|z);
    pi (B, K) the per-sample prior p(c); means, logvars (K, M) of the GMM.

    Term 2 is −coefficient · Σ_k γ_k Σ_m [ln 2π + ln σ²_km + σ̃²_m/σ²_km + (μ̃_m − μ_km)²/σ²_km].
    ``coefficient=0.5`` is correct; ``1.0`` is the misprint in eq. (21).
    ``constants=False`` drops the ln 2π of terms 2 and 4 (they cancel: Σ_k γ_k = 1).
    """
    if validate:
        for name, t in (("recon_loglik", recon_loglik), ("mu", mu), ("logvar", logvar), ("gamma", gamma), ("pi", pi)):
            check_finite(name, t)
        check_ndim("recon_loglik", recon_loglik, 1)
        check_ndim("gamma", gamma, 2)
        if gamma.shape != pi.shape:
            raise ValueError(f"pi must have the shape of gamma {tuple(gamma.shape)}, got {tuple(pi.shape)}.")
        if gamma.shape[0] != mu.shape[0] or recon_loglik.shape[0] != mu.shape[0]:
            raise ValueError("recon_loglik, mu and gamma must share their batch size (first axis).")
        if gamma.shape[1] != means.shape[0]:
            raise ValueError(f"gamma has {gamma.shape[1]} clusters but means has {means.shape[0]}; they must match.")
        if bool((pi < 0).any()) or bool((gamma < 0).any()):
            raise ValueError("pi and gamma must be probabilities (non-negative rows summing to 1).")
    expected = expected_log_gaussian(mu, logvar, means, logvars, constants=constants, validate=validate)
    prior_z = (coefficient / CORRECT_COEFFICIENT) * (gamma * expected).sum(-1)
    prior_c = (torch.special.xlogy(gamma, pi) - torch.special.xlogy(gamma, gamma)).sum(-1)
    entropy_z = entropy_normal_diag(logvar, constants=constants, validate=validate)
    return ElboTerms(recon_loglik, prior_z, prior_c, entropy_z)


def dgg_objective(elbo_self, elbo_cross, weights) -> torch.Tensor:
    """½ Σ_j w_ij [L(x_i) + L(x_i, x_j)] per anchor — DGG step (3), the objective Algorithm 1 maximises.

    Shapes: elbo_self (B,), elbo_cross (B, J), weights (B, J). Returns (B,).
    """
    return 0.5 * (weights.sum(-1) * elbo_self + (weights * elbo_cross).sum(-1))


def constant_shift(latent_dim: int) -> float:
    """(M/2) ln 2π: how far L moves when only one of the two ln 2π constants is dropped (notebook 03)."""
    return 0.5 * latent_dim * LOG_2PI
