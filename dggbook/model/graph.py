"""The neighbour graph N(i) and its weights w_ij (notebook 06).

DGG connects each sample x_i to J neighbours and weights them by w_ij with
rows summing to one. The public code finds the top-100 neighbours in the
Siamese embedding and keeps 20 of them **at random**; the blog asks why not
the nearest 20. :func:`build_graph` does both (``selection="random_top"`` or
``"nearest"``) so a notebook can measure the difference with
:meth:`NeighborGraph.purity`.

:func:`self_graph` is the graph of "DGG without graph" (not VaDE, see :mod:`dggbook.model.vade`): every point
is its own only neighbour, so the cross-ELBO L(x_i, x_j) collapses to L(x_i).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from ..derivation.affinity import gaussian_weights, local_scaling_window, uniform_weights
from ..validation import as_feature_matrix, check_finite, check_ndim, check_positive_int
from .runtime import pick_device

__all__ = ["NeighborGraph", "nearest_neighbors", "median_window", "graph_from_neighbors", "build_graph", "self_graph"]

SELECTIONS = ("nearest", "random_top")
WEIGHTINGS = ("uniform", "gaussian", "local_scaling")


KNN_METHODS = ("auto", "sklearn", "chunked")


def nearest_neighbors(X, k: int, *, chunk_size: int = 2048, device="cpu", method: str = "auto",
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact Euclidean k nearest neighbours of every row of ``X``, self excluded.

    On the CPU this is scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors`
    (a k-d tree in low dimensions, blocked brute force in high ones). On CUDA
    (``method="chunked"``) the distances are computed a chunk of rows at a time, ||a - b||^2 = ||a||^2 -
    2 a.b + ||b||^2 (clamped at 0), and reduced with ``torch.topk``: memory
    O(chunk_size * N), not O(N^2). float64 input is searched in float64.

    Self is excluded by index, so an exact duplicate of x_i is still found as
    a neighbour at distance 0. Among equal distances the order is the backend's.

    Args:
        X: (N, D) features, tensor (on any device; it is not modified) or array.
        k: neighbours per row, 1 <= k < N.
        chunk_size: rows per chunk of the chunked search; lower it if memory is short.
        device: where to compute ("cpu", "cuda", "auto"); results come back on CPU.
        method: "auto" (scikit-learn on the CPU, chunked on CUDA), "sklearn" (CPU only) or
            "chunked" (either device; the tests run the CUDA code path on the CPU with it).

    Returns:
        ``(indices, distances)``: (N, k) int64 and (N, k) float32 CPU tensors,
        sorted by increasing distance. ``distances`` are Euclidean (not squared).
    """
    feats = as_feature_matrix("X", X)
    n = feats.shape[0]
    k = check_positive_int("k", k, upper=n - 1, upper_text="N - 1, since self is excluded")
    chunk_size = check_positive_int("chunk_size", chunk_size)
    dev = pick_device(device)
    if method not in KNN_METHODS:
        raise ValueError(f"method must be one of {KNN_METHODS}, got {method!r}.")
    if method == "sklearn" and dev.type != "cpu":
        raise ValueError(f"method='sklearn' runs on the CPU only, got device={device!r}; use method='auto'.")
    if method == "sklearn" or (method == "auto" and dev.type == "cpu"):
        # .cpu(): X may live on another device (a CUDA tensor searched with the default device="cpu").
        distances, indices = NearestNeighbors(n_neighbors=k).fit(feats.cpu().numpy()).kneighbors()  # self excluded
        return torch.from_numpy(indices.astype(np.int64)), torch.from_numpy(distances.astype(np.float32))
    return _nearest_neighbors_chunked(feats.to(dev), k, chunk_size)


