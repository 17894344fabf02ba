"""Figures of notebook 09 (failure modes): Algorithm 1 traced epoch by epoch, accuracy seed by seed, and the
choice between two starts.

The traces come from :func:`dggbook.model.diagnostics.trace_algorithm1`; the per-seed rows from
``benchmarks/results/suite.csv`` (``benchmarks/bench_suite.py``); the starts' cuts from
:func:`dggbook.model.start.choose_start`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_training_trace", "plot_seed_spread", "plot_start_choice"]


def plot_training_trace(traces: dict, *, title: str = ""):
    """One row of four panels per trace (``{label: records}``): the cluster sizes (argmax f2), the mean prior
    pi per cluster, the spread of mu~ over the encoder's sigma~, and the ELBO terms per epoch."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(traces), 4, figsize=(13, 2.9 * len(traces)), squeeze=False)
    for row, (label, records) in zip(axes, traces.items()):
        epochs = np.array([r["epoch"] for r in records])
        sizes = np.array([r["cluster_sizes"] for r in records])
        pi = np.array([r["pi_mean"] for r in records])
        for k in range(sizes.shape[1]):
            row[0].plot(epochs, sizes[:, k], marker=".", label=f"cluster {k}")
            row[1].plot(epochs, pi[:, k], marker=".")
        row[0].set_ylabel(label)
        accs = [r["acc"] for r in records] if "acc" in records[0] else None
        row[0].set_title("samples per cluster" + (f" (ACC {accs[0]:.2f} → {accs[-1]:.2f})" if accs else ""))
        row[1].set_title(r"mean $\pi_{ik}$ over samples")
        row[1].set_ylim(-0.02, 1.02)
        row[2].plot(epochs, [r["spread_over_sigma"] for r in records], marker=".", color="k")
        row[2].axhline(1.0, color="grey", lw=0.8, ls="--")
        row[2].set_yscale("log")
        row[2].set_title(r"spread of $\tilde\mu$ / mean $\tilde\sigma$")
        trained = [r for r in records if "total" in r]
        for name, style in (("reconstruction", "-"), ("prior_z", "--"), ("prior_c", ":"), ("entropy_z", "-."),
                            ("total", "-")):
            row[3].plot([r["epoch"] for r in trained], [r[name] for r in trained], ls=style,
                        lw=2 if name == "total" else 1, label=name.replace("_", " "))
        row[3].set_title("ELBO terms (epoch means)")
        for ax in row:
            ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=8, loc="center right")
    axes[0, 3].legend(fontsize=7, ncol=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_seed_spread(rows, methods=("dgg", "dgg_no_graph", "vade", "kmeans", "gmm"), *, title: str = ""):
    """ACC of every seed (dots) and its mean (a bar) per data set and method, from ``suite.csv`` rows
    (dicts with ``dataset``, ``method``, ``acc``)."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, ax = plt.subplots(figsize=(12, 3.8))
    width = 0.8 / len(methods)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for m, method in enumerate(methods):
        for d, name in enumerate(names):
            accs = np.array([float(r["acc"]) for r in rows if r["dataset"] == name and r["method"] == method])
            if not accs.size:
                continue
            x = d + (m - (len(methods) - 1) / 2) * width
            ax.bar(x, accs.mean(), width * 0.9, color=colours[m], alpha=0.35,
                   label=method.replace("_", " ") if d == 0 else None)
            ax.plot(np.full(accs.size, x), accs, "o", ms=3, color=colours[m])
    ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names])
    ax.set_ylabel("ACC (dots: seeds; bars: mean)")
    ax.set_ylim(0.3, 1.02)
    ax.legend(ncol=len(methods), fontsize=8, loc="lower left")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_start_choice(records, *, title: str = ""):
    """One panel per data set: each seed's two candidate starts as points (normalized cut on the input's
    neighbour graph, ACC), joined by a line; the candidate ``init="auto"`` keeps (the lower cut) filled.

    ``records``: dicts with ``dataset``, ``seed``, ``candidate`` ("umap" or "input"), ``cut``, ``acc``, ``chosen``.
    """
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["dataset"] for r in records))
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.6), squeeze=False)
    colors = {"umap": "tab:blue", "input": "tab:orange"}
    for ax, name in zip(axes[0], names):
        rows = [r for r in records if r["dataset"] == name]
        for seed in dict.fromkeys(r["seed"] for r in rows):
            pair = [r for r in rows if r["seed"] == seed]
            ax.plot([r["cut"] for r in pair], [r["acc"] for r in pair], color="grey", lw=0.7, zorder=1)
        for candidate, color in colors.items():
            for chosen in (True, False):
                pts = [r for r in rows if r["candidate"] == candidate and r["chosen"] == chosen]
                if pts:
                    ax.scatter([r["cut"] for r in pts], [r["acc"] for r in pts], s=40, zorder=2, color=color,
                               facecolors=color if chosen else "none",
                               label=f"{candidate} start" + (" (kept)" if chosen else ""))
        ax.set_title(name)
        ax.set_xlabel("normalized cut of the input's neighbour graph")
        ax.set_ylabel("ACC of the start")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
