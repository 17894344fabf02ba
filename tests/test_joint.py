"""Tests for dggbook.derivation.joint: KL, JS and the bound G between joints over (z, c) — DGG step (1)."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dggbook.derivation.gaussian import kl_normal_diag
from dggbook.derivation.joint import (
    GaussianMixtureJoint,
    GaussianSoftmaxJoint,
    elbo_joint,
    g_bound,
    js_joint,
    kl_joint,
    kl_mixture,
)
from dggbook.derivation.quadrature import LN2, log_mvn
from dggbook.derivation.tractable import LinearGaussianMixture

N = 24  # quadrature nodes per dimension: plenty for these smooth integrands, fast enough for hypothesis


def _softmax_joint(rng, m=2, k=3, scale=1.0):
    return GaussianSoftmaxJoint(rng.normal(size=m), np.diag(rng.uniform(0.3, 1.0, m)),
                                scale * rng.normal(size=(k, m)), rng.normal(size=k))


def _mixture_joint(rng, m=2, k=3):
    w = rng.dirichlet(np.ones(k))
    return GaussianMixtureJoint(np.log(w), rng.normal(size=(k, m)), np.stack([np.diag(rng.uniform(0.3, 1.2, m)) for _ in range(k)]))


seeds = st.integers(0, 2**32 - 1)


def test_log_mvn_matches_torch():
    rng = np.random.default_rng(0)
    mean, a = rng.normal(size=3), rng.normal(size=(3, 3))
    cov = a @ a.T + 0.5 * np.eye(3)
    z = rng.normal(size=(5, 3))
    ref = torch.distributions.MultivariateNormal(torch.as_tensor(mean), torch.as_tensor(cov)).log_prob(torch.as_tensor(z))
    np.testing.assert_allclose(log_mvn(z, mean, cov), ref.numpy(), rtol=0, atol=1e-12)


def test_softmax_joint_normalises_over_z_and_c():
    q = _softmax_joint(np.random.default_rng(1))
    assert q.expect(lambda z: np.ones((len(z), q.n_clusters)), N) == pytest.approx(1.0, abs=1e-13)
    z = np.random.default_rng(2).normal(size=(6, 2))
    np.testing.assert_allclose(np.exp(q.classifier_log_probs(z)).sum(1), 1.0, atol=1e-14)


def test_mixture_joint_normalises():
    p = _mixture_joint(np.random.default_rng(3))
    assert p.expect(lambda z: np.ones((len(z), 3)), N) == pytest.approx(1.0, abs=1e-13)


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_kl_is_non_negative(seed):
    rng = np.random.default_rng(seed)
    q, p = _softmax_joint(rng), _mixture_joint(rng)
    assert kl_joint(q, p, N) >= -1e-10
    q2 = _softmax_joint(rng)
    assert kl_joint(q, q2, N) >= -1e-10


def test_kl_of_a_joint_with_itself_is_zero_and_with_another_is_positive():
    rng = np.random.default_rng(4)
    q, p = _softmax_joint(rng), _mixture_joint(rng)
    assert kl_joint(q, q, N) == pytest.approx(0.0, abs=1e-13)
    assert kl_joint(p, p, N) == pytest.approx(0.0, abs=1e-13)
    assert kl_joint(q, p, N) > 0.05


def test_mean_field_kl_is_gaussian_kl_plus_categorical_kl():
    # With γ constant in z, KL(q_a ‖ q_b) = KL(N_a ‖ N_b) + KL(γ_a ‖ γ_b): an independent closed form.
    mu_a, var_a, g_a = np.array([0.2, -0.5]), np.array([0.6, 0.9]), np.array([0.2, 0.3, 0.5])
    mu_b, var_b, g_b = np.array([-0.4, 0.3]), np.array([1.1, 0.4]), np.array([0.6, 0.1, 0.3])
    q_a = GaussianSoftmaxJoint.mean_field(mu_a, var_a, g_a)
    q_b = GaussianSoftmaxJoint.mean_field(mu_b, var_b, g_b)
    gauss = float(kl_normal_diag(torch.as_tensor(mu_a), torch.as_tensor(np.log(var_a)),
                                 torch.as_tensor(mu_b), torch.as_tensor(np.log(var_b))))
    cat = float(np.sum(g_a * np.log(g_a / g_b)))
    assert kl_joint(q_a, q_b, 4) == pytest.approx(gauss + cat, abs=1e-12)


def test_mean_field_rejects_a_zero_gamma_naming_gamma():
    with pytest.raises(ValueError, match="gamma"):
        GaussianSoftmaxJoint.mean_field([0.0], [1.0], [1.0, 0.0])


def test_js_of_a_joint_with_itself_is_zero():
    q = _softmax_joint(np.random.default_rng(5))
    assert js_joint(q, q, N) == pytest.approx(0.0, abs=1e-13)


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_js_lies_in_zero_ln2_and_is_symmetric(seed):
    rng = np.random.default_rng(seed)
    q_a, q_b = _softmax_joint(rng), _softmax_joint(rng)
    js = js_joint(q_a, q_b, N)
    assert -1e-12 <= js <= LN2 + 1e-12
    assert js_joint(q_b, q_a, N) == pytest.approx(js, abs=1e-10)


def test_js_approaches_ln2_for_disjoint_supports_and_exceeds_zero_otherwise():
    far_a = GaussianSoftmaxJoint.mean_field([-20.0], [0.5], [0.5, 0.5])
    far_b = GaussianSoftmaxJoint.mean_field([20.0], [0.5], [0.5, 0.5])
    assert js_joint(far_a, far_b, 60) == pytest.approx(math.log(2.0), abs=1e-8)
    # Same z-marginal, different classifier: JS > 0 because the joint differs in c.
    a = GaussianSoftmaxJoint.mean_field([0.0], [1.0], [0.9, 0.1])
    b = GaussianSoftmaxJoint.mean_field([0.0], [1.0], [0.1, 0.9])
    m = np.array([0.5, 0.5])
    exact = 0.5 * np.sum([0.9, 0.1] * np.log(np.array([0.9, 0.1]) / m)) + 0.5 * np.sum([0.1, 0.9] * np.log(np.array([0.1, 0.9]) / m))
    assert js_joint(a, b, 10) == pytest.approx(exact, abs=1e-13)


def test_js_matches_monte_carlo():
    rng = np.random.default_rng(6)
    q_a, q_b = _softmax_joint(rng, scale=2.0), _softmax_joint(rng, scale=2.0)
    sample_rng = np.random.default_rng(7)

    def sample(q, n):
        z = sample_rng.multivariate_normal(q.mean, q.cov, size=n)
        probs = np.exp(q.classifier_log_probs(z))
        c = (probs.cumsum(1) > sample_rng.uniform(size=(n, 1))).argmax(1)
        return z, c

    terms = []
    for q, other in ((q_a, q_b), (q_b, q_a)):
        z, c = sample(q, 40_000)
        lq = q.log_prob(z)[np.arange(len(z)), c]
        lo = other.log_prob(z)[np.arange(len(z)), c]
        terms.append(lq - (np.logaddexp(lq, lo) - LN2))
    values = 0.5 * (terms[0] + terms[1])  # paired halves: each row is an unbiased estimate of JS
    se = values.std() / math.sqrt(len(values))
    assert abs(values.mean() - js_joint(q_a, q_b, 40)) < 5 * se


def _tractable(seed):
    model = LinearGaussianMixture.random(n_clusters=3, latent_dim=2, data_dim=4, seed=seed % 1000)
    x, _, _ = model.sample(1, seed=seed)
    return model, x[0]


@settings(max_examples=8, deadline=None)
@given(seeds)
def test_g_is_js_plus_kl_of_the_mixture_hence_at_least_js(seed):
    rng = np.random.default_rng(seed)
    model, x = _tractable(seed)
    q_i, q_j, p_i = _softmax_joint(rng), _softmax_joint(rng), model.posterior(x)
    g, js, gap = g_bound(q_i, q_j, p_i, N), js_joint(q_i, q_j, N), kl_mixture(q_i, q_j, p_i, N)
    assert g == pytest.approx(js + gap, abs=1e-9)
    assert gap >= -1e-10
    assert g >= js - 1e-10


def test_g_equals_half_sum_of_kls_and_is_zero_only_when_both_match_the_posterior():
    model, x = _tractable(0)
    p = model.posterior(x)
    q_i, q_j = _softmax_joint(np.random.default_rng(8)), _softmax_joint(np.random.default_rng(9))
    assert g_bound(q_i, q_j, p, N) == pytest.approx(0.5 * kl_joint(q_i, p, N) + 0.5 * kl_joint(q_j, p, N), abs=1e-14)
    assert g_bound(p, p, p, N) == pytest.approx(0.0, abs=1e-12)
    assert g_bound(q_i, q_i, p, N) == pytest.approx(kl_joint(q_i, p, N), abs=1e-14)
    assert g_bound(q_i, q_j, p, N) > 1e-3


def test_elbo_joint_plus_kl_is_the_log_evidence_step_2_1():
    model, x = _tractable(1)
    q = _softmax_joint(np.random.default_rng(10))
    elbo = elbo_joint(q, lambda z: model.log_joint(x, z), N)
    kl = kl_joint(q, model.posterior(x), N)
    assert elbo + kl == pytest.approx(model.log_evidence(x), abs=1e-10)
    assert elbo < model.log_evidence(x)
    # The exact posterior attains the bound.
    assert elbo_joint(model.posterior(x), lambda z: model.log_joint(x, z), N) == pytest.approx(model.log_evidence(x), abs=1e-10)


def test_bad_input_raises_naming_the_argument():
    with pytest.raises(ValueError, match="cov"):
        GaussianSoftmaxJoint([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="cov"):
        GaussianSoftmaxJoint([0.0, 0.0], np.eye(3), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="weight"):
        GaussianSoftmaxJoint([0.0, 0.0], np.eye(2), np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="mean"):
        GaussianSoftmaxJoint([float("nan"), 0.0], np.eye(2), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="bias"):
        GaussianSoftmaxJoint([0.0, 0.0], np.eye(2), np.zeros((2, 2)), [0.0, float("inf")])
    with pytest.raises(ValueError, match=r"covs\[1\]"):
        GaussianMixtureJoint(np.log([0.5, 0.5]), np.zeros((2, 1)), np.array([[[1.0]], [[-1.0]]]))
