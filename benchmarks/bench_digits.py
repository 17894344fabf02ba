"""ACC / NMI (mean +- std over seeds) and wall time on scikit-learn digits.

Pipelines, each timed from raw data to labels with every cache off:

- DGG:          pretraining + Euclidean kNN graph + Algorithm 1 (``settings_for("digits", "cpu")``);
- VaDE (no graph): the same code and settings with ``use_graph=False`` (``self_graph``);
- AE+GMM:       the same SDAE pretraining (layer-wise + end to end), then a
                full-covariance Gaussian mixture on mu~ (paper Table 1's AE+GMM);
- k-means:      on the raw pixels.

Every seed counts: the table reports mean +- std, never a best run.

    python benchmarks/bench_digits.py [--seeds 0 1 2 3 4] [--methods dgg vade ae_gmm kmeans] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from dggbook.book import seed_everything
from dggbook.data import load_dataset
from dggbook.estimator import DGG, settings_for
from dggbook.metrics import clustering_scores
from dggbook.pretrain import build_networks, finetune_autoencoder, latent_means, pretrain_layerwise

METHODS = ("dgg", "vade", "ae_gmm", "kmeans")
NAMES = {"dgg": "DGG", "vade": "VaDE (no graph)", "ae_gmm": "AE+GMM", "kmeans": "k-means"}


def run_dgg(X, K, seed, *, use_graph=True):
    settings = dict(settings_for("digits", "cpu", quick=False), cache_dir=False, use_graph=use_graph)
    return DGG(K, **settings, random_state=seed).fit(X).labels_


def run_ae_gmm(X, K, seed):
    model = DGG(K, **settings_for("digits", "cpu", quick=False))
    settings = model.pretrain_settings()
    seed_everything(seed)
    networks = build_networks(X.shape[1], K, settings)
    Xt = torch.as_tensor(X)
    pretrain_layerwise(networks, Xt, settings)
    finetune_autoencoder(networks, Xt, settings)
    Z = latent_means(networks.eval(), Xt).numpy()
    return GaussianMixture(K, covariance_type="full", n_init=5, random_state=seed).fit_predict(Z)


def run_kmeans(X, K, seed):
    return KMeans(K, n_init=10, random_state=seed).fit_predict(X)


RUNNERS = {
    "dgg": run_dgg,
    "vade": lambda X, K, seed: run_dgg(X, K, seed, use_graph=False),
    "ae_gmm": run_ae_gmm,
    "kmeans": run_kmeans,
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a busy 2-core box)")
    parser.add_argument("--json", default=None, help="write the per-seed results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)

    data = load_dataset("digits")
    K = data.n_clusters
    results = {}
    for method in args.methods:
        rows = []
        for seed in args.seeds:
            started = time.perf_counter()
            labels = RUNNERS[method](data.X, K, seed)
            seconds = time.perf_counter() - started
            scores = clustering_scores(data.y, labels)
            rows.append({"seed": seed, "acc": scores["acc"], "nmi": scores["nmi"], "ari": scores["ari"],
                         "seconds": seconds})
            print(f"{NAMES[method]:<16} seed {seed}: ACC {scores['acc']:.4f}  NMI {scores['nmi']:.4f}  "
                  f"{seconds:6.1f} s", flush=True)
        results[method] = rows

    print(f"\ndigits (N={data.n_samples}), {len(args.seeds)} seeds {args.seeds}, torch threads {args.threads}")
    print(f"| {'method':<16} | {'ACC':^15} | {'NMI':^15} | {'time (s)':^14} |")
    print(f"|{'-' * 18}|{'-' * 17}|{'-' * 17}|{'-' * 16}|")
    for method, rows in results.items():
        acc, nmi, sec = (np.array([r[k] for r in rows]) for k in ("acc", "nmi", "seconds"))
        print(f"| {NAMES[method]:<16} | {acc.mean():.4f} ± {acc.std():.4f} | {nmi.mean():.4f} ± {nmi.std():.4f} "
              f"| {sec.mean():6.1f} ± {sec.std():4.1f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
