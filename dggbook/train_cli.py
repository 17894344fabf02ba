"""``dggbook train``: fit DGG on a named dataset, print ACC/NMI/ARI, save metrics, model and figures.

    dggbook train --dataset digits --seed 0 [--device auto] [--json PATH] [--out DIR] [--quick]

Settings come from :func:`dggbook.estimator.settings_for`: the paper's on CUDA +
MNIST, minute-scale ones on CPU, tiny ones in quick mode. The output folder
(default ``build/runs/<dataset>-seed<N>``) receives ``metrics.json``, ``model.pt``
(:meth:`DGG.save`), ``latent.png`` and ``history.png``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .book import quick_mode
from .environment import DEFAULT_TORCH_THREADS, check_threads, versions
from .paths import build_dir

__all__ = ["add_train_arguments", "run_train"]


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``dggbook train`` to ``parser``."""
    parser.add_argument("--dataset", required=True, help="a name known to dggbook.data.load_dataset, e.g. digits")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--json", type=Path, default=None, help="also write the metrics JSON here")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/runs/<dataset>-seed<N>)")
    parser.add_argument("--quick", action="store_true", help="tiny settings (also on when DGGBOOK_QUICK is set)")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's number of DGG epochs")
    parser.add_argument("--threads", type=int, default=DEFAULT_TORCH_THREADS,
                        help=f"torch CPU threads (default {DEFAULT_TORCH_THREADS}, the fastest on a shared machine; "
                             "README, 'Threads')")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write cached weights")
    return parser


def run_train(args: argparse.Namespace) -> int:
    """Run ``dggbook train``; returns the process exit code (0 ok, 2 bad arguments)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .book import pick_device
    from .data import load_dataset
    from .estimator import DGG, settings_for
    from .plots import plot_latent_2d, plot_training_curves
    from .metrics import cluster_accuracy, clustering_scores

    try:
        check_threads(args.threads)
        data = load_dataset(args.dataset)
        device = pick_device(args.device)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"dggbook train: {err}", file=sys.stderr)
        return 2
    quick = args.quick or quick_mode()
    settings = settings_for(args.dataset, device, quick)
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    if args.no_cache:
        settings["cache_dir"] = False
    out = args.out or build_dir() / "runs" / f"{args.dataset}-seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    model = DGG(data.n_clusters, **settings, n_threads=args.threads, random_state=args.seed, verbose=True)
    model.fit(data.X, data.y)  # y only labels the per-epoch ACC/NMI monitor
    seconds = time.perf_counter() - started
    scores = clustering_scores(data.y, model.labels_)

    metrics = {"acc": float(scores["acc"]), "nmi": float(scores["nmi"]), "ari": float(scores["ari"]),
               "seconds": round(seconds, 2), "dataset": args.dataset, "seed": args.seed,
               "device": device.type, "quick": quick, "n_samples": data.n_samples,
               "stage_seconds": {k: round(v, 2) for k, v in model.stage_seconds_.items()},
               "pretrain_from_cache": model.pretrain_from_cache_, "resumed_from_epoch": model.resumed_from_epoch_,
               "kmeans_start_acc": cluster_accuracy(data.y, model.pretrain_labels_),
               "torch_threads": args.threads, "versions": versions()}
    text = json.dumps(metrics, indent=2)
    (out / "metrics.json").write_text(text + "\n")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    model.save(out / "model.pt")
    title = f"DGG on {args.dataset} (seed {args.seed}): ACC {scores['acc']:.3f}"
    means = model.networks_.gmm.means.detach().cpu().numpy()
    figures = {"latent": plot_latent_2d(model.transform(data.X), model.labels_, data.y, means, title=title),
               "history": plot_training_curves(model.history_, title=title)}
    for name, fig in figures.items():
        fig.savefig(out / f"{name}.png", dpi=100, bbox_inches="tight")
        plt.close(fig)

    print(f"{args.dataset} seed={args.seed} device={device.type}: ACC {scores['acc']:.4f}  "
          f"NMI {scores['nmi']:.4f}  ARI {scores['ari']:.4f}  time {seconds:.1f} s  -> {out}")
    return 0
