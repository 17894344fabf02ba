"""Tests for dggbook.book: the standard first notebook cell (quick mode, device, seeding, figures)."""
import random

import numpy as np
import pytest
import torch

from dggbook import paths
from dggbook.book import setup as book
from dggbook import environment
from dggbook.model.runtime import pick_device
from dggbook.model import cache


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", "TRUE", " 1 ", "quick"])
def test_quick_mode_on(monkeypatch, value):
    monkeypatch.setenv(environment.QUICK_ENV, value)
    assert environment.quick_mode() is True


@pytest.mark.parametrize("value", ["", "0", "false", "False", "no", "NO", "  0  ", " "])
def test_quick_mode_off(monkeypatch, value):
    monkeypatch.setenv(environment.QUICK_ENV, value)
    assert environment.quick_mode() is False


def test_quick_mode_off_when_unset(monkeypatch):
    monkeypatch.delenv(environment.QUICK_ENV, raising=False)
    assert environment.quick_mode() is False


def test_quick_env_name():
    assert environment.QUICK_ENV == "DGGBOOK_QUICK" and book.FIGURES_ENV == "DGGBOOK_FIGURES"


def test_auto_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    assert pick_device() == torch.device("cpu")


def test_auto_device_is_cuda_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda"


@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_requesting_cuda_without_it_raises(monkeypatch, name):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA"):
        pick_device(name)


def test_explicit_devices_pass_through():
    assert pick_device("cpu") == torch.device("cpu")
    dev = torch.device("cpu")
    assert pick_device(dev) is dev


def test_seed_everything_makes_all_three_generators_repeat():
    book.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    book.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    book.seed_everything(124)
    c = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    assert all(x != y for x, y in zip(a, c))


def test_setup_book_reports_its_choices(monkeypatch, capsys):
    monkeypatch.setenv(environment.QUICK_ENV, "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    settings = book.setup_book(seed=7)
    assert (settings.seed, settings.device.type, settings.quick, settings.threads) == (7, "cpu", True, 1)
    out = capsys.readouterr().out
    assert "seed=7" in out and "device=cpu" in out and "QUICK" in out and "torch_threads=1" in out
    for package in ("python=", "torch=", "numpy=", "scipy=", "scikit-learn="):
        assert package in out
    book.setup_book(seed=7, verbose=False)
    assert capsys.readouterr().out == ""


def test_setup_book_says_full_mode_when_quick_is_off(monkeypatch, capsys):
    monkeypatch.delenv(environment.QUICK_ENV, raising=False)
    book.setup_book(seed=0)
    assert "mode=full" in capsys.readouterr().out


def test_setup_book_applies_the_thread_default(monkeypatch):
    torch.set_num_threads(2)
    assert book.setup_book(seed=0, verbose=False).threads == 1 == torch.get_num_threads()
    torch.set_num_threads(2)
    assert book.setup_book(seed=0, threads=None, verbose=False).threads == 2  # None leaves it alone
    with pytest.raises(ValueError, match="n_threads"):
        book.setup_book(seed=0, threads=0)


def test_figures_default_to_a_scratch_folder_not_the_committed_one(monkeypatch):
    monkeypatch.delenv(book.FIGURES_ENV, raising=False)
    folder = book.figures_dir()
    assert folder.parts[-2:] == ("build", "figures")
    assert (folder.parent.parent / "dggbook" / "book" / "setup.py").exists()
    assert folder != paths.committed_figures_dir()


def test_cache_defaults_to_build_cache(monkeypatch):
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    assert cache.cache_root().parts[-2:] == ("build", "cache")
    monkeypatch.setenv(paths.CACHE_ENV, "/tmp/x")
    assert str(cache.cache_root()) == "/tmp/x"


@pytest.fixture
def figure():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    yield fig
    plt.close(fig)


def test_savefig_writes_a_png_into_the_figures_env(monkeypatch, tmp_path, figure):
    target = tmp_path / "out"
    monkeypatch.setenv(book.FIGURES_ENV, str(target))
    path = book.savefig(figure, "js_rotated", dpi=20)
    assert path == target / "js_rotated.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in target.iterdir()) == ["js_rotated.png"]


@pytest.mark.parametrize("name", ["a/b", "js.png", "", "../escape"])
def test_savefig_rejects_names_that_are_not_bare_stems(monkeypatch, tmp_path, figure, name):
    monkeypatch.setenv(book.FIGURES_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="name"):
        book.savefig(figure, name)
    assert list(tmp_path.iterdir()) == []
