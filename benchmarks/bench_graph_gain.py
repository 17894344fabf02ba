"""Where the graph helps: DGG against DGG without graph against VaDE, paired by seed, from starts of
different quality and with graphs of different purity (issue 21).

For each data set, start (``init``: the paper's k-means on mu~, a full Gaussian mixture on mu~, UMAP of mu~
then a Gaussian mixture) and seed, one pretraining (cached, so every arm of a seed shares the same
networks and the same start) feeds these arms:

- ``dgg_input``, ``dgg_latent``, ``dgg_umap``: DGG with its J neighbours searched in pixel space, in mu~
  or in UMAP of mu~ (three graphs of different purity);
- ``no_graph``: DGG with N(i) = {i} (``use_graph=False``): f2 and the per-sample pi, no neighbours;
- ``vade``: VaDE from the same start.

Each row keeps the start's ACC, the final ACC and NMI, the graph's purity (share of neighbours with the
anchor's class; labels are used only to measure, never to fit), the ACC after epoch 1 and the time. The
settings are the CPU preset of the data set (``settings_for(name, "cpu")``), as in notebook 07; MNIST-10k
is a fixed sample of 10,000 images with the CPU MNIST preset. Rows are appended to
``benchmarks/results/graph_gain.csv`` as they finish, so a stopped run continues where it stopped.

    python benchmarks/bench_graph_gain.py [--datasets digits mnist10k] [--seeds 0 1 ... 9]
        [--starts kmeans gmm umap] [--arms dgg_input ...] [--out benchmarks/results/graph_gain]

The paired summary (gain of each DGG arm over ``no_graph`` with its 95% interval) is written to
``graph_gain.md`` and read by notebook 08 (``dggbook.study.graph_gain``).
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from dggbook.environment import versions
from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.metrics import clustering_scores
from dggbook.model.presets import settings_for
from dggbook.model.vade import VaDE
from dggbook.paths import project_root
from dggbook.study.graph_gain import ARMS, FIELDS, STARTS, read_rows, summary_markdown

sys.path.insert(0, str(Path(__file__).resolve().parent))
from result_files import command_line, record_run, write_rows  # noqa: E402  (beside this script)

DEFAULT_OUT = project_root() / "benchmarks" / "results" / "graph_gain"
MNIST_SEEDS = 3


def load(name: str):
    """(X, y, preset name) of a data set of the study: ``digits`` or a fixed MNIST sample ``mnist10k``."""
    if name == "digits":
        data = load_dataset("digits")
        return data.X, data.y, "digits"
    if name.startswith("mnist") and name.endswith("k"):
        data = load_dataset("mnist")
        keep = np.random.default_rng(0).permutation(len(data.X))[: int(name[5:-1]) * 1000]
        return data.X[keep], data.y[keep], "mnist"
    raise ValueError(f"dataset must be 'digits' or 'mnist<N>k' (e.g. mnist10k), got {name!r}.")


def run_arm(arm: str, X, y, k: int, preset: str, start: str, seed: int, cache: Path) -> dict:
    """One fit of ``arm`` from the ``start`` of ``seed``; the pretraining is shared through ``cache``."""
    params = dict(settings_for(preset, "cpu", quick=False), init=start, cache_dir=cache, n_threads=1,
                  random_state=seed)
    if arm == "vade":
        model = VaDE(k, **{name: value for name, value in params.items() if name in VaDE().get_params()})
    else:
        if arm == "no_graph":
            params["use_graph"] = False
        else:
            params["graph_space"] = arm.removeprefix("dgg_")
        model = DGG(k, **params)
    started = time.perf_counter()
    model.fit(X, y)  # y: the per-epoch monitor only
    seconds = time.perf_counter() - started
    scores = clustering_scores(y, model.labels_)
    graph = getattr(model, "graph_", None)
    purity = graph.purity(y) if graph is not None and arm.startswith("dgg") else float("nan")
    curve = [record["acc"] for record in model.history_]
    return dict(start_acc=clustering_scores(y, model.start_labels_)["acc"], acc=scores["acc"], nmi=scores["nmi"],
                purity=purity, epoch1_acc=curve[0] if curve else float("nan"), seconds=seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist10k"])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--starts", nargs="+", default=list(STARTS), choices=STARTS)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="path prefix of the .csv, .md and .meta.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    csv_path = args.out.with_suffix(".csv")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    rows = read_rows(csv_path)
    done = {(r["dataset"], r["start"], r["arm"], int(r["seed"])) for r in rows}
    with tempfile.TemporaryDirectory(prefix="graph-gain-") as cache:
        for name in args.datasets:
            X, y, preset = load(name)
            X, y = np.ascontiguousarray(X, dtype=np.float32), np.asarray(y)
            k = len(np.unique(y))
            seeds = args.seeds[:MNIST_SEEDS] if name.startswith("mnist") else args.seeds
            for seed in seeds:
                for start in args.starts:
                    for arm in args.arms:
                        if (name, start, arm, seed) in done:
                            continue
                        out = run_arm(arm, X, y, k, preset, start, seed, Path(cache))
                        row = dict(dataset=name, start=start, arm=arm, seed=seed, n_samples=len(X),
                                   **{f: round(float(v), 4) if f != "seconds" else round(float(v), 1)
                                      for f, v in out.items()})
                        rows.append({f: str(row[f]) for f in FIELDS})
                        print(f"{name} {start:6s} seed {seed} {arm:10s}: start {row['start_acc']:.4f} "
                              f"final {row['acc']:.4f} purity {row['purity']:.3f} {row['seconds']:.1f} s", flush=True)
                        write_rows(csv_path, FIELDS, rows)
    args.out.with_suffix(".md").write_text(summary_markdown(rows))
    record_run(args.out.with_suffix(".meta.json"), command_line("bench_graph_gain.py", argv), versions=versions(),
               settings={"digits": "settings_for('digits', 'cpu')", "mnist<N>k": "settings_for('mnist', 'cpu')"})
    print(summary_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
