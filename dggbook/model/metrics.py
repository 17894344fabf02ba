"""Clustering scores used in DGG's Table 1: Hungarian-matched accuracy, NMI and ARI.

Cluster ids are arbitrary, so accuracy first matches predicted clusters to
true classes one-to-one so as to maximise agreement (the Hungarian algorithm,
``scipy.optimize.linear_sum_assignment``, on scikit-learn's ``contingency_matrix``)
and then counts matches.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from ..validation import check_ndim

__all__ = ["cluster_accuracy", "clustering_scores", "match_clusters"]


def _check_labelings(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    true = np.asarray(y_true.detach().cpu() if hasattr(y_true, "detach") else y_true)
    pred = np.asarray(y_pred.detach().cpu() if hasattr(y_pred, "detach") else y_pred)
    check_ndim("y_true", true, 1)
    check_ndim("y_pred", pred, 1)
    if true.shape[0] != pred.shape[0]:
        raise ValueError(
            f"y_pred must have one label per sample of y_true ({true.shape[0]}), got {pred.shape[0]}."
        )
    if true.shape[0] == 0:
        raise ValueError("y_true is empty; pass at least one labelled sample.")
    for name, arr in (("y_true", true), ("y_pred", pred)):
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf; labels must be finite.")
    return true, pred


def _matched_contingency(pred: np.ndarray, true: np.ndarray):
    """Contingency table counts[k, c] (cluster k of sorted unique ``pred``, class c) and its Hungarian matching."""
    counts = contingency_matrix(pred, true)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return counts, rows, cols


def cluster_accuracy(y_true, y_pred) -> float:
    """Clustering accuracy: the best one-to-one map from clusters to classes, share correct.

    ACC = max_m (1/N) sum_i 1[y_true_i = m(y_pred_i)] over one-to-one maps m,
    solved with the Hungarian algorithm on the contingency table. The numbers
    of predicted clusters and true classes may differ; unmatched clusters
    count as wrong. Labels may be any values (ints, strings).
    """
    true, pred = _check_labelings(y_true, y_pred)
    counts, rows, cols = _matched_contingency(pred, true)
    return float(counts[rows, cols].sum() / true.shape[0])


def match_clusters(y_true, y_pred, n_clusters: int | None = None) -> np.ndarray:
    """``mapping[k]``: the class matched one-to-one to cluster k, the map behind :func:`cluster_accuracy`.

    ``y_true`` holds integer classes, ``y_pred`` cluster ids 0..n_clusters-1;
    ``n_clusters`` counts empty clusters too (default: ``max(y_pred) + 1``).
    Clusters left without a class (more clusters than classes) get the new ids
    ``max(class) + 1, ...`` so that no two clusters share one.
    """
    true, pred = _check_labelings(y_true, y_pred)
    if not np.issubdtype(pred.dtype, np.integer) or pred.min() < 0:
        raise ValueError("y_pred must hold cluster ids 0..K-1.")
    K = int(pred.max()) + 1 if n_clusters is None else int(n_clusters)
    if pred.max() >= K:
        raise ValueError(f"y_pred has cluster id {int(pred.max())}, not below n_clusters={K}.")
    if not np.issubdtype(true.dtype, np.integer):
        raise ValueError(f"y_true must hold integer class labels, got dtype {true.dtype}.")
    classes = np.unique(true)
    _, rows, cols = _matched_contingency(pred, true)  # rows index the clusters present, np.unique(pred)
    mapping = np.empty(K, dtype=np.int64)
    mapping[np.unique(pred)[rows]] = classes[cols]
    unmatched = np.setdiff1d(np.arange(K), np.unique(pred)[rows])
    mapping[unmatched] = int(classes.max()) + 1 + np.arange(unmatched.size)
    return mapping


def clustering_scores(y_true, y_pred) -> dict[str, float]:
    """ACC, NMI and ARI of a clustering, as a dict ``{"acc": ..., "nmi": ..., "ari": ...}``.

    NMI uses scikit-learn's default (arithmetic-mean normalisation); ARI is
    the adjusted Rand index.
    """
    true, pred = _check_labelings(y_true, y_pred)
    return {
        "acc": cluster_accuracy(true, pred),
        "nmi": float(normalized_mutual_info_score(true, pred)),
        "ari": float(adjusted_rand_score(true, pred)),
    }
