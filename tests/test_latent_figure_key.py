"""The latent_clusters figure of notebook 07: stars named mu_k (not bare digits), and a colour key for the classes."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from dggbook.book import plots  # noqa: E402


def test_stars_are_labelled_mu_k_and_the_figure_has_a_key_of_the_classes():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=5, size=(3, 4))
    y = rng.integers(0, 3, 90)
    Z = centres[y] + rng.normal(size=(90, 4))
    fig = plots.plot_latent_2d(Z, (y + 1) % 3, y, centres)
    for ax in fig.axes:
        star_labels = [text.get_text() for text in ax.texts]
        assert star_labels == ["$\\mu_{0}$", "$\\mu_{1}$", "$\\mu_{2}$"], star_labels
    (key,) = fig.legends
    assert key.get_title().get_text() == "class"
    assert [text.get_text() for text in key.get_texts()] == ["0", "1", "2"]
    # each entry has the colour the points of that class are drawn in
    colours = [handle.get_color() for handle in key.legend_handles]
    cmap = matplotlib.colormaps["tab10"]
    assert [tuple(c) for c in colours] == [cmap(k) for k in range(3)]
