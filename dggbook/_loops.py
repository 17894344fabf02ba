"""Small helpers shared by the training loops: mini-batches and progress bars."""
from __future__ import annotations

from typing import Iterator

import torch
from tqdm.auto import tqdm


def minibatch_indices(n: int, batch_size: int, device: torch.device, *, shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Yield index tensors covering ``range(n)`` in batches, on ``device``.

    The permutation is drawn from the device's default generator, so it is
    reproducible once torch is seeded (``fit`` seeds a forked generator) and costs no host-device copy.
    """
    order = torch.randperm(n, device=device) if shuffle else torch.arange(n, device=device)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def progress(iterable, *, desc: str, verbose: bool, total: int | None = None):
    """A tqdm bar over epochs, silent unless ``verbose``."""
    return tqdm(iterable, desc=desc, total=total, disable=not verbose, leave=False, dynamic_ncols=True, mininterval=0.5)


@torch.no_grad()
def map_in_batches(fn, X: torch.Tensor, batch_size: int = 1024):
    """Apply ``fn`` to row blocks of X and concatenate; returns a tensor or a tuple of tensors."""
    outputs = [fn(X[start : start + batch_size]) for start in range(0, X.shape[0], batch_size)]
    if isinstance(outputs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outputs))
    return torch.cat(outputs)
