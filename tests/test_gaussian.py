"""Tests for dggbook.derivation.gaussian: closed forms for diagonal Gaussians (notebook 03, eq. (4) terms 2 and 4)."""
import math

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from dggbook.derivation.gaussian import (
    LOG_2PI,
    entropy_normal_diag,
    expected_log_gaussian,
    kl_normal_diag,
    log_normal_diag,
)
from dggbook.derivation.quadrature import gaussian_expectation


def _t(a):
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def _diag_normal(mean, logvar):
    return Independent(Normal(mean, torch.exp(0.5 * logvar)), 1)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# --- log_normal_diag -------------------------------------------------------

def test_log_normal_diag_matches_torch_distributions(rng):
    x, mean = _t(rng.normal(size=(7, 3))), _t(rng.normal(size=(7, 3)))
    logvar = _t(rng.normal(scale=0.5, size=(7, 3)))
    expected = _diag_normal(mean, logvar).log_prob(x)
    got = log_normal_diag(x, mean, logvar)
    assert got.shape == (7,)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_log_normal_diag_matches_full_covariance_multivariate_normal(rng):
    x, mean, logvar = (_t(rng.normal(size=4)) for _ in range(3))
    mvn = torch.distributions.MultivariateNormal(mean, covariance_matrix=torch.diag(torch.exp(logvar)))
    assert float(log_normal_diag(x, mean, logvar)) == pytest.approx(float(mvn.log_prob(x)), abs=1e-12)


def test_log_normal_diag_broadcasts_points_against_components(rng):
    z = _t(rng.normal(size=(5, 1, 2)))
    means, logvars = _t(rng.normal(size=(3, 2))), _t(rng.normal(scale=0.3, size=(3, 2)))
    got = log_normal_diag(z, means, logvars)
    assert got.shape == (5, 3)
    for k in range(3):
        torch.testing.assert_close(got[:, k], _diag_normal(means[k], logvars[k]).log_prob(z[:, 0]), rtol=0, atol=1e-12)


def test_log_normal_diag_dropping_constants_shifts_by_half_m_log_2pi(rng):
    m = 5
    x, mean, logvar = (_t(rng.normal(size=(3, m))) for _ in range(3))
    diff = log_normal_diag(x, mean, logvar, constants=False) - log_normal_diag(x, mean, logvar)
    torch.testing.assert_close(diff, torch.full((3,), 0.5 * m * LOG_2PI, dtype=torch.float64), rtol=0, atol=1e-12)


def test_log_normal_diag_accepts_lists_as_float64():
    out = log_normal_diag([0.0, 0.0], [0.0, 0.0], [0.0, 0.0])
    assert out.dtype == torch.float64
    assert float(out) == pytest.approx(-LOG_2PI, abs=1e-15)


@pytest.mark.parametrize("bad", ["x", "mean", "logvar"])
def test_log_normal_diag_rejects_nan_naming_the_argument(bad):
    args = {"x": _t([0.1, 0.2]), "mean": _t([0.0, 0.0]), "logvar": _t([0.0, 0.0])}
    args[bad] = _t([0.0, float("nan")])
    with pytest.raises(ValueError, match=bad):
        log_normal_diag(**args)


@pytest.mark.parametrize("bad", ["mean", "logvar"])
def test_log_normal_diag_rejects_mismatched_latent_dimension(bad):
    args = {"x": torch.zeros(2, 3, dtype=torch.float64), "mean": torch.zeros(2, 3, dtype=torch.float64),
            "logvar": torch.zeros(2, 3, dtype=torch.float64)}
    args[bad] = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=bad):
        log_normal_diag(**args)


def test_log_normal_diag_does_not_silently_broadcast_a_length_one_latent_axis():
    # x of last size 1 against M = 2 once gave a constant for M = 1 (a wrong density).
    with pytest.raises(ValueError, match="mean"):
        log_normal_diag(torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64),
                        torch.zeros(2, 2, dtype=torch.float64))


def test_log_normal_diag_rejects_zero_dimensional_input():
    with pytest.raises(ValueError, match="x"):
        log_normal_diag(torch.tensor(0.0, dtype=torch.float64), torch.zeros(1, dtype=torch.float64),
                        torch.zeros(1, dtype=torch.float64))


# --- kl_normal_diag --------------------------------------------------------

