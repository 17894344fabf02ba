"""The 3-D latent figure of notebook 07: each GMM mean is named by its cluster and matched class, never by a bare
index that reads as a digit, and the legend does not read "mu_k" or "μ_k"."""
import numpy as np

from dggbook.book import plots


def _toy(seed=0, K=3, n=120, M=5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5, size=(K, M))
    y = rng.integers(0, K, n)
    return centres[y] + rng.normal(size=(n, M)), y, (y + 1) % K, centres


def test_stars_name_their_cluster_and_its_matched_class():
    Z, y, pred, centres = _toy()
    fig = plots.plot_latent_3d(Z, pred, y, centres, max_points=40)
    mapping = plots.match_clusters(y, pred, 3)
    assert [int(c) for c in mapping] == [2, 0, 1]  # cluster k holds class k - 1: a bare k would name the wrong digit
    for stars in (fig.data[1], fig.data[3]):
        assert list(stars.text) == [f"μ of cluster {k} ↦ class {mapping[k]}" for k in range(3)]
        assert "mu_k" not in stars.name and "μ_k" not in stars.name


def test_stars_without_labels_name_only_their_cluster():
    Z, _, pred, centres = _toy()
    fig = plots.plot_latent_3d(Z, pred, None, centres, max_points=40)
    assert list(fig.data[1].text) == [f"μ of cluster {k}" for k in range(3)]
    assert not any(text.strip().isdigit() for text in fig.data[1].text)
