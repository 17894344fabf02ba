"""Diagonal-Gaussian primitives in torch (notebook 03).

Everything here is a closed form for N(mu, diag exp(logvar)); the last
dimension of every tensor is the latent dimension M and is summed over.
The ``constants`` switch keeps or drops the ln 2π terms so that notebook 03
can show they cancel (notebook 03, "the constants").
"""
from __future__ import annotations

import math

import torch

from ..validation import check_finite, check_ndim

LOG_2PI = math.log(2.0 * math.pi)


def _tensor(name: str, value, validate: bool = True) -> torch.Tensor:
    """Convert to a tensor (float64 for non-tensors) and, if ``validate``, reject NaN/inf.

    Validation reads the values back to the host, so the training loop passes
    ``validate=False`` and checks its loss instead (no per-batch sync on CUDA).
    """
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=torch.float64)
    if validate:
        check_finite(name, t)
    return t


def _check_latent_dims(*named) -> None:
    """Every tensor needs a last (latent) axis, and all of them the same length M.

    Without this, a last axis of length 1 would broadcast silently and the
    ln 2π constant (counted from one argument) would be wrong.
    """
    for name, t in named:
        if t.dim() == 0:
            raise ValueError(f"{name} must have a last (latent) dimension M, got a 0-D value; pass shape (..., M).")
    first, ref = named[0]
    for name, t in named[1:]:
        if t.shape[-1] != ref.shape[-1]:
            raise ValueError(
                f"{name} has latent dimension {t.shape[-1]} but {first} has {ref.shape[-1]}; they must match."
            )


def log_normal_diag(x, mean, logvar, constants: bool = True, *, validate: bool = True) -> torch.Tensor:
    """ln N(x; mean, diag e^logvar), summed over the last dimension (broadcasts)."""
    x, mean, logvar = (_tensor(n, v, validate) for n, v in (("x", x), ("mean", mean), ("logvar", logvar)))
    _check_latent_dims(("x", x), ("mean", mean), ("logvar", logvar))
    quad = (x - mean) ** 2 * torch.exp(-logvar)
    out = -0.5 * (logvar + quad).sum(-1)
    if constants:
        out = out - 0.5 * x.shape[-1] * LOG_2PI
    return out


def kl_normal_diag(mu_q, logvar_q, mu_p, logvar_p) -> torch.Tensor:
    """KL(N(mu_q, e^logvar_q) ‖ N(mu_p, e^logvar_p)), summed over the last dimension."""
    mu_q, logvar_q = _tensor("mu_q", mu_q), _tensor("logvar_q", logvar_q)
    mu_p, logvar_p = _tensor("mu_p", mu_p), _tensor("logvar_p", logvar_p)
    _check_latent_dims(("mu_q", mu_q), ("logvar_q", logvar_q), ("mu_p", mu_p), ("logvar_p", logvar_p))
    ratio = torch.exp(logvar_q - logvar_p)
    return 0.5 * (logvar_p - logvar_q + ratio + (mu_q - mu_p) ** 2 * torch.exp(-logvar_p) - 1.0).sum(-1)


def entropy_normal_diag(logvar, constants: bool = True, *, validate: bool = True) -> torch.Tensor:
    """H[N(mu, diag e^logvar)] = ½ Σ_m (ln 2π + logvar_m + 1): minus term 4 of DGG eq. (4)."""
    logvar = _tensor("logvar", logvar, validate)
    out = 0.5 * (logvar + 1.0).sum(-1)
    if constants:
        out = out + 0.5 * logvar.shape[-1] * LOG_2PI
    return out


def expected_log_gaussian(mu, logvar, means, logvars, constants: bool = True, *, validate: bool = True) -> torch.Tensor:
    """E_{N(z; mu, diag e^logvar)}[ln N(z; means_k, diag e^logvars_k)] for every k (DGG eq. (4), term 2).

    Closed form: −½ Σ_m [ln 2π + logvars_km + e^{logvar_m − logvars_km}
    + (mu_m − means_km)² e^{−logvars_km}].

    Shapes: mu, logvar (B, M); means, logvars (K, M). Returns (B, K).
    ``constants=False`` drops the −(M/2) ln 2π term.
    """
    mu, logvar = _tensor("mu", mu, validate), _tensor("logvar", logvar, validate)
    means, logvars = _tensor("means", means, validate), _tensor("logvars", logvars, validate)
    for name, t in (("mu", mu), ("logvar", logvar), ("means", means), ("logvars", logvars)):
        check_ndim(name, t, 2)
    if mu.shape != logvar.shape:
        raise ValueError(f"logvar must have the shape of mu {tuple(mu.shape)}, got {tuple(logvar.shape)}.")
    if means.shape != logvars.shape:
        raise ValueError(f"logvars must have the shape of means {tuple(means.shape)}, got {tuple(logvars.shape)}.")
    if means.shape[1] != mu.shape[1]:
        raise ValueError(
            f"means has latent dimension {means.shape[1]} but mu has {mu.shape[1]}; they must match."
        )
    inv_var = torch.exp(-logvars)[None]  # (1, K, M)
    per_dim = (
        logvars[None]
        + torch.exp(logvar)[:, None] * inv_var
        + (mu[:, None] - means[None]) ** 2 * inv_var
    )  # (B, K, M)
    out = -0.5 * per_dim.sum(-1)
    if constants:
        out = out - 0.5 * mu.shape[1] * LOG_2PI
    return out
