"""Does the label-free rule of ``init="auto"`` keep the better of its two candidate starts?

    python benchmarks/bench_start_choice.py [--datasets iris wine ...] [--seeds 0 1 2 3 4]
        [--out benchmarks/results/start_choice]

For each data set of ``bench_suite.py`` with at most ``INPUT_START_MAX_FEATURES`` features and each seed, the two
candidates that ``DGG(K, random_state=seed)`` compares are computed as ``fit`` computes them
(``dggbook.model.pretrain.start_candidates``): the UMAP start and the input's own Gaussian mixture. Each is
scored two ways on the 10-nearest-neighbour graph of X, without labels:

- the normalized cut (``dggbook.model.start.normalized_cut``; lower is better), the rule ``init="auto"`` uses
  (which also rules out a candidate that leaves a cluster empty: ``clusters_used`` is kept for that);
- Newman's modularity (higher is better), the rule tried first and rejected.

Labels are used only to measure each start's ACC. ``<out>.csv`` keeps one row per (data set, seed, candidate);
``<out>.md`` counts, per rule, how often the kept start was the one with the higher ACC and what the misses cost.
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA

from dggbook.environment import versions
from dggbook.model.metrics import cluster_accuracy
from dggbook.model.pretrain import start_candidates
from dggbook.model.start import INPUT_START_MAX_FEATURES, neighbor_adjacency, normalized_cut
from dggbook.paths import project_root

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_suite import DATASETS  # noqa: E402  (the same data sets, loaded the same way)
from result_files import write_rows  # noqa: E402

DEFAULT_OUT = project_root() / "benchmarks" / "results" / "start_choice"
FIELDS = ("dataset", "seed", "candidate", "n_clusters", "clusters_used", "acc", "normalized_cut", "modularity")
RULES = {"normalized cut (init=\"auto\")": ("normalized_cut", min), "modularity (rejected)": ("modularity", max)}


def modularity(adjacency, labels) -> float:
    """Newman's modularity of a partition: sum over clusters of (its share of the edge weight inside it) minus
    (its share of the summed degree) squared. Higher is better; it favours clusters of equal volume."""
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    total = degree.sum()
    shares = []
    for k in np.unique(labels):
        rows = labels == k
        shares.append(adjacency[rows][:, rows].sum() / total - (degree[rows].sum() / total) ** 2)
    return float(sum(shares))


def candidates_of(X, y, k: int, seed: int, *, whiten: bool = False) -> list[dict]:
    """The two candidate starts of ``init="auto"`` for one seed, each with its ACC and both scores. ``whiten``
    scores them on the graph of X whitened (PCA to unit variance in every direction: a graph that no linear
    rescaling of the features changes), the variant tried and rejected."""
    starts = start_candidates(X, k, random_state=seed, device="cpu")
    adjacency = neighbor_adjacency(PCA(whiten=True, svd_solver="full").fit_transform(np.asarray(X, np.float64))
                                   if whiten else X)
    return [dict(candidate=name, n_clusters=k, clusters_used=len(np.unique(labels)),
                 acc=round(cluster_accuracy(y, labels), 4),
                 normalized_cut=round(normalized_cut(adjacency, labels), 4),
                 modularity=round(modularity(adjacency, labels), 4)) for name, labels in starts.items()]


def summarize(rows: list[dict]) -> str:
    """Per rule: the (data set, seed) pairs where the kept start had the higher ACC, and the cost of the others."""
    pairs = {}
    for r in rows:
        pairs.setdefault((r["dataset"], r["seed"]), []).append(r)
    lines = ["| rule | pairs | kept the start with the higher ACC (ties count) | misses: ACC lost (data set, seed) |",
             "|---|---|---|---|"]
    for rule, (field, pick) in RULES.items():
        hits, misses = 0, []
        for (name, seed), two in pairs.items():
            # as choose_start does: a candidate that leaves a cluster empty is not kept while another is complete
            complete = [r for r in two if int(r["clusters_used"]) == int(r["n_clusters"])] or two
            kept = pick(complete, key=lambda r: float(r[field]))
            best = max(float(r["acc"]) for r in two)
            if float(kept["acc"]) >= best:
                hits += 1
            else:
                misses.append(f"{best - float(kept['acc']):.3f} ({name}, {seed})")
        lines.append(f"| {rule} | {len(pairs)} | {hits} | {'; '.join(misses) or '–'} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    small = ["blobs", "blobs_aniso", "moons", "iris", "wine", "breast_cancer"]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=small, choices=small + ["iris_standardised", "wine_raw"])
    parser.add_argument("--whiten", action="store_true", help="score the cuts on the graph of X whitened (rejected)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="path prefix of the .csv, .md and .meta.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name in args.datasets:
        X, y = DATASETS[name][0]()
        X, y = np.ascontiguousarray(X, dtype=np.float32), np.asarray(y)
        if X.shape[1] > INPUT_START_MAX_FEATURES:
            raise ValueError(f"--datasets {name} has {X.shape[1]} features; init='auto' compares starts only up to "
                             f"{INPUT_START_MAX_FEATURES}. Drop it from --datasets.")
        for seed in args.seeds:
            for row in candidates_of(X, y, len(np.unique(y)), seed, whiten=args.whiten):
                rows.append(dict(dataset=name, seed=seed, **row))
                print(f"{name:14s} seed {seed} {row['candidate']:5s}: ACC {row['acc']:.3f}, normalized cut "
                      f"{row['normalized_cut']:.3f}, modularity {row['modularity']:.3f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_rows(args.out.with_suffix(".csv"), FIELDS, rows)
    table = summarize(rows)
    args.out.with_suffix(".md").write_text("Candidate starts of init=\"auto\", scored on the 10-NN graph of X"
                                           + (" whitened" if args.whiten else "") + "; one thread.\n\n" + table)
    meta = dict(command=" ".join(sys.argv), versions=versions())
    args.out.with_suffix(".meta.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