def test_kl_normal_diag_matches_torch_kl_divergence(rng):
    mq, mp = _t(rng.normal(size=(6, 3))), _t(rng.normal(size=(6, 3)))
    lq, lp = _t(rng.normal(scale=0.5, size=(6, 3))), _t(rng.normal(scale=0.5, size=(6, 3)))
    expected = kl_divergence(_diag_normal(mq, lq), _diag_normal(mp, lp))
    torch.testing.assert_close(kl_normal_diag(mq, lq, mp, lp), expected, rtol=0, atol=1e-12)


def test_kl_normal_diag_matches_gauss_hermite(rng):
    mq, lq, mp, lp = rng.normal(size=(4, 2)) * np.array([[1.0], [0.4], [1.0], [0.4]])

    def integrand(z):
        return (log_normal_diag(_t(z), _t(mq), _t(lq)) - log_normal_diag(_t(z), _t(mp), _t(lp))).numpy()

    quad = gaussian_expectation(integrand, mq, np.diag(np.exp(lq)), 4)
    assert float(kl_normal_diag(_t(mq), _t(lq), _t(mp), _t(lp))) == pytest.approx(quad, abs=1e-12)


def test_kl_normal_diag_is_zero_for_equal_and_positive_for_different(rng):
    mu, logvar = _t(rng.normal(size=3)), _t(rng.normal(size=3))
    assert float(kl_normal_diag(mu, logvar, mu, logvar)) == pytest.approx(0.0, abs=1e-15)
    assert float(kl_normal_diag(mu, logvar, mu + 0.1, logvar)) > 0.0
    assert float(kl_normal_diag(mu, logvar, mu, logvar + 0.1)) > 0.0


@pytest.mark.parametrize("bad", ["mu_q", "logvar_q", "mu_p", "logvar_p"])
def test_kl_normal_diag_rejects_nan_naming_the_argument(bad):
    args = {name: torch.zeros(2, dtype=torch.float64) for name in ("mu_q", "logvar_q", "mu_p", "logvar_p")}
    args[bad] = _t([float("inf"), 0.0])
    with pytest.raises(ValueError, match=bad):
        kl_normal_diag(**args)


@pytest.mark.parametrize("bad", ["logvar_q", "mu_p", "logvar_p"])
def test_kl_normal_diag_rejects_mismatched_latent_dimension(bad):
    args = {name: torch.zeros(2, dtype=torch.float64) for name in ("mu_q", "logvar_q", "mu_p", "logvar_p")}
    args[bad] = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match=bad):
        kl_normal_diag(**args)


# --- entropy_normal_diag ---------------------------------------------------

def test_entropy_matches_torch_and_drops_exactly_the_constant(rng):
    logvar = _t(rng.normal(size=(4, 3)))
    expected = _diag_normal(torch.zeros_like(logvar), logvar).entropy()
    torch.testing.assert_close(entropy_normal_diag(logvar), expected, rtol=0, atol=1e-12)
    shift = entropy_normal_diag(logvar) - entropy_normal_diag(logvar, constants=False)
    torch.testing.assert_close(shift, torch.full((4,), 1.5 * LOG_2PI, dtype=torch.float64), rtol=0, atol=1e-12)


def test_entropy_equals_minus_expected_log_density_by_monte_carlo():
    gen = torch.Generator().manual_seed(1)
    mu, logvar = _t([0.3, -1.0]), _t([0.2, -0.7])
    z = mu + torch.exp(0.5 * logvar) * torch.randn(200_000, 2, generator=gen, dtype=torch.float64)
    samples = -log_normal_diag(z, mu, logvar)
    se = float(samples.std()) / math.sqrt(len(samples))
    assert abs(float(samples.mean()) - float(entropy_normal_diag(logvar))) < 5 * se


def test_entropy_rejects_nan_naming_logvar():
    with pytest.raises(ValueError, match="logvar"):
        entropy_normal_diag(_t([[0.0, float("nan")]]))


# --- expected_log_gaussian -------------------------------------------------

