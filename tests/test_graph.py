"""Tests for dggbook.model.graph: exact kNN (scikit-learn on the CPU, chunked torch for CUDA) and the graph of notebook 06."""
import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from dggbook.model.graph import (NeighborGraph, build_graph, graph_from_neighbors, median_window, nearest_neighbors,
                                 self_graph)


@pytest.fixture(scope="module")
def points():
    return np.random.default_rng(0).normal(size=(240, 6))


@pytest.mark.parametrize("method", ["auto", "sklearn", "chunked"])
def test_knn_equals_sklearn_brute_force(points, method):
    idx, dist = nearest_neighbors(points, 9, chunk_size=50, method=method)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=9, algorithm="brute").fit(points).kneighbors()
    assert idx.dtype == torch.int64 and dist.dtype == torch.float32
    assert idx.shape == (240, 9)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_allclose(dist.numpy(), ref_dist, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", ["auto", "chunked"])
def test_knn_in_float32_agrees_with_sklearn(points, method):
    idx, dist = nearest_neighbors(torch.from_numpy(points.astype(np.float32)), 5, method=method)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=5).fit(points).kneighbors()
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_allclose(dist.numpy(), ref_dist, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1000])
def test_knn_does_not_depend_on_chunk_size(points, chunk_size):
    ref_idx, ref_dist = nearest_neighbors(points, 6, chunk_size=240, method="chunked")
    idx, dist = nearest_neighbors(points, 6, chunk_size=chunk_size, method="chunked")
    torch.testing.assert_close(idx, ref_idx)
    torch.testing.assert_close(dist, ref_dist)


@pytest.mark.parametrize("method", ["auto", "chunked"])
def test_knn_excludes_self_but_keeps_duplicates(method):
    X = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [9.0, 9.0]])
    idx, dist = nearest_neighbors(X, 2, method=method)
    assert (idx != torch.arange(4)[:, None]).all()
    assert idx[0, 0] == 1 and idx[1, 0] == 0
    assert dist[0, 0] == 0.0
    assert (dist >= 0).all()


@pytest.mark.parametrize(
    "X, k, argument",
    [
        (np.zeros((5, 2)), 5, "k"),  # k >= N
        (np.zeros((5, 2)), 0, "k"),
        (np.zeros(5), 1, "X"),  # wrong ndim
        (np.array([[0.0, np.nan], [1.0, 1.0], [2.0, 2.0]]), 1, "X"),
    ],
)
def test_knn_rejects_bad_input(X, k, argument):
    with pytest.raises(ValueError, match=argument):
        nearest_neighbors(X, k)


def test_knn_rejects_an_unknown_method(points):
    with pytest.raises(ValueError, match="method"):
        nearest_neighbors(points, 3, method="annoy")


def test_nearest_graph_has_uniform_rows_and_sorted_neighbours(points):
    graph = build_graph(points, n_neighbors=8)
    ref_idx, _ = nearest_neighbors(points, 8)
    torch.testing.assert_close(graph.indices, ref_idx)
    torch.testing.assert_close(graph.weights, torch.full((240, 8), 1 / 8))
    assert (graph.distances[:, 1:] >= graph.distances[:, :-1]).all()
    assert graph.n_samples == 240 and graph.n_neighbors == 8


def test_random_top_draws_distinct_neighbours_from_the_pool(points):
    pool_idx, _ = nearest_neighbors(points, 30)
    graph = build_graph(points, 10, selection="random_top", pool_size=30, random_state=3)
    for row, pool in zip(graph.indices.tolist(), pool_idx.tolist()):
        assert len(set(row)) == 10 and set(row) <= set(pool)
    # Not simply the nearest 10, and reproducible for a seed.
    assert not torch.equal(graph.indices, pool_idx[:, :10])
    again = build_graph(points, 10, selection="random_top", pool_size=30, random_state=3)
    torch.testing.assert_close(again.indices, graph.indices)
    other = build_graph(points, 10, selection="random_top", pool_size=30, random_state=4)
    assert not torch.equal(other.indices, graph.indices)


@pytest.mark.parametrize("selection", ["nearest", "random_top"])
def test_local_scaling_graph_weights_sum_to_one_and_favour_near_neighbours(points, selection):
    graph = build_graph(points, 6, selection=selection, pool_size=20, weights="local_scaling", random_state=0)
    assert graph.weights.dtype == torch.float32
    torch.testing.assert_close(graph.weights.sum(dim=1), torch.ones(240))
    assert (graph.weights[:, 0] >= graph.weights[:, -1]).all()
    assert not torch.allclose(graph.weights, torch.full_like(graph.weights, 1 / 6))


