"""Break the model on purpose, once per known mistake, and list the unit tests that notice.

    python tests/mutation_check.py [--only NAME ...] [--workers 2]

Each mutation below is one plausible bug (issue 8, §1). For each, the tracked
files are copied to a scratch folder, the one edit is applied there (the
working tree is never touched), and the unit suite runs in quick mode. A
mutation that no test catches makes the script exit 1. ``make mutation-check``
runs it; it is not part of ``make test`` (seven suite runs take minutes).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> (file, the exact text to replace, its replacement)
MUTATIONS = {
    "no gradient step in Algorithm 1": (
        "dggbook/model/algorithm1.py", "        optimizer.step()\n        pi[anchors]", "        pass\n        pi[anchors]"),
    "estimator trains on the self graph": (
        "dggbook/model/dgg.py", "result = train_dgg(networks, Xt, graph,",
        "result = train_dgg(networks, Xt, self_graph(X.shape[0]),"),
    "cross ELBO uses x_i's own posterior": (
        "dggbook/model/algorithm1.py", "x_encoded = torch.cat([x_anchor, X[neighbor_indices.reshape(-1)]])",
        "x_encoded = torch.cat([x_anchor, x_anchor.repeat_interleave(S, dim=0)])"),
    "pi updated by the global average, not (31)": (
        "dggbook/model/algorithm1.py",
        "pi[anchors] = closed_form_pi(out.gamma_anchor, out.gamma_neighbors, out.neighbor_weights, settings.pi_update)",
        "pi[anchors] = out.gamma_anchor.mean(0).expand_as(pi[anchors])"),
    "neighbours sampled uniformly, not by w_ij": (
        "dggbook/model/algorithm1.py", "draws = torch.multinomial(weights, n_samples, replacement=True)",
        "draws = torch.multinomial(torch.ones_like(weights), n_samples, replacement=True)"),
    "GMM prior parameters never updated": (
        "dggbook/model/algorithm1.py", "torch.optim.Adam(networks.parameters(),",
        "torch.optim.Adam([p for n, p in networks.named_parameters() if not n.startswith('gmm.')],"),
    "pretraining runs zero epochs of its second stage": (
        "dggbook/model/pretrain.py", "loss_fn, X, settings, settings.autoencoder_epochs, verbose)",
        'loss_fn, X, settings, 0, verbose)'),
}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                         check=True).stdout.decode()
    return [name for name in out.split("\0") if name]


def run_mutated(files: list[str], mutation, workers: int) -> list[str]:
    """Copy ``files`` to a scratch folder, apply ``mutation`` (or none), run the suite there; the failed ids."""
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        folder = Path(tmp)
        for rel in files:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, folder / rel)
        if mutation is not None:
            path, old, new = mutation
            (folder / path).write_text((folder / path).read_text().replace(old, new))
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True)  # some tests list tracked files
        subprocess.run(["git", "add", "-A"], cwd=folder, check=True)
        return run_suite(folder, workers)


def run_suite(folder: Path, workers: int) -> list[str]:
    """The unit suite (quick mode) in ``folder``; returns the ids of failed tests."""
    env = dict(os.environ, DGGBOOK_QUICK="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONPATH=str(folder), DGGBOOK_CACHE=str(folder / "build" / "cache"))
    found = subprocess.run([sys.executable, "-c", "import dggbook; print(dggbook.__file__)"], cwd=folder, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).is_relative_to(folder):
        raise RuntimeError(f"the tests would import {found}, not the mutated copy in {folder}")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers),
                          "--dist", "loadfile", "tests"], cwd=folder, capture_output=True, text=True, env=env)
    return sorted(set(re.findall(r"^FAILED (\S+)", out.stdout, flags=re.M)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=None, help="run only mutations whose name contains these")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    chosen = {k: v for k, v in MUTATIONS.items() if not args.only or any(s in k for s in args.only)}
    files = tracked_files()
    for name, (path, old, new) in chosen.items():
        if (ROOT / path).read_text().count(old) != 1:
            print(f"{name}: the text to mutate is not found exactly once in {path}; update MUTATIONS", file=sys.stderr)
            return 2
    baseline = run_mutated(files, None, args.workers)
    if baseline:
        print(f"the unmutated suite already fails ({', '.join(baseline)}); fix that first", file=sys.stderr)
        return 2
    missed = []
    for name, mutation in chosen.items():
        failed = run_mutated(files, mutation, args.workers)
        print(f"{name}: {'caught by ' + ', '.join(failed) if failed else 'NOT CAUGHT'}", flush=True)
        if not failed:
            missed.append(name)
    print(f"{len(chosen) - len(missed)} of {len(chosen)} mutations caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
