"""ACC / NMI (mean +- std over seeds) and wall time of DGG and its baselines on one data set.

Pipelines, each timed from raw data to labels with every cache off, all with
the CPU preset ``settings_for(dataset, "cpu")`` (digits by default; ``--dataset
mnist`` gives the 70,000-image preset, about 25 min per DGG seed on one core):

- DGG:          pretraining + Euclidean kNN graph + Algorithm 1, from the preset's start
                (UMAP of mu~ then a GMM on the CPU presets); the table also gives the ACC
                of that start;
- DGG (paper init), DGG (init=gmm): the same, from the paper's k-means start or a
                GMM on mu~ (dggbook.model.start), all else as in the preset;
- DGG w/o graph: the same code and settings with ``use_graph=False`` (``self_graph``);
- VaDE:         dggbook.VaDE as published (global pi, Bayes posterior), same networks, start,
                pretraining and training settings;
- AE+GMM:       the same SDAE pretraining (layer-wise + end to end), then a
                full-covariance Gaussian mixture on mu~ (paper Table 1's AE+GMM);
- k-means:      on the raw pixels.

Every seed counts: the table reports mean +- std (population std over the
seeds), never a best run.

    python benchmarks/bench_clustering.py [--dataset digits] [--seeds 0 1 2 3 4]
        [--methods dgg dgg_kmeans dgg_gmm no_graph vade ae_gmm kmeans] [--json out.json]
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import json
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from dggbook.book import seed_everything
from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.metrics import cluster_accuracy, clustering_scores
from dggbook.model.presets import settings_for
from dggbook.model.vade import VaDE
from dggbook.model.pretrain import build_networks, finetune_autoencoder, latent_means, pretrain_layerwise

METHODS = ("dgg", "dgg_kmeans", "dgg_gmm", "no_graph", "vade", "ae_gmm", "kmeans")
NAMES = {"dgg": "DGG", "dgg_kmeans": "DGG (paper init)", "dgg_gmm": "DGG (init=gmm)", "no_graph": "DGG w/o graph",
         "vade": "VaDE", "ae_gmm": "AE+GMM", "kmeans": "k-means"}


def run_dgg(dataset, X, K, seed, quick=False, **overrides):
    """DGG labels and the labels of the start it began from."""
    settings = dict(settings_for(dataset, "cpu", quick=quick), cache_dir=False, **overrides)
    model = DGG(K, **settings, n_threads=torch.get_num_threads(), random_state=seed).fit(X)  # --threads
    return model.labels_, model.start_labels_


def run_vade(dataset, X, K, seed, quick=False):
    """VaDE labels and its start, with the preset's networks, pretraining and training settings."""
    settings = {k: v for k, v in settings_for(dataset, "cpu", quick=quick).items() if k in VaDE().get_params()}
    model = VaDE(K, **settings, cache_dir=False, n_threads=torch.get_num_threads(), random_state=seed).fit(X)
    return model.labels_, model.start_labels_


def run_ae_gmm(dataset, X, K, seed, quick=False):
    model = DGG(K, **settings_for(dataset, "cpu", quick=quick))
    settings = model.pretrain_settings()
    seed_everything(seed)
    networks = build_networks(X.shape[1], K, settings)
    Xt = torch.as_tensor(X)
    pretrain_layerwise(networks, Xt, settings)
    finetune_autoencoder(networks, Xt, settings)
    Z = latent_means(networks.eval(), Xt).numpy()
    return GaussianMixture(K, covariance_type="full", n_init=5, random_state=seed).fit_predict(Z), None


def run_kmeans(dataset, X, K, seed, quick=False):
    return KMeans(K, n_init=10, random_state=seed).fit_predict(X), None


RUNNERS = {
    "dgg": run_dgg,
    "dgg_gmm": lambda dataset, X, K, seed, quick=False: run_dgg(dataset, X, K, seed, quick, init="gmm"),
    "dgg_kmeans": lambda dataset, X, K, seed, quick=False: run_dgg(dataset, X, K, seed, quick, init="kmeans"),
    "no_graph": lambda dataset, X, K, seed, quick=False: run_dgg(dataset, X, K, seed, quick, use_graph=False),
    "vade": run_vade,
    "ae_gmm": run_ae_gmm,
    "kmeans": run_kmeans,
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits", help="digits (default) or mnist (needs `make mnist`)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a busy 2-core box)")
    parser.add_argument("--quick", action="store_true", help="tiny presets: a smoke test, not a measurement")
    parser.add_argument("--json", default=None, help="write the per-seed results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)

    data = load_dataset(args.dataset)
    K = data.n_clusters
    results = {}
    for method in args.methods:
        rows = []
        for seed in args.seeds:
            started = time.perf_counter()
            labels, start_labels = RUNNERS[method](args.dataset, data.X, K, seed, args.quick)
            seconds = time.perf_counter() - started
            scores = clustering_scores(data.y, labels)
            row = {"seed": seed, "acc": scores["acc"], "nmi": scores["nmi"], "ari": scores["ari"], "seconds": seconds}
            if start_labels is not None:
                row["start_acc"] = cluster_accuracy(data.y, start_labels)
            rows.append(row)
            start = f"  (start: ACC {row['start_acc']:.4f})" if "start_acc" in row else ""
            print(f"{NAMES[method]:<16} seed {seed}: ACC {scores['acc']:.4f}  NMI {scores['nmi']:.4f}  "
                  f"{seconds:6.1f} s{start}", flush=True)
        results[method] = rows

    print(f"\n{args.dataset} (N={data.n_samples}), {len(args.seeds)} seeds {args.seeds}, torch threads {args.threads}")
    print(f"| {'method':<16} | {'ACC':^15} | {'NMI':^15} | {'time (s)':^14} | {'ACC of its start':^20} |")
    print(f"|{'-' * 18}|{'-' * 17}|{'-' * 17}|{'-' * 16}|{'-' * 22}|")
    for method, rows in results.items():
        acc, nmi, sec = (np.array([r[k] for r in rows]) for k in ("acc", "nmi", "seconds"))
        starts = np.array([r["start_acc"] for r in rows if "start_acc" in r])
        start = f"{starts.mean():.4f} ± {starts.std():.4f}" if starts.size else "-"
        print(f"| {NAMES[method]:<16} | {acc.mean():.4f} ± {acc.std():.4f} | {nmi.mean():.4f} ± {nmi.std():.4f} "
              f"| {sec.mean():6.1f} ± {sec.std():4.1f} | {start:^20} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