def _nearest_neighbors_chunked(feats: torch.Tensor, k: int, chunk_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The torch search of :func:`nearest_neighbors` (CUDA's): one (chunk, N) block of squared distances at a time."""
    n, dev = feats.shape[0], feats.device
    sq_norms = (feats * feats).sum(dim=1)
    indices = torch.empty((n, k), dtype=torch.int64)
    distances = torch.empty((n, k), dtype=torch.float32)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        block = feats[start:stop]
        # ||a||^2 - 2 a.b + ||b||^2, built in place to keep one (chunk, N) buffer.
        sq_dist = torch.addmm(sq_norms[None, :], block, feats.T, beta=1.0, alpha=-2.0)
        sq_dist.add_(sq_norms[start:stop, None]).clamp_(min=0.0)
        rows = torch.arange(stop - start, device=dev)
        sq_dist[rows, rows + start] = float("inf")
        values, idx = torch.topk(sq_dist, k, dim=1, largest=False, sorted=True)
        indices[start:stop] = idx.cpu()
        distances[start:stop] = values.sqrt().to(torch.float32).cpu()
    return indices, distances


@dataclass(frozen=True, eq=False)
class NeighborGraph:
    """J neighbours per sample and their weights (notebook 06).

    Attributes:
        indices: (N, J) int64 tensor; row i lists the neighbours N(i) of x_i.
        weights: (N, J) float32 tensor of w_ij; each row sums to 1.
        distances: (N, J) float32 tensor of Euclidean distances ||x_i - x_j||
            in the space the graph was built in.
    """

    indices: torch.Tensor
    weights: torch.Tensor
    distances: torch.Tensor

    def __post_init__(self):
        check_ndim("indices", self.indices, 2)
        shape = tuple(self.indices.shape)
        for name in ("weights", "distances"):
            value = getattr(self, name)
            if tuple(value.shape) != shape:
                raise ValueError(f"{name} must have the shape of indices {shape}, got {tuple(value.shape)}.")

    @property
    def n_samples(self) -> int:
        return int(self.indices.shape[0])

    @property
    def n_neighbors(self) -> int:
        return int(self.indices.shape[1])

    def purity(self, labels) -> float:
        """Share of (i, j in N(i)) pairs whose labels agree: how often a neighbour is the same class."""
        lab = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
        check_ndim("labels", lab, 1)
        if lab.shape[0] != self.n_samples:
            raise ValueError(
                f"labels must have one entry per sample ({self.n_samples}), got {lab.shape[0]}."
            )
        lab = lab.cpu()
        idx = self.indices.cpu()
        return float((lab[idx] == lab[:, None]).double().mean())

    def to(self, device) -> "NeighborGraph":
        """The same graph with its tensors on ``device`` ("auto" picks CUDA when present)."""
        dev = pick_device(device)
        return NeighborGraph(self.indices.to(dev), self.weights.to(dev), self.distances.to(dev))


def median_window(distances) -> float:
    """The default s of ``weights="gaussian"``: the median distance from a sample to its kept neighbours
    (positive ones only, so duplicates do not shrink it to 0; 1.0 when every distance is 0).

    With s the median, w_ij = exp(-d_ij^2 / (2 s^2)) (notebook 06) gives the typical neighbour about
    exp(-1/2) of the weight of one at distance 0, whatever the scale of the features.
    """
    d = torch.as_tensor(distances, dtype=torch.float64).reshape(-1)
    d = d[d > 0]
    return float(d.median()) if d.numel() else 1.0


def _random_subset_of_pool(n_rows: int, pool_size: int, n_keep: int, random_state) -> torch.Tensor:
    """(n_rows, n_keep) column positions drawn without replacement from range(pool_size), sorted."""
    rng = np.random.default_rng(random_state)
    picks = np.argsort(rng.random((n_rows, pool_size)), axis=1)[:, :n_keep]
    picks.sort(axis=1)
    return torch.from_numpy(picks.astype(np.int64))


def _columns_needed(
    n: int, n_neighbors, selection: str, pool_size, weights: str, window, local_scale_k
) -> tuple[int, int, int, int]:
    """Validate the graph options for N = ``n`` samples; return them and the kNN columns they need."""
    n_neighbors = check_positive_int("n_neighbors", n_neighbors, upper=n - 1, upper_text="N - 1")
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}.")
    if weights not in WEIGHTINGS:
        raise ValueError(f"weights must be one of {WEIGHTINGS}, got {weights!r}.")
    needed = n_neighbors
    if selection == "random_top":
        pool_size = check_positive_int("pool_size", pool_size, upper=n - 1, upper_text="N - 1")
        if pool_size < n_neighbors:
            raise ValueError(
                f"pool_size must be >= n_neighbors ({n_neighbors}), got {pool_size}; "
                "the J neighbours are drawn from the pool."
            )
        needed = pool_size
    if weights == "local_scaling":
        local_scale_k = check_positive_int("local_scale_k", local_scale_k, upper=n - 1, upper_text="N - 1")
        needed = max(needed, local_scale_k)
    return n_neighbors, pool_size, local_scale_k, needed


def graph_from_neighbors(
    neighbor_indices,
    neighbor_distances,
    n_neighbors: int = 20,
    *,
    selection: str = "nearest",
    pool_size: int = 100,
    weights: str = "uniform",
    window=None,
    local_scale_k: int = 7,
    random_state=None,
) -> NeighborGraph:
    """Select and weight J neighbours from a precomputed nearest-neighbour list (notebook 06).

    This is :func:`build_graph` without the search, so one expensive
    :func:`nearest_neighbors` call (e.g. k = 100 on MNIST) can feed several
    graphs: the nearest 20, 20 random of the top 100, different weightings.
    The arguments not listed below are those of :func:`build_graph`.

    Args:
        neighbor_indices, neighbor_distances: (N, k) outputs of
            :func:`nearest_neighbors`, sorted by increasing distance, self excluded.
            k must cover what the options need: n_neighbors, pool_size for
            ``"random_top"``, local_scale_k for ``"local_scaling"``.
    """
    idx = torch.as_tensor(neighbor_indices)
    dist = torch.as_tensor(neighbor_distances)
    check_ndim("neighbor_indices", idx, 2)
    if idx.dtype.is_floating_point or idx.dtype == torch.bool:
        raise ValueError(f"neighbor_indices must hold integer row indices, got dtype {idx.dtype}.")
    if tuple(dist.shape) != tuple(idx.shape):
        raise ValueError(
            f"neighbor_distances must have the shape of neighbor_indices {tuple(idx.shape)}, got {tuple(dist.shape)}."
        )
    check_finite("neighbor_distances", dist)
    if dist.shape[1] > 1 and bool((dist[:, 1:] < dist[:, :-1]).any()):
        raise ValueError(
            "neighbor_distances must be sorted ascending along each row; pass the output of nearest_neighbors."
        )
    n, k = idx.shape
    if n < 2:
        raise ValueError(f"neighbor_indices must have at least 2 rows, got {n}.")
    n_neighbors, pool_size, local_scale_k, needed = _columns_needed(
        n, n_neighbors, selection, pool_size, weights, window, local_scale_k
    )
    if needed > k:
        raise ValueError(
            f"neighbor_indices has {k} columns but the options need {needed} "
            "(n_neighbors, pool_size or local_scale_k); search more neighbours."
        )
    idx = idx.to(torch.int64).cpu()
    dist = dist.to(torch.float32).cpu()
    if selection == "random_top":
        cols = _random_subset_of_pool(n, pool_size, n_neighbors, random_state)
    else:
        cols = torch.arange(n_neighbors).expand(n, n_neighbors)
    indices = torch.gather(idx, 1, cols)
    distances = torch.gather(dist, 1, cols)

    if weights == "uniform":
        w = uniform_weights(n, n_neighbors)
    else:
        if weights == "local_scaling":
            # s_i from the full sorted list, not from a random subset.
            window = local_scaling_window(dist, k=local_scale_k)
        elif window is None:
            window = median_window(distances)
        w = gaussian_weights(distances.double() ** 2, window).to(torch.float32)
    return NeighborGraph(indices=indices.contiguous(), weights=w.contiguous(), distances=distances.contiguous())


def build_graph(
    features,
    n_neighbors: int = 20,
    *,
    selection: str = "nearest",
    pool_size: int = 100,
    weights: str = "uniform",
    window=None,
    local_scale_k: int = 7,
    random_state=None,
    chunk_size: int = 2048,
    device="cpu",
) -> NeighborGraph:
    """Build the neighbour graph of notebook 06 from ``features`` (raw data or a Siamese embedding).

    Args:
        features: (N, D) tensor or array.
        n_neighbors: J, neighbours kept per sample (J < N).
        selection: ``"nearest"`` keeps the J nearest; ``"random_top"`` keeps J
            chosen uniformly at random among the ``pool_size`` nearest (what
            the public code does, with J = 20 of the top 100).
        pool_size: size of the candidate pool for ``"random_top"`` (J <= pool_size < N).
        weights: ``"uniform"`` (1/J, the public code), ``"gaussian"`` (notebook 06
            with the fixed ``window`` s; by default the median neighbour distance, :func:`median_window`), or ``"local_scaling"`` (notebook 06 with
            s_i = distance to the ``local_scale_k``-th nearest neighbour,
            taken from the full sorted neighbour list, not the random subset).
        window: s for ``weights="gaussian"``: a positive scalar or an (N,) vector; None (default) takes
            :func:`median_window` of the kept neighbours' distances.
        local_scale_k: k of the local-scaling window.
        random_state: seed (or ``numpy.random.Generator``) for ``"random_top"``.
        chunk_size, device: passed to :func:`nearest_neighbors`.

    Returns:
        A :class:`NeighborGraph` on CPU; neighbours in each row are sorted by
        increasing distance.
    """
    feats = as_feature_matrix("features", features)
    n = feats.shape[0]
    if n < 2:
        raise ValueError(f"features must have at least 2 rows to have neighbours, got {n}.")
    *_, needed = _columns_needed(n, n_neighbors, selection, pool_size, weights, window, local_scale_k)
    pool_idx, pool_dist = nearest_neighbors(feats, needed, chunk_size=chunk_size, device=device)
    return graph_from_neighbors(
        pool_idx, pool_dist, n_neighbors,
        selection=selection, pool_size=pool_size, weights=weights, window=window,
        local_scale_k=local_scale_k, random_state=random_state,
    )


def self_graph(n_samples: int) -> NeighborGraph:
    """The graph of "DGG without graph": N(i) = {i} with w_ii = 1.

    With it, DGG's objective 1/2 sum_j w_ij [L(x_i) + L(x_i, x_j)] reduces to
    the plain ELBO L(x_i), because L(x_i, x_i) = L(x_i).
    """
    n_samples = check_positive_int("n_samples", n_samples)
    return NeighborGraph(
        indices=torch.arange(n_samples, dtype=torch.int64)[:, None],
        weights=torch.ones((n_samples, 1), dtype=torch.float32),
        distances=torch.zeros((n_samples, 1), dtype=torch.float32),
    )
