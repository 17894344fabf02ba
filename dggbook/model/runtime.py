"""The runtime every training stage shares: the device, mini-batches, batched evaluation, progress bars, and how
a training step runs (eagerly or compiled) and in what precision."""
from __future__ import annotations

import contextlib
import copy
import math
from typing import Callable, Iterator

import torch
from tqdm.auto import tqdm

DEVICES = ("auto", "cpu", "cuda")  # the names the estimator and the CLI accept
# How a training step runs: op by op ("eager", the default), or traced once by torch.compile and replayed
# ("compiled"; on CUDA as CUDA graphs, one launch per graph instead of one per operation). See compile_step.
STEPS = ("eager", "compiled")
# The arithmetic of a training step's matrix products: float32 (default); "tf32", float32 storage with TF32
# tensor-core products on CUDA (no effect on a CPU); "bf16", the networks under bfloat16 autocast, the ELBO's
# terms and pi's update still in float32. See matmul_precision and autocast_networks.
PRECISIONS = ("fp32", "tf32", "bf16")


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA when available, else CPU; pass other names through."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; use device='auto' or 'cpu'.")
    return torch.device(device)


def to_device(X, device) -> torch.Tensor:
    """X as a float32 tensor on ``device``, copied once: on CUDA from pinned host memory, asynchronously."""
    import numpy as np

    t = X if isinstance(X, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    device = torch.device(device)
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def minibatch_indices(n: int, batch_size: int, device: torch.device, *, shuffle: bool = True,
                      generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    """Yield index tensors covering ``range(n)`` in batches, on ``device``.

    The permutation is drawn from ``generator`` when given (then moved to
    ``device``), else from the device's default generator: reproducible once
    torch is seeded (``fit`` seeds a forked generator), with no host-device copy.
    """
    if not shuffle:
        order = torch.arange(n, device=device)
    elif generator is not None:
        order = torch.randperm(n, generator=generator, device=generator.device).to(device)
    else:
        order = torch.randperm(n, device=device)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def progress(iterable, *, desc: str, verbose: bool, total: int | None = None):
    """A tqdm bar over epochs, silent unless ``verbose``."""
    return tqdm(iterable, desc=desc, total=total, disable=not verbose, leave=False, dynamic_ncols=True, mininterval=0.5)


@torch.no_grad()
def map_in_batches(fn, X: torch.Tensor, batch_size: int = 1024):
    """Apply ``fn`` to row blocks of X and concatenate; returns a tensor or a tuple of tensors.

    In float32 a row's result depends, in its last bit, on the other rows of its block: the matrix
    product's kernel splits the block into tiles of a few rows, and rows in the last, partial tile or in a
    block of one row take another code path, which rounds differently. Which rows those are depends on the
    CPU and the kernels: measured on an AMD EPYC, a block of one row differs under every setting, and under
    ``MKL_CBWR=COMPATIBLE`` the rows past the last multiple of 4 do; on an Intel Xeon, permuting 20 rows
    changed results (issue 19). Training only needs float32; an estimator's ``transform`` and
    ``predict_proba`` evaluate a :func:`float64_copy` instead, so that each row's answer is its own.
    """
    outputs = [fn(X[start : start + batch_size]) for start in range(0, X.shape[0], batch_size)]
    if isinstance(outputs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outputs))
    return torch.cat(outputs)


def float64_copy(module: torch.nn.Module) -> torch.nn.Module:
    """A float64 copy of ``module`` in eval mode: the same function, evaluated with 2**29 times finer rounding.

    Every float32 weight is exactly a float64 number, so the copy holds the same network. Its rounding
    error (~1e-16 relative) is far below float32's spacing (~6e-8 relative), so the float32 rounding of
    its output does not depend on the kernel, the tile or the batch a row was computed in, except with
    probability ~1e-9 per value (a result within 1e-16 of a float32 rounding boundary). The price: a copy
    of the weights and about twice the arithmetic of a float32 pass.
    """
    return copy.deepcopy(module).double().eval()


def check_step(step: str, name: str = "step") -> str:
    """``step`` after checking it is one of :data:`STEPS`."""
    if step not in STEPS:
        raise ValueError(f"{name} must be one of {STEPS} ('eager' runs op by op, 'compiled' through torch.compile), "
                         f"got {step!r}.")
    return step


def check_precision(precision: str, name: str = "precision") -> str:
    """``precision`` after checking it is one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ValueError(f"{name} must be one of {PRECISIONS} (default 'fp32'), got {precision!r}.")
    return precision


def compile_step(fn: Callable, device: torch.device, backend: str = "inductor") -> Callable:
    """``fn`` (the forward part of a training step; its backward follows it through AOTAutograd) under torch.compile.

    On CUDA the inductor backend runs with ``triton.cudagraphs`` (what ``mode="reduce-overhead"`` sets): each
    traced graph is captured as a CUDA graph and replayed with one launch, which removes the per-operation launch
    cost that bounds a step of small matrices. Elsewhere it is inductor's default (fused C++ kernels; scalar
    ones when ATen runs its portable kernels).

    What is computed does not change. ``fallback_random=True`` makes the compiled step draw its noise (the
    reparameterisation's eps, dropout's masks, the sampled neighbours) from torch's own generator in the order
    the eager step does, instead of inductor's fused generator: the same seed gives the same draws, and the
    results agree with the eager step's to float rounding (fused kernels sum in another order).
    Other backends (``"aot_eager"``, ``"eager"``) trace without generating code (tests, smoke runs).
    torch.compile caches what it compiled on ``fn``'s code, so a new wrapper around the same function replays it
    (a new shape, e.g. a last, smaller batch, compiles once more).
    """
    if backend != "inductor":
        return torch.compile(fn, backend=backend)
    options = {"fallback_random": True}
    if torch.device(device).type == "cuda":
        options["triton.cudagraphs"] = True
    elif torch.backends.cpu.get_cpu_capability() == "DEFAULT":
        # ATen's portable kernels (ATEN_CPU_CAPABILITY=default) ship no at::vec for inductor's vector code to
        # include, so that code does not compile: generate scalar C++ instead.
        options["cpp.simdlen"] = 1
    return torch.compile(fn, backend=backend, options=options)


def static_on_cuda(*tensors) -> None:
    """Tell torch.compile that these CUDA tensors (the data, the graph, pi) keep their address for the whole run:
    a CUDA graph then reads them in place instead of copying them into its own memory before every replay.
    Tensors elsewhere, and None, are left alone."""
    for t in tensors:
        if t is not None and t.device.type == "cuda":
            torch._dynamo.mark_static_address(t)


def begin_compiled_step(device: torch.device) -> None:
    """Tell inductor's CUDA graphs that a new training step begins (its outputs of the last step may be reused)."""
    if torch.device(device).type == "cuda":
        torch.compiler.cudagraph_mark_step_begin()


