"""Pictures of the ablation study of the seven questions (notebook 08): paired differences per seed.

:func:`plot_paired_differences` draws records of :func:`dggbook.study.paired.paired_differences`:
one line per (data set, arm), every seed's difference arm − preset as a dot, the mean as a
bar and its 95% paired-t interval as a line, against a vertical line at 0 ("no effect").
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

__all__ = ["plot_paired_differences"]


def plot_paired_differences(records: list[dict], *, title: str = "", metric_label: str = "ACC", ax=None):
    """A strip plot of per-seed paired differences with each mean and its 95% interval; returns the figure."""
    if not records:
        raise ValueError("records is empty; pass the paired_differences of at least one arm.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.55 * len(records) + 1.2))
    labels = []
    for row, record in enumerate(records):
        diffs = np.asarray(record["differences"], dtype=float)
        jitter = np.linspace(-0.15, 0.15, len(diffs)) if len(diffs) > 1 else np.zeros(len(diffs))
        ax.scatter(diffs, row + jitter, s=14, color="tab:blue", alpha=0.7, zorder=3)
        if np.isfinite(record["low"]):
            ax.plot([record["low"], record["high"]], [row, row], color="black", lw=2, zorder=2)
        ax.plot([record["mean"]] * 2, [row - 0.3, row + 0.3], color="tab:red", lw=2.5, zorder=4)
        labels.append(f"{record['arm']}\n({record['dataset']}, n = {record['n']})")
    ax.axvline(0.0, color="grey", lw=1, ls="--")
    ax.legend(handles=[Line2D([], [], marker="o", ls="", color="tab:blue", alpha=0.7, label="one seed"),
                       Line2D([], [], color="tab:red", lw=2.5, label="mean"),
                       Line2D([], [], color="black", lw=2, label="95% paired-t interval")],
              fontsize=7, loc="best")
    ax.set_yticks(range(len(records)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"Δ{metric_label} = arm − preset (same seed)")
    ax.set_title(title, fontsize=10)
    ax.figure.tight_layout()
    return ax.figure
