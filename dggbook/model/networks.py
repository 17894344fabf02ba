"""The three networks of DGG and the Gaussian-mixture parameters (notebook 01).

- Encoder ``f1``: x -> [mu~, log sigma~^2], the posterior q(z|x) of eq. (23).
- Decoder ``g``: z -> logits of a Bernoulli, or the mean of a Gaussian p(x|z).
- Classifier ``f2``: z -> softmax over clusters, q(c|z); its outputs are gamma.
- ``GaussianMixture``: the prior p(z|c=k) = N(mu_k, diag sigma_k^2) as learnable
  ``nn.Parameter``s.

``DGGNetworks`` bundles them so one ``.to(device)`` and one ``state_dict``
cover the whole model. The paper's sizes are D-500-500-2000-M for the encoder
and the mirror image for the decoder; every size is an argument so tests can
use tiny networks.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["PAPER_HIDDEN_DIMS", "Encoder", "Decoder", "Classifier", "GaussianMixture", "DGGNetworks", "reparameterize"]

PAPER_HIDDEN_DIMS = (500, 500, 2000)


def _check_sizes(name: str, sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in sizes)
    if any(s < 1 for s in sizes):
        raise ValueError(f"{name} must hold positive layer widths, got {sizes}.")
    return sizes


class Encoder(nn.Module):
    """f1: x -> (mu~, log sigma~^2), the Gaussian posterior q(z|x) (DGG eq. (23)).

    ``hidden`` holds the ReLU layers D -> h1 -> ... -> hL; ``mean_head`` and
    ``logvar_head`` map hL to the latent space. The stacked denoising
    autoencoder of ``pretrain`` trains ``hidden`` plus ``mean_head`` layer by
    layer (see :meth:`layers`).
    """

    def __init__(self, input_dim: int, latent_dim: int = 10, hidden_dims: Sequence[int] = PAPER_HIDDEN_DIMS):
        super().__init__()
        hidden_dims = _check_sizes("hidden_dims", hidden_dims)
        widths = (int(input_dim),) + hidden_dims
        self.input_dim, self.latent_dim, self.hidden_dims = int(input_dim), int(latent_dim), hidden_dims
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.mean_head = nn.Linear(widths[-1], latent_dim)
        self.logvar_head = nn.Linear(widths[-1], latent_dim)

    def layers(self) -> list[nn.Linear]:
        """The deterministic path x -> mu~ as a list of linear maps (ReLU between them)."""
        return list(self.hidden) + [self.mean_head]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden representation hL(x)."""
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.mean_head(h), self.logvar_head(h)


class Decoder(nn.Module):
    """g: z -> output of p(x|z); Bernoulli logits or Gaussian means (notebook 01).

    The hidden widths mirror the encoder's: with ``hidden_dims=(500, 500, 2000)``
    the decoder is M-2000-500-500-D. The output is linear: apply a sigmoid to
    get Bernoulli means.
    """

    def __init__(self, latent_dim: int, output_dim: int, hidden_dims: Sequence[int] = PAPER_HIDDEN_DIMS):
        super().__init__()
        hidden_dims = _check_sizes("hidden_dims", hidden_dims)
        widths = (int(latent_dim),) + tuple(reversed(hidden_dims))
        self.latent_dim, self.output_dim, self.hidden_dims = int(latent_dim), int(output_dim), hidden_dims
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.output = nn.Linear(widths[-1], output_dim)

    def layers(self) -> list[nn.Linear]:
        """The path z -> output as a list of linear maps (ReLU between them)."""
        return list(self.hidden) + [self.output]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            z = torch.relu(layer(z))
        return self.output(z)


