"""VaDE as published (dggbook.model.vade): global learnt pi, the GMM's Bayes posterior, DGG's networks and API."""
import numpy as np
import pytest
import torch
from scipy.special import softmax
from scipy.stats import multivariate_normal
from tiny_model import TINY_DGG, tiny_networks

import dggbook
from dggbook.derivation.elbo import elbo_terms, gaussian_log_likelihood
from dggbook.model.data import make_blobs_data
from dggbook.model.metrics import cluster_accuracy
from dggbook.model.networks import reparameterize
from dggbook.model.settings import TrainSettings
from dggbook.model.vade import VaDE, bayes_posterior, vade_loss

TINY_VADE = {k: v for k, v in TINY_DGG.items() if k in VaDE().get_params()}


@pytest.fixture(scope="module")
def blobs():
    return make_blobs_data(150, 3, 6, random_state=0)


@pytest.fixture(scope="module")
def fitted(blobs):
    return VaDE(3, **{**TINY_VADE, "epochs": 5}, random_state=0).fit(blobs.X, blobs.y)


def test_bayes_posterior_is_pi_times_gaussian_normalised():
    net = tiny_networks(K=3, M=2)
    with torch.no_grad():
        net.gmm.logvars.copy_(torch.tensor([[0.0, 0.3], [-0.2, 0.1], [0.4, -0.5]]))
    z = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    log_pi = torch.log(torch.tensor([0.5, 0.3, 0.2]))
    gamma = bayes_posterior(z, log_pi, net).detach().numpy()
    means, variances = net.gmm.means.detach().numpy(), net.gmm.logvars.exp().detach().numpy()
    dens = np.stack([multivariate_normal(means[k], np.diag(variances[k])).logpdf(z.numpy()) for k in range(3)], 1)
    np.testing.assert_allclose(gamma, softmax(np.log([0.5, 0.3, 0.2]) + dens, axis=1), rtol=1e-5)


def test_the_loss_is_minus_the_elbo_with_the_global_prior_and_the_bayes_posterior():
    """VaDE eq. (17), term by term from elbo_terms: pi enters term 3 as the global prior, not as gamma."""
    net = tiny_networks(K=3, M=2)
    x = torch.rand(8, 6, generator=torch.Generator().manual_seed(1))
    pi_logits = torch.tensor([0.4, -0.2, 0.1])
    settings = TrainSettings(likelihood="gaussian", noise_var=0.5)
    torch.manual_seed(0)
    loss = vade_loss(net, pi_logits, x, settings)
    torch.manual_seed(0)
    mu, logvar = net.encoder(x)
    z = reparameterize(mu, logvar)
    pi = torch.softmax(pi_logits, 0)
    gamma = bayes_posterior(z, torch.log(pi), net)
    recon = gaussian_log_likelihood(x, net.decoder(z), noise_var=0.5)
    terms = elbo_terms(recon, mu, logvar, gamma, pi.expand_as(gamma), net.gmm.means, net.gmm.logvars)
    torch.testing.assert_close(loss, -terms.total.mean())


def test_vade_finds_blobs_and_learns_a_global_prior(fitted, blobs):
    assert cluster_accuracy(blobs.y, fitted.labels_) > 0.95
    assert fitted.pi_.shape == (3,) and fitted.pi_.sum() == pytest.approx(1.0, abs=1e-6)
    start = np.bincount(fitted.start_labels_, minlength=3) + 1.0
    assert not np.allclose(fitted.pi_, start / start.sum(), atol=1e-6)  # pi was trained, not left at the start
    assert len(fitted.history_) == 5 and {"loss", "acc", "nmi"} <= set(fitted.history_[0])
    assert fitted.start_agreement_ > 0.9


def test_predictions_are_the_bayes_posterior_at_the_latent_mean(fitted, blobs):
    proba = fitted.predict_proba(blobs.X)
    z = torch.as_tensor(fitted.transform(blobs.X))
    expected = bayes_posterior(z, torch.log(torch.as_tensor(fitted.pi_)), fitted.networks_).detach().numpy()
    np.testing.assert_allclose(proba, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(fitted.predict(blobs.X), fitted.labels_)


def test_the_same_seed_gives_the_same_model_and_leaves_the_callers_rng_alone(blobs):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = VaDE(3, **TINY_VADE, random_state=4).fit(blobs.X)
    assert torch.rand(1) == before
    b = VaDE(3, **TINY_VADE, random_state=4).fit(blobs.X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.pi_, b.pi_)


def test_save_and_load_restore_the_predictions(fitted, blobs, tmp_path):
    path = fitted.save(tmp_path / "vade.pt")
    loaded = VaDE.load(path)
    np.testing.assert_allclose(loaded.predict_proba(blobs.X), fitted.predict_proba(blobs.X), rtol=1e-6)
    assert loaded.start_agreement_ == fitted.start_agreement_
    assert (loaded.start_source_, loaded.start_cuts_) == (fitted.start_source_, fitted.start_cuts_)
    with pytest.raises(ValueError, match="not a DGG file: it holds a VaDE; load it with VaDE.load"):
        dggbook.DGG.load(path)


@pytest.mark.parametrize("params, name", [
    ({"lr": -1.0}, "lr"), ({"init": "spectral"}, "init"), ({"epochs": 2.5}, "epochs"),
    ({"device": "gpu"}, "device"), ({"hidden_dims": (8, 0)}, "hidden_dims"), ({"random_state": -1}, "random_state"),
])
def test_bad_parameters_fail_before_pretraining(params, name, blobs, monkeypatch):
    monkeypatch.setattr("dggbook.model.vade.pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    with pytest.raises(ValueError, match=name):
        VaDE(3, **{**TINY_VADE, **params}).fit(blobs.X)


def test_bad_data_gets_scikit_learns_message(blobs):
    with pytest.raises(ValueError, match="2D array"):
        VaDE(3, **TINY_VADE).fit(blobs.X[:, 0])
    with pytest.raises(ValueError, match="n_clusters"):
        VaDE(200, **TINY_VADE).fit(blobs.X)


def test_dggbook_exports_vade():
    assert dggbook.VaDE is VaDE
