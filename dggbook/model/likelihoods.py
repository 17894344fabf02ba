"""Pick the observation model p(x|z) by name: "bernoulli" or "gaussian" (DGG notes §1, §3).

Both log-likelihoods live in :mod:`dggbook.derivation.elbo`; this module only maps a
name to one of them, so the trainer and the pretrainer share one switch.
"""
from __future__ import annotations

import torch

from ..derivation import elbo

__all__ = ["LIKELIHOODS", "reconstruction_log_likelihood", "decoder_mean"]

LIKELIHOODS = ("bernoulli", "gaussian")


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
    raise ValueError(f"likelihood={likelihood!r} is not one of {LIKELIHOODS}.")


def decoder_mean(likelihood: str, decoder_output: torch.Tensor) -> torch.Tensor:
    """E[x | z]: sigmoid of the logits (Bernoulli) or the output itself (Gaussian)."""
    return torch.sigmoid(decoder_output) if likelihood == "bernoulli" else decoder_output
