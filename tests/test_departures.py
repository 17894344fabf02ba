"""Algorithm 1 trains with the blog's, the paper's or the public code's version of a step when asked (notebook 08)."""
import pytest
import torch
from tiny_model import data, deterministic_posterior, tiny_networks

from dggbook.derivation.affinity import normalize_rows
from dggbook.derivation.gaussian import LOG_2PI
from dggbook.derivation.pi_update import update_pi
from dggbook.derivation.reproductions import blog_printed_pi, public_code_gauss_weights, public_code_row11_batch_weights
from dggbook.model.algorithm1 import TrainSettings, cluster_posterior, graph_objective, train_dgg
from dggbook.model import algorithm1
from dggbook.model.departures import batch_neighbor_weights, pi_update_rule
from dggbook.model.graph import build_graph
from dggbook.model.settings import PI_UPDATES


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    gamma_self = torch.softmax(torch.randn(5, 3, generator=g), 1)
    gamma_nb = torch.softmax(torch.randn(5, 4, 3, generator=g), 2)
    weights = torch.rand(5, 4, generator=g) + 0.1
    return gamma_self, gamma_nb, weights / weights.sum(1, keepdim=True)


def test_the_blog_rule_is_the_printed_formula_renormalised_and_differs_from_eq_31():
    gs, gn, w = _batch()
    got = pi_update_rule("blog_printed")(gs, gn, w)
    torch.testing.assert_close(got, normalize_rows(blog_printed_pi(gs, gn, w)))
    torch.testing.assert_close(got.sum(1), torch.ones(5))
    assert (got - update_pi(gs, gn, w)).abs().max() > 0.05


def test_the_blog_rule_takes_0_over_0_as_0():
    gs = torch.tensor([[1.0, 0.0, 0.0]])
    gn = torch.tensor([[[1.0, 0.0, 0.0]]])
    got = pi_update_rule("blog_printed")(gs, gn, torch.ones(1, 1))
    torch.testing.assert_close(got, torch.tensor([[1.0, 0.0, 0.0]]))


def test_the_public_code_rule_ignores_the_weights_and_equals_eq_31_when_they_are_uniform():
    gs, gn, w = _batch()
    uniform = torch.full_like(w, 0.25)
    rule = pi_update_rule("public_code")
    torch.testing.assert_close(rule(gs, gn, w), update_pi(gs, gn, uniform))
    assert (rule(gs, gn, w) - update_pi(gs, gn, w)).abs().max() > 1e-3


def test_row11_batch_weights_are_the_public_codes_columns_normalised():
    g = torch.Generator().manual_seed(0)
    dist = torch.sort(torch.rand(20, 6, generator=g) + 0.1, dim=1).values
    got = public_code_row11_batch_weights(dist)
    code = public_code_gauss_weights(torch.cat([torch.zeros(20, 1), dist**2], 1))
    torch.testing.assert_close(got, normalize_rows(code[:, 1:]))
    # every row divides column j by the same sigma_j: the 12th anchor's, not its own
    sigma = dist[11] ** 2
    torch.testing.assert_close(got[3], torch.softmax(-dist[3] ** 2 / sigma, 0))
    short = public_code_row11_batch_weights(dist[:5])  # a last batch with no row 11 uses its last row
    torch.testing.assert_close(short[0], torch.softmax(-dist[0] ** 2 / dist[4] ** 2, 0))


def test_every_pi_update_named_in_the_settings_has_a_rule():
    gs, gn, w = _batch()
    for name in PI_UPDATES:
        torch.testing.assert_close(pi_update_rule(name)(gs, gn, w).sum(1), torch.ones(5))


def test_row11_weights_never_give_nan_even_when_sigma_is_zero():
    dist = torch.full((12, 3), 10.0)
    dist[11] = 0.0  # the 12th anchor has 3 duplicates: every sigma_j is 0
    got = public_code_row11_batch_weights(dist)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.sum(1), torch.ones(12))


def test_unknown_names_raise_naming_the_argument():
    with pytest.raises(ValueError, match="pi_update"):
        pi_update_rule("printed")
    with pytest.raises(ValueError, match="batch_weights"):
        batch_neighbor_weights("row11", torch.ones(1, 1), torch.ones(1, 1))


