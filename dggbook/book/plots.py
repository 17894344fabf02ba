"""Pictures of a fitted :class:`dggbook.model.dgg.DGG`: training curves, the latent space, decoded GMM means.

Every function reads only public attributes of a fitted estimator
(``history_``, ``networks_``, ``likelihood``) or plain arrays, so the notebooks
draw without touching the training code:

- :func:`history_table` and :func:`plot_training_curves`: the per-epoch terms
  of eq. (4)/(5) recorded by Algorithm 1, and ACC/NMI when labels were given;
- :func:`dggbook.model.metrics.match_clusters` (re-exported here): the one-to-one map
  from cluster ids to classes behind Hungarian accuracy, so a cluster and its class share a colour;
- :func:`project_latent`, :func:`plot_latent_2d`, :func:`plot_latent_3d`:
  a PCA of the latent means mu~ with the GMM means mu_k projected by the same map;
- :func:`decode_gmm_means` and :func:`plot_image_grid`: E[x | z = mu_k], the
  decoder g applied to each cluster centre.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA

from ..model.likelihoods import decoder_mean
from ..model.metrics import match_clusters
from ..validation import check_ndim

__all__ = [
    "TERM_TITLES",
    "history_table",
    "plot_training_curves",
    "match_clusters",
    "project_latent",
    "plot_latent_2d",
    "plot_latent_3d",
    "decode_gmm_means",
    "plot_image_grid",
]

#: The per-epoch entries of ``DGG.history_`` that hold terms of eq. (4)/(5), and a title for each.
#: The titles are matplotlib mathtext.
TERM_TITLES = {
    "reconstruction": r"term 1: $\mathbb{E}_q\,\ln p(x \mid z)$",
    "prior_z": r"term 2: $\mathbb{E}_q\,\ln p(z \mid c)$",
    "prior_c": r"term 3: $\mathbb{E}_q\,\ln \pi_{ic} / q(c \mid z)$",
    "entropy_z": r"term 4: $-\mathbb{E}_q\,\ln q(z \mid x)$",
    "total": r"objective $\frac{1}{2}\sum_j w_{ij}\,[L(x_i) + L(x_i, x_j)]$",
}


def history_table(history) -> dict[str, np.ndarray]:
    """Columns of a per-epoch history (a list of dicts with the same keys) as float arrays.

    A key missing from some epochs (e.g. ``acc`` when no labels were passed) is left out.
    """
    history = list(history)
    if not history:
        raise ValueError("history is empty: fit the estimator with epochs >= 1 first.")
    keys = [k for k in history[0] if all(k in record for record in history)]
    return {k: np.asarray([record[k] for record in history], dtype=float) for k in keys}


def plot_training_curves(history, *, reference: dict | None = None, title: str = ""):
    """One panel per term of eq. (4)/(5) plus the objective, and a panel of ACC/NMI if recorded.

    Terms are the weighted means over anchors that Algorithm 1 maximises (higher is
    better). ``reference`` maps a label to an accuracy drawn as a dashed line on
    the score panel (for example the k-means initialisation's ACC).
    """
    import matplotlib.pyplot as plt

    table = history_table(history)
    epochs = table["epoch"] if "epoch" in table else np.arange(1, len(history) + 1, dtype=float)
    terms = [k for k in TERM_TITLES if k in table]
    has_scores = "acc" in table or "nmi" in table
    n_panels = len(terms) + int(has_scores)
    ncols = 3
    nrows = max(1, -(-n_panels // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.9 * nrows), squeeze=False)
    flat = axes.ravel()
    for ax, key in zip(flat, terms):
        ax.plot(epochs, table[key], color="tab:red" if key == "total" else "tab:blue")
        ax.set_title(TERM_TITLES[key], fontsize=9)
        ax.set_xlabel("epoch")
    if has_scores:
        ax = flat[len(terms)]
        for key, colour in (("acc", "tab:green"), ("nmi", "tab:purple")):
            if key in table:
                ax.plot(epochs, table[key], color=colour, label=key.upper())
        for (name, value), style in zip((reference or {}).items(), ("--", ":", "-.")):
            ax.axhline(value, color="0.4", linestyle=style, linewidth=1, label=name)
        ax.set_ylim(0, 1)
        ax.set_title("clustering scores (labels used only to monitor)", fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8, loc="lower right")
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def project_latent(Z, means=None, n_components: int = 2, random_state: int = 0):
    """PCA of the latent means ``Z`` (N, M); ``means`` (K, M) go through the same map.

    Returns ``(P, P_means, explained)``: the projections (``P_means`` is None
    when no means are given) and the share of variance each component keeps.
    With M <= n_components the coordinates are only centred and zero-padded.
    """
    Z = np.asarray(Z, dtype=float)
    check_ndim("Z", Z, 2)
    M = None if means is None else np.asarray(means, dtype=float)
    if M is not None and (M.ndim != 2 or M.shape[1] != Z.shape[1]):
        raise ValueError(f"means must be (K, {Z.shape[1]}) like Z's columns, got shape {M.shape}.")
    if Z.shape[1] <= n_components:
        centre = Z.mean(axis=0)
        pad = ((0, 0), (0, n_components - Z.shape[1]))
        P = np.pad(Z - centre, pad)
        P_means = None if M is None else np.pad(M - centre, pad)
        explained = np.pad(np.ones(Z.shape[1]) / Z.shape[1], (0, n_components - Z.shape[1]))
        return P, P_means, explained
    pca = PCA(n_components=n_components, random_state=random_state).fit(Z)
    return pca.transform(Z), None if M is None else pca.transform(M), pca.explained_variance_ratio_


def _colour_ids(labels, y, n_clusters):
    """Cluster ids renamed to their matched classes (if y is given), so colours agree across panels."""
    labels = np.asarray(labels)
    if y is None:
        return labels, np.arange(n_clusters)
    mapping = match_clusters(y, labels, n_clusters)
    return mapping[labels], mapping


def _latent_view(Z, labels, y, means, n_components: int, max_points: int | None, random_state: int):
    """What both latent plots draw: the PCA projection, colour ids matched to classes, the points shown."""
    labels = np.asarray(labels)
    n_clusters = len(means) if means is not None else int(labels.max()) + 1
    P, P_means, explained = project_latent(Z, means, n_components, random_state)
    colour_pred, mapping = _colour_ids(labels, y, n_clusters)
    return P, P_means, explained, colour_pred, mapping, _subsample(len(P), max_points, random_state)


def plot_latent_2d(Z, labels, y=None, means=None, *, title: str = "", max_points: int | None = 20000,
                   random_state: int = 0):
    """PCA of mu~ coloured by predicted cluster and (if ``y``) by true class; GMM means mu_k as stars.

    Clusters are coloured by the class they are matched to (:func:`match_clusters`),
    so one colour means one digit in both panels; a key beside the panels names the classes
    (the clusters, without ``y``). A star is labelled mu_k with its component's index k, which
    is arbitrary (mu_2 need not sit on the 2s); its colour is its matched class.
    At most ``max_points`` random points are drawn (all of them fit the PCA).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    P, P_means, explained, colour_pred, mapping, shown = _latent_view(Z, labels, y, means, 2, max_points,
                                                                      random_state)
    cmap = plt.get_cmap("tab10" if max(mapping.max(), 0 if y is None else np.max(y)) < 10 else "tab20")
    panels = [("predicted cluster", colour_pred)] + ([("true class", np.asarray(y))] if y is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
    for ax, (name, colour) in zip(axes[0], panels):
        ax.scatter(P[shown, 0], P[shown, 1], c=cmap(colour[shown] % cmap.N), s=5, alpha=0.6, linewidths=0)
        if P_means is not None:
            ax.scatter(P_means[:, 0], P_means[:, 1], marker="*", s=260, c=cmap(mapping % cmap.N),
                       edgecolors="black", linewidths=1.0, zorder=3, label="GMM means $\\mu_k$")
            for k, (u, v) in enumerate(P_means):
                ax.annotate(f"$\\mu_{{{k}}}$", (u, v), xytext=(5, 5), textcoords="offset points", fontsize=9)
            legend = ax.legend(loc="best", fontsize=8)
            legend.legend_handles[0].set_facecolor("white")  # the stars' colours vary; the legend shows the shape
        ax.set_title(name)
        ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
        ax.set_ylabel(f"PC 2 ({explained[1]:.0%})")
    shown_ids = np.unique(np.concatenate([colour_pred[shown]] + ([np.asarray(y)[shown]] if y is not None else [])))
    key = [Line2D([], [], marker="o", linestyle="", markersize=6, color=cmap(int(c) % cmap.N), label=str(c))
           for c in shown_ids]
    fig.legend(handles=key, title="class" if y is not None else "cluster", loc="center right", fontsize=8,
               title_fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.94, 1))  # room on the right for the colour key
    return fig


def _subsample(n: int, max_points: int | None, random_state: int) -> np.ndarray:
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, max_points, replace=False))


