"""Algorithm 1, pretraining and the estimator change what they claim to change.

Each test is named after the mistake it catches. ``tests/mutation_check.py``
makes each mistake on purpose and lists the tests that go red (README,
"Tests that catch a broken model").
"""
import numpy as np
import torch
from tiny_model import data, deterministic_posterior, tiny_networks

import dggbook.model.dgg as dgg_module
from dggbook.book import seed_everything
from dggbook.model.algorithm1 import TrainSettings, cluster_posterior, graph_objective, sample_neighbors, train_dgg
from dggbook.model.data import make_blobs_data
from dggbook.model.dgg import DGG
from dggbook.model.graph import build_graph
from dggbook.model.pretrain import PretrainSettings, build_networks, finetune_autoencoder, latent_means, pretrain


def tiny():
    return deterministic_posterior(tiny_networks())


def changed(before: dict, net: torch.nn.Module, prefix: str) -> bool:
    return any(not torch.equal(before[name], value) for name, value in net.state_dict().items()
               if name.startswith(prefix))


def test_an_epoch_moves_the_networks_and_the_gmm_prior():
    """Catches: no optimizer step in Algorithm 1; GMM means/variances left out of the optimizer."""
    net, X = tiny(), data()
    graph = build_graph(X.numpy(), 3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    train_dgg(net, X, graph, TrainSettings(epochs=1, batch_size=12))
    for part in ("encoder.", "decoder.", "classifier.", "gmm.means", "gmm.logvars"):
        assert changed(before, net, part), f"{part} did not change in an epoch of Algorithm 1"


def test_training_raises_the_graph_objective():
    """Catches: no optimizer step (the objective (3) would stay where it started)."""
    net, X = tiny(), data()
    graph = build_graph(X.numpy(), 3)
    anchors = torch.arange(12)
    pi = torch.full((12, 3), 1 / 3)

    def objective():
        with torch.no_grad():
            return -graph_objective(net, X, anchors, graph.indices, graph.weights, pi, TrainSettings(likelihood="bernoulli")).loss

    start = objective()
    train_dgg(net, X, graph, TrainSettings(epochs=30, batch_size=12, lr=1e-2))
    assert objective() > start + 1.0


def test_neighbour_posteriors_come_from_the_neighbours():
    """Catches: the cross ELBO L(x_i, x_j) encoding x_i instead of x_j (eq. (5))."""
    net, X = tiny(), data()
    anchors, nb = torch.tensor([0, 1]), torch.tensor([[5, 9], [2, 11]])
    out = graph_objective(net, X, anchors, nb, torch.full((2, 2), 0.5), torch.full((2, 3), 1 / 3),
                          TrainSettings(likelihood="bernoulli", f2_input="mean"))
    torch.testing.assert_close(out.gamma_neighbors, cluster_posterior(net, X)[nb])
    assert not torch.allclose(out.gamma_neighbors[:, 0], out.gamma_anchor)


def test_sampled_objective_is_unbiased_within_four_standard_errors():
    """The S = 1 estimate averages to the exact objective; uniform draws would miss it by far more.

    Catches: neighbours drawn uniformly instead of in proportion to w_ij. The test
    first checks that it has the power to see that mistake (the uniform-weight
    objective lies more than 10 standard errors away), then that the mean is
    within 4 standard errors of the exact value.
    """
    net, X = tiny(), data()
    anchors, nb = torch.tensor([0, 1]), torch.tensor([[2, 3, 4], [5, 6, 7]])
    w = torch.tensor([[0.8, 0.15, 0.05], [0.05, 0.15, 0.8]])
    pi = torch.full((2, 3), 1 / 3)
    settings = TrainSettings(likelihood="bernoulli")
    with torch.no_grad():
        exact = float(graph_objective(net, X, anchors, nb, w, pi, settings).loss)
        uniform = float(graph_objective(net, X, anchors, nb, torch.full_like(w, 1 / 3), pi, settings).loss)
        torch.manual_seed(0)
        draws = torch.stack([graph_objective(net, X, anchors, *sample_neighbors(nb, w, 1), pi, settings).loss
                             for _ in range(4000)]).double()
    se = float(draws.std() / np.sqrt(len(draws)))
    assert abs(uniform - exact) > 10 * se, "the test could not tell uniform sampling apart"
    assert abs(float(draws.mean()) - exact) < 4 * se


def test_estimator_trains_on_the_knn_graph(monkeypatch):
    """Catches: fit passing the self graph (the no-graph baseline) to Algorithm 1."""
    blobs = make_blobs_data(120, 3, 6, random_state=0)
    seen = {}
    original = dgg_module.train_dgg

    def spy(networks, X, graph, *args, **kwargs):
        seen["graph"] = graph
        return original(networks, X, graph, *args, **kwargs)

    monkeypatch.setattr(dgg_module, "train_dgg", spy)
    model = DGG(3, likelihood="gaussian", noise_var=0.05, latent_dim=2, hidden_dims=(16, 16, 32), n_neighbors=5,
                neighbor_selection="nearest", weights="uniform", layerwise_epochs=1, autoencoder_epochs=2,
                vae_epochs=1, classifier_epochs=2, epochs=1, init="kmeans", graph_space="input", device="cpu",
                cache_dir=False, random_state=0)
    model.fit(blobs.X)
    expected = build_graph(blobs.X, 5, selection="nearest", weights="uniform")
    torch.testing.assert_close(seen["graph"].indices, expected.indices)
    assert seen["graph"] is model.graph_
    assert not torch.equal(seen["graph"].indices[:, 0], torch.arange(120))


def test_every_pretraining_stage_runs_its_epochs():
    """Catches: a stage (here the end-to-end fine-tuning, the second one) running zero epochs."""
    blobs = make_blobs_data(150, 3, 6, random_state=0)
    settings = PretrainSettings(latent_dim=2, hidden_dims=(16, 16, 32), layerwise_epochs=2, autoencoder_epochs=4,
                                vae_epochs=3, classifier_epochs=5, handover_epochs=2, pretrain_batch_size=50,
                                likelihood="gaussian", noise_var=0.05)
    result = pretrain(blobs.X, 3, settings, random_state=0, device="cpu", cache_dir=False)
    assert {k: len(v) for k, v in result.history.items() if k != "layerwise"} == \
        {"autoencoder": 4, "vae": 3, "classifier": 5, "handover": 2}
    assert all(len(v) == 2 for v in result.history["layerwise"].values())


def test_end_to_end_fine_tuning_changes_the_latent_means():
    """Catches: the second pretraining stage skipped (mu~ would be the layer-wise one)."""
    seed_everything(0)
    settings = PretrainSettings(latent_dim=2, hidden_dims=(16, 16, 32), autoencoder_epochs=3, pretrain_batch_size=50,
                                likelihood="gaussian", noise_var=0.05)
    X = torch.as_tensor(make_blobs_data(150, 3, 6, random_state=0).X)
    net = build_networks(6, 3, settings)
    before = latent_means(net.eval(), X)
    losses = finetune_autoencoder(net.train(), X, settings)
    assert len(losses) == 3
    assert not torch.allclose(latent_means(net.eval(), X), before)
