"""The CUDA problems of issue 22, each checked where the CPU can check it.

- ``nearest_neighbors`` of a tensor that lives on another device (a CUDA tensor, searched on the CPU);
- the reproduction variants that Algorithm 1 trains with read nothing back to the host per batch;
- Algorithm 1 writes its ~40 MB checkpoint at most once per ``checkpoint_every`` seconds, at the end,
  and when interrupted at an epoch boundary;
- ``torch_seeded`` forks the generator of the CUDA device in use, not always device 0's.
- a fit copies X to the device once, and pretraining and Algorithm 1 use that copy.
"""
import contextlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tiny_model import data, tiny_networks

from dggbook import environment
from dggbook.derivation import reproductions
from dggbook.model import algorithm1
from dggbook.model.algorithm1 import TrainSettings, closed_form_pi, train_dgg
from dggbook.model.departures import batch_neighbor_weights
from dggbook.model.graph import build_graph, nearest_neighbors
from dggbook.model.settings import PI_UPDATES


class OnAnotherDevice(torch.Tensor):
    """Stands in for a CUDA tensor on a machine without CUDA: ``.numpy()`` refuses, as a CUDA tensor's does,
    and ``.cpu()`` gives a plain CPU tensor."""

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                        "to host memory first.")

    def cpu(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor).clone()


def test_nearest_neighbors_of_a_tensor_on_another_device_searches_a_host_copy():
    points = np.random.default_rng(0).random((40, 5)).astype(np.float32)
    elsewhere = torch.from_numpy(points).as_subclass(OnAnotherDevice)
    with pytest.raises(TypeError, match="cuda"):
        elsewhere.numpy()  # the stand-in behaves like a CUDA tensor
    idx, dist = nearest_neighbors(elsewhere, 4)  # default device="cpu", method="auto": scikit-learn
    want_idx, want_dist = nearest_neighbors(points, 4)
    assert type(idx) is torch.Tensor and idx.device.type == "cpu"
    torch.testing.assert_close(idx, want_idx)
    torch.testing.assert_close(dist, want_dist)
    grad_idx, _ = nearest_neighbors(torch.from_numpy(points).requires_grad_(), 4)
    torch.testing.assert_close(grad_idx, want_idx)


# ---------------------------------------------------------------- no host synchronisation per batch
HOST_READS = ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__index__")


@contextlib.contextmanager
def no_host_reads(monkeypatch):
    """Every way a tensor's value reaches Python raises: on CUDA each of them waits for the device."""
    with monkeypatch.context() as patch:
        for name in HOST_READS:
            def refuse(self, *args, _name=name, **kwargs):
                raise AssertionError(f"Tensor.{_name} called: a host synchronisation on CUDA")
            patch.setattr(torch.Tensor, name, refuse)
        yield


def _batch(B=14, J=5, K=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    gamma_self = torch.softmax(torch.randn(B, K, generator=g), 1)
    gamma_nb = torch.softmax(torch.randn(B, J, K, generator=g), 2)
    weights = torch.rand(B, J, generator=g) + 0.1
    distances = torch.sort(torch.rand(B, J, generator=g) + 0.1, dim=1).values
    return gamma_self, gamma_nb, weights / weights.sum(1, keepdim=True), distances


def test_the_steps_algorithm1_trains_with_read_nothing_back_from_the_device(monkeypatch):
    """What run_epoch calls per batch for every pi update and batch weighting: no host read, no input check."""
    gs, gn, w, dist = _batch()
    checks = []
    monkeypatch.setattr(reproductions, "check_pi_inputs", lambda *args: checks.append(args))
    with no_host_reads(monkeypatch):
        pis = {rule: closed_form_pi(gs, gn, w, rule) for rule in PI_UPDATES}
        row11 = batch_neighbor_weights("public_code_row11", w, dist)
        graph_w = batch_neighbor_weights("graph", w, dist)
    assert checks == []
    # the same numbers as the checked (validating) path
    from dggbook.model.departures import pi_update_rule
    for rule, pi in pis.items():
        want = pi_update_rule(rule)(gs, gn, w, validate=True)
        torch.testing.assert_close(pi, want.clamp_min(torch.finfo(want.dtype).tiny))
    torch.testing.assert_close(row11, reproductions.public_code_row11_batch_weights(dist, validate=True))
    assert graph_w is w
    assert len(checks) == 1  # the validating blog rule checked its inputs once


def test_the_row11_floor_is_a_device_tensor_and_validation_still_names_the_argument():
    dist = torch.full((12, 3), 10.0)
    dist[11] = 0.0  # every sigma_j is 0: the floor decides
    torch.testing.assert_close(reproductions.public_code_row11_batch_weights(dist, validate=False),
                               reproductions.public_code_row11_batch_weights(dist))
    with pytest.raises(ValueError, match="neighbor_distances"):
        reproductions.public_code_row11_batch_weights(torch.ones(12))
    with pytest.raises(ValueError, match="neighbor_distances"):
        reproductions.public_code_row11_batch_weights(torch.full((12, 3), float("nan")))


# ---------------------------------------------------------------- checkpoints at most once a minute
def _count_saves(monkeypatch):
    saved = []
    real = algorithm1.save_atomic

    def counting(state, path):
        saved.append(state["epoch"])
        real(state, path)

    monkeypatch.setattr(algorithm1, "save_atomic", counting)
    return saved


def _setup(N=20):
    X = data(N=N)
    return X, build_graph(X.numpy(), 3)


def test_a_short_run_writes_its_checkpoint_once_at_the_end(tmp_path, monkeypatch):
    saved = _count_saves(monkeypatch)
    X, graph = _setup()
    train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=4, batch_size=6), checkpoint_path=tmp_path / "a.pt")
    assert saved == [4]
    saved.clear()
    train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=3, batch_size=6), checkpoint_path=tmp_path / "b.pt",
              checkpoint_every=0)
    assert saved == [1, 2, 3]


