"""Where DGG's accuracy is won and lost: the start, the hand-over to f2, the graph, Algorithm 1.

For each starting partition (``init``: k-means as in the paper, a Gaussian
mixture, UMAP then a Gaussian mixture; and the true classes, a diagnostic only)
and each seed, one full fit with the preset ``settings_for(dataset, "cpu")``
(overrides with ``--set name=value``) reports:

- start:     ACC of the starting partition of mu~;
- f2 agrees: share of samples where argmax f2(mu~) equals the start before Algorithm 1;
- purity:    share of graph neighbours with the anchor's class;
- lowest:    the lowest ACC after any epoch of Algorithm 1;
- final:     ACC after the last epoch.

Every seed is printed and kept (``--json``); the table gives mean ± std.

    python benchmarks/bench_start.py [--dataset digits] [--inits kmeans gmm umap truth]
        [--seeds 0 1 2 3 4] [--set lr=0.002 ...] [--json out.json]
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import ast
import json
import time
import warnings

import numpy as np
import torch

from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.metrics import cluster_accuracy
from dggbook.model.presets import settings_for

INITS = ("kmeans", "gmm", "umap", "truth")
COLUMNS = ("start", "f2_agrees", "purity", "lowest", "final", "seconds")


def parse_override(text: str) -> tuple[str, object]:
    """``name=value`` with value read as a Python literal when it is one (``lr=2e-3``, ``init=umap``)."""
    name, _, value = text.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def run(data, init: str, seed: int, overrides: dict, quick: bool) -> dict:
    """One fit from the ``init`` start; the five numbers of the module docstring and the ACC of every epoch."""
    params = dict(settings_for(data.name, "cpu", quick=quick), cache_dir=False, **overrides)
    if init != "truth":
        params["init"] = init
    model = DGG(data.n_clusters, **params, n_threads=torch.get_num_threads(), random_state=seed)
    started = time.perf_counter()
    model.fit(data.X, data.y, init_labels=data.y if init == "truth" else None)  # y: the per-epoch monitor only
    curve = [record["acc"] for record in model.history_]
    return {"seed": seed, "start": cluster_accuracy(data.y, model.start_labels_), "f2_agrees": model.f2_agreement_,
            "purity": model.graph_.purity(data.y), "lowest": min(curve) if curve else float("nan"),
            "final": cluster_accuracy(data.y, model.labels_), "seconds": time.perf_counter() - started,
            "acc_per_epoch": curve}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--inits", nargs="+", choices=INITS, default=list(INITS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="override preset parameters")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny presets: a smoke test, not a measurement")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    overrides = dict(parse_override(text) for text in args.set)

    data = load_dataset(args.dataset)
    results = {}
    for init in args.inits:
        results[init] = []
        for seed in args.seeds:
            row = run(data, init, seed, overrides, args.quick)
            results[init].append(row)
            print(f"{init:<7} seed {seed}: " + "  ".join(f"{k} {row[k]:.4f}" for k in COLUMNS[:-1])
                  + f"  {row['seconds']:.1f} s", flush=True)

    print(f"\n{args.dataset}, seeds {args.seeds}, overrides {overrides or 'none'}")
    print("| start from | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for init, rows in results.items():
        cells = []
        for key in COLUMNS:
            values = np.array([r[key] for r in rows])
            cells.append(f"{values.mean():.1f} ± {values.std():.1f}" if key == "seconds"
                         else f"{values.mean():.3f} ± {values.std():.3f}")
        print(f"| {init} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"dataset": args.dataset, "overrides": overrides, "results": results}, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
