"""Initialisation before Algorithm 1: SDAE, VAE, k-means -> GMM, f2 (notebook 07) and its cache."""
import numpy as np
import pytest
import torch

from dggbook.book import seed_everything
from dggbook.derivation import elbo
from dggbook.derivation.gaussian import kl_normal_diag
from dggbook.model.cache import CACHE_ENV, cache_key, data_fingerprint
from dggbook.model.data import make_blobs_data
from dggbook.model.pretrain import (
    PretrainSettings,
    build_networks,
    finetune_autoencoder,
    init_gmm_from_labels,
    pretrain,
    pretrain_layerwise,
)

TINY = dict(latent_dim=3, hidden_dims=(16, 16, 32), layerwise_epochs=3, autoencoder_epochs=15, vae_epochs=3,
            classifier_epochs=60, pretrain_batch_size=32, likelihood="gaussian", noise_var=0.01, init="kmeans",
            classifier_hidden_dims=())


@pytest.fixture(scope="module")
def blobs():
    return make_blobs_data(240, 3, 6, random_state=0)


def test_layerwise_then_end_to_end_reduce_the_loss(blobs):
    seed_everything(0)
    settings = PretrainSettings(**TINY)
    net = build_networks(blobs.n_features, 3, settings)
    X = torch.as_tensor(blobs.X)
    history = pretrain_layerwise(net, X, settings)
    assert set(history) == {"layer0", "layer1", "layer2", "layer3"}  # one pair per encoder layer
    assert all(len(v) == 3 for v in history.values())
    assert history["layer0"][-1] < history["layer0"][0]
    losses = finetune_autoencoder(net, X, settings)
    assert losses[-1] < losses[0]


def test_vae_loss_is_the_one_cluster_elbo():
    """With K = 1, mu_1 = 0, sigma_1 = 1, the ELBO (4) is reconstruction - KL(q || N(0, I))."""
    torch.manual_seed(0)
    mu, logvar, recon = torch.randn(5, 3), torch.randn(5, 3), torch.randn(5)
    ones, zeros = torch.ones(5, 1), torch.zeros(1, 3)
    total = elbo.elbo_terms(recon, mu, logvar, ones, ones, zeros, zeros).total
    torch.testing.assert_close(total, recon - kl_normal_diag(mu, logvar, torch.zeros(3), torch.zeros(3)))


@pytest.mark.parametrize("variance", ["means", "aggregate"])
def test_gmm_init_uses_each_clusters_mean_and_unbiased_variance(blobs, variance):
    seed_everything(0)
    settings = PretrainSettings(**TINY, gmm_variance=variance)
    net = build_networks(blobs.n_features, 3, settings)
    with torch.no_grad():  # spread the untrained latent so no variance hits the 1e-6 floor
        net.encoder.mean_head.weight.mul_(30.0)
    X = torch.as_tensor(blobs.X)
    labels = np.arange(len(blobs.X)) % 3  # any partition: the prior follows it
    init_gmm_from_labels(net, X, labels, settings)
    with torch.no_grad():
        mu, logvar = net.encoder(X)
    Z, post_var = mu.double().numpy(), logvar.exp().double().numpy()
    for k in range(3):
        members = labels == k
        np.testing.assert_allclose(net.gmm.means[k].detach().numpy(), Z[members].mean(0), rtol=1e-4, atol=1e-5)
        expected = Z[members].var(0, ddof=1)  # unbiased
        if variance == "aggregate":  # law of total variance: Var(mu~) + E[sigma~^2]
            expected = expected + post_var[members].mean(0)
        np.testing.assert_allclose(net.gmm.logvars[k].exp().detach().numpy(), expected, rtol=1e-4)


def test_pretrain_end_to_end_and_cache(blobs, tmp_path):
    settings = PretrainSettings(**TINY)
    first = pretrain(blobs.X, 3, settings, random_state=0, device="cpu", dataset_name="blobs", cache_dir=tmp_path)
    assert not first.from_cache
    files = list(tmp_path.glob("pretrain-blobs-*.pt"))
    assert len(files) == 1
    # f2 reproduces the k-means labels it was trained on, and says so.
    with torch.no_grad():
        X = torch.as_tensor(blobs.X)
        f2_labels = first.networks.classifier(first.networks.encoder(X)[0]).argmax(1).numpy()
    assert (f2_labels == first.start_labels).mean() > 0.95
    assert first.f2_agreement == pytest.approx((f2_labels == first.start_labels).mean())
    assert set(first.history) == {"layerwise", "autoencoder", "vae", "classifier", "handover"}

    second = pretrain(blobs.X, 3, settings, random_state=0, device="cpu", dataset_name="blobs", cache_dir=tmp_path)
    assert second.from_cache
    for key, value in first.networks.state_dict().items():
        torch.testing.assert_close(second.networks.state_dict()[key], value)
    np.testing.assert_array_equal(second.start_labels, first.start_labels)
    assert second.f2_agreement == first.f2_agreement

    # A fresh run with caching off reproduces the cached weights (stages reseed from the seed).
    fresh = pretrain(blobs.X, 3, settings, random_state=0, device="cpu", cache_dir=False)
    torch.testing.assert_close(fresh.networks.gmm.means, first.networks.gmm.means)


