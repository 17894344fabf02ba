"""Every reproduction of a misprint or of the public code's behaviour, kept apart from the correct library.

Nothing in :mod:`dggbook.derivation` or :mod:`dggbook.model` uses these to
compute a result unless asked for one by name (the training options of
:mod:`dggbook.model.departures`, for the ablation study of notebook 08); the
checks (``expect="differ"``), the notebooks and the tests call them to show,
with numbers, how each one departs from the derivation (notebook 08, the seven
questions, lists where the paper, the blog and the public code disagree):

- :data:`PRINTED_COEFFICIENT`: term 2 of the paper's eq. (21) is printed with 1 where ½ is right;
- :func:`blog_printed_pi`: the blog's π update, not normalised (notebook 04);
- :func:`public_code_pi`: the public code's π update, ½ f2(μ̃_i) + Σ_j f2(μ̃_j) / (2J) (notebook 04);
- :func:`public_code_row11_window`, :func:`public_code_gauss_weights`: the public code's
  Gaussian weights, ``sigma = dist_temp[11]`` (notebook 06); :func:`public_code_row11_batch_weights`,
  the same weights laid out and normalised so that a training step can use them.

The public code's *choices* that are sound options (J random neighbours of the
top 100, uniform weights, its contrastive loss) stay in the model as options.
"""
from __future__ import annotations

import torch

from ..validation import as_float_tensor, check_finite, check_ndim, same_kind_as_input
from .pi_update import check_pi_inputs

__all__ = ["PRINTED_COEFFICIENT", "blog_printed_pi", "public_code_pi", "public_code_row11_window",
           "public_code_gauss_weights", "public_code_row11_batch_weights"]

PRINTED_COEFFICIENT = 1.0  # term 2 of eq. (21) as printed; the derivation gives elbo.CORRECT_COEFFICIENT = ½


def blog_printed_pi(gamma_self, gamma_neighbors, weights, *, validate: bool = True) -> torch.Tensor:
    """The formula as the blog prints it: Σ_j w_ij γ_jk / Σ_j w_ij (γ_ik + γ_jk). Not normalised (notebook 04).

    ``validate=False`` skips :func:`~dggbook.derivation.pi_update.check_pi_inputs` (shapes, finite,
    non-negative, rows with weight): training calls it once per batch, and on CUDA each check
    copies the (B, J, K) posteriors to the host.
    """
    if validate:
        check_pi_inputs(gamma_self, gamma_neighbors, weights)
    num = (weights[..., None] * gamma_neighbors).sum(1)
    den = (weights[..., None] * (gamma_self[:, None, :] + gamma_neighbors)).sum(1)
    return num / den


def public_code_pi(gamma_self, gamma_neighbors) -> torch.Tensor:
    """The public code's update π_i = ½ f2(μ̃_i) + Σ_j (1/(2J)) f2(μ̃_j) (notebook 04)."""
    n_neighbors = gamma_neighbors.shape[1]
    return 0.5 * gamma_self + gamma_neighbors.sum(1) / (2 * n_neighbors)


def _check_public_code_batch(distances) -> tuple[torch.Tensor, bool]:
    dist, was_numpy = as_float_tensor(distances)
    check_ndim("distances", dist, 2)
    if dist.shape[0] < 12:
        raise ValueError(
            f"distances must have at least 12 rows (a batch of >= 12 anchors) for row 11 to exist, "
            f"got shape {tuple(dist.shape)}."
        )
    return dist, was_numpy


