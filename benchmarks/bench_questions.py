"""The seven questions, measured: a paired ablation study around the recommended preset (notebook 08).

Each arm changes one step of the preset (:mod:`dggbook.study.questions` lists them);
within a seed every arm starts from the same pretrained networks, so arm − preset
is the effect of the change alone. Output: one CSV row per arm × seed (ACC, NMI,
ARI, the share of labels equal to the preset's, the start's ACC, the training
time), a ``.meta.json`` beside it (command, wall time per data set, versions), and
the tables: mean ± std per arm (population std over seeds) and, per arm, the paired
difference with its 95% t interval and the Wilcoxon signed-rank p
(:mod:`dggbook.study.paired`).

    python benchmarks/bench_questions.py                      # digits seeds 0-9, then mnist10k seeds 0-2
    python benchmarks/bench_questions.py --datasets digits --seeds 0 1 --csv out.csv
    python benchmarks/bench_questions.py --quick              # every arm, tiny data, one seed (CI)
    python benchmarks/bench_questions.py --merge a.csv b.csv --csv benchmarks/results/questions.csv

Data (:func:`dggbook.study.questions.study_data`): ``digits`` (1,797 images, the digits
preset) and ``mnist10k`` (10,000 MNIST images drawn once with ``numpy.random.default_rng(0)``,
the CPU MNIST preset; needs ``make mnist``). Quick mode (``digits-quick``): digits at the
quick preset (tiny networks, 10 epochs), a Siamese stage of 2 epochs, seed 0.
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

from dggbook.study.paired import arm_summary, check_unique, format_interval, paired_differences
from dggbook.study.questions import ARMS, arm_named, read_rows, run_seed, study_data, write_rows

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = ROOT / "benchmarks" / "results" / "questions.csv"
QUICK_CSV = ROOT / "build" / "questions-quick.csv"
DATASETS = ("digits", "mnist10k")
DEFAULT_SEEDS = {"digits": list(range(10)), "mnist10k": [0, 1, 2], "digits-quick": [0]}
# On mnist10k one arm of Algorithm 1 takes about 160 s and a pretraining about 180 s on one core, so the
# three extras that cost the most there (a Siamese stage, S = J at about 10 times an arm, VaDE's own
# pretraining) run on digits only.
MNIST_SKIPPED_ARMS = ("siamese_graph", "all_J_neighbours", "vade")


def meta_path(csv_path: Path) -> Path:
    return csv_path.with_suffix(".meta.json")


def print_tables(rows: list[dict]) -> None:
    """Mean ± std per arm, then the paired differences in ACC (and NMI) with their intervals."""
    print("\n| data | question | arm | seeds | ACC | NMI | ARI |\n|---|---|---|---|---|---|---|")
    for r in arm_summary(rows):
        print(f"| {r['dataset']} | {r['question']} | {r['arm']} | {r['n']} | {r['acc']:.3f} ± {r['acc_std']:.3f} | "
              f"{r['nmi']:.3f} ± {r['nmi_std']:.3f} | {r['ari']:.3f} ± {r['ari_std']:.3f} |")
    nmi = {(r["dataset"], r["arm"]): r for r in paired_differences(rows, metric="nmi")}
    print("\nPaired difference arm − preset, mean [95% paired-t interval], Wilcoxon signed-rank p")
    print("| data | question | arm | ΔACC | p | ΔNMI | per-seed ΔACC |\n|---|---|---|---|---|---|---|")
    for r in paired_differences(rows, metric="acc"):
        per_seed = ", ".join(f"{d:+.3f}" for d in r["differences"])
        print(f"| {r['dataset']} | {r['question']} | {r['arm']} | {format_interval(r)} | {r['wilcoxon_p']:.3f} | "
              f"{format_interval(nmi[(r['dataset'], r['arm'])])} | {per_seed} |")


def merge(parts: list[str], out: Path) -> list[dict]:
    """Concatenate CSVs (and their ``.meta.json``) written by separate runs of this script."""
    rows, metas = [], []
    for part in map(Path, parts):
        rows += read_rows(part)
        if meta_path(part).exists():
            metas.append(json.loads(meta_path(part).read_text()))
    check_unique(rows)  # the same (data set, seed, arm) twice would be paired twice
    write_rows(out, rows)
    meta_path(out).write_text(json.dumps({"merged_from": metas}, indent=1) + "\n")
    return rows


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0-9 on digits, 0-2 on mnist10k")
    parser.add_argument("--arms", nargs="+", choices=[a.name for a in ARMS], default=None,
                        help="default: all (on mnist10k all but MNIST_SKIPPED_ARMS)")
    parser.add_argument("--quick", action="store_true", help="every arm on digits at the quick preset, one seed")
    parser.add_argument("--csv", default=None, help=f"default: {DEFAULT_CSV.relative_to(ROOT)} for the whole "
                                                    f"study, build/questions-partial.csv with --datasets, --seeds "
                                                    f"or --arms, {QUICK_CSV.relative_to(ROOT)} with --quick")
    parser.add_argument("--cache-dir", default=None, help="keep the shared pretraining here (default: a temporary "
                                                          "folder per seed)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="CSV", help="only merge these CSVs into --csv")
    args = parser.parse_args(argv)
    partial = args.datasets is not None or args.seeds is not None or args.arms is not None
    out = Path(args.csv) if args.csv else (QUICK_CSV if args.quick else
                                           ROOT / "build" / "questions-partial.csv" if partial else DEFAULT_CSV)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.merge:
        rows = merge(args.merge, out)
        print_tables(rows)
        return rows

    torch.set_num_threads(1)
    datasets = ["digits-quick"] if args.quick else (args.datasets or list(DATASETS))
    data = {name: study_data(name) for name in datasets}  # before any training: a missing data package fails at once
    rows, wall = [], {}
    for name in datasets:
        X, y, n_clusters, preset = data[name]
        if args.arms is not None:
            arms = [arm_named(a) for a in args.arms]
        else:
            arms = [a for a in ARMS if not (name == "mnist10k" and a.name in MNIST_SKIPPED_ARMS)]
        started = time.perf_counter()
        for seed in (args.seeds if args.seeds is not None else DEFAULT_SEEDS[name]):
            rows += run_seed(X, y, n_clusters, preset, seed, arms=arms, dataset=name, cache_dir=args.cache_dir,
                             log=lambda line: print(line, flush=True))
            write_rows(out, rows)  # after every seed, so an interrupted study keeps what it finished
        wall[name] = time.perf_counter() - started
    meta = {"command": "python benchmarks/bench_questions.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "wall_seconds": wall, "torch": torch.__version__, "python": platform.python_version(),
            "torch_threads": torch.get_num_threads(), "machine": platform.machine()}
    meta_path(out).write_text(json.dumps(meta, indent=1) + "\n")
    print_tables(rows)
    print(f"\nwrote {out} ({len(rows)} rows); wall time " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in wall.items()))
    return rows


if __name__ == "__main__":
    main()
