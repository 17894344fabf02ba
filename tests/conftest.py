"""Shared test set-up."""
import dggbook  # noqa: I001  first, so the tests run on the pinned AVX2 kernels like the book and the CLI

dggbook.pin_cpu_math()  # before torch loads; a kernel setting exported by the caller is kept

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine more threads only spin and wait (~10x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
