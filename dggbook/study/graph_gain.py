"""Where the graph helps: the paired gain of DGG over DGG without graph, per start and per graph.

The rows come from ``benchmarks/bench_graph_gain.py`` (``benchmarks/results/graph_gain.csv``): one row per
(data set, start, arm, seed). For a data set, a start and a DGG arm (a graph searched in pixel space, in
mu~ or in UMAP of mu~), the gain of the graph on seed s is

    ACC(DGG with that graph, s) − ACC(DGG without graph, s),

both from the same pretrained networks and the same starting partition, so that only the J neighbours
of term 3 and of the pi update (31) differ. Its mean, 95% paired-t interval and Wilcoxon p come from
:func:`dggbook.study.paired.paired_differences`. The "room" a start leaves is 1 − its ACC; the graph's
purity is the share of its neighbour pairs whose two samples share a class. Notebook 08 draws
:func:`gain_records` against both.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .paired import paired_differences

__all__ = ["ARMS", "STARTS", "FIELDS", "GRAPH_ARMS", "read_rows", "gain_records", "arm_means", "summary_markdown"]

STARTS = ("kmeans", "gmm", "umap")  # the paper's k-means on mu~, a Gaussian mixture on mu~, UMAP then a mixture
GRAPH_ARMS = ("dgg_input", "dgg_latent", "dgg_umap")  # DGG with its graph searched in these spaces
ARMS = (*GRAPH_ARMS, "no_graph", "vade")
FIELDS = ("dataset", "start", "arm", "seed", "n_samples", "start_acc", "acc", "nmi", "purity", "epoch1_acc",
          "seconds")
REFERENCE = "no_graph"


def read_rows(path) -> list[dict]:
    """The rows of a ``graph_gain.csv`` as dicts of strings; [] when the file does not exist yet."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _typed(rows: list[dict]) -> list[dict]:
    """Rows as read from the CSV (all strings) with numbers as numbers."""
    out = []
    for row in rows:
        typed = dict(row)
        typed["seed"] = int(row["seed"])
        for field in ("start_acc", "acc", "nmi", "purity", "epoch1_acc", "seconds"):
            typed[field] = float(row[field])
        out.append(typed)
    return out


def gain_records(rows: list[dict], *, reference: str = REFERENCE) -> list[dict]:
    """One record per (data set, start, arm ≠ ``reference``) of :func:`paired_differences`, with the start's
    ACC per seed (``start_accs``, in the order of ``seeds``) and its mean (``start_acc``; the "room" is 1 − it),
    and the mean purity of the arm's graph (NaN for graphless arms) added."""
    rows = _typed(rows)
    out = []
    for dataset, start in dict.fromkeys((r["dataset"], r["start"]) for r in rows):
        mine = [dict(r, dataset=f"{dataset}|{start}", question="graph") for r in rows
                if r["dataset"] == dataset and r["start"] == start]
        if not any(r["arm"] == reference for r in mine):
            continue
        for record in paired_differences(mine, metric="acc", reference=reference):
            arm_rows = [r for r in mine if r["arm"] == record["arm"]]
            start_of_seed = {r["seed"]: r["start_acc"] for r in arm_rows}
            record.update(dataset=dataset, start=start,
                          start_accs=[start_of_seed[seed] for seed in record["seeds"]],
                          start_acc=float(np.mean([r["start_acc"] for r in arm_rows])),
                          purity=float(np.mean([r["purity"] for r in arm_rows])))
            out.append(record)
    return out


def arm_means(rows: list[dict]) -> list[dict]:
    """Mean ± std over seeds of the start's ACC and the final ACC, per (data set, start, arm), with the seeds."""
    rows = _typed(rows)
    out = []
    for key in dict.fromkeys((r["dataset"], r["start"], r["arm"]) for r in rows):
        mine = [r for r in rows if (r["dataset"], r["start"], r["arm"]) == key]
        start, final = np.array([r["start_acc"] for r in mine]), np.array([r["acc"] for r in mine])
        out.append(dict(dataset=key[0], start=key[1], arm=key[2], n=len(mine), seeds=[r["seed"] for r in mine],
                        start_acc=float(start.mean()), start_acc_std=float(start.std()), acc=float(final.mean()),
                        acc_std=float(final.std()), accs=final.tolist(),
                        purity=float(np.mean([r["purity"] for r in mine])),
                        seconds=float(np.mean([r["seconds"] for r in mine]))))
    return out


def summary_markdown(rows: list[dict]) -> str:
    """Two markdown tables: ACC per arm (mean ± std over seeds), and the graph's paired gain over no graph."""
    lines = ["**ACC, mean ± std over seeds (n seeds); the start's ACC over the seeds of DGG without graph:**", "",
             "| data | start | start ACC (n) | " + " | ".join(ARMS) + " |", "|---" * (3 + len(ARMS)) + "|"]
    means = arm_means(rows)
    for dataset, start in dict.fromkeys((m["dataset"], m["start"]) for m in means):
        cells = {m["arm"]: m for m in means if (m["dataset"], m["start"]) == (dataset, start)}
        base = cells.get(REFERENCE, next(iter(cells.values())))
        lines.append(f"| {dataset} | {start} | {base['start_acc']:.3f} ± {base['start_acc_std']:.3f} ({base['n']}) | "
                     + " | ".join(f"{cells[a]['acc']:.3f} ± {cells[a]['acc_std']:.3f} ({cells[a]['n']})"
                                  if a in cells else "–" for a in ARMS) + " |")
    lines += ["", "**The graph's gain: ACC(arm) − ACC(DGG without graph), paired by seed, mean [95% interval]:**", "",
              "| data | start | start ACC | arm | graph purity | n | gain | Wilcoxon p | per seed |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in gain_records(rows):
        purity = "–" if np.isnan(r["purity"]) else f"{r['purity']:.3f}"
        seeds = ", ".join(f"{d:+.3f}" for d in r["differences"])
        lines.append(f"| {r['dataset']} | {r['start']} | {r['start_acc']:.3f} | {r['arm']} | {purity} | {r['n']} | "
                     f"{r['mean']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}] | {r['wilcoxon_p']:.3f} | {seeds} |")
    return "\n".join(lines) + "\n"