def plot_latent_3d(Z, labels, y=None, means=None, *, title: str = "", max_points: int | None = 3000,
                   random_state: int = 0):
    """Interactive plotly view: PCA of mu~ to 3-D, by predicted cluster and (if ``y``) by true class.

    Two linked-size scenes side by side; GMM means are black-edged diamonds. With ``y``
    each is labelled "μ of cluster k ↦ class c", c the class the Hungarian matching of
    ACC gives cluster k (a bare k would read as a digit: μ_2 need not sit on the 2s), and
    coloured like that class; without ``y``, "μ of cluster k". ``max_points`` random
    points are drawn (all of them fit the PCA) so that the stored figure stays small.
    """
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    P, P_means, explained, colour_pred, mapping, shown = _latent_view(Z, labels, y, means, 3, max_points,
                                                                      random_state)
    palette = qualitative.D3 + qualitative.Alphabet
    panels = [("predicted cluster", colour_pred, labels)]
    if y is not None:
        y = np.asarray(y)
        panels.append(("true class", y, y))
    star_labels = None if P_means is None else [
        f"μ of cluster {k} ↦ class {int(c)}" if y is not None else f"μ of cluster {k}" for k, c in enumerate(mapping)]
    fig = make_subplots(rows=1, cols=len(panels), specs=[[{"type": "scene"}] * len(panels)],
                        subplot_titles=[name for name, _, _ in panels], horizontal_spacing=0.02)
    for col, (name, colour, hover) in enumerate(panels, start=1):
        pts = np.round(P[shown], 3)
        fig.add_trace(go.Scatter3d(
            x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers", name=name,
            marker=dict(size=2, opacity=0.7, color=[palette[int(c) % len(palette)] for c in colour[shown]]),
            text=[f"{name} {h}" for h in hover[shown]], hoverinfo="text", showlegend=False,
        ), row=1, col=col)
        if P_means is not None:
            pm = np.round(P_means, 3)
            fig.add_trace(go.Scatter3d(
                x=pm[:, 0], y=pm[:, 1], z=pm[:, 2], mode="markers+text",
                name="GMM mean of each cluster (↦ its matched class)" if y is not None else "GMM mean of each cluster",
                marker=dict(size=6, symbol="diamond", line=dict(color="black", width=2),
                            color=[palette[int(c) % len(palette)] for c in mapping]),
                text=star_labels, textposition="top center", textfont=dict(size=10), hoverinfo="text",
                showlegend=col == 1,
            ), row=1, col=col)
    axis_titles = {f"{a}axis_title": f"PC {i + 1} ({explained[i]:.0%})" for i, a in enumerate("xyz")}
    fig.update_scenes(**axis_titles)
    fig.update_layout(height=480, margin=dict(l=0, r=0, t=50, b=0), title=title or None)
    return fig


