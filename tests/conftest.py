"""Shared test set-up."""
import dggbook  # noqa: I001  first, so the tests run on the pinned AVX2 kernels like the book and the CLI

dggbook.pin_cpu_math()  # before torch loads; a kernel setting exported by the caller is kept

import os  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine more threads only spin and wait (~10x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# --------------------------------------------------------------------------- the device switch (make gpu-check)
TEST_DEVICE_ENV = "DGGBOOK_TEST_DEVICE"


def _test_devices() -> list:
    """What the ``device`` fixture runs a test on: ``$DGGBOOK_TEST_DEVICE`` alone when set (``make gpu-check``
    sets ``cuda``), else the CPU, and CUDA as well whenever it is present. The CUDA cases carry the ``cuda`` mark."""
    asked = os.environ.get(TEST_DEVICE_ENV, "").strip()
    names = [asked] if asked else ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    return [pytest.param(name, marks=pytest.mark.cuda) if name.startswith("cuda") else name for name in names]


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: the test runs on a CUDA device (select with -m cuda)")


@pytest.fixture(params=_test_devices())
def device(request) -> torch.device:
    """The torch device a model test runs on (see :func:`_test_devices`); asking for CUDA without it is an error."""
    dev = torch.device(request.param)
    if dev.type == "cuda" and not torch.cuda.is_available():
        pytest.fail(f"{TEST_DEVICE_ENV}={request.param}, but torch.cuda.is_available() is False here", pytrace=False)
    return dev
