"""Shared test set-up."""
import dggbook  # noqa: F401, I001  first, so the tests run on the pinned AVX2 kernels like the book and the CLI
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine more threads only spin and wait (~10x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
