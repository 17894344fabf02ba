"""The failure-mode diagnostics: the trace runs Algorithm 1 itself, and one step's shift grows with the width."""
import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from dggbook.model.algorithm1 import train_dgg
from dggbook.model.diagnostics import first_step_shift, latent_statistics, trace_algorithm1
from dggbook.model.graph import build_graph
from dggbook.model.likelihoods import MIN_NOISE_VAR, reconstruction_noise_var
from dggbook.model.networks import DGGNetworks
from dggbook.model.settings import TrainSettings

from tiny_model import data, tiny_networks


def _graph(X, k=3):
    return build_graph(X.numpy(), k, selection="nearest", weights="uniform", random_state=0)


def test_the_trace_trains_exactly_as_train_dgg_does():
    X = data(N=24)
    graph = _graph(X)
    settings = TrainSettings(epochs=2, batch_size=8, likelihood="bernoulli", n_neighbor_samples=1)
    traced, trained = tiny_networks(), tiny_networks()
    records = trace_algorithm1(traced, X, graph, settings, seed=3)
    torch.manual_seed(3)
    train_dgg(trained, X, graph, settings)
    for (name, a), b in zip(traced.state_dict().items(), trained.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["epoch"] for r in records] == [0, 1, 2]
    assert all(sum(r["cluster_sizes"]) == 24 and np.isclose(sum(r["pi_mean"]), 1.0) for r in records)
    assert "total" in records[1] and "total" not in records[0]


def test_one_adam_step_moves_the_latent_means_further_through_a_wider_network():
    X_np, _ = make_blobs(120, 4, centers=3, random_state=0)
    X = torch.as_tensor((X_np - X_np.min()) / np.ptp(X_np), dtype=torch.float32)
    graph = _graph(X, k=5)
    settings = TrainSettings(epochs=1, batch_size=60, likelihood="bernoulli", n_neighbor_samples=1, lr=2e-3)
    shifts = []
    for width in (8, 512):
        torch.manual_seed(0)
        net = DGGNetworks(4, 3, latent_dim=3, hidden_dims=(width, width, 4 * width))
        before = [p.detach().clone() for p in net.parameters()]
        shifts.append(first_step_shift(net, X, graph, settings))
        assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # a copy took the step
    assert shifts[1] > 5 * shifts[0] > 0


def test_latent_statistics_and_the_measured_noise_variance():
    net = tiny_networks()
    X = data(N=30)
    stats = latent_statistics(net, X)
    mu = net.encoder(X)[0].detach()
    assert stats["latent_spread"] == pytest.approx(float(mu.std(dim=0).mean()), rel=1e-6)
    assert stats["spread_over_sigma"] == pytest.approx(stats["latent_spread"] / stats["posterior_sigma"])
    expected = float((X - net.decoder(mu).detach()).double().pow(2).mean())
    assert reconstruction_noise_var(net.encoder, net.decoder, X, batch_size=7) == pytest.approx(expected, rel=1e-6)
    perfect = (lambda x: (x, x)), (lambda z: z)
    assert reconstruction_noise_var(*perfect, X) == MIN_NOISE_VAR
