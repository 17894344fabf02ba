"""Tests for dggbook.derivation.elbo: the four ELBO terms of DGG eqs. (4)/(5), the ½ factor of (21), step (3)."""
import math

import numpy as np
import pytest
import torch

from dggbook.derivation.elbo import (
    CORRECT_COEFFICIENT,
    bernoulli_log_likelihood,
    constant_shift,
    dgg_objective,
    elbo_terms,
    gaussian_log_likelihood,
)
from dggbook.derivation.gaussian import LOG_2PI, log_normal_diag
from dggbook.derivation.reproductions import PRINTED_COEFFICIENT

F64 = torch.float64


def _t(a):
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=F64)


def _inputs(seed=0, b=4, k=3, m=2):
    rng = np.random.default_rng(seed)
    return {
        "recon_loglik": _t(rng.normal(size=b)),
        "mu": _t(rng.normal(size=(b, m))),
        "logvar": _t(rng.normal(scale=0.4, size=(b, m))),
        "gamma": torch.softmax(_t(rng.normal(size=(b, k))), -1),
        "pi": torch.softmax(_t(rng.normal(size=(b, k))), -1),
        "means": _t(rng.normal(size=(k, m))),
        "logvars": _t(rng.normal(scale=0.4, size=(k, m))),
    }


# --- term 1: reconstruction ------------------------------------------------

def test_bernoulli_matches_the_explicit_formula():
    rng = np.random.default_rng(1)
    x, logits = rng.uniform(size=(3, 5)), rng.normal(scale=2.0, size=(3, 5))
    mu = 1.0 / (1.0 + np.exp(-logits))
    explicit = (x * np.log(mu) + (1 - x) * np.log(1 - mu)).sum(-1)
    got = bernoulli_log_likelihood(_t(x), _t(logits))
    assert got.shape == (3,)
    np.testing.assert_allclose(got.numpy(), explicit, rtol=0, atol=1e-12)


def test_bernoulli_from_logits_stays_finite_where_sigmoid_rounds_to_one():
    x, logits = _t([[1.0, 0.0]]), _t([[60.0, 60.0]])
    got = float(bernoulli_log_likelihood(x, logits)[0])
    # ln σ(60) ≈ −e^{−60}; ln(1 − σ(60)) = −60 − ln(1 + e^{−60}).
    assert got == pytest.approx(-60.0, abs=1e-12)


def test_bernoulli_with_binary_data_matches_torch_bernoulli():
    rng = np.random.default_rng(2)
    x, logits = _t(rng.integers(0, 2, size=(4, 6))), _t(rng.normal(size=(4, 6)))
    expected = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("value", [-0.01, 1.01, 2.0])
def test_bernoulli_rejects_x_outside_the_unit_interval(value):
    x = _t([[0.5, value]])
    with pytest.raises(ValueError, match="x"):
        bernoulli_log_likelihood(x, torch.zeros_like(x))


