"""What the graph rewards, per partition: why DGG's graph cannot unfold two moons (notebook 08).

With hard posteriors (γ_i one-hot at a partition's label), the two parts of DGG's objective that depend on
the partition are:

- term 3 of eq. (4)/(5), Σ_k a_ik ln π_ik with a_ik = ½ Σ_j w_ij (γ_ik + γ_jk) and π_i from eq. (31)
  (:func:`dggbook.derivation.pi_update.update_pi`, :func:`~dggbook.derivation.pi_update.pi_objective_weights`).
  With rows of w summing to 1, π_i = a_i and term 3 is −H(π_i): 0 for an anchor whose neighbours all share
  its label; with two clusters and s_i the weight share of agreeing neighbours, −H((1 + s_i)/2), down to
  ln ½ when none agrees. It depends on the partition only through the edges it cuts;
- term 2, approximately: ln p(z | c) at z = μ̃_i, with each cluster's Gaussian (diagonal, as DGG's mixture)
  set to the partition's own mean and variance (the mixture's M step for that partition). It rewards
  partitions whose clusters are compact Gaussians in the latent space. It leaves out the −½ Σ σ̃²/σ_c² part
  of E_q ln p(z | c), and weights every sample alike, where the objective (3) also weights a sample by how
  often it is a neighbour.

:func:`partition_terms` gives both per sample, and the share of graph edges the partition cuts, so that a
partition that follows the manifold (the true moons) and one that cuts across it (k-means) can be compared
on (approximately) the objective DGG maximises. Term 1 and the entropy of q(z | x) do not depend on the partition
once the networks are fixed, and the entropy of a one-hot q(c | x) is 0.
"""
from __future__ import annotations

import numpy as np
import torch

from ..derivation.gaussian import log_normal_diag
from ..derivation.pi_update import pi_objective_weights, update_pi

__all__ = ["cut_share", "graph_term", "gaussian_term", "partition_terms"]


def _one_hot(labels, n_clusters: int) -> torch.Tensor:
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one label per sample (1-D), got shape {tuple(labels.shape)}.")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_clusters):
        raise ValueError(f"labels must lie in 0..{n_clusters - 1} (n_clusters={n_clusters}).")
    return torch.nn.functional.one_hot(labels, n_clusters).double()


def _check_graph(graph, n_samples: int) -> None:
    if graph.n_samples != n_samples:
        raise ValueError(f"graph has {graph.n_samples} samples but labels have {n_samples}; build the graph on "
                         "the same rows as the partition.")


def cut_share(graph, labels) -> float:
    """Weighted share of graph edges (i, j ∈ N(i)) whose two ends carry different labels: Σ w_ij [c_i ≠ c_j] / N."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    _check_graph(graph, labels.shape[0])
    indices, weights = graph.indices.cpu(), graph.weights.cpu().double()
    crossed = (labels[indices] != labels[:, None]).double()
    return float((weights * crossed).sum(1).mean() / weights.sum(1).mean())


def graph_term(graph, labels, n_clusters: int) -> np.ndarray:
    """Term 3 per anchor for one-hot posteriors at ``labels``: Σ_k a_ik ln π_ik, π_i from eq. (31); (N,)."""
    gamma = _one_hot(labels, n_clusters)
    _check_graph(graph, gamma.shape[0])
    indices, weights = graph.indices.cpu(), graph.weights.cpu().double()
    gamma_neighbors = gamma[indices]
    pi = update_pi(gamma, gamma_neighbors, weights)
    a = pi_objective_weights(gamma, gamma_neighbors, weights)
    return (a * torch.log(pi.clamp_min(1e-300))).sum(1).numpy()


def gaussian_term(latent_means, labels, n_clusters: int, *, min_var: float = 1e-6) -> np.ndarray:
    """Term 2 at z = μ̃ per sample: ln N(μ̃_i; m_c, diag s_c²) with (m_c, s_c²) the mean and variance of the
    cluster c = label of i (the mixture's M step for this partition); (N,). Empty clusters are skipped."""
    Z = torch.as_tensor(np.asarray(latent_means), dtype=torch.float64)
    if Z.ndim != 2:
        raise ValueError(f"latent_means must be (N, M), got shape {tuple(Z.shape)}.")
    gamma = _one_hot(labels, n_clusters)
    if gamma.shape[0] != Z.shape[0]:
        raise ValueError(f"latent_means has {Z.shape[0]} rows but labels has {gamma.shape[0]}.")
    sizes = gamma.sum(0).clamp_min(1.0)
    means = gamma.T @ Z / sizes[:, None]
    variances = (gamma.T @ Z ** 2 / sizes[:, None] - means ** 2).clamp_min(min_var)
    label_of = gamma.argmax(1)
    return log_normal_diag(Z, means[label_of], torch.log(variances[label_of])).numpy()


def partition_terms(graph, latent_means, labels, n_clusters: int) -> dict:
    """Cut share, and the means over samples of term 3, term 2 and their sum, for one partition."""
    term3 = graph_term(graph, labels, n_clusters)
    term2 = gaussian_term(latent_means, labels, n_clusters)
    return {"cut_share": cut_share(graph, labels), "term3": float(term3.mean()), "term2": float(term2.mean()),
            "sum": float(term3.mean() + term2.mean())}
