"""The runtime every training stage shares: the device, mini-batches, batched evaluation, progress bars."""
from __future__ import annotations

import copy
import math
from typing import Callable, Iterator

import torch
from tqdm.auto import tqdm

DEVICES = ("auto", "cpu", "cuda")  # the names the estimator and the CLI accept


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
) -> list[float]:
    """Mini-batch training: each epoch shuffles ``range(n_rows)`` and takes one optimizer step per batch.

    ``batch_loss(idx)`` returns the mean loss of the rows ``idx``. Losses are
    summed on the device and read once per epoch (one host sync); ``scheduler``
    steps after every epoch. Returns the per-epoch mean losses.

    Raises FloatingPointError naming ``stage`` and the epoch when a mean loss is NaN or inf.
    Pretraining and the Siamese network train through this loop; Algorithm 1 has
    its own (:func:`dggbook.model.algorithm1.run_epoch`), since it also updates pi after every step.
    """
    losses: list[float] = []
    bar = progress(range(epochs), desc=stage, verbose=verbose)
    for epoch in bar:
        total = torch.zeros((), device=device)
        for idx in minibatch_indices(n_rows, batch_size, device, generator=generator):
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