def test_cache_key_depends_on_data_settings_and_seed(blobs):
    fp = data_fingerprint(blobs.X)
    base = cache_key("pretrain", fp, PretrainSettings(**TINY), 0)
    assert base == cache_key("pretrain", data_fingerprint(blobs.X.copy()), PretrainSettings(**TINY), 0)
    assert base != cache_key("pretrain", fp, PretrainSettings(**TINY), 1)
    assert base != cache_key("pretrain", fp, PretrainSettings(**{**TINY, "autoencoder_epochs": 16}), 0)
    changed = blobs.X.copy()
    changed[0, 0] += 1e-3
    assert base != cache_key("pretrain", data_fingerprint(changed), PretrainSettings(**TINY), 0)


def test_cache_is_opt_in_and_its_folder_comes_from_the_environment(blobs, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env-cache"))
    settings = PretrainSettings(**{**TINY, "autoencoder_epochs": 1, "classifier_epochs": 1})
    pretrain(blobs.X, 3, settings, random_state=0, device="cpu", dataset_name="b")  # cache_dir=None: no cache
    assert not (tmp_path / "env-cache").exists()
    pretrain(blobs.X, 3, settings, random_state=0, device="cpu", dataset_name="b", cache_dir=True)
    assert list((tmp_path / "env-cache").glob("pretrain-b-*.pt"))


def test_no_cache_without_a_seed(blobs, tmp_path):
    settings = PretrainSettings(**{**TINY, "autoencoder_epochs": 1, "classifier_epochs": 1})
    pretrain(blobs.X, 3, settings, random_state=None, device="cpu", cache_dir=tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("bad", [dict(likelihood="poisson"), dict(f2_input="median"), dict(corruption=1.0),
                                 dict(vae_epochs=-1), dict(gmm_variance="x"), dict(noise_var=0.0)])
def test_bad_settings_raise(bad):
    with pytest.raises(ValueError):
        PretrainSettings(**bad)


def test_f2s_size_does_not_change_the_pretrained_autoencoder_or_the_start(blobs):
    """Paired comparisons: a bigger f2 must not shift the random draws of the stages before it."""
    linear = pretrain(blobs.X, 3, PretrainSettings(**TINY), random_state=0, device="cpu", cache_dir=False)
    wider = pretrain(blobs.X, 3, PretrainSettings(**{**TINY, "classifier_hidden_dims": (32,)}), random_state=0,
                     device="cpu", cache_dir=False)
    for name in ("encoder", "decoder"):
        for key, value in getattr(linear.networks, name).state_dict().items():
            torch.testing.assert_close(getattr(wider.networks, name).state_dict()[key], value)
    np.testing.assert_array_equal(linear.start_labels, wider.start_labels)


def test_the_hand_over_maximises_the_elbo_with_q_c_held_at_the_start():
    """fit_to_start's loss is minus the mean ELBO (4) with q(c|x) = the start's one-hot labels and pi = their
    shares (checked exactly on one full batch with z = mu~); it leaves f2 alone and is off by default."""
    import dataclasses

    from tiny_model import data as tiny_data
    from tiny_model import deterministic_posterior, tiny_networks

    from dggbook.model.likelihoods import reconstruction_log_likelihood
    from dggbook.model.pretrain import fit_to_start
    from dggbook.model.settings import PretrainSettings

    assert PretrainSettings().handover_epochs == "auto"  # resolved by pretrain once the start is known
    X = tiny_data(N=12)
    labels = np.array([0, 1, 2] * 4)
    networks = deterministic_posterior(tiny_networks())
    with torch.no_grad():
        mu, logvar = networks.encoder(X)
        gamma = torch.nn.functional.one_hot(torch.as_tensor(labels), 3).double().clamp_min(1e-300)
        recon = reconstruction_log_likelihood("bernoulli", X, networks.decoder(mu))
        expected = -elbo.elbo_terms(recon.double(), mu.double(), logvar.double(), gamma, torch.full((12, 3), 1 / 3,
                                    dtype=torch.float64), networks.gmm.means.double(),
                                    networks.gmm.logvars.double()).total.mean()
    classifier = {k: v.clone() for k, v in networks.classifier.state_dict().items()}
    settings = PretrainSettings(likelihood="bernoulli", handover_epochs=1, handover_lr=1e-9, pretrain_batch_size=12)
    history = fit_to_start(networks, X, labels, settings)
    assert history[0] == pytest.approx(float(expected), rel=1e-5)
    assert all(torch.equal(classifier[k], v) for k, v in networks.classifier.state_dict().items())
    assert fit_to_start(networks, X, labels, dataclasses.replace(settings, handover_epochs=0)) == []
