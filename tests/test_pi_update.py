"""Tests for dggbook.derivation.pi_update: the closed-form π update of DGG eq. (31) (notebook 04)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dggbook.derivation.pi_update import pi_objective_weights, pi_update_numeric, update_pi
from dggbook.derivation.reproductions import blog_printed_pi, public_code_pi

F64 = torch.float64


@st.composite
def problems(draw, min_weight=1e-3, max_weight=1e3, max_logit=5.0):
    """(gamma_self (B, K), gamma_neighbors (B, J, K), weights (B, J)) with softmax gammas and positive weights."""
    b, j, k = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(2, 6))
    logit = st.floats(-max_logit, max_logit, allow_nan=False)
    gs = torch.softmax(torch.as_tensor(draw(arrays(np.float64, (b, k), elements=logit))), -1)
    gn = torch.softmax(torch.as_tensor(draw(arrays(np.float64, (b, j, k), elements=logit))), -1)
    w = torch.as_tensor(draw(arrays(np.float64, (b, j), elements=st.floats(min_weight, max_weight))))
    return gs, gn, w


def _objective(gs, gn, w, pi):
    """½ Σ_j w_ij Σ_k (γ_ik + γ_jk) ln π_ik per row."""
    return (pi_objective_weights(gs, gn, w) * torch.log(pi)).sum(-1)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_pi_rows_lie_on_the_simplex(problem):
    pi = update_pi(*problem)
    assert pi.shape == problem[0].shape
    assert bool((pi >= 0).all())
    torch.testing.assert_close(pi.sum(-1), torch.ones(pi.shape[0], dtype=F64), rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(problems(), st.floats(1e-3, 1e3), st.data())
def test_pi_is_invariant_to_scaling_a_weight_row(problem, scale, data):
    gs, gn, w = problem
    row = data.draw(st.integers(0, w.shape[0] - 1))
    scaled = w.clone()
    scaled[row] *= scale
    torch.testing.assert_close(update_pi(gs, gn, scaled), update_pi(gs, gn, w), rtol=0, atol=1e-13)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_pi_maximises_the_objective_over_the_simplex(problem):
    # Gibbs' inequality: any other point of the simplex (here the normalised blog formula,
    # the public code's π, and the uniform π) scores no higher than the closed form.
    gs, gn, w = problem
    best = _objective(gs, gn, w, update_pi(gs, gn, w))
    blog = blog_printed_pi(gs, gn, w)
    for other in (blog / blog.sum(-1, keepdim=True), public_code_pi(gs, gn), torch.full_like(gs, 1.0 / gs.shape[1])):
        assert bool((_objective(gs, gn, w, other) <= best + 1e-12 * (1 + best.abs())).all())


@settings(max_examples=8, deadline=None, derandomize=True)
@given(problems(min_weight=1e-2, max_weight=10.0))
def test_closed_form_equals_the_numeric_optimiser(problem):
    numeric = pi_update_numeric(*problem)
    np.testing.assert_allclose(update_pi(*problem).numpy(), numeric, rtol=0, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_public_code_equals_the_closed_form_with_uniform_weights(problem):
    gs, gn, _ = problem
    uniform = torch.full(gn.shape[:2], 1.0 / gn.shape[1], dtype=F64)
    torch.testing.assert_close(public_code_pi(gs, gn), update_pi(gs, gn, uniform), rtol=0, atol=1e-14)


def test_public_code_differs_from_the_closed_form_with_non_uniform_weights():
    gs = torch.tensor([[0.9, 0.1]], dtype=F64)
    gn = torch.tensor([[[0.1, 0.9], [0.8, 0.2]]], dtype=F64)
    w = torch.tensor([[0.9, 0.1]], dtype=F64)
    assert float((public_code_pi(gs, gn) - update_pi(gs, gn, w)).abs().max()) > 0.1


def test_hand_computed_example():
    # B = 1, J = 2, K = 2; w = (1, 3): π = [1·(γ_i + γ_1) + 3·(γ_i + γ_2)] / (2 · 4).
    gs = torch.tensor([[0.6, 0.4]], dtype=F64)
    gn = torch.tensor([[[0.2, 0.8], [1.0, 0.0]]], dtype=F64)
    w = torch.tensor([[1.0, 3.0]], dtype=F64)
    expected = torch.tensor([[(0.6 + 0.2 + 3 * (0.6 + 1.0)) / 8, (0.4 + 0.8 + 3 * (0.4 + 0.0)) / 8]], dtype=F64)
    torch.testing.assert_close(update_pi(gs, gn, w), expected, rtol=0, atol=1e-15)


def test_with_normalised_rows_pi_is_half_self_plus_weighted_neighbours():
    rng = np.random.default_rng(0)
    gs = torch.softmax(torch.as_tensor(rng.normal(size=(3, 4))), -1)
    gn = torch.softmax(torch.as_tensor(rng.normal(size=(3, 5, 4))), -1)
    w = torch.as_tensor(rng.uniform(size=(3, 5)))
    w = w / w.sum(-1, keepdim=True)
    expected = 0.5 * (gs + (w[..., None] * gn).sum(1))
    torch.testing.assert_close(update_pi(gs, gn, w), expected, rtol=0, atol=1e-14)


def test_zero_weights_on_some_neighbours_ignore_those_neighbours():
    rng = np.random.default_rng(1)
    gs = torch.softmax(torch.as_tensor(rng.normal(size=(1, 3))), -1)
    gn = torch.softmax(torch.as_tensor(rng.normal(size=(1, 4, 3))), -1)
    w = torch.tensor([[0.0, 2.0, 0.0, 1.0]], dtype=F64)
    torch.testing.assert_close(update_pi(gs, gn, w), update_pi(gs, gn[:, [1, 3]], w[:, [1, 3]]), rtol=0, atol=1e-15)


def test_blog_formula_rows_do_not_sum_to_one():
    rng = np.random.default_rng(2)
    gs = torch.softmax(torch.as_tensor(rng.normal(size=(5, 4))), -1)
    gn = torch.softmax(torch.as_tensor(rng.normal(size=(5, 6, 4))), -1)
    w = torch.as_tensor(rng.uniform(0.1, 1.0, size=(5, 6)))
    sums = blog_printed_pi(gs, gn, w).sum(-1)
    assert float((sums - 1).abs().min()) > 0.05
    # ... while the corrected formula on the same input does.
    torch.testing.assert_close(update_pi(gs, gn, w).sum(-1), torch.ones(5, dtype=F64), rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_blog_formula_is_the_ratio_it_claims(problem):
    gs, gn, w = problem
    num = torch.einsum("bj,bjk->bk", w, gn)
    den = torch.einsum("bj,bjk->bk", w, gs[:, None, :] + gn)
    torch.testing.assert_close(blog_printed_pi(gs, gn, w), num / den, rtol=1e-12, atol=0)


# --- bad input ---------------------------------------------------------------

def _good():
    return (torch.full((2, 3), 1 / 3, dtype=F64), torch.full((2, 4, 3), 1 / 3, dtype=F64),
            torch.ones(2, 4, dtype=F64))


@pytest.mark.parametrize("func", [update_pi, blog_printed_pi, pi_update_numeric])
def test_negative_weights_raise(func):
    gs, gn, w = _good()
    w[0, 1] = -0.5
    with pytest.raises(ValueError, match="weights"):
        func(gs, gn, w)


@pytest.mark.parametrize("func", [update_pi, blog_printed_pi, pi_update_numeric])
def test_a_zero_weight_row_raises(func):
    gs, gn, w = _good()
    w[1] = 0.0
    with pytest.raises(ValueError, match="weights row 1"):
        func(gs, gn, w)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_nan_raises_naming_the_argument(index):
    args = list(_good())
    args[index].view(-1)[0] = float("nan")
    name = ["gamma_self", "gamma_neighbors", "weights"][index]
    with pytest.raises(ValueError, match=name):
        update_pi(*args)


def test_negative_gamma_raises():
    gs, gn, w = _good()
    gn[0, 0, 0] = -0.1
    with pytest.raises(ValueError, match="gamma_neighbors"):
        update_pi(gs, gn, w)


@pytest.mark.parametrize(
    "index, shape, name",
    [
        (0, (2, 3, 1), "gamma_self"),
        (1, (2, 3), "gamma_neighbors"),
        (1, (2, 4, 5), "gamma_neighbors"),
        (1, (3, 4, 3), "gamma_neighbors"),
        (2, (2, 5), "weights"),
        (2, (2,), "weights"),
    ],
)
def test_shape_mismatches_raise(index, shape, name):
    args = list(_good())
    args[index] = torch.full(shape, 0.5, dtype=F64)
    with pytest.raises(ValueError, match=name):
        update_pi(*args)
