"""dggbook.book.plots: training curves, cluster matching, latent projections, decoded GMM means."""
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dggbook.book import plots  # noqa: E402
from dggbook.model.metrics import cluster_accuracy  # noqa: E402
from dggbook.model.networks import DGGNetworks  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _history(n=4, scores=True):
    rows = []
    for e in range(1, n + 1):
        row = {"epoch": e, "lr": 1e-3, "reconstruction": -10.0 + e, "prior_z": -5.0, "prior_c": -1.0,
               "entropy_z": 2.0, "total": -14.0 + e, "loss": 14.0 - e, "seconds": 0.1}
        if scores:
            row.update(acc=0.5 + 0.1 * e / n, nmi=0.4 + 0.1 * e / n)
        rows.append(row)
    return rows


# ----------------------------------------------------------------- history
def test_history_table_columns():
    table = plots.history_table(_history(3))
    np.testing.assert_array_equal(table["epoch"], [1, 2, 3])
    np.testing.assert_allclose(table["total"], [-13, -12, -11])
    assert table["acc"].dtype == float


def test_history_table_drops_keys_missing_in_some_epochs():
    rows = _history(3)
    del rows[1]["acc"]
    table = plots.history_table(rows)
    assert "acc" not in table and "nmi" in table


def test_history_table_empty_raises():
    with pytest.raises(ValueError, match="empty"):
        plots.history_table([])


def test_training_curves_panels_with_scores_and_reference():
    fig = plots.plot_training_curves(_history(), reference={"k-means": 0.7}, title="t")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(plots.TERM_TITLES) + 1  # five terms + scores
    score_ax = visible[-1]
    assert {t.get_text() for t in score_ax.get_legend().get_texts()} == {"ACC", "NMI", "k-means"}


def test_training_curves_without_scores():
    fig = plots.plot_training_curves(_history(scores=False))
    assert len([ax for ax in fig.axes if ax.get_visible()]) == len(plots.TERM_TITLES)


# ---------------------------------------------------------------- matching
def test_match_clusters_recovers_a_permutation():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 200)
    perm = np.array([3, 0, 4, 1, 2])  # cluster = perm[class]
    pred = perm[y]
    mapping = plots.match_clusters(y, pred)
    np.testing.assert_array_equal(mapping[pred], y)


def test_match_clusters_agrees_with_hungarian_accuracy():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 300)
    pred = np.where(rng.random(300) < 0.7, (y + 1) % 4, rng.integers(0, 4, 300))
    mapping = plots.match_clusters(y, pred)
    assert np.mean(mapping[pred] == y) == pytest.approx(cluster_accuracy(y, pred))


def test_match_clusters_extra_and_empty_clusters_get_unique_ids():
    y = np.array([0, 0, 1, 1, 1, 0])
    pred = np.array([2, 2, 0, 0, 0, 3])  # clusters 1 and 4 are empty, 3 is a second 0-cluster
    mapping = plots.match_clusters(y, pred, n_clusters=5)
    assert mapping.shape == (5,)
    assert mapping[2] == 0 and mapping[0] == 1
    assert len(set(mapping.tolist())) == 5 and set(mapping[[1, 3, 4]].tolist()) == {2, 3, 4}


@pytest.mark.parametrize("y, pred, n, match", [
    (np.array([0, 1]), np.array([0]), None, "one label per sample"),
    (np.array([0, 1]), np.array([0, -1]), None, "cluster ids"),
    (np.array([0, 1]), np.array([0, 3]), 2, "n_clusters"),
    (np.array([0.5, 1.0]), np.array([0, 1]), None, "integer"),
])
def test_match_clusters_rejects_bad_input(y, pred, n, match):
    with pytest.raises(ValueError, match=match):
        plots.match_clusters(y, pred, n)


# -------------------------------------------------------------- projection
def test_project_latent_maps_means_like_points():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(100, 6)) * np.arange(1, 7)
    P, P_means, explained = plots.project_latent(Z, Z[:3], n_components=3)
    assert P.shape == (100, 3) and P_means.shape == (3, 3)
    np.testing.assert_allclose(P_means, P[:3], atol=1e-10)
    assert np.all(np.diff(explained) <= 0) and explained.sum() <= 1 + 1e-12