def test_checkpoints_are_written_at_most_once_per_checkpoint_every_seconds(tmp_path, monkeypatch):
    saved = _count_saves(monkeypatch)
    clock = [0.0]
    monkeypatch.setattr(algorithm1, "time", SimpleNamespace(perf_counter=lambda: clock[0]))

    def advance(epoch, record):  # each epoch takes 25 s of the fake clock
        clock[0] += 25.0

    X, graph = _setup()
    train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=6, batch_size=6), checkpoint_path=tmp_path / "c.pt",
              on_epoch_end=advance)
    assert saved == [4, 6]  # 75 s after the start, then the last epoch


def test_an_interrupt_at_an_epoch_boundary_keeps_that_epoch(tmp_path, monkeypatch):
    saved = _count_saves(monkeypatch)
    X, graph = _setup()

    def interrupt(epoch, record):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=4, batch_size=6),
                  checkpoint_path=tmp_path / "d.pt", on_epoch_end=interrupt)
    assert saved == [2]
    resumed = train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=4, batch_size=6),
                        checkpoint_path=tmp_path / "d.pt")
    assert resumed.resumed_from == 2 and len(resumed.history) == 4


@pytest.mark.parametrize("bad", [-1, float("nan"), "60", True])
def test_checkpoint_every_must_be_seconds(bad):
    X, graph = _setup()
    with pytest.raises(ValueError, match="checkpoint_every"):
        train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=1, batch_size=6), checkpoint_every=bad)


# ---------------------------------------------------------------- torch_seeded forks the device in use
@pytest.mark.parametrize("where, forked", [
    (SimpleNamespace(type="cuda", index=None), [3]),  # a bare "cuda": the current device
    (SimpleNamespace(type="cuda", index=1), [1]),
    ("cuda:2", [2]),
    (torch.device("cpu"), []),
    (None, []),
])
def test_torch_seeded_forks_the_generator_of_the_device_in_use(monkeypatch, where, forked):
    seen = []

    @contextlib.contextmanager
    def recording_fork(devices=None, enabled=True, **kwargs):
        seen.append(list(devices))
        yield

    monkeypatch.setattr(torch.random, "fork_rng", recording_fork)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    monkeypatch.setattr(torch, "manual_seed", lambda seed: None)  # no CUDA here to seed
    with environment.torch_seeded(7, where):
        pass
    assert seen == [forked]


def test_fit_copies_x_to_the_device_once(monkeypatch):
    """The estimators copy X to the device once (``base.fit``) and hand that copy to pretraining and Algorithm 1."""
    import numpy as np

    import dggbook.model.base as base
    import dggbook.model.pretrain as pretrain_module
    from dggbook.model.dgg import DGG
    from dggbook.model.vade import VaDE
    from tiny_model import TINY_DGG

    copies = []
    real = base.to_device
    monkeypatch.setattr(base, "to_device", lambda X, device: copies.append(X.shape) or real(X, device))

    def no_second_copy(*args, **kwargs):
        raise AssertionError("pretraining copied X again")

    monkeypatch.setattr(pretrain_module, "to_device", no_second_copy)
    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    DGG(2, **{**TINY_DGG, "epochs": 1}, random_state=0).fit(X)
    vade_params = {k: v for k, v in TINY_DGG.items() if k in VaDE().get_params()}
    VaDE(2, **{**vade_params, "epochs": 1}, random_state=0).fit(X)
    assert copies == [(40, 6), (40, 6)]
    with pytest.raises(ValueError, match="X_device"):
        pretrain_module.pretrain(X, 2, random_state=0, device="cpu", X_device=torch.zeros(3, 6))
