"""Tests for dggbook.model.metrics: Hungarian-matched ACC, NMI, ARI."""
import numpy as np
import pytest
import torch

from dggbook.model.metrics import cluster_accuracy, clustering_scores


def test_accuracy_of_a_permuted_labelling_is_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=500)
    relabel = rng.permutation(10)
    assert cluster_accuracy(y, relabel[y]) == 1.0


def test_accuracy_counts_the_best_matching():
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([1, 1, 0, 0, 0, 0])
    # best map: pred 1 -> 0, pred 0 -> 1: 2 + 3 correct
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)


def test_accuracy_with_more_clusters_than_classes():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    y_pred = np.array([0, 0, 2, 2, 1, 1, 1, 1])
    # only one of clusters 0 and 2 can be matched to class 0
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(6 / 8)


def test_accuracy_with_fewer_clusters_than_classes_and_any_label_values():
    y_true = np.array(["a", "a", "b", "b", "c", "c"])
    y_pred = np.array([7, 7, 7, 7, 9, 9])
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(4 / 6)


def test_accuracy_accepts_tensors():
    assert cluster_accuracy(torch.tensor([0, 1, 1]), torch.tensor([5, 3, 3])) == 1.0


def test_clustering_scores_match_sklearn_definitions():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    perfect = clustering_scores(y_true, np.array([2, 2, 0, 0, 1, 1]))
    assert perfect == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0})
    one_cluster = clustering_scores(y_true, np.zeros(6, dtype=int))
    assert one_cluster["acc"] == pytest.approx(2 / 6)
    assert one_cluster["nmi"] == pytest.approx(0.0)
    assert one_cluster["ari"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    "y_true, y_pred, argument",
    [
        (np.zeros(3), np.zeros(4), "y_pred"),
        (np.zeros((3, 1)), np.zeros(3), "y_true"),
        (np.zeros(3), np.zeros((3, 2)), "y_pred"),
        (np.array([0.0, np.nan]), np.zeros(2), "y_true"),
        (np.array([]), np.array([]), "y_true"),
    ],
)
def test_metrics_reject_bad_labels(y_true, y_pred, argument):
    with pytest.raises(ValueError, match=argument):
        cluster_accuracy(y_true, y_pred)
    with pytest.raises(ValueError, match=argument):
        clustering_scores(y_true, y_pred)