@contextlib.contextmanager
def matmul_precision(precision: str, device: torch.device):
    """TF32 matrix products on CUDA for the block when ``precision == "tf32"`` (the previous flags restored after);
    nothing otherwise. Set around whole epochs: torch.compile reads these flags when it compiles."""
    check_precision(precision)
    if precision != "tf32" or torch.device(device).type != "cuda":
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def autocast_networks(precision: str, device: torch.device):
    """bfloat16 autocast for the block when ``precision == "bf16"`` (a no-op context otherwise). Wrap only the
    networks' forward passes: a loss built from their outputs casts them back to float32 first
    (:func:`dggbook.model.algorithm1.elbo_of_pairs` does)."""
    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def run_epochs(
    stage: str,
    optimizer: torch.optim.Optimizer,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    n_rows: int,
    batch_size: int,
    epochs: int,
    *,
    device: torch.device,
    scheduler=None,
    generator: torch.Generator | None = None,
    verbose: bool = False,
    step: str = "eager",
    precision: str = "fp32",
    compile_backend: str = "inductor",
) -> list[float]:
    """Mini-batch training: each epoch shuffles ``range(n_rows)`` and takes one optimizer step per batch.

    ``batch_loss(idx)`` returns the mean loss of the rows ``idx``. Losses are
    summed on the device and read once per epoch (one host sync); ``scheduler``
    steps after every epoch. Returns the per-epoch mean losses.

    ``step="compiled"`` runs ``batch_loss`` through :func:`compile_step` (its backward too; ``compile_backend``
    as there); ``precision`` (:data:`PRECISIONS`) runs it under :func:`matmul_precision` and
    :func:`autocast_networks` (the ops autocast keeps in float32, such as the losses, stay float32) and returns
    the loss as float32. The defaults are the eager float32 step.

    Raises FloatingPointError naming ``stage`` and the epoch when a mean loss is NaN or inf.
    Pretraining and the Siamese network train through this loop; Algorithm 1 has
    its own (:func:`dggbook.model.algorithm1.run_epoch`), since it also updates pi after every step.
    """
    check_step(step)
    check_precision(precision)
    losses: list[float] = []
    if precision == "bf16":
        eager_loss = batch_loss

        def batch_loss(idx):
            with autocast_networks(precision, device):
                loss = eager_loss(idx)
            return loss.float()

    compiled = step == "compiled"
    if compiled:
        batch_loss = compile_step(batch_loss, device, compile_backend)
    bar = progress(range(epochs), desc=stage, verbose=verbose)
    for epoch in bar:
        total = torch.zeros((), device=device)
        with matmul_precision(precision, device):
            for idx in minibatch_indices(n_rows, batch_size, device, generator=generator):
                if compiled:
                    begin_compiled_step(device)
                loss = batch_loss(idx)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach() * idx.numel()
        if scheduler is not None:
            scheduler.step()
        mean = float(total) / n_rows
        if not math.isfinite(mean):
            raise FloatingPointError(f"training stage {stage!r} produced a non-finite loss at epoch {epoch + 1}.")
        losses.append(mean)
        bar.set_postfix(loss=f"{mean:.4g}", refresh=False)
    return losses