def test_bernoulli_rejects_nan_and_shape_mismatch():
    with pytest.raises(ValueError, match="x"):
        bernoulli_log_likelihood(_t([[0.5, float("nan")]]), torch.zeros(1, 2, dtype=F64))
    with pytest.raises(ValueError, match="logits"):
        bernoulli_log_likelihood(_t([[0.5, 0.5]]), _t([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="logits"):
        bernoulli_log_likelihood(_t([[0.5, 0.5]]), torch.zeros(1, 3, dtype=F64))


def test_gaussian_log_likelihood_has_the_right_sign_and_normalisation():
    rng = np.random.default_rng(3)
    x, mean, lam = _t(rng.normal(size=(2, 5))), _t(rng.normal(size=(2, 5))), 0.7
    got = gaussian_log_likelihood(x, mean, lam)
    expected = torch.distributions.Normal(mean, math.sqrt(lam)).log_prob(x).sum(-1)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    # The blog's +‖x − g‖²/(2λ) would grow with the error; a log-density must fall.
    far = gaussian_log_likelihood(x, mean + 1.0, lam)
    assert bool((far < got).all())


def test_gaussian_log_likelihood_without_constants_is_minus_half_squared_error_over_lambda():
    x, mean = _t([[1.0, 2.0, 3.0]]), _t([[0.0, 0.0, 0.0]])
    assert float(gaussian_log_likelihood(x, mean, 2.0, constants=False)[0]) == pytest.approx(-14.0 / 4.0, abs=1e-15)
    shift = gaussian_log_likelihood(x, mean, 2.0, constants=False) - gaussian_log_likelihood(x, mean, 2.0)
    assert float(shift[0]) == pytest.approx(1.5 * math.log(2 * math.pi * 2.0), abs=1e-14)


def test_gaussian_log_likelihood_bad_input():
    x = _t([[0.0, 1.0]])
    with pytest.raises(ValueError, match="noise_var"):
        gaussian_log_likelihood(x, x, 0.0)
    with pytest.raises(ValueError, match="mean"):
        gaussian_log_likelihood(x, _t([[0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match="x"):
        gaussian_log_likelihood(_t([[float("nan"), 1.0]]), x)


# --- terms 2–4 -------------------------------------------------------------

def test_terms_match_the_formulas_of_section_3():
    a = _inputs()
    terms = elbo_terms(**a)
    var_q, var_p = torch.exp(a["logvar"]), torch.exp(a["logvars"])
    per_k = torch.stack([
        (LOG_2PI + a["logvars"][k] + var_q / var_p[k] + (a["mu"] - a["means"][k]) ** 2 / var_p[k]).sum(-1)
        for k in range(a["means"].shape[0])
    ], -1)
    torch.testing.assert_close(terms.prior_z, -0.5 * (a["gamma"] * per_k).sum(-1), rtol=0, atol=1e-12)
    torch.testing.assert_close(terms.prior_c, (a["gamma"] * torch.log(a["pi"] / a["gamma"])).sum(-1), rtol=0, atol=1e-12)
    torch.testing.assert_close(terms.entropy_z, 0.5 * (LOG_2PI + a["logvar"] + 1).sum(-1), rtol=0, atol=1e-12)
    assert terms.reconstruction is a["recon_loglik"]
    torch.testing.assert_close(terms.total, terms.reconstruction + terms.prior_z + terms.prior_c + terms.entropy_z)


def test_half_coefficient_agrees_with_monte_carlo_and_the_printed_one_does_not():
    a = _inputs(seed=4, b=1)
    gen = torch.Generator().manual_seed(0)
    z = a["mu"] + torch.exp(0.5 * a["logvar"]) * torch.randn(100_000, 2, generator=gen, dtype=F64)
    samples = (a["gamma"] * log_normal_diag(z[:, None], a["means"], a["logvars"])).sum(-1)
    mc, se = float(samples.mean()), float(samples.std()) / math.sqrt(len(z))
    half = float(elbo_terms(**a, coefficient=CORRECT_COEFFICIENT).prior_z[0])
    printed = float(elbo_terms(**a, coefficient=PRINTED_COEFFICIENT).prior_z[0])
    assert abs(half - mc) < 5 * se
    assert abs(printed - mc) > 50 * se


def test_printed_coefficient_gives_exactly_twice_the_half_version():
    a = _inputs(seed=5)
    half = elbo_terms(**a).prior_z
    one = elbo_terms(**a, coefficient=1.0).prior_z
    assert torch.equal(one, 2.0 * half)


def test_zero_gamma_entries_contribute_nothing_to_term_3():
    a = _inputs(seed=6, b=1, k=3)
    a["gamma"] = _t([[0.0, 0.25, 0.75]])
    got = float(elbo_terms(**a).prior_c[0])
    pi = a["pi"][0]
    assert got == pytest.approx(0.25 * math.log(pi[1] / 0.25) + 0.75 * math.log(pi[2] / 0.75), abs=1e-14)


def test_constants_cancel_and_each_term_moves_by_the_constant_shift():
    a = _inputs(seed=7, m=3)
    kept, dropped = elbo_terms(**a), elbo_terms(**a, constants=False)
    torch.testing.assert_close(kept.total, dropped.total, rtol=0, atol=1e-12)
    shift = constant_shift(3)
    assert shift == pytest.approx(1.5 * math.log(2 * math.pi), abs=1e-15)
    torch.testing.assert_close(dropped.prior_z - kept.prior_z, torch.full((4,), shift, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(kept.entropy_z - dropped.entropy_z, torch.full((4,), shift, dtype=F64), rtol=0, atol=1e-12)


def test_constants_cancel_only_because_gamma_sums_to_one():
    a = _inputs(seed=8, m=2)
    a["gamma"] = 0.8 * a["gamma"]  # rows sum to 0.8: term 2 moves by 0.8 · (M/2) ln 2π, term 4 by 1
    diff = elbo_terms(**a, constants=False).total - elbo_terms(**a).total
    torch.testing.assert_close(diff, torch.full((4,), -0.2 * constant_shift(2), dtype=F64), rtol=0, atol=1e-12)


def _grads(a, constants, drop_only_entropy=False):
    mu = a["mu"].clone().requires_grad_(True)
    logvar = a["logvar"].clone().requires_grad_(True)
    args = dict(a, mu=mu, logvar=logvar)
    terms = elbo_terms(**args, constants=constants)
    if drop_only_entropy:
        terms = terms._replace(entropy_z=terms.entropy_z - constant_shift(mu.shape[1]))
    total = terms.total.sum()
    total.backward()
    return float(total.detach()), mu.grad, logvar.grad


def test_gradients_are_unchanged_when_constants_are_dropped():
    a = _inputs(seed=9, m=3)
    v_kept, g_mu, g_lv = _grads(a, True)
    v_drop, h_mu, h_lv = _grads(a, False)
    v_one, o_mu, o_lv = _grads(a, True, drop_only_entropy=True)
    assert g_mu.abs().max() > 1e-3 and g_lv.abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(h_mu, g_mu, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_lv, g_lv, rtol=0, atol=1e-12)
    torch.testing.assert_close(o_mu, g_mu, rtol=0, atol=1e-12)
    torch.testing.assert_close(o_lv, g_lv, rtol=0, atol=1e-12)
    # Dropping only one constant moves the value by (M/2) ln 2π per sample, not the gradient.
    assert v_kept - v_one == pytest.approx(4 * constant_shift(3), abs=1e-10)


def test_gradient_of_the_closed_form_matches_finite_differences():
    a = _inputs(seed=10)
    _, g_mu, _ = _grads(a, True)
    eps = 1e-6
    bumped = dict(a, mu=a["mu"].clone())
    bumped["mu"][1, 0] += eps
    lowered = dict(a, mu=a["mu"].clone())
    lowered["mu"][1, 0] -= eps
    fd = (float(elbo_terms(**bumped).total.sum()) - float(elbo_terms(**lowered).total.sum())) / (2 * eps)
    assert float(g_mu[1, 0]) == pytest.approx(fd, abs=1e-7)


@pytest.mark.parametrize(
    "bad, value, match",
    [
        ("recon_loglik", torch.zeros(3, dtype=F64), "batch"),
        ("recon_loglik", torch.zeros(4, 1, dtype=F64), "recon_loglik"),
        ("gamma", torch.full((4, 2), 0.5, dtype=F64), "pi"),
        ("pi", torch.full((4, 2), 0.5, dtype=F64), "pi"),
        ("gamma", torch.full((4,), 0.5, dtype=F64), "gamma"),
        ("mu", torch.zeros(5, 2, dtype=F64), "batch"),
        ("means", torch.zeros(2, 2, dtype=F64), "means"),
        ("logvar", torch.zeros(4, 3, dtype=F64), "logvar"),
    ],
)
def test_mismatched_shapes_raise(bad, value, match):
    a = _inputs()
    a[bad] = value
    if bad == "gamma" and value.dim() == 2:
        a["pi"] = torch.full((4, 2), 0.5, dtype=F64)  # same K for gamma and pi, but not for means
        match = "means"
    with pytest.raises(ValueError, match=match):
        elbo_terms(**a)


@pytest.mark.parametrize("bad", ["recon_loglik", "mu", "logvar", "gamma", "pi", "means", "logvars"])
def test_nan_raises_naming_the_argument(bad):
    a = _inputs()
    a[bad] = a[bad].clone()
    a[bad].view(-1)[0] = float("nan")
    with pytest.raises(ValueError, match=bad):
        elbo_terms(**a)


def test_negative_probabilities_raise():
    a = _inputs()
    a["pi"] = a["pi"].clone()
    a["pi"][0, 0] = -0.1
    with pytest.raises(ValueError, match="pi"):
        elbo_terms(**a)


# --- step (3): the objective -----------------------------------------------

def test_dgg_objective_equals_the_explicit_double_sum():
    rng = np.random.default_rng(11)
    b, j = 3, 5
    l_self, l_cross, w = _t(rng.normal(size=b)), _t(rng.normal(size=(b, j))), _t(rng.uniform(size=(b, j)))
    got = dgg_objective(l_self, l_cross, w)
    explicit = [0.5 * sum(float(w[i, jj]) * (float(l_self[i]) + float(l_cross[i, jj])) for jj in range(j)) for i in range(b)]
    assert got.shape == (b,)
    np.testing.assert_allclose(got.numpy(), explicit, rtol=0, atol=1e-12)


def test_dgg_objective_with_normalised_rows_is_half_self_plus_weighted_cross():
    rng = np.random.default_rng(12)
    w = rng.uniform(size=(2, 4))
    w = _t(w / w.sum(1, keepdims=True))
    l_self, l_cross = _t(rng.normal(size=2)), _t(rng.normal(size=(2, 4)))
    torch.testing.assert_close(dgg_objective(l_self, l_cross, w), 0.5 * (l_self + (w * l_cross).sum(-1)), rtol=0, atol=1e-12)


def test_dgg_objective_broadcasts_over_a_leading_term_axis():
    # dggbook.model.algorithm1 passes (T, B) and (T, B, J): one objective per ELBO term.
    rng = np.random.default_rng(13)
    l_self, l_cross, w = _t(rng.normal(size=(4, 3))), _t(rng.normal(size=(4, 3, 5))), _t(rng.uniform(size=(3, 5)))
    got = dgg_objective(l_self, l_cross, w)
    assert got.shape == (4, 3)
    for t in range(4):
        torch.testing.assert_close(got[t], dgg_objective(l_self[t], l_cross[t], w))