def public_code_row11_window(distances):
    """What ``sigma = dist_temp[11]`` evaluates to in the public DGG code (teaching only).

    The code's ``compute_weight`` builds, for a mini-batch of B anchors, the
    (B, 1+J) matrix of **squared** distances from each anchor to itself
    (column 0, always 0) and to its J neighbours, sorts each row, and then
    takes ``dist_temp[11]``. Indexing a 2-D tensor with one integer selects a
    **row**: the sorted distances of the 12th anchor of the batch, a vector
    across the 1+J columns. It is not "each sample's 11th-nearest distance".

    Consequences (shown in a notebook):

    * every anchor in the batch shares the same per-column "windows",
      borrowed from whichever sample happens to be 12th in the batch;
    * entry 0 of the returned vector is that anchor's self-distance, 0, so
      the code's next step ``dist / sigma`` divides column 0 by zero
      (0/0 = NaN);
    * the values are squared distances, used without the 2 s^2 of notebook 06.

    Args:
        distances: (B, 1+J) squared distances with the self-distance in
            column 0, B >= 12, as the public code lays them out.

    Returns:
        The (1+J,) vector ``sort(distances, dim=1)[11]``, same kind as the input.
    """
    dist, was_numpy = _check_public_code_batch(distances)
    return same_kind_as_input(torch.sort(dist, dim=1).values[11], was_numpy)


def public_code_gauss_weights(distances):
    """The whole Gaussian branch of the public code's ``compute_weight`` (teaching only).

    Reproduces, on the same (B, 1+J) layout as :func:`public_code_row11_window`:

    1. ``scaled = distances / sigma`` with ``sigma`` the row-11 vector, so
       column j of every row is divided by the same number; column 0 is
       0/0 = NaN;
    2. ``w = exp(-scaled)``;
    3. column 0 (the self weight, NaN so far) is overwritten by the sum of the
       other columns, which hides the NaN;
    4. no normalisation (the line that would normalise is commented out in
       the code), so rows do not sum to one and the ln p(x_i) terms of blog
       step (3) do not cancel.

    Returns:
        (B, 1+J) weights, same kind as the input. Column 0 is the self weight.
    """
    dist, was_numpy = _check_public_code_batch(distances)
    sigma = torch.sort(dist, dim=1).values[11]
    weights = torch.exp(-(dist / sigma))
    weights[:, 0] = weights[:, 1:].sum(dim=1)
    return same_kind_as_input(weights, was_numpy)


def public_code_row11_batch_weights(neighbor_distances, *, validate: bool = True) -> torch.Tensor:
    """The public code's Gaussian weights for one mini-batch, in the (B, J) layout of DGG's objective (notebook 06).

    Args:
        neighbor_distances: (B, J) Euclidean distances (not squared) from each anchor of the
            batch to its J graph neighbours, sorted ascending along each row, self excluded
            (``NeighborGraph.distances`` of the batch's anchors).

    Builds the code's (B, 1+J) matrix of squared distances with the self column, takes
    ``sigma`` from its sorted row 11 (row B − 1 when a last batch has fewer than 12 anchors),
    and returns w_ij = exp(−d_ij² / sigma_j) / Σ_l exp(−d_il² / sigma_l) over the J neighbours:
    columns 1..J of :func:`public_code_gauss_weights`, with each row divided by its sum, so that
    the ln p(x_i) terms of blog step (3) cancel. The code's self column is DGG's ½ L(x_i) term.
    A zero sigma_j (the 12th anchor has duplicates) is raised to 1e-12 of the batch's largest
    squared distance (or to the smallest normal float when all are 0), so every logit stays finite.
    That floor stays a device tensor: no host synchronisation, so training on CUDA can call this
    once per batch. ``validate=False`` (training) also skips the check that the input is 2-D and
    finite, which would read the batch back to the host.
    """
    dist, was_numpy = as_float_tensor(neighbor_distances)
    if validate:
        check_ndim("neighbor_distances", dist, 2)
        check_finite("neighbor_distances", dist)
    sq = torch.cat([torch.zeros_like(dist[:, :1]), dist**2], dim=1)
    sigma = torch.sort(sq, dim=1).values[min(11, sq.shape[0] - 1), 1:]
    floor = torch.clamp_min(sq.amax() * 1e-12, torch.finfo(sq.dtype).tiny)  # a 0-d tensor on sq's device
    weights = torch.softmax(-sq[:, 1:] / torch.maximum(sigma, floor), dim=1)
    return same_kind_as_input(weights, was_numpy)
