"""The starting partition (dggbook.model.start) and the init_labels entry point of pretraining and DGG."""
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from dggbook.model.data import make_blobs_data
from dggbook.model.dgg import DGG
from dggbook.model.metrics import cluster_accuracy
from dggbook.model.start import STARTS, start_partition
from tiny_model import TINY_DGG


@pytest.fixture(scope="module")
def sheared():
    """Three blobs sheared into slanted ellipses (scikit-learn's k-means example): k-means cuts them wrongly."""
    points, labels = make_blobs(n_samples=450, random_state=170)
    return points @ np.array([[0.6, -0.6], [-0.4, 0.8]]), labels


@pytest.mark.parametrize("method", STARTS)
def test_every_start_finds_well_separated_blobs(method):
    blobs = make_blobs_data(300, 3, 5, random_state=0)
    labels = start_partition(blobs.X, 3, method, random_state=0, umap_neighbors=15)
    assert labels.dtype == np.int64 and labels.shape == (300,) and set(labels) <= {0, 1, 2}
    assert cluster_accuracy(blobs.y, labels) > 0.95


def test_a_full_covariance_mixture_follows_slanted_clusters_that_kmeans_cuts(sheared):
    points, truth = sheared
    kmeans = cluster_accuracy(truth, start_partition(points, 3, "kmeans", random_state=0))
    gmm = cluster_accuracy(truth, start_partition(points, 3, "gmm", random_state=0))
    assert gmm > 0.99 and kmeans < 0.85, (gmm, kmeans)


@pytest.mark.parametrize("method", STARTS)
def test_a_seeded_start_repeats(method):
    blobs = make_blobs_data(200, 3, 4, random_state=1)
    first = start_partition(blobs.X, 3, method, random_state=3, umap_neighbors=10)
    np.testing.assert_array_equal(first, start_partition(blobs.X, 3, method, random_state=3, umap_neighbors=10))


def test_an_unknown_start_names_init():
    with pytest.raises(ValueError, match="init"):
        start_partition(np.zeros((10, 2)), 2, "spectral")


def test_init_labels_set_the_start_and_f2_learns_them():
    blobs = make_blobs_data(150, 3, 6, random_state=0)
    rotated = (blobs.y + 1) % 3  # a correct partition under other names
    model = DGG(3, **TINY_DGG, random_state=0).fit(blobs.X, init_labels=rotated)
    np.testing.assert_array_equal(model.start_labels_, rotated)
    assert model.f2_agreement_ > 0.95
    means = model.networks_.gmm.means.detach().numpy()
    latent = model.transform(blobs.X)
    # The GMM prior followed the given labels: component k sits nearest the latent mean of class k.
    for k in range(3):
        assert np.argmin(((means - latent[rotated == k].mean(0)) ** 2).sum(1)) == k


@pytest.mark.parametrize("bad, fragment", [
    (np.zeros(10, dtype=int), "one integer label per sample"),
    (np.full(150, 0.5), "one integer label per sample"),
    (np.full(150, 3), "0..2"),
    (np.full(150, -1), "0..2"),
])
def test_bad_init_labels_fail_before_any_work(bad, fragment, monkeypatch):
    monkeypatch.setattr("dggbook.model.dgg.pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    blobs = make_blobs_data(150, 3, 6, random_state=0)
    with pytest.raises(ValueError, match=fragment):
        DGG(3, **TINY_DGG, random_state=0).fit(blobs.X, init_labels=bad)
