"""Does Algorithm 1's first epoch keep the start? ACC before and after each of the first epochs, per variant.

    python benchmarks/bench_first_epoch.py [--dataset mnist] [--seed 0] [--epochs 2]
        [--lrs 2e-3 1e-3 5e-4] [--handover-epochs 0 3] [--json build/first_epoch.json]

One pretraining (the CPU preset of ``--dataset``, cached under ``build/cache``), one graph; then for every
pair (lr, hand-over epochs) a copy of the pretrained networks gets ``handover_epochs`` of
:func:`dggbook.model.pretrain.fit_to_start` and ``--epochs`` epochs of Algorithm 1 from the same generator
state. Reported: the start's ACC, f2's ACC before Algorithm 1, the share of samples on which the Gaussian
mixture's own posterior agrees with the start (before and after the hand-over), and the ACC after each epoch.
Issue 20's goal: after epoch 1, ACC >= start - 0.002 (README, "Training that keeps its start").
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import copy
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from dggbook.model.algorithm1 import cluster_posterior, train_dgg
from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.graph import build_graph
from dggbook.model.metrics import cluster_accuracy
from dggbook.model.presets import settings_for
from dggbook.model.pretrain import fit_to_start, pretrain
from dggbook.model.settings import DataFacts
from dggbook.model.vade import mean_posterior
from dggbook.paths import build_dir


def mixture_agreement(networks, X: torch.Tensor, labels: np.ndarray) -> float:
    """Share of samples whose Bayes posterior under the GMM (pi = the start's shares) picks the start's cluster."""
    shares = np.bincount(labels, minlength=networks.gmm.n_clusters) / len(labels)
    log_pi = torch.log(torch.as_tensor(np.maximum(shares, 1e-12), dtype=torch.float32, device=X.device))
    picked = mean_posterior(networks.eval(), log_pi, X).argmax(dim=1).cpu().numpy()
    return float((picked == labels).mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lrs", type=float, nargs="+", default=[2e-3, 1e-3, 5e-4])
    parser.add_argument("--handover-epochs", type=int, nargs="+", default=[0, 3])
    parser.add_argument("--quick", action="store_true", help="the quick preset (tests)")
    parser.add_argument("--json", type=Path, default=build_dir() / "first_epoch.json")
    args = parser.parse_args(argv)
    if args.epochs < 1 or min(args.handover_epochs) < 0 or min(args.lrs) <= 0:
        print("bench_first_epoch: --epochs must be >= 1, --handover-epochs >= 0 and --lrs > 0.", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    data = load_dataset(args.dataset)
    preset = settings_for(args.dataset, "cpu", quick=args.quick)
    estimator = DGG(data.n_clusters, random_state=args.seed, **preset)
    facts = DataFacts.of(data.X)
    pre = estimator.pretrain_settings().resolved(facts, "cpu")
    train = estimator.train_settings().resolved(facts, "cpu")
    init = pretrain(data.X, data.n_clusters, pre, random_state=args.seed, device="cpu",
                    dataset_name=args.dataset, cache_dir=None if args.quick else True)
    X = torch.as_tensor(data.X)
    start = np.asarray(init.start_labels)
    report = {"dataset": args.dataset, "seed": args.seed, "start_acc": cluster_accuracy(data.y, start),
              "f2_acc": cluster_accuracy(data.y, cluster_posterior(init.networks.eval(), X).argmax(1).numpy()),
              "mixture_agreement": mixture_agreement(init.networks, X, start), "variants": []}
    print(json.dumps({k: v for k, v in report.items() if k != "variants"}), flush=True)
    graph = build_graph(data.X, preset["n_neighbors"], selection=preset["neighbor_selection"],
                        weights=preset["weights"], local_scale_k=7, random_state=args.seed)
    for handover in args.handover_epochs:
        handed = copy.deepcopy(init.networks)
        fit_to_start(handed, X, start, dataclasses.replace(pre, handover_epochs=handover))
        agreement = mixture_agreement(handed, X, start)
        for lr in args.lrs:
            torch.manual_seed(args.seed)
            networks, started = copy.deepcopy(handed), time.perf_counter()
            result = train_dgg(networks, X, graph, dataclasses.replace(train, epochs=args.epochs, lr=lr), y=data.y)
            row = {"handover_epochs": handover, "lr": lr, "mixture_agreement": agreement,
                   "acc_per_epoch": [r["acc"] for r in result.history], "seconds": time.perf_counter() - started}
            row["first_epoch_keeps_start"] = row["acc_per_epoch"][0] >= report["start_acc"] - 0.002
            report["variants"].append(row)
            print(json.dumps(row), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
