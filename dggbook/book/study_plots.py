"""Pictures of the ablation study of the seven questions (notebook 08): paired differences per seed.

:func:`plot_paired_differences` draws records of :func:`dggbook.study.paired.paired_differences`:
one panel per data set, each with its own horizontal axis (3 seeds on MNIST give intervals ten
times wider than 10 seeds on digits, and one shared axis would squash the digits panel), one line
per arm, labelled in words (:data:`ARM_LABELS`), every seed's difference arm − preset as a dot,
the mean as a bar and its 95% paired-t interval as a line, against a vertical line at 0
("no effect").
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

__all__ = ["ARM_LABELS", "DATASET_LABELS", "plot_paired_differences"]

#: A short label in words for each arm of :data:`dggbook.study.questions.ARMS` (its code name otherwise).
ARM_LABELS = {
    "coefficient_1": "printed coefficient 1 in (21)",
    "constants_dropped": r"both $\ln 2\pi$ constants dropped",
    "f2_on_sample": r"$f_2$ on a sample $z$",
    "random_20_of_top_100": "20 random of the nearest 100",
    "pi_blog_printed": r"blog's printed $\pi$ update",
    "pi_public_code": r"public code's $\pi$ update",
    "posterior_bayes_with_pi": r"Bayes posterior with $\pi_i$",
    "posterior_bayes_without_pi": r"Bayes posterior without $\pi$",
    "weights_row11": "code's kernel, dist_temp[11]",
    "weights_uniform": "uniform weights $1/J$",
    "siamese_graph": "graph in a Siamese embedding",
    "all_J_neighbours": "all $J$ neighbours ($S = J$)",
    "vade": "VaDE instead of DGG",
}

#: A panel title for each data set of the study.
DATASET_LABELS = {
    "digits": "digits (8×8, 1,797 images)",
    "mnist10k": "MNIST, 10,000-image subset",
    "digits-quick": "digits, quick settings",
}


def plot_paired_differences(records: list[dict], *, title: str = "", metric_label: str = "ACC", ax=None):
    """A strip plot of per-seed paired differences with each mean and its 95% interval; returns the figure.

    One panel per data set in ``records`` (in order of first appearance), each with its own
    x-axis. ``ax`` draws into an existing axes and is allowed only when ``records`` hold a
    single data set.
    """
    if not records:
        raise ValueError("records is empty; pass the paired_differences of at least one arm.")
    datasets = list(dict.fromkeys(record["dataset"] for record in records))
    if ax is not None and len(datasets) > 1:
        raise ValueError(f"ax takes one panel, but records hold {len(datasets)} data sets {datasets}; "
                         "pass ax=None to get one panel per data set, or the records of one data set.")
    if ax is None:
        rows = max(sum(r["dataset"] == d for r in records) for d in datasets)
        fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets) + 1.6, 0.55 * rows + 1.5),
                                 squeeze=False, layout="constrained")
        axes = list(axes[0])
    else:
        fig, axes = ax.figure, [ax]
    arms = {}
    for panel, dataset in zip(axes, datasets):
        arms[dataset] = [r["arm"] for r in records if r["dataset"] == dataset]
        _draw_panel(panel, [r for r in records if r["dataset"] == dataset], dataset, metric_label)
        if panel is not axes[0] and arms[dataset] == arms[datasets[0]]:
            panel.tick_params(labelleft=False)  # the same arms as the first panel: its labels serve
    handles = [Line2D([], [], marker="o", ls="", color="tab:blue", alpha=0.7, label="one seed"),
               Line2D([], [], color="tab:red", lw=2.5, label="mean"),
               Line2D([], [], color="black", lw=2, label="95% paired-t interval")]
    if ax is None:  # below the panels, where it cannot cover a seed
        fig.legend(handles=handles, fontsize=8, loc="outside lower center", ncol=3)
    else:
        ax.legend(handles=handles, fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    if ax is not None:
        fig.tight_layout()
    return fig


def _draw_panel(ax, records: list[dict], dataset: str, metric_label: str) -> None:
    """One data set's arms, one per row, on ``ax``."""
    labels = []
    for row, record in enumerate(records):
        diffs = np.asarray(record["differences"], dtype=float)
        jitter = np.linspace(-0.15, 0.15, len(diffs)) if len(diffs) > 1 else np.zeros(len(diffs))
        ax.scatter(diffs, row + jitter, s=14, color="tab:blue", alpha=0.7, zorder=3)
        if np.isfinite(record["low"]):
            ax.plot([record["low"], record["high"]], [row, row], color="black", lw=2, zorder=2)
        ax.plot([record["mean"]] * 2, [row - 0.3, row + 0.3], color="tab:red", lw=2.5, zorder=4)
        labels.append(ARM_LABELS.get(record["arm"], record["arm"].replace("_", " ")))
    ax.axvline(0.0, color="grey", lw=1, ls="--")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.set_yticks(range(len(records)), labels, fontsize=8)
    ax.set_ylim(len(records) - 0.5, -0.5)  # first record on top
    ax.set_xlabel(f"Δ{metric_label} = arm − preset (same seed)", fontsize=9)
    seeds = sorted({int(r["n"]) for r in records})
    ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}, n = {' or '.join(map(str, seeds))} seeds", fontsize=9)
