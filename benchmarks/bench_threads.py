"""How many torch CPU threads to use: 1 vs 2 vs torch's default, on an idle and on a loaded machine.

The workload is one short DGG fit on digits (the CPU preset with fewer epochs,
no cache), run in a fresh subprocess per setting so that each starts with the
thread count it is given. "Loaded" starts ``--load`` busy-looping processes
beside it (one per core by default), like another user's job on a shared
machine. Reported per setting: the whole fit, the pretraining stage and the
median Algorithm 1 epoch, plus the ACC reached (thread count changes the order
of floating-point sums, so it may change the result).

    python benchmarks/bench_threads.py [--threads 1 2 default] [--load N] [--json PATH]

The README's choice of default (``dggbook.environment.DEFAULT_TORCH_THREADS``)
comes from this script's output.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time

WORKLOAD = r"""
import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()
import json, sys, statistics, time
import torch
threads = sys.argv[1]
from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.presets import settings_for
data = load_dataset("digits")
params = settings_for("digits", "cpu", quick=False)
params.update(layerwise_epochs=2, autoencoder_epochs=20, vae_epochs=2, classifier_epochs=20, epochs=8, cache_dir=False)
params["n_threads"] = None if threads == "default" else int(threads)
model = DGG(data.n_clusters, **params, random_state=0).fit(data.X, data.y)
print(json.dumps({"threads_used": torch.get_num_threads() if threads == "default" else int(threads),
                  "fit_s": model.fit_seconds_, "pretrain_s": model.stage_seconds_["pretrain"],
                  "epoch_s": statistics.median(h["seconds"] for h in model.history_),
                  "acc": float(model.history_[-1]["acc"])}))
"""


def _burn(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:
        x = (x * 1103515245 + 12345) % 2**31


def run_setting(threads: str) -> dict:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)  # torch's default must be its own, not one inherited from make test
    out = subprocess.run([sys.executable, "-c", WORKLOAD, threads], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", nargs="+", default=["1", "2", "default"],
                        help="thread counts to compare ('default' = torch's own choice)")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1,
                        help="busy processes for the loaded runs (default: one per core)")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)

    results = {}
    for condition, n_busy in (("idle", 0), ("loaded", args.load)):
        burners = [multiprocessing.Process(target=_burn, args=(time.time() + 3600,), daemon=True)
                   for _ in range(n_busy)]
        for p in burners:
            p.start()
        try:
            for threads in args.threads:
                results[f"{condition}, threads={threads}"] = run_setting(threads)
                print(f"{condition:<7} threads={threads:<8} {json.dumps(results[f'{condition}, threads={threads}'])}",
                      flush=True)
        finally:
            for p in burners:
                p.terminate()
    print(f"\n{os.cpu_count()} cores; busy processes when loaded: {args.load}")
    print("| machine | torch threads | fit (s) | pretraining (s) | Algorithm 1 epoch (s) | ACC after 8 epochs |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        condition, threads = name.split(", ")
        print(f"| {condition} | {threads.split('=')[1]} ({r['threads_used']}) | {r['fit_s']:.1f} | "
              f"{r['pretrain_s']:.1f} | {r['epoch_s']:.3f} | {r['acc']:.4f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
