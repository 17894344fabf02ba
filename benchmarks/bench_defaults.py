"""``DGG(n_clusters).fit(X)`` with every default: ACC and wall time on digits and on an MNIST subset.

No preset, no override: the estimator's own defaults (UMAP start, f2 with one
hidden layer of 128, the nearest 20 neighbours in UMAP space, lr 2e-3, the
paper's 500-500-2000-10 networks and Bernoulli likelihood, and ``"auto"`` epochs
and S, which ``fit`` sets from the data size and the device; ``auto_settings_``).

Data: ``digits`` (1,797 images, 8x8) and ``mnist3000`` (3,000 MNIST images drawn
once with ``numpy.random.default_rng(0)``, needs ``make mnist``). For each seed the
script prints ACC, NMI, the start's ACC, f2's agreement with the start, the
graph's purity and the wall time of ``fit``; the table gives mean ± std over the seeds (population std).

    python benchmarks/bench_defaults.py [--datasets digits mnist3000] [--seeds 0 1 2] [--json out.json]
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import json
import time
import warnings

import numpy as np

from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.metrics import cluster_accuracy, clustering_scores

DATASETS = ("digits", "mnist3000")
MNIST_SUBSET_SIZE = 3000


def load(name: str):
    """``(X, y, n_clusters)`` of one of :data:`DATASETS`."""
    if name == "digits":
        data = load_dataset("digits")
        return data.X, data.y, data.n_clusters
    data = load_dataset("mnist")
    rows = np.random.default_rng(0).choice(data.n_samples, MNIST_SUBSET_SIZE, replace=False)
    return data.X[rows], data.y[rows], data.n_clusters


def run(X, y, n_clusters: int, seed: int) -> dict:
    """One fit with the defaults (``random_state`` aside); its scores, start and time."""
    started = time.perf_counter()
    model = DGG(n_clusters, random_state=seed).fit(X)
    seconds = time.perf_counter() - started
    scores = clustering_scores(y, model.labels_)
    return {"seed": seed, "acc": scores["acc"], "nmi": scores["nmi"],
            "start_acc": cluster_accuracy(y, model.start_labels_), "f2_agreement": model.f2_agreement_,
            "graph_purity": model.graph_.purity(y), "seconds": seconds, "auto_settings": model.auto_settings_}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    results, sizes = {}, {}
    for name in args.datasets:
        X, y, n_clusters = load(name)
        results[name], sizes[name] = [], X.shape[0]
        for seed in args.seeds:
            row = run(X, y, n_clusters, seed)
            results[name].append(row)
            print(f"{name} seed {seed}: ACC {row['acc']:.4f}  NMI {row['nmi']:.4f}  start {row['start_acc']:.4f}  "
                  f"f2 agrees {row['f2_agreement']:.4f}  purity {row['graph_purity']:.4f}  {row['seconds']:.1f} s  "
                  f"auto {row['auto_settings']}", flush=True)

    print(f"\nDGG(n_clusters).fit(X), every default; seeds {args.seeds}")
    print("| data | n | ACC | NMI | start ACC | graph purity | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        cells = [f"{np.mean([r[k] for r in rows]):.3f} ± {np.std([r[k] for r in rows]):.3f}"
                 for k in ("acc", "nmi", "start_acc", "graph_purity")]
        seconds = [r["seconds"] for r in rows]
        print(f"| {name} | {sizes[name]} | " + " | ".join(cells) + f" | {np.mean(seconds):.0f} ± {np.std(seconds):.0f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
