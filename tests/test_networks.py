"""The networks f1, g, f2 and the GMM parameters (notebook 01)."""
import pytest
import torch
from torch import nn

from dggbook.model.networks import (
    PAPER_HIDDEN_DIMS,
    Classifier,
    Decoder,
    DGGNetworks,
    Encoder,
    GaussianMixture,
    reparameterize,
)


def test_paper_architecture_sizes():
    enc = Encoder(784, 10)
    dec = Decoder(10, 784)
    assert [(l.in_features, l.out_features) for l in enc.layers()] == [(784, 500), (500, 500), (500, 2000), (2000, 10)]
    assert [(l.in_features, l.out_features) for l in dec.layers()] == [(10, 2000), (2000, 500), (500, 500), (500, 784)]
    assert PAPER_HIDDEN_DIMS == (500, 500, 2000)


def test_encoder_decoder_shapes_with_tiny_sizes():
    enc, dec = Encoder(7, 3, (5, 4)), Decoder(3, 7, (5, 4))
    mu, logvar = enc(torch.rand(6, 7))
    assert mu.shape == logvar.shape == (6, 3)
    assert dec(mu).shape == (6, 7)


def test_encoder_and_decoder_layers_mirror_each_other():
    enc, dec = Encoder(9, 2, (6, 5, 4)), Decoder(2, 9, (6, 5, 4))
    for e, d in zip(enc.layers(), reversed(dec.layers())):
        assert (e.in_features, e.out_features) == (d.out_features, d.in_features)


def test_classifier_is_small_and_outputs_probabilities():
    f2 = Classifier(4, 3)
    assert sum(p.numel() for p in f2.parameters()) == 4 * 3 + 3  # logistic regression by default
    gamma = f2.proba(torch.randn(8, 4))
    assert gamma.shape == (8, 3)
    torch.testing.assert_close(gamma.sum(1), torch.ones(8))
    assert len([m for m in Classifier(4, 3, (6,)).modules() if isinstance(m, nn.Linear)]) == 2


def test_gaussian_mixture_parameters_are_learnable_and_settable():
    gmm = GaussianMixture(3, 2)
    names = {n for n, _ in gmm.named_parameters()}
    assert names == {"means", "logvars"}
    gmm.set_(torch.ones(3, 2), torch.full((3, 2), 4.0))
    torch.testing.assert_close(gmm.logvars.exp(), torch.full((3, 2), 4.0))
    assert gmm.n_clusters == 3


def test_dgg_networks_bundle_moves_and_saves_together():
    net = DGGNetworks(5, 3, latent_dim=2, hidden_dims=(4,))
    keys = set(net.state_dict())
    assert {"gmm.means", "gmm.logvars", "classifier.net.0.weight", "encoder.mean_head.weight"} <= keys
    assert net.to("cpu").device.type == "cpu"


def test_reparameterize_has_the_right_moments():
    torch.manual_seed(0)
    mu, logvar = torch.full((20000, 1), 2.0), torch.full((20000, 1), torch.log(torch.tensor(0.25)))
    z = reparameterize(mu, logvar)
    assert abs(z.mean().item() - 2.0) < 0.02
    assert abs(z.var().item() - 0.25) < 0.01


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="hidden_dims"):
        Encoder(5, 2, (0, 3))


def test_gamma_never_underflows_so_gamma_log_gamma_has_finite_gradients():
    f2 = Classifier(2, 3)
    with torch.no_grad():
        f2.net[0].weight.mul_(1e4)  # logits far apart: a plain softmax gives exact zeros
    z = torch.randn(5, 2, requires_grad=True)
    gamma = f2.proba(z)
    assert (gamma > 0).all()
    torch.special.xlogy(gamma, gamma).sum().backward()  # the entropy part of term 3, eq. (4)
    assert torch.isfinite(z.grad).all()
