"""The starting partition (dggbook.model.start) and the init_labels entry point of pretraining and DGG."""
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from dggbook.model.data import make_blobs_data
from dggbook.model.dgg import DGG
from dggbook.model.metrics import cluster_accuracy
import scipy.sparse as sp

from dggbook.model.pretrain import PretrainSettings, pretrain
from dggbook.model.settings import auto_epochs
from dggbook.model.start import (INPUT_START_MAX_FEATURES, LATENT_STARTS, choose_start, input_partition,
                                 neighbor_adjacency, normalized_cut, start_partition)
from tiny_model import TINY_DGG


@pytest.fixture(scope="module")
def sheared():
    """Three blobs sheared into slanted ellipses (scikit-learn's k-means example): k-means cuts them wrongly."""
    points, labels = make_blobs(n_samples=450, random_state=170)
    return points @ np.array([[0.6, -0.6], [-0.4, 0.8]]), labels


@pytest.mark.parametrize("method", LATENT_STARTS)
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


@pytest.mark.parametrize("method", LATENT_STARTS)
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


# ------------------------------------------------------------------ init="input" and init="auto"
def test_the_input_start_is_a_full_covariance_mixture_of_x(sheared):
    points, truth = sheared
    assert cluster_accuracy(truth, input_partition(points, 3, random_state=0)) > 0.99


def test_normalized_cut_by_hand():
    """A path 0-1-2-3 (unit weights) split {0, 1} | {2, 3}: one edge leaves each half; each half's volume
    is 1 + 2 = 3, so the cut is 1/3 + 1/3. Split {0} | {1, 2, 3}: 1/1 + 1/5."""
    path = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=float))
    assert normalized_cut(path, np.array([0, 0, 1, 1])) == pytest.approx(2 / 3)
    assert normalized_cut(path, np.array([0, 1, 1, 1])) == pytest.approx(1 + 1 / 5)
    assert normalized_cut(path, np.zeros(4, dtype=int)) == 0.0
    with pytest.raises(ValueError, match="labels"):
        normalized_cut(path, np.zeros(3, dtype=int))


def test_the_neighbour_graph_is_symmetric_without_self_loops():
    adjacency = neighbor_adjacency(np.random.default_rng(0).random((40, 3)), 5)
    assert (adjacency != adjacency.T).nnz == 0 and adjacency.diagonal().sum() == 0
    assert np.asarray(adjacency.sum(axis=1)).min() >= 5


def test_choose_start_takes_the_partition_the_graph_cuts_least(sheared):
    points, truth = sheared
    wrong = start_partition(points, 3, "kmeans", random_state=0)  # cuts the slanted blobs across
    name, cuts = choose_start(points, {"kmeans": wrong, "truth": truth})
    assert name == "truth" and cuts["truth"] < cuts["kmeans"], cuts
    name, cuts = choose_start(points, {"first": truth, "second": (truth + 1) % 3})  # the same cut: a tie
    assert name == "first" and cuts["first"] == cuts["second"]
    with pytest.raises(ValueError, match="candidates"):
        choose_start(points, {})


_TINY = dict(likelihood="gaussian", noise_var=0.01, latent_dim=2, hidden_dims=(16, 16, 32), layerwise_epochs=1,
             autoencoder_epochs=5, vae_epochs=1, classifier_epochs=5, pretrain_batch_size=64,
             umap_components=2, umap_neighbors=10, classifier_hidden_dims=())


def _pretrained(X, init, cache_dir=None, init_labels=None, **settings):
    return pretrain(X, 3, PretrainSettings(init=init, **{**_TINY, **settings}), random_state=0, device="cpu",
                    cache_dir=cache_dir, init_labels=init_labels)


