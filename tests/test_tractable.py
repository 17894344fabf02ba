"""Tests for dggbook.derivation.tractable: the linear-Gaussian mixture with an exact posterior (notebook 01)."""
import math

import numpy as np
import pytest

from dggbook.derivation.joint import log_mvn
from dggbook.derivation.quadrature import gaussian_expectation
from dggbook.derivation.tractable import LinearGaussianMixture


@pytest.fixture(scope="module")
def model():
    return LinearGaussianMixture.random(n_clusters=3, latent_dim=2, data_dim=4, seed=0)


@pytest.fixture(scope="module")
def x(model):
    return model.sample(1, seed=1)[0][0]


def test_random_instance_is_valid_and_has_the_requested_sizes():
    m = LinearGaussianMixture.random(n_clusters=4, latent_dim=3, data_dim=5, diagonal=False, seed=2)
    assert (m.n_clusters, m.latent_dim) == (4, 3)
    assert m.weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert m.loading.shape == (5, 3) and m.offset.shape == (5,) and m.covs.shape == (4, 3, 3)
    assert all(np.linalg.eigvalsh(c).min() > 0 for c in m.covs)


def test_posterior_is_joint_over_evidence(model, x):
    z = np.random.default_rng(3).normal(scale=2.0, size=(20, 2))
    post = model.posterior(x)
    np.testing.assert_allclose(post.log_prob(z), model.log_joint(x, z) - model.log_evidence(x), rtol=0, atol=1e-10)
    assert np.exp(post.log_weights).sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("diagonal", [True, False])
def test_posterior_integrates_to_one_and_weights_are_bayes(diagonal):
    m = LinearGaussianMixture.random(n_clusters=2, latent_dim=2, data_dim=3, diagonal=diagonal, seed=4)
    x = m.sample(1, seed=5)[0][0]
    post = m.posterior(x)
    assert post.expect(lambda z: np.ones((len(z), 2)), 10) == pytest.approx(1.0, abs=1e-13)
    # p(k | x) = ∫ p(z, k | x) dz, against the Bayes rule π_k p(x|k) / p(x).
    per_k = m.log_evidence_per_cluster(x)
    np.testing.assert_allclose(np.exp(post.log_weights), np.exp(per_k - per_k.max()) / np.exp(per_k - per_k.max()).sum(), atol=1e-14)


def test_posterior_in_one_dimension_matches_the_scalar_formula():
    # M = D = 1, K = 1: S = (1/s² + w²/λ)⁻¹, m = S (μ/s² + w (x − b)/λ).
    mu, s2, w, b, lam, x = 0.3, 0.8, 1.7, -0.2, 0.5, 1.1
    m = LinearGaussianMixture([1.0], [[mu]], [[[s2]]], [[w]], [b], lam)
    post = m.posterior([x])
    s = 1.0 / (1.0 / s2 + w * w / lam)
    assert post.covs[0, 0, 0] == pytest.approx(s, abs=1e-15)
    assert post.means[0, 0] == pytest.approx(s * (mu / s2 + w * (x - b) / lam), abs=1e-15)
    assert m.log_evidence([x]) == pytest.approx(
        -0.5 * math.log(2 * math.pi * (w * w * s2 + lam)) - 0.5 * (x - w * mu - b) ** 2 / (w * w * s2 + lam), abs=1e-14)


def test_log_evidence_matches_monte_carlo(model, x):
    # p(x) = E_{c, z ~ prior}[p(x | z)]: sample (z, c) from the generative model, average the likelihood.
    _, z, _ = model.sample(20_000, seed=6)
    lik = np.exp(model.log_likelihood(x, z))
    se = lik.std() / math.sqrt(len(lik))
    assert abs(lik.mean() - math.exp(model.log_evidence(x))) < 5 * se
    assert se < 0.05 * lik.mean()  # the test has teeth: ln p(x) is pinned to a few percent


def test_log_evidence_matches_quadrature(model, x):
    total = sum(
        model.weights[k] * gaussian_expectation(lambda z: np.exp(model.log_likelihood(x, z)), model.means[k], model.covs[k], 60)
        for k in range(model.n_clusters)
    )
    assert math.log(total) == pytest.approx(model.log_evidence(x), abs=1e-9)