def test_expected_log_gaussian_shape_and_gauss_hermite(rng):
    b, k, m = 4, 3, 2
    mu, logvar = rng.normal(size=(b, m)), rng.normal(scale=0.4, size=(b, m))
    means, logvars = rng.normal(size=(k, m)), rng.normal(scale=0.4, size=(k, m))
    got = expected_log_gaussian(_t(mu), _t(logvar), _t(means), _t(logvars))
    assert got.shape == (b, k)
    for i in range(b):
        # The integrand is quadratic in z: 2 nodes per dimension are exact.
        quad = gaussian_expectation(
            lambda z: log_normal_diag(_t(z[:, None]), _t(means), _t(logvars)).numpy(),
            mu[i], np.diag(np.exp(logvar[i])), 2,
        )
        np.testing.assert_allclose(got[i].numpy(), quad, rtol=0, atol=1e-12)


def test_expected_log_gaussian_matches_monte_carlo():
    gen = torch.Generator().manual_seed(2)
    mu, logvar = _t([[0.5, -0.2, 1.0]]), _t([[-0.3, 0.1, 0.4]])
    means, logvars = _t([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]]), _t([[0.0, 0.2, -0.2], [0.3, 0.3, 0.3]])
    z = mu + torch.exp(0.5 * logvar) * torch.randn(100_000, 3, generator=gen, dtype=torch.float64)
    samples = log_normal_diag(z[:, None], means, logvars)  # (P, K)
    se = samples.std(0) / math.sqrt(len(z))
    closed = expected_log_gaussian(mu, logvar, means, logvars)[0]
    assert bool(((samples.mean(0) - closed).abs() < 5 * se).all())


def test_expected_log_gaussian_at_a_point_mass_is_the_log_density(rng):
    # As σ̃² → 0 the expectation tends to ln N(μ̃; μ_k, σ_k²): a check independent of quadrature.
    mu, means, logvars = _t(rng.normal(size=(2, 3))), _t(rng.normal(size=(4, 3))), _t(rng.normal(size=(4, 3)))
    tiny = torch.full_like(mu, -40.0)
    got = expected_log_gaussian(mu, tiny, means, logvars)
    torch.testing.assert_close(got, log_normal_diag(mu[:, None], means, logvars), rtol=0, atol=1e-10)


def test_expected_log_gaussian_constants_false_shifts_by_half_m_log_2pi(rng):
    mu, logvar, means, logvars = (_t(rng.normal(size=s)) for s in [(3, 4), (3, 4), (2, 4), (2, 4)])
    diff = expected_log_gaussian(mu, logvar, means, logvars, constants=False) - expected_log_gaussian(mu, logvar, means, logvars)
    torch.testing.assert_close(diff, torch.full((3, 2), 2.0 * LOG_2PI, dtype=torch.float64), rtol=0, atol=1e-12)


def _ok():
    return {"mu": torch.zeros(3, 2, dtype=torch.float64), "logvar": torch.zeros(3, 2, dtype=torch.float64),
            "means": torch.zeros(4, 2, dtype=torch.float64), "logvars": torch.zeros(4, 2, dtype=torch.float64)}


@pytest.mark.parametrize("bad", ["mu", "logvar", "means", "logvars"])
def test_expected_log_gaussian_rejects_nan(bad):
    args = _ok()
    args[bad] = args[bad].clone()
    args[bad][0, 0] = float("nan")
    with pytest.raises(ValueError, match=bad):
        expected_log_gaussian(**args)


@pytest.mark.parametrize("bad", ["mu", "logvar", "means", "logvars"])
def test_expected_log_gaussian_rejects_wrong_ndim(bad):
    args = _ok()
    args[bad] = args[bad][0]
    with pytest.raises(ValueError, match=bad):
        expected_log_gaussian(**args)


def test_expected_log_gaussian_rejects_mismatched_shapes():
    args = _ok()
    args["means"] = torch.zeros(4, 3, dtype=torch.float64)
    args["logvars"] = torch.zeros(4, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="means"):
        expected_log_gaussian(**args)
    args = _ok()
    args["logvars"] = torch.zeros(5, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="logvars"):
        expected_log_gaussian(**args)
    args = _ok()
    args["logvar"] = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="logvar"):
        expected_log_gaussian(**args)


def test_expected_log_gaussian_validate_false_skips_the_finite_check():
    args = _ok()
    args["mu"][0, 0] = float("nan")
    out = expected_log_gaussian(**args, validate=False)
    assert torch.isnan(out[0]).all() and torch.isfinite(out[1:]).all()
