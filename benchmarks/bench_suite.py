"""DGG, DGG without graph and VaDE with their defaults, on many kinds of data, against shallow baselines.

    python benchmarks/bench_suite.py [--datasets iris moons ...] [--seeds 0 1 2 3 4]
        [--methods dgg dgg_no_graph vade kmeans gmm] [--set lr=0.001 ...] [--out benchmarks/results/suite]

Each deep method is ``Estimator(K, random_state=seed)`` with nothing else set (plus ``--set`` overrides, for
tuning runs written elsewhere with ``--out``); its start is the starting partition it trained from
(``start_labels_``). The shallow baselines run on the input: k-means (10 restarts) and a Gaussian mixture
(full covariances up to 50 features, diagonal beyond; 5 restarts).

Writes, one row per (data set, method, seed), ``<out>.csv`` (ACC, NMI, the start's ACC and where it came from
(``start_source_``: "umap", or "input" when ``init="auto"`` kept the input's own mixture), ACC after the first
epoch, time, the ``ConvergenceWarning`` messages, the number of non-empty clusters), and ``<out>.md``: mean ± std
per data set and method, and the four checks of issue 20 per data set:

- keeps its start: mean final ACC >= mean start ACC - 0.005 (DGG and VaDE);
- no silent collapse: no seed leaves a cluster empty without a warning;
- DGG >= max(k-means, GMM) - 0.01;
- a fit with N <= 2,000 takes <= 60 s (one thread).

Rows already in ``<out>.csv`` (same data set, method, seed) are kept and not run again, so a long run can be
stopped and continued. MNIST samples need ``make mnist``; ``mnist70k`` is meant for a GPU.
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import ast
import csv
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn import datasets as skdata
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import minmax_scale, scale

from dggbook.environment import versions
from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.metrics import clustering_scores
from dggbook.model.vade import VaDE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from result_files import command_line, record_run, write_rows  # noqa: E402  (beside this script)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "suite"
DEEP = ("dgg", "dgg_no_graph", "vade")
SHALLOW = ("kmeans", "gmm")
METHODS = DEEP + SHALLOW
FIELDS = ("dataset", "method", "seed", "n_samples", "n_features", "n_clusters", "acc", "nmi", "start_acc", "start_source",
          "epoch1_acc", "lowest_acc", "score", "start_lower_bound", "lower_bound", "first_epoch_objective",
          "last_epoch_objective", "clusters_used", "seconds", "warnings")
EXTRA = ("start_acc", "start_source", "epoch1_acc", "lowest_acc", "score", "start_lower_bound", "lower_bound",
         "first_epoch_objective", "last_epoch_objective", "warnings")
TEXT_FIELDS = ("start_source", "warnings")  # kept as text; the other EXTRA fields are rounded numbers
KEEP_START_TOLERANCE = 0.005
SHALLOW_TOLERANCE = 0.01
SMALL_N, SMALL_SECONDS = 2_000, 60.0


def _blobs_anisotropic():
    """Three 2-D blobs of 300, 150 and 75 points, sheared, standardised (a Gaussian likelihood)."""
    X, y = skdata.make_blobs(n_samples=[300, 150, 75], centers=[[0, 0], [4, 4], [-4, 5]], cluster_std=1.0,
                             random_state=3)
    return scale(X @ np.array([[0.6, -0.6], [-0.4, 0.8]])), y


def _mnist_sample(n: int):
    data = load_dataset("mnist")
    keep = np.random.default_rng(0).permutation(len(data.X))[:n]
    return data.X[keep], data.y[keep]


# name: (loader returning (X, y), what it is). Min-max scaled data lie in [0, 1] (likelihood "auto" ->
# Bernoulli); standardised data do not (-> a Gaussian with its variance measured after the autoencoder).
DATASETS = {
    "blobs": (lambda: (minmax_scale(skdata.make_blobs(600, 10, centers=4, cluster_std=0.7, random_state=7)[0]),
                       skdata.make_blobs(600, 10, centers=4, cluster_std=0.7, random_state=7)[1]),
              "600 x 10, four isotropic blobs (std 0.7), min-max scaled"),
    "blobs_aniso": (_blobs_anisotropic, "525 x 2, three sheared blobs of 300/150/75, standardised"),
    "moons": (lambda: (lambda X, y: (minmax_scale(X), y))(*skdata.make_moons(1000, noise=0.08, random_state=0)),
              "1,000 x 2, two moons (noise 0.08), min-max scaled"),
    "iris": (lambda: (minmax_scale(skdata.load_iris().data), skdata.load_iris().target), "150 x 4, min-max scaled"),
    "wine": (lambda: (scale(skdata.load_wine().data), skdata.load_wine().target), "178 x 13, standardised"),
    "breast_cancer": (lambda: (scale(skdata.load_breast_cancer().data), skdata.load_breast_cancer().target),
                      "569 x 30, standardised"),
    "digits": (lambda: (load_dataset("digits").X, load_dataset("digits").y), "1,797 x 64, pixels / 16"),
    # Not in the default list: the same tables under another scaling, to see how init="auto" depends on it.
    "iris_standardised": (lambda: (scale(skdata.load_iris().data), skdata.load_iris().target),
                          "150 x 4, standardised (the suite's iris is min-max scaled)"),
    "wine_raw": (lambda: (skdata.load_wine().data, skdata.load_wine().target),
                 "178 x 13, unscaled (proline runs into the thousands)"),
    "mnist3k": (lambda: _mnist_sample(3_000), "3,000 MNIST images (fixed sample), pixels / 255"),
    "mnist10k": (lambda: _mnist_sample(10_000), "10,000 MNIST images (fixed sample), pixels / 255"),
    "mnist70k": (lambda: _mnist_sample(70_000), "all 70,000 MNIST images (for a GPU)"),
}
CPU_DATASETS = ("blobs", "blobs_aniso", "moons", "iris", "wine", "breast_cancer", "digits", "mnist3k", "mnist10k")
MNIST_SEEDS = 3  # seeds for the MNIST samples (the others take --seeds)


def parse_override(text: str) -> tuple[str, object]:
    """``name=value`` with value read as a Python literal when it is one (``lr=1e-3``, ``init=umap``)."""
    name, _, value = text.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def run_deep(method: str, X, y, k: int, seed: int, overrides: dict) -> dict:
    """One default fit of a deep method; the ACC of its start, after its first epoch, its lowest and its last."""
    params = dict(overrides, random_state=seed)
    if method == "dgg_no_graph":
        params["use_graph"] = False
    model = (VaDE if method == "vade" else DGG)(k, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)  # y: the per-epoch monitor only
    curve = [record["acc"] for record in model.history_]
    found = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    return dict(labels=model.labels_, start_acc=clustering_scores(y, model.start_labels_)["acc"],
                start_source=model.start_source_,
                epoch1_acc=curve[0] if curve else float("nan"), lowest_acc=min(curve) if curve else float("nan"),
                score=model.score(X), start_lower_bound=model.start_lower_bound_, lower_bound=model.lower_bound_,
                first_epoch_objective=-model.history_[0]["loss"] if curve else float("nan"),
                last_epoch_objective=-model.history_[-1]["loss"] if curve else float("nan"),
                warnings=" | ".join(found))


def run_shallow(method: str, X, k: int, seed: int) -> dict:
    if method == "kmeans":
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(X)
    else:
        covariance = "full" if X.shape[1] <= 50 else "diag"
        labels = GaussianMixture(k, covariance_type=covariance, n_init=5, random_state=seed).fit(X).predict(X)
    return dict(labels=labels, **{f: "" if f in TEXT_FIELDS else float("nan") for f in EXTRA})


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def summarize(rows: list[dict], names: list[str]) -> str:
    """The Markdown table (mean ± std per data set and method) and the four checks per data set."""
    def values(dataset, method, field):
        return np.array([float(r[field]) for r in rows if r["dataset"] == dataset and r["method"] == method])

    def cell(v):
        return f"{v.mean():.3f} ± {v.std():.3f}" if v.size else "–"

    lines = ["| data | n | DGG's start: where (seeds) | start (DGG) | DGG | DGG without graph | VaDE | k-means | GMM "
             "| DGG s/fit |", "|---|---|---|---|---|---|---|---|---|---|"]
    checks = ["| data | DGG keeps start | VaDE keeps start | no silent collapse | DGG ≥ shallow − 0.01 | "
              "N ≤ 2,000 in ≤ 60 s |", "|---|---|---|---|---|---|"]
    for name in names:
        if not any(r["dataset"] == name for r in rows):
            continue
        seconds = values(name, "dgg", "seconds")
        sources = [r.get("start_source") or "?" for r in rows if r["dataset"] == name and r["method"] == "dgg"]
        where = ", ".join(f"{s} {sources.count(s)}" for s in sorted(set(sources))) or "–"
        lines.append(f"| {name} | {values(name, 'dgg', 'acc').size} | {where} | "
                     f"{cell(values(name, 'dgg', 'start_acc'))} | "
                     + " | ".join(cell(values(name, m, "acc")) for m in METHODS)
                     + (f" | {seconds.mean():.0f} |" if seconds.size else " | – |"))

        def keeps(method):
            final, start = values(name, method, "acc"), values(name, method, "start_acc")
            if not final.size:
                return "–"
            ok = final.mean() >= start.mean() - KEEP_START_TOLERANCE
            return f"{'yes' if ok else '**no**'} ({final.mean() - start.mean():+.3f})"

        silent = [r for r in rows if r["dataset"] == name and r["method"] in DEEP
                  and int(r["clusters_used"]) < int(r["n_clusters"]) and not r["warnings"]]
        shallow = max([values(name, m, "acc").mean() for m in SHALLOW if values(name, m, "acc").size] or [np.nan])
        dgg = values(name, "dgg", "acc")
        versus = "–" if not dgg.size or np.isnan(shallow) else (
            f"{'yes' if dgg.mean() >= shallow - SHALLOW_TOLERANCE else '**no**'} ({dgg.mean() - shallow:+.3f})")
        n = int(next(r["n_samples"] for r in rows if r["dataset"] == name))
        timing = "n/a" if n > SMALL_N or not seconds.size else (
            f"{'yes' if seconds.max() <= SMALL_SECONDS else '**no**'} (max {seconds.max():.0f} s)")
        checks.append(f"| {name} | {keeps('dgg')} | {keeps('vade')} | "
                      f"{'yes' if not silent else '**no** (' + str(len(silent)) + ')'} | {versus} | {timing} |")
    fell = ["| data | method | seeds that lost > 0.005 of the start's ACC | of those, seeds whose own objective rose |",
            "|---|---|---|---|"]
    for name in names:
        for method in DEEP:
            lost = [r for r in rows if r["dataset"] == name and r["method"] == method
                    and float(r["acc"]) < float(r["start_acc"]) - KEEP_START_TOLERANCE]
            if not lost:
                continue
            # VaDE maximises the ELBO that lower_bound measures; DGG the graph objective of its epochs
            rose = [r for r in lost if (float(r["lower_bound"]) >= float(r["start_lower_bound"]) if method == "vade"
                                        else float(r["last_epoch_objective"]) >= float(r["first_epoch_objective"]))]
            fell.append(f"| {name} | {method} | {len(lost)} ({', '.join(r['seed'] for r in lost)}) | {len(rose)} |")
    ranks = ["| data | method | seeds | Spearman ρ(score, ACC) | best-score seed's ACC | mean ACC |",
             "|---|---|---|---|---|---|"]
    for name in names:
        for method in DEEP:
            acc, score = values(name, method, "acc"), values(name, method, "score")
            if acc.size < 3:
                continue
            rho = spearmanr(score, acc).statistic if np.ptp(acc) > 0 and np.ptp(score) > 0 else float("nan")
            ranks.append(f"| {name} | {method} | {acc.size} | {rho:+.2f} | {acc[np.argmax(score)]:.3f} | "
                         f"{acc.mean():.3f} |")
    captions = ("ACC, mean ± std over seeds:", "The checks of issue 20, per data set:",
                "Where a method lost its start, did its own objective rise? (VaDE: its ELBO; DGG: its graph "
                "objective, first epoch against last)", "Does score(X) rank the seeds as ACC does?")
    return "\n\n".join(f"**{c}**\n\n" + "\n".join(t) for c, t in zip(captions, (lines, checks, fell, ranks))) + "\n"


def write_tables(rows: list[dict], out: Path, overrides: dict) -> str:
    """``<out>.md``: a header line and :func:`summarize`'s tables; returns the tables."""
    table = summarize(rows, list(DATASETS))
    header = (f"Defaults of DGG, DGG without graph and VaDE{' with ' + str(overrides) if overrides else ''}; "
              f"one thread; {platform.processor() or platform.machine()}; torch {versions().get('torch')}.\n\n")
    out.with_suffix(".md").write_text(header + table)
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(CPU_DATASETS), choices=sorted(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter of the deep estimators (a tuning run: pass --out too)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="path prefix of the .csv and .md")
    args = parser.parse_args(argv)
    overrides = dict(parse_override(o) for o in args.overrides)
    if overrides and args.out == DEFAULT_OUT:
        print("bench_suite: --set changes the defaults; pass --out elsewhere so suite.csv keeps the defaults' "
              "results.", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    csv_path = args.out.with_suffix(".csv")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    rows = read_rows(csv_path)
    done = {(r["dataset"], r["method"], int(r["seed"])) for r in rows}
    for name in args.datasets:
        loader, _ = DATASETS[name]
        X, y = loader()
        X, y = np.ascontiguousarray(X, dtype=np.float32), np.asarray(y)
        k = len(np.unique(y))
        seeds = args.seeds[:MNIST_SEEDS] if name.startswith("mnist") else args.seeds
        for method in args.methods:
            for seed in seeds:
                if (name, method, seed) in done:
                    continue
                started = time.perf_counter()
                out = (run_deep(method, X, y, k, seed, overrides) if method in DEEP
                       else run_shallow(method, X, k, seed))
                seconds = time.perf_counter() - started
                labels = out.pop("labels")
                scores = clustering_scores(y, labels)
                row = dict(dataset=name, method=method, seed=seed, n_samples=X.shape[0], n_features=X.shape[1],
                           n_clusters=k, acc=round(float(scores["acc"]), 4), nmi=round(float(scores["nmi"]), 4),
                           clusters_used=len(np.unique(labels)), seconds=round(seconds, 1),
                           **{f: (round(float(out[f]), 4) if f not in TEXT_FIELDS else out[f])
                              for f in EXTRA})
                rows.append({f: str(row[f]) for f in FIELDS})
                print(f"{name:14s} {method:13s} seed {seed}: ACC {row['acc']:.3f} (start {row['start_acc']}) "
                      f"{seconds:5.1f} s {'WARN ' + out['warnings'][:80] if out['warnings'] else ''}", flush=True)
                write_rows(csv_path, FIELDS, rows)
    table = write_tables(rows, args.out, overrides)
    record_run(args.out.with_suffix(".meta.json"), command_line("bench_suite.py", argv), overrides=overrides,
               versions=versions(), datasets={n: DATASETS[n][1] for n in DATASETS})
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
