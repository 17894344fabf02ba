"""The starting partition: the clusters Algorithm 1 (or VaDE) starts from.

The paper runs k-means on the latent means mu~ (notebook 07). Stronger starts are
offered next to it, because Algorithm 1 keeps most of the merges and splits its
start makes (README, "Measured results"). Three are found in the latent space
(:data:`LATENT_STARTS`, :func:`start_partition`):

- ``"kmeans"``: k-means on mu~, the paper's recipe;
- ``"gmm"``: a full-covariance Gaussian mixture on mu~ (clusters of any orientation);
- ``"umap"``: UMAP of mu~ to a few dimensions (``n_neighbors`` 20, ``min_dist`` 0),
  then a full-covariance Gaussian mixture there: the N2D recipe (McConville et
  al., 2020), which follows the manifold the autoencoder found.

Two more look at the input X itself:

- ``"input"``: a full-covariance Gaussian mixture on X (:func:`input_partition`), for data of
  a few features, where such a mixture is what a user would try first;
- ``"auto"`` (the default): the ``"umap"`` start, or, when X has at most
  :data:`INPUT_START_MAX_FEATURES` features, whichever of it and the ``"input"`` start the
  neighbour graph of X cuts less (:func:`choose_start`, by the normalized cut of Shi and
  Malik, 2000). No label is read. On six small data sets and five seeds each, the lower cut
  was the start with the higher ACC on 27 of the 30 pairs; the three misses cost 0.002 to
  0.105 (``benchmarks/bench_start_choice.py``; README, "Training that keeps its start").

Every start returns labels only. The GMM prior of the model is then set from
the labels (:func:`dggbook.model.pretrain.init_gmm_from_labels`), so all of them
feed the model the same way.
"""
from __future__ import annotations

import math

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import kneighbors_graph

__all__ = ["STARTS", "LATENT_STARTS", "INPUT_START_MAX_FEATURES", "CUT_NEIGHBORS", "start_partition",
           "input_partition", "neighbor_adjacency", "normalized_cut", "choose_start", "umap_embedding"]

LATENT_STARTS = ("kmeans", "gmm", "umap")  # found in the latent means mu~ (start_partition)
STARTS = LATENT_STARTS + ("input", "auto")  # the values of init
# "auto" considers the input's own mixture only up to this many features: a full-covariance mixture has
# K D (D + 3) / 2 parameters, and beyond a few dozen features (digits: 64, MNIST: 784) it no longer fits
# from a few thousand rows. The shallow baselines of bench_suite.py use the same bound.
INPUT_START_MAX_FEATURES = 50
CUT_NEIGHBORS = 10  # the neighbours per row of the graph choose_start cuts


def _gmm_labels(points: np.ndarray, n_clusters: int, n_init: int, random_state) -> np.ndarray:
    mixture = GaussianMixture(n_clusters, covariance_type="full", n_init=n_init, reg_covar=1e-6,
                              random_state=random_state)
    return mixture.fit(points).predict(points)


def umap_embedding(Z: np.ndarray, n_components: int, n_neighbors: int, random_state, *,
                   n_threads: int | None = None) -> np.ndarray:
    """UMAP of ``Z`` with ``min_dist=0`` (tight clusters, as N2D uses it).

    Seeded (``random_state`` an int), UMAP runs on one numba thread so that runs repeat; unseeded, on
    ``n_threads`` (None: all). UMAP sets numba's thread count and restores it after. Torch's count is
    restored here too: the first UMAP of a process starts numba's thread pool, which sets the OpenMP
    count torch reads to numba's own, so the training after it would run on another number of threads.
    """
    import torch
    import umap  # umap-learn: imported here, since it compiles with numba on first use (seconds)

    n_jobs = 1 if random_state is not None else (n_threads or -1)
    reducer = umap.UMAP(n_components=n_components, n_neighbors=min(n_neighbors, len(Z) - 1), min_dist=0.0,
                        random_state=random_state, n_jobs=n_jobs)
    torch_count = torch.get_num_threads()
    try:
        return reducer.fit_transform(Z)
    finally:
        if torch.get_num_threads() != torch_count:
            torch.set_num_threads(torch_count)