def test_local_scaling_window_comes_from_the_full_neighbour_list():
    # With local_scale_k > n_neighbors the window must still be the k-th nearest distance.
    points = np.random.default_rng(5).normal(size=(60, 3))
    graph = build_graph(points, 2, weights="local_scaling", local_scale_k=7)
    _, dist = nearest_neighbors(points, 7)
    s = dist[:, 6].double()
    raw = torch.exp(-(graph.distances.double() ** 2) / (2 * s[:, None] ** 2))
    torch.testing.assert_close(graph.weights.double(), raw / raw.sum(1, keepdim=True), rtol=1e-5, atol=1e-6)


def test_gaussian_graph_defaults_to_the_median_neighbour_distance(points):
    graph = build_graph(points, 5, weights="gaussian", window=0.5)
    torch.testing.assert_close(graph.weights.sum(dim=1), torch.ones(240))
    _, dist = nearest_neighbors(points, 5)
    default = build_graph(points, 5, weights="gaussian")
    expected = build_graph(points, 5, weights="gaussian", window=float(dist.double().median()))
    assert median_window(dist) == pytest.approx(float(dist.double().median()))
    torch.testing.assert_close(default.weights, expected.weights)
    assert median_window(torch.zeros(3, 2)) == 1.0  # all duplicates: a width that is not 0


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(n_neighbors=240), "n_neighbors"),  # n_neighbors >= N
        (dict(n_neighbors=0), "n_neighbors"),
        (dict(n_neighbors=10, selection="random_top", pool_size=5), "pool_size"),
        (dict(n_neighbors=10, selection="random_top", pool_size=240), "pool_size"),
        (dict(n_neighbors=10, selection="farthest"), "selection"),
        (dict(n_neighbors=10, weights="cosine"), "weights"),
    ],
)
def test_build_graph_rejects_bad_arguments(points, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        build_graph(points, **kwargs)


def test_build_graph_rejects_nan_features():
    X = np.ones((10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="features"):
        build_graph(X, 3)


def test_purity_counts_same_label_neighbours():
    graph = NeighborGraph(
        indices=torch.tensor([[1, 2], [0, 2], [0, 1]]),
        weights=torch.full((3, 2), 0.5),
        distances=torch.ones(3, 2),
    )
    assert graph.purity(np.array([0, 0, 1])) == pytest.approx(2 / 6)
    assert graph.purity(torch.tensor([4, 4, 4])) == 1.0
    with pytest.raises(ValueError, match="labels"):
        graph.purity(np.array([0, 1]))


def test_purity_is_high_on_separated_clusters_and_low_for_shuffled_labels():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 50)
    X = rng.normal(size=(150, 4)) * 0.3 + labels[:, None] * 5.0
    graph = build_graph(X, 5)
    assert graph.purity(labels) == 1.0
    assert graph.purity(rng.permutation(labels)) < 0.6


def test_self_graph_is_the_identity():
    graph = self_graph(4)
    torch.testing.assert_close(graph.indices, torch.arange(4)[:, None])
    torch.testing.assert_close(graph.weights, torch.ones(4, 1))
    assert graph.purity(np.array([0, 1, 2, 3])) == 1.0
    with pytest.raises(ValueError, match="n_samples"):
        self_graph(0)


def test_graph_to_device_and_shape_checks():
    graph = self_graph(3).to("cpu")
    assert graph.indices.device.type == "cpu"
    with pytest.raises(ValueError, match="weights"):
        NeighborGraph(indices=torch.zeros(3, 2, dtype=torch.int64), weights=torch.ones(3, 1), distances=torch.ones(3, 2))


def test_graph_from_a_shared_neighbour_pool_equals_build_graph(points):
    pool_idx, pool_dist = nearest_neighbors(points, 30)
    for options in (
        dict(selection="nearest", weights="local_scaling"),
        dict(selection="random_top", pool_size=30, weights="uniform", random_state=2),
    ):
        direct = build_graph(points, 10, **options)
        shared = graph_from_neighbors(pool_idx, pool_dist, 10, **options)
        torch.testing.assert_close(shared.indices, direct.indices)
        torch.testing.assert_close(shared.weights, direct.weights)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(n_neighbors=10, selection="random_top", pool_size=12), "neighbor_indices"),  # only 8 columns
        (dict(n_neighbors=9), "neighbor_indices"),
        (dict(n_neighbors=4, weights="local_scaling", local_scale_k=9), "neighbor_indices"),
    ],
)
def test_graph_from_neighbors_needs_enough_columns(points, kwargs, argument):
    pool_idx, pool_dist = nearest_neighbors(points, 8)
    with pytest.raises(ValueError, match=argument):
        graph_from_neighbors(pool_idx, pool_dist, **kwargs)


def test_graph_from_neighbors_rejects_mismatched_or_unsorted_distances(points):
    pool_idx, pool_dist = nearest_neighbors(points, 8)
    with pytest.raises(ValueError, match="neighbor_distances"):
        graph_from_neighbors(pool_idx, pool_dist[:, :5], 3)
    with pytest.raises(ValueError, match="neighbor_distances"):
        graph_from_neighbors(pool_idx, pool_dist.flip(1), 3)