def test_sampling_frequencies_and_moments(model):
    n = 20_000
    xs, zs, cs = model.sample(n, seed=7)
    assert xs.shape == (n, 4) and zs.shape == (n, 2) and cs.shape == (n,)
    freq = np.bincount(cs, minlength=model.n_clusters) / n
    se = np.sqrt(model.weights * (1 - model.weights) / n)
    assert np.all(np.abs(freq - model.weights) < 5 * se)
    for k in range(model.n_clusters):
        zk = zs[cs == k]
        se_k = np.sqrt(np.diag(model.covs[k]) / len(zk))
        assert np.all(np.abs(zk.mean(0) - model.means[k]) < 5 * se_k)
    # x = W z + b + noise: residuals have variance λ and are uncorrelated with z.
    resid = xs - zs @ model.loading.T - model.offset
    assert resid.var(0) == pytest.approx(np.full(4, model.noise_var), rel=0.05)
    assert np.abs(np.corrcoef(resid[:, 0], zs[:, 0])[0, 1]) < 5 / math.sqrt(n)


def test_sampling_is_reproducible_by_seed(model):
    a, b, c = model.sample(5, seed=8), model.sample(5, seed=8), model.sample(5, seed=9)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_expected_log_likelihood_matches_quadrature(model, x):
    mean, var = np.array([0.4, -0.9]), np.array([0.3, 0.7])
    closed = model.expected_log_likelihood(x, mean, var)
    quad = gaussian_expectation(lambda z: model.log_likelihood(x, z), mean, np.diag(var), 2)  # quadratic: exact
    assert closed == pytest.approx(quad, abs=1e-12)
    # The trace term matters: at var = 0 the expectation is the likelihood at the mean.
    assert model.expected_log_likelihood(x, mean, np.zeros(2)) == pytest.approx(model.log_likelihood(x, mean[None])[0], abs=1e-12)
    assert closed < model.expected_log_likelihood(x, mean, np.zeros(2))


def test_log_joint_is_prior_times_likelihood(model, x):
    z = np.random.default_rng(10).normal(size=(3, 2))
    lj = model.log_joint(x, z)
    assert lj.shape == (3, 3)
    for k in range(3):
        expected = math.log(model.weights[k]) + log_mvn(z, model.means[k], model.covs[k]) + model.log_likelihood(x, z)
        np.testing.assert_allclose(lj[:, k], expected, atol=1e-12)


# --- bad input -----------------------------------------------------------------

def _parts(model):
    return dict(weights=model.weights, means=model.means, covs=model.covs, loading=model.loading,
                offset=model.offset, noise_var=model.noise_var)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("weights", np.array([0.5, 0.3, 0.3]), "weights"),
        ("weights", np.array([1.2, -0.1, -0.1]), "weights"),
        ("weights", np.array([0.5, 0.5, 0.0]), "weights"),
        ("weights", np.array([0.5, 0.5, np.nan]), "weights"),
        ("weights", np.full((3, 1), 1 / 3), "weights"),
        ("means", np.zeros((2, 2)), "means"),
        ("covs", np.stack([np.eye(2), np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])]), r"covs\[2\]"),
        ("covs", np.stack([np.eye(2), np.array([[1.0, 0.3], [0.0, 1.0]]), np.eye(2)]), r"covs\[1\]"),
        ("covs", np.ones((3, 3, 3)), "covs"),
        ("loading", np.zeros((4, 3)), "loading"),
        ("offset", np.zeros(3), "offset"),
        ("noise_var", 0.0, "noise_var"),
    ],
)
def test_bad_parameters_raise_naming_the_argument(model, field, value, match):
    parts = _parts(model)
    parts[field] = value
    with pytest.raises(ValueError, match=match):
        LinearGaussianMixture(**parts)


@pytest.mark.parametrize("method", ["log_evidence", "posterior", "log_evidence_per_cluster"])
def test_wrong_x_shape_raises_naming_x(model, method):
    with pytest.raises(ValueError, match="x"):
        getattr(model, method)(np.zeros(3))
    with pytest.raises(ValueError, match="x"):
        getattr(model, method)(np.full(4, np.nan))


def test_wrong_x_shape_raises_in_expectations(model):
    with pytest.raises(ValueError, match="x"):
        model.expected_log_likelihood(np.zeros((1, 4)), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="x"):
        model.log_joint(np.zeros(5), np.zeros((2, 2)))


def test_sample_rejects_non_positive_n(model):
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)