def start_partition(Z, n_clusters: int, method: str = "kmeans", *, random_state=None, n_init: int = 10,
                    umap_components: int = 10, umap_neighbors: int = 20, embedding=None) -> np.ndarray:
    """Labels 0..K-1 for the rows of ``Z`` (the latent means mu~), by ``method`` (one of :data:`STARTS`).

    ``n_init`` restarts k-means, or the Gaussian mixture of ``"gmm"`` and ``"umap"``. For ``"umap"``,
    ``embedding`` is the UMAP of ``Z`` when the caller computed it already (:func:`umap_embedding`);
    else it is computed here with ``random_state``.
    """
    if method not in LATENT_STARTS:
        raise ValueError(f"init={method!r} is not one of the starts found in mu~, {LATENT_STARTS}.")
    Z = np.asarray(Z, dtype=np.float64)
    if method == "kmeans":
        labels = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state).fit_predict(Z)
    elif method == "gmm":
        labels = _gmm_labels(Z, n_clusters, n_init, random_state)
    else:
        if embedding is None:
            embedding = umap_embedding(Z, umap_components, umap_neighbors, random_state)
        elif len(embedding) != len(Z):
            raise ValueError(f"embedding must have one row per row of Z ({len(Z)}), got {len(embedding)}.")
        labels = _gmm_labels(np.asarray(embedding, dtype=np.float64), n_clusters, n_init, random_state)
    return labels.astype(np.int64)


def input_partition(X, n_clusters: int, *, random_state=None, n_init: int = 10) -> np.ndarray:
    """``init="input"``: labels 0..K-1 from a full-covariance Gaussian mixture fitted to X itself (not to mu~)."""
    X = np.asarray(X, dtype=np.float64)
    return _gmm_labels(X, n_clusters, n_init, random_state).astype(np.int64)


def neighbor_adjacency(X, n_neighbors: int = CUT_NEIGHBORS):
    """The symmetric 0/1 adjacency (sparse, N x N) of the ``n_neighbors``-nearest-neighbour graph of the rows of X
    (Euclidean; i ~ j when either is among the other's nearest), by scikit-learn's ``kneighbors_graph``."""
    X = np.asarray(X, dtype=np.float64)
    directed = kneighbors_graph(X, min(n_neighbors, len(X) - 1), include_self=False)
    return ((directed + directed.T) > 0).astype(np.float64).tocsr()


def normalized_cut(adjacency, labels) -> float:
    """The normalized cut of a partition of a graph (Shi and Malik, 2000): sum over clusters A_k of
    cut(A_k, rest) / vol(A_k), where cut counts the edge weight leaving A_k and vol(A_k) is the summed degree
    of its rows. 0 when no edge is cut; lower is better. Dividing by the volume keeps a partition from
    scoring well by cutting off a few rows. An empty cluster adds nothing."""
    labels = np.asarray(labels)
    if labels.shape != (adjacency.shape[0],):
        raise ValueError(f"labels must hold one label per row of the graph ({adjacency.shape[0]}), "
                         f"got shape {labels.shape}.")
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    shares = []
    for k in np.unique(labels):
        rows = labels == k
        volume = degree[rows].sum()
        if volume > 0:
            shares.append((volume - adjacency[rows][:, rows].sum()) / volume)
    return math.fsum(shares)  # exact: the same partition under other names scores the same


def choose_start(X, candidates: dict, *, n_clusters: int | None = None,
                 n_neighbors: int = CUT_NEIGHBORS) -> tuple[str, dict]:
    """``(name, cuts)``: the candidate partition of the rows of X (``{name: labels}``) with the lowest
    :func:`normalized_cut` on the neighbour graph of X (:func:`neighbor_adjacency`), and every candidate's cut.

    A candidate that uses fewer than ``n_clusters`` clusters scores ``inf``: a partition with an empty cluster
    cuts fewer edges (one cluster holding every row cuts none), so it must not win by being emptier. A tie goes
    to the first candidate (``init="auto"`` lists the UMAP start first, so data on which both starts cut nothing
    keep it, and so does data on which neither uses every cluster). Labels are never read: this is how
    ``init="auto"`` chooses between the UMAP start and the input's own mixture.

    The graph is Euclidean in X as given, so the choice depends on how the features are scaled (the mixture
    much less): scale features of different units first, as for any distance-based method.
    """
    if not candidates:
        raise ValueError("candidates must name at least one partition ({name: labels}).")
    adjacency = neighbor_adjacency(X, n_neighbors)
    cuts = {name: (normalized_cut(adjacency, labels)
                   if n_clusters is None or len(np.unique(labels)) == n_clusters else math.inf)
            for name, labels in candidates.items()}
    return min(cuts, key=lambda name: (cuts[name], list(cuts).index(name))), cuts