def test_project_latent_pads_small_latent_spaces():
    Z = np.array([[0.0], [2.0]])
    P, P_means, explained = plots.project_latent(Z, np.array([[1.0]]), n_components=2)
    np.testing.assert_allclose(P, [[-1, 0], [1, 0]])
    np.testing.assert_allclose(P_means, [[0, 0]])
    np.testing.assert_allclose(explained, [1, 0])


def test_project_latent_rejects_mismatched_means():
    with pytest.raises(ValueError, match="means"):
        plots.project_latent(np.zeros((5, 4)), np.zeros((2, 3)))


def _toy_latent(n=120, K=3, M=5, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5, size=(K, M))
    y = rng.integers(0, K, n)
    Z = centres[y] + rng.normal(size=(n, M))
    return Z, y, (y + 1) % K, centres


def test_plot_latent_2d_draws_points_and_means():
    Z, y, pred, centres = _toy_latent()
    fig = plots.plot_latent_2d(Z, pred, y, centres, title="toy")
    assert len(fig.axes) == 2
    for ax in fig.axes:
        sizes = sorted(len(c.get_offsets()) for c in ax.collections)
        assert sizes == [3, 120]  # the means, then all points


def test_plot_latent_2d_subsamples_and_works_without_labels_or_means():
    Z, _, pred, _ = _toy_latent()
    fig = plots.plot_latent_2d(Z, pred, max_points=50)
    assert len(fig.axes) == 1 and len(fig.axes[0].collections[0].get_offsets()) == 50


def test_plot_latent_3d_two_scenes_with_means():
    Z, y, pred, centres = _toy_latent()
    fig = plots.plot_latent_3d(Z, pred, y, centres, max_points=40)
    assert len(fig.data) == 4  # points + means per scene
    assert all(t.type == "scatter3d" for t in fig.data)
    assert len(fig.data[0].x) == 40 and len(fig.data[1].x) == 3
    assert fig.layout.scene2 is not None
    # same colour for a cluster and the class it is matched to
    mapping = plots.match_clusters(y, pred, 3)
    assert list(fig.data[1].marker.color) == list(fig.data[3].marker.color)
    assert len(set(fig.data[1].marker.color)) == len(set(mapping.tolist()))


# ---------------------------------------------------------- decoded means
def _model(likelihood):
    torch.manual_seed(0)
    networks = DGGNetworks(6, 3, latent_dim=2, hidden_dims=(4,))
    networks.train()
    return SimpleNamespace(networks_=networks, likelihood_=likelihood)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_decode_gmm_means_applies_the_decoder_at_mu_k(likelihood):
    model = _model(likelihood)
    model.networks_.gmm.set_(torch.randn(3, 2), torch.ones(3, 2))
    images = plots.decode_gmm_means(model)
    with torch.no_grad():
        raw = model.networks_.decoder(model.networks_.gmm.means)
    expected = torch.sigmoid(raw) if likelihood == "bernoulli" else raw
    assert images.shape == (3, 6)
    np.testing.assert_allclose(images, expected.numpy(), rtol=1e-6)
    assert model.networks_.training  # mode restored


def test_decode_gmm_means_needs_a_fitted_model():
    with pytest.raises(ValueError, match="not fitted"):
        plots.decode_gmm_means(SimpleNamespace(likelihood="bernoulli"))


def test_plot_image_grid_layout_and_shape_check():
    fig = plots.plot_image_grid(np.random.default_rng(0).random((7, 6)), (2, 3), titles=list("abcdefg"), ncols=4)
    assert len(fig.axes) == 8 and sum(ax.get_visible() for ax in fig.axes) == 7
    assert fig.axes[6].get_title() == "g"
    with pytest.raises(ValueError, match="image_shape"):
        plots.plot_image_grid(np.zeros((2, 5)), (2, 3))
