"""What to read when a fit loses its start: Algorithm 1 traced epoch by epoch, and the size of one Adam step.

A deep clusterer fails in a few recognisable ways (README, "Training that keeps its start"):

- **a cluster empties** (pi_k -> 0 and no sample's largest q(c|x) is k): the per-cluster sizes and mean pi;
- **the posteriors collapse** (every sample about as likely in every cluster), or **the latent means shrink
  together** (the KL terms outweigh term 1, "posterior collapse"): the spread of mu~ across samples against the
  encoder's own sigma~;
- **one step moves too far**: Adam moves every weight by about lr at its first steps, so a layer's output moves
  by about lr x its fan-in. :func:`first_step_shift` measures how far mu~ moves in one step, in units of its spread.

:func:`trace_algorithm1` runs the same epochs as :func:`dggbook.model.algorithm1.train_dgg` (it calls
:func:`dggbook.model.algorithm1.run_epoch`; no second implementation) and records those quantities after each.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from .algorithm1 import (TERM_NAMES, cluster_posterior, graph_objective, initial_pi, make_optimizer,
                         resolve_for_data, run_epoch, sample_neighbors)
from .networks import DGGNetworks
from .runtime import map_in_batches

__all__ = ["latent_statistics", "trace_algorithm1", "first_step_shift"]


@torch.no_grad()
def latent_statistics(networks: DGGNetworks, X: torch.Tensor) -> dict:
    """The spread of mu~ across samples (the mean over latent dimensions of its standard deviation) and the
    encoder's mean sigma~; their ratio falls towards 0 when the latent means shrink together."""
    networks.eval()
    out = map_in_batches(lambda x: torch.cat(networks.encoder(x), dim=1), X)
    mu, logvar = out.chunk(2, dim=1)
    spread = float(mu.std(dim=0).mean())
    sigma = float(logvar.mul(0.5).exp().mean())
    return {"latent_spread": spread, "posterior_sigma": sigma, "spread_over_sigma": spread / sigma}


def _snapshot(networks: DGGNetworks, X: torch.Tensor, pi: torch.Tensor, y) -> dict:
    gamma = cluster_posterior(networks.eval(), X)
    labels = gamma.argmax(dim=1)
    K = gamma.shape[1]
    record = {"cluster_sizes": torch.bincount(labels, minlength=K).cpu().tolist(),
              "pi_mean": pi.mean(dim=0).cpu().tolist(),
              "max_posterior": float(gamma.max(dim=1).values.mean()),
              **latent_statistics(networks, X)}
    if y is not None:
        from .metrics import clustering_scores

        record["acc"] = float(clustering_scores(np.asarray(y), labels.cpu().numpy())["acc"])
    return record


def trace_algorithm1(networks: DGGNetworks, X: torch.Tensor, graph, settings, *, y=None,
                     seed: int = 0) -> list[dict]:
    """Algorithm 1 on ``networks`` (modified in place), with a record before the first epoch and after each.

    Each record: ``epoch``, ``cluster_sizes`` (argmax f2(mu~) counts), ``pi_mean`` (the mean of pi_i over
    samples, per cluster), ``max_posterior`` (mean over samples of max_k q(c=k|x)), ``latent_spread``,
    ``posterior_sigma`` and ``spread_over_sigma`` (:func:`latent_statistics`), the epoch means of
    :data:`dggbook.model.algorithm1.TERM_NAMES` (from epoch 1), and ``acc`` when ``y`` is given.
    ``settings`` are :class:`dggbook.model.settings.TrainSettings`; draws come from ``torch.manual_seed(seed)``.
    """
    torch.manual_seed(seed)
    settings = resolve_for_data(settings, networks, X)
    indices, weights = graph.indices.to(X.device), graph.weights.to(X.device)
    pi = initial_pi(networks.eval(), X, indices, weights, settings.pi_update)
    optimizer, scheduler = make_optimizer(networks, settings)
    records = [{"epoch": 0, **_snapshot(networks, X, pi, y)}]
    for epoch in range(settings.epochs):
        terms = run_epoch(networks, X, indices, weights, pi, optimizer, settings, epoch=epoch)
        scheduler.step()
        records.append({"epoch": epoch + 1, **dict(zip(TERM_NAMES, terms.tolist())),
                        **_snapshot(networks, X, pi, y)})
    networks.eval()
    return records


def first_step_shift(networks: DGGNetworks, X: torch.Tensor, graph, settings, *, seed: int = 0) -> float:
    """How far one Adam step of Algorithm 1 moves the latent means, in units of their spread:
    mean_i ||mu~_after(x_i) - mu~_before(x_i)|| / (spread of mu~ x sqrt(M)).

    One batch of ``settings.batch_size`` anchors, on a copy of ``networks`` (left unchanged). About 1 means
    that one step moved every sample's mean by as much as the means differ from each other.
    """
    torch.manual_seed(seed)
    twin = copy.deepcopy(networks)
    settings = resolve_for_data(settings, twin, X)
    indices, weights = graph.indices.to(X.device), graph.weights.to(X.device)
    pi = initial_pi(twin.eval(), X, indices, weights, settings.pi_update)
    with torch.no_grad():
        before = map_in_batches(lambda x: twin.encoder(x)[0], X)
    optimizer, _ = make_optimizer(twin, settings)
    anchors = torch.randperm(X.shape[0], device=X.device)[: settings.batch_size]
    nb_idx, nb_w = sample_neighbors(indices[anchors], weights[anchors], settings.n_neighbor_samples)
    twin.train()
    out = graph_objective(twin, X, anchors, nb_idx, nb_w, pi[anchors], settings)
    optimizer.zero_grad()
    out.loss.backward()
    optimizer.step()
    twin.eval()
    with torch.no_grad():
        after = map_in_batches(lambda x: twin.encoder(x)[0], X)
    scale = float(before.std(dim=0).mean()) * before.shape[1] ** 0.5
    return float((after - before).norm(dim=1).mean()) / scale
