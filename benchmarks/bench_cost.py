"""What the graph costs: one DGG epoch against one VAE epoch, same data, same network, one run.

- VAE epoch: the plain ELBO L(x_i) (eq. (4)) - one encoder/decoder pass per anchor;
- DGG epoch, S = J: 1/2 sum_j w_ij [L(x_i) + L(x_i, x_j)] over all J neighbours - J + 1 passes;
- DGG epoch, S = 1: one neighbour drawn per anchor with probability w_ij - 2 passes, unbiased.

Each epoch starts from the same pretrained weights and optimizer state and is
timed ``--repeats`` times (median reported). ``--step compiled`` runs every epoch, the VAE's too, with the
compiled step (torch.compile, :func:`dggbook.model.runtime.compile_step`; one untimed epoch first compiles
it); ``--step both`` times the eager and the compiled epochs in one run. Then, unless ``--skip-acc``, full
fits with S = J and S = 1 compare ACC over ``--acc-seeds`` (mean +- std).

    python benchmarks/bench_cost.py [--repeats 3] [--step eager|compiled|both] [--initial-weights]
                                    [--acc-seeds 0 1 2] [--skip-acc]
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import copy
import statistics
import tempfile
import time
import warnings
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch

from dggbook.model.algorithm1 import elbo_of_pairs, initial_pi, make_optimizer, run_epoch
from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.graph import build_graph
from dggbook.model.metrics import clustering_scores
from dggbook.model.presets import settings_for
from dggbook.model.pretrain import build_networks, pretrain
from dggbook.model.runtime import run_epochs
from dggbook.model.settings import DataFacts, TrainSettings


def vae_epoch(networks, X, pi, optimizer, settings: TrainSettings) -> None:
    """One epoch of the plain ELBO L(x_i): the same terms and networks, no neighbours; ``settings.step`` as DGG's."""
    networks.train()

    def batch_loss(anchors):
        x = X[anchors]
        pair = elbo_of_pairs(networks, x, x, pi[anchors], likelihood=settings.likelihood,
                             noise_var=settings.noise_var, f2_input=settings.f2_input)
        return -pair.terms.total.mean()

    run_epochs("VAE", optimizer, batch_loss, X.shape[0], settings.batch_size, 1, device=X.device, step=settings.step)


def time_epochs(networks, X, graph, settings: TrainSettings, repeats: int) -> dict:
    indices, weights = graph.indices, graph.weights
    pi0 = initial_pi(networks.eval(), X, indices, weights)
    variants = {
        "VAE epoch": lambda net, pi, opt: vae_epoch(net, X, pi, opt, settings),
        f"DGG epoch, S = J = {indices.shape[1]}": lambda net, pi, opt: run_epoch(
            net, X, indices, weights, pi, opt, replace(settings, n_neighbor_samples=None)),
        "DGG epoch, S = 1": lambda net, pi, opt: run_epoch(
            net, X, indices, weights, pi, opt, replace(settings, n_neighbor_samples=1)),
    }
    times = {name: [] for name in variants}
    if settings.step == "compiled":  # compile each variant once, untimed
        for epoch in variants.values():
            net = copy.deepcopy(networks)
            epoch(net, pi0.clone(), make_optimizer(net, settings)[0])
    for _ in range(repeats):
        for name, epoch in variants.items():  # interleaved, so load changes hit every variant alike
            net = copy.deepcopy(networks)
            optimizer, _ = make_optimizer(net, settings)
            torch.manual_seed(0)
            started = time.perf_counter()
            epoch(net, pi0.clone(), optimizer)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--acc-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-acc", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--step", default="eager", choices=("eager", "compiled", "both"),
                        help="how every timed epoch's steps run (both: eager, then compiled, in one run)")
    parser.add_argument("--initial-weights", action="store_true",
                        help="time the epochs on the preset's networks with their initial weights, without "
                             "pretraining (the cost per epoch does not depend on the weights; implies --skip-acc)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)

    data = load_dataset("digits")
    preset = settings_for("digits", "cpu", quick=False)
    model = DGG(data.n_clusters, **preset)
    with tempfile.TemporaryDirectory() as cache:
        if args.initial_weights:
            args.skip_acc = True
            settings = model.pretrain_settings().resolved(DataFacts.of(data.X), "cpu")
            torch.manual_seed(0)
            init = SimpleNamespace(networks=build_networks(data.X.shape[1], data.n_clusters, settings))
        else:
            init = pretrain(data.X, data.n_clusters, model.pretrain_settings(), random_state=0, device="cpu",
                            cache_dir=cache)
        graph = build_graph(data.X, preset["n_neighbors"], selection=preset["neighbor_selection"],
                            weights=preset["weights"])
        steps = ("eager", "compiled") if args.step == "both" else (args.step,)
        print(f"digits N={data.n_samples}, hidden {preset['hidden_dims']}, batch {preset['batch_size']}, "
              f"J = {preset['n_neighbors']}, torch threads {args.threads}, median of {args.repeats}")
        print(f"| {'step':<8} | {'epoch':<22} | {'seconds':>8} | {'x VAE':>6} |")
        print(f"|{'-' * 10}|{'-' * 24}|{'-' * 10}|{'-' * 8}|")
        for step in steps:
            settings = replace(model.train_settings(), step=step)
            times = time_epochs(init.networks, torch.as_tensor(data.X), graph, settings, args.repeats)
            base = times["VAE epoch"]
            for name, seconds in times.items():
                print(f"| {step:<8} | {name:<22} | {seconds:8.3f} | {seconds / base:6.2f} |", flush=True)

        if args.skip_acc:
            return
        print(f"\nACC of full fits over seeds {args.acc_seeds} (preset otherwise unchanged):")
        for S, label in ((None, f"S = J = {preset['n_neighbors']}"), (1, "S = 1")):
            accs, secs = [], []
            for seed in args.acc_seeds:
                started = time.perf_counter()
                est = DGG(data.n_clusters, **{**preset, "n_neighbor_samples": S, "cache_dir": cache},
                          random_state=seed).fit(data.X)
                secs.append(time.perf_counter() - started)
                accs.append(clustering_scores(data.y, est.labels_)["acc"])
                print(f"  {label:<10} seed {seed}: ACC {accs[-1]:.4f}  ({secs[-1]:.1f} s, pretraining cached)",
                      flush=True)
            print(f"  {label:<10} ACC {np.mean(accs):.4f} ± {np.std(accs):.4f}   fit {np.mean(secs):.1f} s")


if __name__ == "__main__":
    main()