@torch.no_grad()
def decode_gmm_means(model) -> np.ndarray:
    """E[x | z = mu_k] for each cluster k: the decoder g at the GMM means, shape (K, D).

    ``model`` is a fitted :class:`dggbook.model.dgg.DGG`; the decoder output is turned
    into a mean with :func:`dggbook.model.likelihoods.decoder_mean` (sigmoid for Bernoulli,
    the identity for Gaussian), so Gaussian images may leave [0, 1] slightly.
    """
    networks = getattr(model, "networks_", None)
    if networks is None:
        raise ValueError("model is not fitted: call fit first (it has no networks_).")
    was_training = networks.training
    networks.eval()
    try:
        out = decoder_mean(model.likelihood_, networks.decoder(networks.gmm.means))
    finally:
        networks.train(was_training)
    return out.detach().cpu().numpy()


def plot_image_grid(images, image_shape, *, titles=None, ncols: int | None = None, cmap: str = "gray_r",
                    title: str = ""):
    """Rows of ``images`` (n, H*W) drawn as H x W pictures on one grey scale from 0 to 1."""
    import matplotlib.pyplot as plt

    images = np.asarray(images, dtype=float)
    check_ndim("images", images, 2)
    h, w = image_shape
    if images.shape[1] != h * w:
        raise ValueError(f"image_shape {tuple(image_shape)} needs {h * w} values per row, got {images.shape[1]}.")
    n = images.shape[0]
    ncols = ncols or min(n, 10)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.6 * nrows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_visible(False)
            continue
        ax.imshow(images[i].reshape(h, w), cmap=cmap, vmin=0.0, vmax=1.0)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