def test_coefficient_one_doubles_term_2_and_nothing_else():
    net, X = deterministic_posterior(tiny_networks()), data()
    anchors, nb = torch.tensor([0, 3, 5]), torch.tensor([[1, 2], [4, 0], [7, 9]])
    w, pi = torch.full((3, 2), 0.5), torch.full((3, 3), 1 / 3)
    half = graph_objective(net, X, anchors, nb, w, pi, TrainSettings(likelihood="bernoulli"))
    one = graph_objective(net, X, anchors, nb, w, pi, TrainSettings(likelihood="bernoulli", prior_z_coefficient=1.0))
    torch.testing.assert_close(one.term_means[1], 2 * half.term_means[1])
    torch.testing.assert_close(one.term_means[[0, 2, 3]], half.term_means[[0, 2, 3]])


def test_dropping_the_constants_moves_terms_2_and_4_but_not_the_total():
    net, X = deterministic_posterior(tiny_networks()), data()
    anchors, nb = torch.tensor([0, 3, 5]), torch.tensor([[1, 2], [4, 0], [7, 9]])
    w, pi = torch.full((3, 2), 0.5), torch.full((3, 3), 1 / 3)
    kept = graph_objective(net, X, anchors, nb, w, pi, TrainSettings(likelihood="bernoulli"))
    dropped = graph_objective(net, X, anchors, nb, w, pi, TrainSettings(likelihood="bernoulli", elbo_constants=False))
    shift = 0.5 * 2 * LOG_2PI  # (M/2) ln 2pi, M = 2
    torch.testing.assert_close(dropped.term_means[1] - kept.term_means[1], torch.tensor(shift), atol=1e-4, rtol=0)
    torch.testing.assert_close(kept.term_means[3] - dropped.term_means[3], torch.tensor(shift), atol=1e-4, rtol=0)
    torch.testing.assert_close(dropped.loss, kept.loss, atol=1e-4, rtol=0)


def test_training_updates_pi_by_the_rule_it_is_given():
    X = data()
    graph = build_graph(X.numpy(), 3)
    net = tiny_networks()
    gamma = cluster_posterior(net, X)
    settings = TrainSettings(epochs=1, batch_size=12, n_neighbor_samples=None, pi_update="blog_printed")
    result = train_dgg(net, X, graph, settings)
    want = pi_update_rule("blog_printed")(gamma, gamma[graph.indices], graph.weights)
    torch.testing.assert_close(result.pi, want)


def test_training_with_row11_weights_samples_from_them(monkeypatch):
    X = data(N=24)
    graph = build_graph(X.numpy(), 4, weights="local_scaling", local_scale_k=3)
    seen = []

    def recording(indices, weights, n_samples):
        seen.append(weights.clone())
        return algorithm1.sample_neighbors.__wrapped__(indices, weights, n_samples)

    recording.__wrapped__ = algorithm1.sample_neighbors
    monkeypatch.setattr(algorithm1, "sample_neighbors", recording)
    monkeypatch.setattr(algorithm1, "minibatch_indices", lambda n, b, device: [torch.arange(n)])  # anchors in order
    train_dgg(tiny_networks(), X, graph, TrainSettings(epochs=1, batch_size=24, n_neighbor_samples=1,
                                                       batch_weights="public_code_row11"))
    torch.testing.assert_close(seen[0], public_code_row11_batch_weights(graph.distances))
    assert (seen[0] - graph.weights).abs().max() > 1e-3


def test_training_with_row11_weights_uses_them_in_the_objective():
    X = data(N=24)
    graph = build_graph(X.numpy(), 4, weights="local_scaling", local_scale_k=3)
    base = dict(epochs=1, batch_size=24, n_neighbor_samples=None, lr=1e-2)
    runs = {}
    for name in ("graph", "public_code_row11"):
        torch.manual_seed(0)
        net = tiny_networks()
        train_dgg(net, X, graph, TrainSettings(**base, batch_weights=name))
        runs[name] = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    # one step from the same networks and draws: the weights are the only difference, so the steps differ
    assert (runs["graph"] - runs["public_code_row11"]).abs().max() > 1e-6
