"""Pick the observation model p(x|z) by name: "bernoulli" or "gaussian" (notebook 01 and 03).

Both log-likelihoods live in :mod:`dggbook.derivation.elbo`; this module only maps a
name to one of them, so the trainer and the pretrainer share one switch.
"""
from __future__ import annotations

import torch

from ..derivation import elbo

__all__ = ["LIKELIHOODS", "MIN_NOISE_VAR", "reconstruction_log_likelihood", "decoder_mean", "reconstruction_noise_var"]

LIKELIHOODS = ("bernoulli", "gaussian")
MIN_NOISE_VAR = 1e-6  # the floor of a measured σ_x²: an autoencoder that copies its input exactly has MSE 0


def reconstruction_log_likelihood(
    likelihood: str, x: torch.Tensor, decoder_output: torch.Tensor, noise_var: float = 1.0, *, validate: bool = False
) -> torch.Tensor:
    """Term 1 of DGG eq. (4)/(21): ln p(x | z) for one sample z, shape (B,).

    ``decoder_output`` is g(z): Bernoulli logits or Gaussian means. Validation
    is off by default: it reads values back to the host, which the training
    loops avoid (they check their loss instead).
    """
    if likelihood == "bernoulli":
        return elbo.bernoulli_log_likelihood(x, decoder_output, validate=validate)
    if likelihood == "gaussian":
        return elbo.gaussian_log_likelihood(x, decoder_output, noise_var=noise_var, validate=validate)
    if likelihood == "auto":
        raise ValueError("likelihood='auto' is chosen from the data before training: resolve the settings first "
                         "(settings.resolved(DataFacts.of(X), device), as train_dgg does), or pass 'bernoulli' "
                         "or 'gaussian'.")
    raise ValueError(f"likelihood={likelihood!r} is not one of {LIKELIHOODS}.")


def decoder_mean(likelihood: str, decoder_output: torch.Tensor) -> torch.Tensor:
    """E[x | z]: sigmoid of the logits (Bernoulli) or the output itself (Gaussian)."""
    return torch.sigmoid(decoder_output) if likelihood == "bernoulli" else decoder_output


@torch.no_grad()
def reconstruction_noise_var(encoder, decoder, X: torch.Tensor, batch_size: int = 1024) -> float:
    """σ̂_x² = (1 / (N D)) sum_i ||x_i - g(mu~(x_i))||²: the maximum-likelihood variance of the Gaussian
    p(x|z) = N(g(z), σ_x² I) (term 1 of eq. (4)) given the reconstructions at the latent means, floored at
    :data:`MIN_NOISE_VAR`. ``noise_var="auto"`` is this, measured once after the autoencoder is trained.

    Why it matters: with a fixed σ_x² far above the reconstruction error (say 1 on standardised data),
    term 1 is too weak against the KL terms, and the encoder's means shrink together (posterior collapse).
    """
    total, count = torch.zeros((), dtype=torch.float64, device=X.device), 0
    for start in range(0, X.shape[0], batch_size):
        x = X[start:start + batch_size]
        total += (x - decoder(encoder(x)[0])).double().pow(2).sum()
        count += x.numel()
    return max(float(total) / count, MIN_NOISE_VAR)
