"""Algorithm 1: the graph objective, neighbour sampling, the pi update, NaN stops, checkpoints."""
import numpy as np
import pytest
import torch
from tiny_model import data, deterministic_posterior, tiny_networks

from dggbook.derivation import elbo
from dggbook.derivation.pi_update import update_pi
from dggbook.model.algorithm1 import (
    TrainSettings,
    cluster_posterior,
    elbo_of_pairs,
    graph_objective,
    sample_neighbors,
    train_dgg,
)
from dggbook.model.graph import NeighborGraph, build_graph, self_graph


def test_elbo_of_pairs_is_elbo_terms_with_the_neighbours_posterior_and_the_anchors_prior():
    net, X = tiny_networks(), data()
    xi, xj = X[:4], X[4:8]
    pi = torch.softmax(torch.randn(4, 3), 1)
    torch.manual_seed(1)
    got = elbo_of_pairs(net, xi, xj, pi, likelihood="gaussian", noise_var=0.5, f2_input="sample")
    torch.manual_seed(1)
    mu, logvar = net.encoder(xj)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    gamma = net.classifier.proba(z)
    recon = elbo.gaussian_log_likelihood(xi, net.decoder(z), noise_var=0.5)
    want = elbo.elbo_terms(recon, mu, logvar, gamma, pi, net.gmm.means, net.gmm.logvars)
    for a, b in zip(got.terms, want):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(got.gamma, gamma)


def test_graph_objective_is_half_the_weighted_double_sum():
    """-(1/B) sum_i 1/2 sum_j w_ij [L(x_i) + L(x_i, x_j)], checked by an explicit loop (blog step (3))."""
    net, X = deterministic_posterior(tiny_networks()), data()
    anchors = torch.tensor([0, 3, 5])
    nb = torch.tensor([[1, 2], [4, 0], [7, 9]])
    w = torch.tensor([[0.75, 0.25], [0.5, 0.5], [0.1, 0.9]])
    pi = torch.softmax(torch.randn(3, 3), 1)
    settings = TrainSettings(likelihood="bernoulli")
    out = graph_objective(net, X, anchors, nb, w, pi, settings)
    total = 0.0
    for b, i in enumerate(anchors):
        L_self = elbo_of_pairs(net, X[i:i + 1], X[i:i + 1], pi[b:b + 1]).terms.total
        for j in range(2):
            x_j = X[nb[b, j]:nb[b, j] + 1]
            L_cross = elbo_of_pairs(net, X[i:i + 1], x_j, pi[b:b + 1]).terms.total
            total = total + 0.5 * w[b, j] * (L_self + L_cross)
    torch.testing.assert_close(out.loss, -(total / 3).squeeze(), rtol=1e-5, atol=1e-5)
    assert out.gamma_anchor.shape == (3, 3) and out.gamma_neighbors.shape == (3, 2, 3)


def test_sampled_neighbours_follow_the_weights_and_are_reweighted():
    torch.manual_seed(0)
    idx = torch.tensor([[10, 11, 12]]).expand(20000, 3)
    w = torch.tensor([[0.7, 0.2, 0.1]]).expand(20000, 3)
    drawn, dw = sample_neighbors(idx, w, 1)
    freq = torch.bincount(drawn[:, 0] - 10, minlength=3).double() / 20000
    torch.testing.assert_close(freq, torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64), atol=0.01, rtol=0)
    torch.testing.assert_close(dw, torch.ones(20000, 1))  # (sum_j w_ij) / S
    assert sample_neighbors(idx, w, None)[0] is idx
    assert sample_neighbors(idx, w, 3)[0] is idx  # S >= J: exact, all neighbours


def test_cost_is_s_plus_one_passes_per_anchor():
    net, X = tiny_networks(), data()
    rows = []
    net.encoder.register_forward_hook(lambda m, inp, out: rows.append(inp[0].shape[0]) if m.training else None)
    graph = build_graph(X.numpy(), 4)
    for S, expected in ((None, 5 * 12), (1, 2 * 12)):
        rows.clear()
        train_dgg(net, X, graph, TrainSettings(epochs=1, batch_size=12, n_neighbor_samples=S))
        assert rows == [expected]  # one training batch of 12 anchors: B (S + 1) encoder rows


def test_pi_is_updated_by_eq_31_from_the_batch_posteriors():
    net, X = tiny_networks(), data()
    graph = build_graph(X.numpy(), 3)
    gamma = cluster_posterior(net, X)  # f2(mu~) before the step, as the batch sees it
    result = train_dgg(net, X, graph, TrainSettings(epochs=1, batch_size=12, f2_input="mean", n_neighbor_samples=None))
    torch.testing.assert_close(result.pi, update_pi(gamma, gamma[graph.indices], graph.weights))
    torch.testing.assert_close(result.pi.sum(1), torch.ones(12))


