"""The model on whatever device the ``device`` fixture gives (tests/conftest.py): the CPU here, CUDA as well when
present, and CUDA alone under ``DGGBOOK_TEST_DEVICE=cuda`` (what ``make gpu-check`` runs, with ``-m cuda``).

Each test holds on the CPU too, so that the CUDA run checks the same statements; the CUDA cases add a check
that the per-batch steps of Algorithm 1 never synchronise with the host (``torch.cuda.set_sync_debug_mode``).
"""
import contextlib

import numpy as np
import pytest
import torch
from tiny_model import TINY_DGG, data, tiny_networks

from dggbook.environment import torch_seeded
from dggbook.model.algorithm1 import TrainSettings, closed_form_pi, initial_pi, make_optimizer, run_epoch, train_dgg
from dggbook.model.data import make_blobs_data
from dggbook.model.departures import batch_neighbor_weights
from dggbook.model.dgg import DGG
from dggbook.model.graph import build_graph, nearest_neighbors
from dggbook.model.settings import PI_UPDATES
from dggbook.model.vade import VaDE


@contextlib.contextmanager
def no_sync(device: torch.device):
    """On CUDA, any host synchronisation inside the block raises; elsewhere nothing changes."""
    if device.type != "cuda":
        yield
        return
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode(previous)


@pytest.fixture(scope="module")
def blobs():
    return make_blobs_data(150, 3, 6, random_state=0)


def test_the_chunked_search_on_the_device_finds_the_cpu_neighbours(device):
    points = np.random.default_rng(0).random((300, 8)).astype(np.float32)
    want_idx, want_dist = nearest_neighbors(points, 6)  # scikit-learn on the CPU
    idx, dist = nearest_neighbors(points, 6, device=device, method="chunked", chunk_size=128)
    assert idx.device.type == "cpu" and dist.device.type == "cpu"
    torch.testing.assert_close(idx, want_idx)
    torch.testing.assert_close(dist, want_dist, atol=1e-4, rtol=1e-4)
    on_device = torch.from_numpy(points).to(device)
    idx_default, _ = nearest_neighbors(on_device, 6)  # a device tensor with the default device="cpu"
    torch.testing.assert_close(idx_default, want_idx)


def test_the_per_batch_departures_match_the_cpu_and_never_sync(device):
    g = torch.Generator().manual_seed(0)
    gs = torch.softmax(torch.randn(14, 3, generator=g), 1)
    gn = torch.softmax(torch.randn(14, 5, 3, generator=g), 2)
    w = torch.rand(14, 5, generator=g) + 0.1
    dist = torch.sort(torch.rand(14, 5, generator=g) + 0.1, dim=1).values
    on = [t.to(device) for t in (gs, gn, w, dist)]
    with no_sync(device):
        got = {rule: closed_form_pi(*on[:3], rule) for rule in PI_UPDATES}
        row11 = batch_neighbor_weights("public_code_row11", on[2], on[3])
    for rule, pi in got.items():
        assert pi.device.type == device.type
        torch.testing.assert_close(pi.cpu(), closed_form_pi(gs, gn, w, rule), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(row11.cpu(), batch_neighbor_weights("public_code_row11", w, dist), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("samples", [1, None])
def test_an_epoch_on_the_device_keeps_pi_on_the_simplex_there(device, samples):
    X = data(N=40).to(device)
    graph = build_graph(X.cpu().numpy(), 4).to(device)
    net = tiny_networks().to(device)
    settings = TrainSettings(epochs=1, batch_size=8, n_neighbor_samples=samples, likelihood="bernoulli")
    optimizer, _ = make_optimizer(net, settings)
    pi = initial_pi(net.eval(), X, graph.indices, graph.weights)
    before = [p.detach().clone() for p in net.parameters()]
    means = run_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings)
    assert means.device.type == pi.device.type == device.type
    assert torch.isfinite(means).all()
    torch.testing.assert_close(pi.sum(1), torch.ones(40, device=device))
    assert any((p - b).abs().max() > 0 for p, b in zip(net.parameters(), before))


def test_training_on_the_device_resumes_from_its_checkpoint(device, tmp_path):
    X = data(N=20).to(device)
    graph = build_graph(X.cpu().numpy(), 3)
    settings = TrainSettings(epochs=3, batch_size=6, n_neighbor_samples=1)

    def stop_at_2(epoch, record):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_dgg(tiny_networks().to(device), X, graph, settings, checkpoint_path=tmp_path / "a.pt", on_epoch_end=stop_at_2)
    resumed = train_dgg(tiny_networks().to(device), X, graph, settings, checkpoint_path=tmp_path / "a.pt")
    assert resumed.resumed_from == 2 and len(resumed.history) == 3 and resumed.pi.device.type == device.type


def test_torch_seeded_repeats_the_draws_on_the_device_and_restores_the_callers(device):
    torch.manual_seed(1)
    after = torch.rand(3, device=device)
    torch.manual_seed(1)
    draws = []
    for _ in range(2):
        with torch_seeded(5, device):
            draws.append(torch.rand(4, device=device))
    torch.testing.assert_close(draws[0], draws[1])
    torch.testing.assert_close(torch.rand(3, device=device), after)


def test_the_estimators_fit_predict_save_and_load_on_the_device(device, blobs, tmp_path):
    for klass in (DGG, VaDE):
        params = {k: v for k, v in TINY_DGG.items() if k in klass().get_params()}
        model = klass(3, **{**params, "device": device.type}, random_state=0).fit(blobs.X)
        assert model.device_.type == device.type
        np.testing.assert_array_equal(model.predict(blobs.X), model.labels_)
        assert np.isfinite(model.score(blobs.X))
        loaded = klass.load(model.save(tmp_path / f"{klass.__name__}.pt"), device=device.type)
        np.testing.assert_array_equal(loaded.predict(blobs.X), model.labels_)


@pytest.mark.parametrize("step", ["eager", "compiled"])
def test_an_epoch_reads_from_the_device_once_after_its_last_batch(device, step):
    """No host synchronisation inside an epoch of Algorithm 1 (issue 22): on CUDA torch reports each one, and the
    only one allowed is the check for a non-finite loss after the last batch. (On the CPU the same epoch runs, and
    tests/test_fast_step.py counts the host reads of the compiled step.)"""
    X = data(N=40).to(device)
    graph = build_graph(X.cpu().numpy(), 4).to(device)
    net = tiny_networks().to(device)
    settings = TrainSettings(epochs=1, batch_size=8, n_neighbor_samples=2, likelihood="bernoulli", step=step)
    optimizer, _ = make_optimizer(net, settings)
    pi = initial_pi(net.eval(), X, graph.indices, graph.weights)
    run_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings)  # compiles, warms up
    if device.type != "cuda":
        run_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings, epoch=1)
        return
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with pytest.warns(UserWarning) as caught:
            run_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings, epoch=1)
    finally:
        torch.cuda.set_sync_debug_mode(previous)
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    assert len(syncs) == 1, [str(w.message) for w in syncs]
