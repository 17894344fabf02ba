"""The starting partition: the clusters Algorithm 1 (or VaDE) starts from, found in the pretrained latent space.

The paper runs k-means on the latent means mu~ (notebook 07). Two stronger starts
are offered next to it, because Algorithm 1 keeps most of the merges and splits its
start makes (README, "Measured results"):

- ``"kmeans"``: k-means on mu~, the paper's recipe;
- ``"gmm"``: a full-covariance Gaussian mixture on mu~ (clusters of any orientation);
- ``"umap"``: UMAP of mu~ to a few dimensions (``n_neighbors`` 20, ``min_dist`` 0),
  then a full-covariance Gaussian mixture there: the N2D recipe (McConville et
  al., 2020), which follows the manifold the autoencoder found.

Every start returns labels only. The GMM prior of the model is then set from
the labels (:func:`dggbook.model.pretrain.init_gmm_from_labels`), so all three
feed the model the same way.
"""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

__all__ = ["STARTS", "start_partition", "umap_embedding"]

STARTS = ("kmeans", "gmm", "umap")


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
    if method not in STARTS:
        raise ValueError(f"init={method!r} is not one of {STARTS}.")
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
