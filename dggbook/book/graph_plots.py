"""Pictures of what DGG's graph does (notebook 08, "Where the graph helps").

- :func:`plot_graph_gain`: the graph's paired gain over DGG without graph
  (:func:`dggbook.study.graph_gain.gain_records`) against the room the start leaves (1 − its ACC) and
  against the graph's purity, one point per (data set, start, graph) with its 95% interval;
- :func:`plot_partition_cuts`: a 2-D data set with its graph, coloured by two partitions, the edges each
  partition cuts drawn in red, and the two partition-dependent terms of the objective in each title
  (:func:`dggbook.study.graph_mechanism.partition_terms`).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

__all__ = ["GRAPH_LABELS", "START_MARKERS", "plot_graph_gain", "plot_partition_cuts"]

GRAPH_LABELS = {"dgg_input": "graph in pixel space", "dgg_latent": r"graph in $\tilde\mu$",
                "dgg_umap": r"graph in UMAP of $\tilde\mu$"}
GRAPH_COLOURS = {"dgg_input": "tab:blue", "dgg_latent": "tab:orange", "dgg_umap": "tab:green"}
START_MARKERS = {"kmeans": "o", "gmm": "s", "umap": "^"}
START_LABELS = {"kmeans": "k-means start (the paper's)", "gmm": "GMM start", "umap": "UMAP start"}
DATASET_FACES = {"digits": "full", "mnist10k": "none"}


def plot_graph_gain(records: list[dict], *, title: str = ""):
    """Two panels: gain against 1 − start ACC, and gain against graph purity; returns the figure.

    Colour: the space the graph was searched in; marker: the start; filled: digits, hollow: MNIST-10k.
    Each large point is the mean paired difference over seeds, each bar its 95% paired-t interval; the faint
    points of the left panel are the seeds, each at its own start's room.
    """
    graph_records = [r for r in records if r["arm"] in GRAPH_LABELS]
    if not graph_records:
        raise ValueError("records hold no DGG arm with a graph (dgg_input, dgg_latent, dgg_umap); pass "
                         "gain_records(rows) of benchmarks/results/graph_gain.csv.")
    figure, axes = plt.subplots(1, 2, figsize=(10.5, 4.2), sharey=True, constrained_layout=True)
    for ax, x_of, x_label in ((axes[0], lambda r: 1 - r["start_acc"], "room the start leaves: 1 − ACC of the start"),
                              (axes[1], lambda r: r["purity"], "graph purity: share of neighbours of the same class")):
        for r in graph_records:
            colour = GRAPH_COLOURS[r["arm"]]
            hollow = DATASET_FACES.get(r["dataset"], "full") == "none"
            x = x_of(r)
            if ax is axes[0]:  # each seed's own room and gain, faint (hollow for the hollow data sets)
                ax.scatter(1 - np.asarray(r["start_accs"]), r["differences"], s=18, alpha=0.5,
                           marker=START_MARKERS.get(r["start"], "o"), facecolors="none" if hollow else colour,
                           edgecolors=colour, linewidths=0.8 if hollow else 0)
            ax.errorbar(x, r["mean"], yerr=[[r["mean"] - r["low"]], [r["high"] - r["mean"]]], fmt="none",
                        ecolor=colour, alpha=0.6, lw=1.2)
            ax.plot(x, r["mean"], START_MARKERS.get(r["start"], "o"), ms=8, color=colour,
                    markerfacecolor="white" if hollow else colour, markeredgewidth=1.6)
        ax.axhline(0, color="0.4", lw=0.8)
        ax.set_xlabel(x_label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ACC(DGG) − ACC(DGG without graph)\npaired by seed, mean and 95% interval")
    handles = [Line2D([], [], color=c, lw=0, marker="o", ms=7, label=GRAPH_LABELS[a]) for a, c in GRAPH_COLOURS.items()]
    handles += [Line2D([], [], color="0.3", lw=0, marker=m, ms=7, label=START_LABELS[s]) for s, m in START_MARKERS.items()]
    datasets = list(dict.fromkeys(r["dataset"] for r in graph_records))
    handles += [Line2D([], [], color="0.3", lw=0, marker="h", ms=8,
                       markerfacecolor="white" if DATASET_FACES.get(d, "full") == "none" else "0.3",
                       label=("hollow: " if DATASET_FACES.get(d, "full") == "none" else "filled: ")
                       + d.replace("mnist10k", "MNIST-10k")) for d in datasets]
    figure.legend(handles=handles, loc="outside right center", fontsize=9, frameon=False)
    if title:
        figure.suptitle(title)
    return figure


def _segments(points: np.ndarray, graph, mask: np.ndarray) -> np.ndarray:
    indices = graph.indices.cpu().numpy()
    anchors = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    neighbours = indices.ravel()
    keep = mask[anchors, np.tile(np.arange(indices.shape[1]), indices.shape[0])]
    return np.stack([points[anchors[keep]], points[neighbours[keep]]], axis=1)


def plot_partition_cuts(points, graph, partitions: dict, terms: dict, *, title: str = ""):
    """One panel per partition (name → labels) of 2-D ``points``: the graph's edges in grey, the edges the
    partition cuts in red, the samples coloured by label; ``terms`` (name → :func:`partition_terms`) in titles."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (N, 2) to be drawn, got shape {points.shape}; pass a 2-D data set.")
    indices = graph.indices.cpu().numpy()
    figure, axes = plt.subplots(1, len(partitions), figsize=(5.2 * len(partitions), 4.6), constrained_layout=True,
                                squeeze=False)
    for ax, (name, labels) in zip(axes[0], partitions.items()):
        labels = np.asarray(labels)
        crossed = labels[indices] != labels[:, None]
        ax.add_collection(LineCollection(_segments(points, graph, ~crossed), colors="0.8", linewidths=0.4, zorder=1))
        ax.add_collection(LineCollection(_segments(points, graph, crossed), colors="red", linewidths=1.2, zorder=3))
        ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", s=6, zorder=2)
        t = terms[name]
        ax.set_title(f"{name}\nedges cut {100 * t['cut_share']:.2f}%: term 3 {t['term3']:+.3f}, "
                     f"term 2 {t['term2']:+.3f} nats/sample", fontsize=10)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        figure.suptitle(title)
    return figure