def test_history_records_terms_and_monitoring_scores():
    net, X = tiny_networks(), data()
    y = np.arange(12) % 3
    result = train_dgg(net, X, self_graph(12), TrainSettings(epochs=2, batch_size=5), y=y)
    assert len(result.history) == 2
    record = result.history[-1]
    assert {"reconstruction", "prior_z", "prior_c", "entropy_z", "total", "loss", "acc", "nmi", "lr"} <= set(record)
    parts = sum(record[k] for k in ("reconstruction", "prior_z", "prior_c", "entropy_z"))
    assert parts == pytest.approx(record["total"], rel=1e-4, abs=1e-4)


def test_nan_loss_stops_training_naming_epoch_and_batch(monkeypatch):
    net, X = tiny_networks(), data()
    calls = {"n": 0}
    forward = net.decoder.forward

    def poisoned(z):
        calls["n"] += 1
        out = forward(z)
        return out * float("nan") if calls["n"] == 5 else out  # epoch 2 (3 batches each), batch 2

    monkeypatch.setattr(net.decoder, "forward", poisoned)
    with pytest.raises(FloatingPointError, match=r"epoch 2, batch 2"):
        train_dgg(net, X, self_graph(12), TrainSettings(epochs=3, batch_size=4))


def _interrupt_at(epoch):
    def callback(done, record):
        if done == epoch:
            raise KeyboardInterrupt

    return callback


def test_interrupted_training_resumes_to_the_same_result(tmp_path):
    X = data(N=20)
    graph = build_graph(X.numpy(), 3)
    settings = TrainSettings(epochs=4, batch_size=6, n_neighbor_samples=1, f2_input="sample")

    straight_net = tiny_networks(D=6)
    torch.manual_seed(123)
    straight = train_dgg(straight_net, X, graph, settings, checkpoint_path=tmp_path / "a.pt")

    net = tiny_networks(D=6)
    torch.manual_seed(123)
    with pytest.raises(KeyboardInterrupt):
        train_dgg(net, X, graph, settings, checkpoint_path=tmp_path / "b.pt", on_epoch_end=_interrupt_at(2))
    torch.manual_seed(999)  # whatever happens in between, the checkpoint restores the RNG
    resumed_net = tiny_networks(D=6, seed=5)  # even different starting weights: they are overwritten
    resumed = train_dgg(resumed_net, X, graph, settings, checkpoint_path=tmp_path / "b.pt")

    assert resumed.resumed_from == 2
    for key, value in straight_net.state_dict().items():
        torch.testing.assert_close(resumed_net.state_dict()[key], value)
    torch.testing.assert_close(resumed.pi, straight.pi)
    assert [r["total"] for r in resumed.history] == pytest.approx([r["total"] for r in straight.history])


def test_a_checkpoint_from_other_settings_is_not_resumed(tmp_path):
    X = data()
    graph = build_graph(X.numpy(), 3)
    train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=1, batch_size=6), checkpoint_path=tmp_path / "c.pt")
    other = train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=1, batch_size=6, lr=1e-3),
                      checkpoint_path=tmp_path / "c.pt")
    assert other.resumed_from == 0


def test_a_finished_checkpoint_continues_when_more_epochs_are_asked(tmp_path):
    X = data()
    graph = build_graph(X.numpy(), 3)
    train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=2, batch_size=6), checkpoint_path=tmp_path / "d.pt")
    more = train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=3, batch_size=6),
                     checkpoint_path=tmp_path / "d.pt")
    assert more.resumed_from == 2 and len(more.history) == 3


def test_neighbour_graph_with_unnormalised_rows_keeps_the_self_weight_in_proportion():
    """1/2 sum_j w_ij L(x_i): the self term scales with the row sum (blog step (3) without normalisation)."""
    net, X = deterministic_posterior(tiny_networks()), data()
    anchors, nb = torch.tensor([0]), torch.tensor([[0]])
    pi = torch.full((1, 3), 1 / 3)
    one = graph_objective(net, X, anchors, nb, torch.tensor([[1.0]]), pi, TrainSettings(likelihood="bernoulli")).loss
    two = graph_objective(net, X, anchors, nb, torch.tensor([[2.0]]), pi, TrainSettings(likelihood="bernoulli")).loss
    torch.testing.assert_close(two, 2 * one)


def test_bad_train_settings_raise():
    for bad in (dict(f2_input="x"), dict(n_neighbor_samples=0), dict(likelihood="x"), dict(epochs=-1)):
        with pytest.raises(ValueError):
            TrainSettings(**bad)


def test_works_with_any_graph_object():
    net, X = tiny_networks(), data()
    graph = NeighborGraph(torch.arange(12)[:, None].roll(1, 0), torch.ones(12, 1), torch.zeros(12, 1))
    assert train_dgg(net, X, graph, TrainSettings(epochs=1, batch_size=12)).pi.shape == (12, 3)
