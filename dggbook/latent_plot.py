"""Pictures of a fitted model: the latent space coloured by cluster, and the training curves."""
from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA


def latent_2d(Z: np.ndarray, random_state: int = 0) -> np.ndarray:
    """The latent means projected to 2-D (PCA; the identity when M <= 2)."""
    Z = np.asarray(Z, dtype=float)
    if Z.shape[1] <= 2:
        return np.pad(Z, ((0, 0), (0, 2 - Z.shape[1])))
    return PCA(n_components=2, random_state=random_state).fit_transform(Z)


def plot_latent_clusters(Z, labels, y=None, *, title: str = ""):
    """Scatter of mu~ in 2-D coloured by predicted cluster (and, if given, by true class)."""
    import matplotlib.pyplot as plt

    P = latent_2d(Z)
    panels = [("predicted cluster", labels)] + ([("true class", y)] if y is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5), squeeze=False)
    for ax, (name, colour) in zip(axes[0], panels):
        ax.scatter(P[:, 0], P[:, 1], c=np.asarray(colour), cmap="tab10", s=4, alpha=0.7, linewidths=0)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history: list[dict], *, title: str = ""):
    """Per-epoch minus-ELBO of Algorithm 1 and, when recorded, ACC/NMI."""
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    has_scores = bool(history) and "acc" in history[0]
    fig, axes = plt.subplots(1, 2 if has_scores else 1, figsize=(10 if has_scores else 5, 3.5), squeeze=False)
    axes[0, 0].plot(epochs, [r["loss"] for r in history])
    axes[0, 0].set_xlabel("epoch")
    axes[0, 0].set_ylabel("loss = -1/2 sum_j w_ij [L(x_i) + L(x_i, x_j)]")
    if has_scores:
        for key in ("acc", "nmi"):
            axes[0, 1].plot(epochs, [r[key] for r in history], label=key.upper())
        axes[0, 1].set_xlabel("epoch")
        axes[0, 1].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