def test_auto_picks_the_input_start_by_its_cut_and_hands_it_over(sheared, monkeypatch, tmp_path):
    """On the sheared blobs the input's mixture is the true partition; "auto" scores both candidates by their cut
    on the graph of X, keeps the lower, and a start from the input gets the hand-over ("auto" epochs). The UMAP
    candidate is pinned to k-means' partition, which cuts the slanted blobs across (about 0.73 of the truth, what
    a tiny autoencoder's UMAP start scores here), so that the test does not hang on UMAP's rounding."""
    import dggbook.model.pretrain as pretrain_module

    points, truth = sheared
    across = start_partition(points, 3, "kmeans", random_state=0)
    monkeypatch.setattr(pretrain_module, "umap_embedding", lambda Z, *args, **kwargs: np.zeros((len(Z), 2)))
    monkeypatch.setattr(pretrain_module, "start_partition", lambda *args, **kwargs: across)
    result = _pretrained(points, "auto", cache_dir=tmp_path)
    assert set(result.start_cuts) == {"umap", "input"}
    assert result.start_source == "input" and result.start_cuts["input"] < result.start_cuts["umap"]
    cached = _pretrained(points, "auto", cache_dir=tmp_path)  # the cache keeps where the start came from
    assert cached.from_cache and (cached.start_source, cached.start_cuts, cached.handover_epochs) == (
        result.start_source, result.start_cuts, result.handover_epochs)
    assert cluster_accuracy(truth, result.start_labels) > 0.99
    expected = auto_epochs("epochs", len(points))  # Algorithm 1's "auto"
    assert expected > 0 and result.handover_epochs == expected and len(result.history["handover"]) == expected


def test_a_latent_start_gets_no_hand_over_and_many_features_no_input_candidate():
    rng = np.random.default_rng(0)
    wide = np.concatenate([rng.normal(c, 0.3, (30, INPUT_START_MAX_FEATURES + 1)) for c in (0, 2, 4)])
    result = _pretrained(wide, "auto")
    assert result.start_source == "umap" and result.start_cuts == {}
    assert result.handover_epochs == 0 and result.history["handover"] == []
    given = _pretrained(wide[:, :3], "input", handover_epochs=2)
    assert given.start_source == "input" and given.handover_epochs == 2 and given.start_cuts == {}
    labels = np.repeat([0, 1, 2], 30)  # labels given by the caller: no hand-over under "auto", whatever init says
    told = _pretrained(wide[:, :3], "input", init_labels=labels)
    assert told.start_source == "init_labels" and told.handover_epochs == 0


def test_start_candidates_are_the_ones_auto_chooses_between():
    """On structureless points with one restart, each seed's mixture differs: the candidates must be drawn from the
    very stage seeds fit draws from."""
    from dggbook.model.pretrain import start_candidates

    points = np.random.default_rng(0).random((150, 2))
    result = _pretrained(points, "auto", start_n_init=1)
    candidates = start_candidates(points, 3, PretrainSettings(**_TINY, start_n_init=1), random_state=0, device="cpu")
    np.testing.assert_array_equal(candidates[result.start_source], result.start_labels)
    assert choose_start(points, candidates, n_clusters=3) == (result.start_source, result.start_cuts)


def test_a_candidate_that_empties_a_cluster_cannot_win_by_cutting_less(sheared):
    points, truth = sheared
    merged = np.where(truth == 2, 1, truth)  # two clusters of three: cuts fewer edges than the truth
    name, cuts = choose_start(points, {"truth": truth, "merged": merged})
    assert name == "merged"  # without n_clusters, fewer clusters cut less
    name, cuts = choose_start(points, {"truth": truth, "merged": merged}, n_clusters=3)
    assert name == "truth" and cuts["merged"] == float("inf")


@pytest.mark.parametrize("params, fails", [
    ({}, True),  # init="auto" scores UMAP's start
    ({"init": "kmeans"}, True),  # graph_space="auto" searches UMAP of mu~ for a start found there
    ({"init": "kmeans", "graph_space": "latent"}, False),
    ({"init": "input"}, False),  # the start and, under "auto", the graph are both in X
])
def test_too_few_rows_for_umap_fail_before_any_work(params, fails, monkeypatch):
    """UMAP's spectral layout needs more rows than umap_components + 1 (scipy raises a TypeError otherwise)."""
    import dggbook.model.dgg as dgg_module

    class ReachedPretraining(Exception):
        pass

    def stop(*args, **kwargs):
        raise ReachedPretraining

    monkeypatch.setattr(dgg_module, "pretrain", stop)
    X = np.random.default_rng(0).random((11, 4)).astype(np.float32)  # umap_components=10 needs 12 rows
    with pytest.raises(ValueError if fails else ReachedPretraining) as raised:
        DGG(2, **params).fit(X)
    if fails:
        assert "umap_components + 2 = 12" in str(raised.value) and "init='input'" in str(raised.value)