class Classifier(nn.Module):
    """f2: z -> logits of q(c|z); ``softmax`` of them is gamma (notebook 01).

    Kept small: with ``hidden_dims=()`` it is multinomial logistic regression
    on the latent space; each extra width adds one ReLU layer.

    The input is standardised, (z - shift) / scale, with fixed buffers that
    :func:`dggbook.model.pretrain.pretrain_classifier` sets from the pretrained
    latent means. An autoencoder's latent scale is arbitrary (0.1 or 10); the
    buffers let f2's weights start at a sensible scale either way. They are
    saved in the ``state_dict`` and never trained.
    """

    def __init__(self, latent_dim: int, n_clusters: int, hidden_dims: Sequence[int] = ()):
        super().__init__()
        hidden_dims = _check_sizes("classifier hidden_dims", hidden_dims)
        widths = (int(latent_dim),) + hidden_dims
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], n_clusters))
        self.net = nn.Sequential(*layers)
        self.register_buffer("input_shift", torch.zeros(latent_dim))
        self.register_buffer("input_scale", torch.ones(latent_dim))
        self.latent_dim, self.n_clusters, self.hidden_dims = int(latent_dim), int(n_clusters), hidden_dims

    @torch.no_grad()
    def standardize_inputs(self, z: torch.Tensor) -> "Classifier":
        """Set the input shift and scale to the mean and standard deviation of ``z`` (N, M)."""
        self.input_shift.copy_(z.mean(dim=0))
        self.input_scale.copy_(z.std(dim=0).clamp_min(1e-8))
        return self

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net((z - self.input_shift) / self.input_scale)

    def proba(self, z: torch.Tensor) -> torch.Tensor:
        """gamma_ik = q(c=k | z_i), rows sum to one (to within K * 1e-38).

        Floored at the smallest normal float: a float32 softmax underflows to
        exactly 0 once two logits differ by ~100, and the gradient of the
        gamma ln gamma in term 3 of eq. (4) is -inf there (NaN after the chain
        rule). The floor keeps the loss and its gradient finite.
        """
        gamma = torch.softmax(self.forward(z), dim=-1)
        return gamma.clamp_min(torch.finfo(gamma.dtype).tiny)


class GaussianMixture(nn.Module):
    """The cluster-conditional prior p(z|c=k) = N(mu_k, diag sigma_k^2) (notebook 01).

    ``means`` and ``logvars`` are (K, M) parameters trained jointly with the
    networks (Algorithm 1). The mixing weights are *not* here: DGG gives every
    sample its own prior pi_i, kept by the trainer (DGG eq. (31)).
    """

    def __init__(self, n_clusters: int, latent_dim: int):
        super().__init__()
        self.means = nn.Parameter(torch.zeros(n_clusters, latent_dim))
        self.logvars = nn.Parameter(torch.zeros(n_clusters, latent_dim))

    @property
    def n_clusters(self) -> int:
        return self.means.shape[0]

    @torch.no_grad()
    def set_(self, means: torch.Tensor, variances: torch.Tensor) -> "GaussianMixture":
        """Overwrite the parameters with given means and (positive) variances."""
        self.means.copy_(torch.as_tensor(means, dtype=self.means.dtype))
        self.logvars.copy_(torch.log(torch.as_tensor(variances, dtype=self.logvars.dtype)))
        return self


class DGGNetworks(nn.Module):
    """f1, g, f2 and the GMM in one module, so one ``.to``/``state_dict`` covers all."""

    def __init__(
        self,
        input_dim: int,
        n_clusters: int,
        *,
        latent_dim: int = 10,
        hidden_dims: Sequence[int] = PAPER_HIDDEN_DIMS,
        classifier_hidden_dims: Sequence[int] = (),
    ):
        super().__init__()
        self.encoder = Encoder(input_dim, latent_dim, hidden_dims)
        self.decoder = Decoder(latent_dim, input_dim, hidden_dims)
        self.classifier = Classifier(latent_dim, n_clusters, classifier_hidden_dims)
        self.gmm = GaussianMixture(n_clusters, latent_dim)

    @property
    def device(self) -> torch.device:
        return self.gmm.means.device


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu~ + sigma~ * eps with eps ~ N(0, I): DGG eq. (23) for x_i, eq. (28) for x_j."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
