"""Tests for dggbook.derivation.quadrature: tensor-product Gauss–Hermite rules under a Gaussian (notebook 01)."""
import itertools

import numpy as np
import pytest

from dggbook.derivation.quadrature import MAX_DIM, gaussian_expectation, gaussian_nodes, standard_normal_rule


def _std_moment(p: int) -> float:
    """E[ξ^p] for ξ ~ N(0, 1): (p − 1)!! for even p, 0 for odd p."""
    return 0.0 if p % 2 else float(np.prod(np.arange(p - 1, 0, -2))) if p else 1.0


def _random_spd(rng, dim):
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.3 * np.eye(dim)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_rule_is_exact_for_every_monomial_of_degree_up_to_2n_minus_1_per_axis(dim, n):
    nodes, weights = standard_normal_rule(n, dim)
    assert nodes.shape == (n**dim, dim) and weights.shape == (n**dim,)
    for powers in itertools.product(range(2 * n), repeat=dim):
        exact = np.prod([_std_moment(p) for p in powers])
        values = np.prod(nodes ** np.array(powers), axis=1)
        scale = weights @ np.abs(values)  # roundoff grows with the size of the terms being summed
        assert abs(weights @ values - exact) <= 1e-13 * max(scale, 1.0), powers


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_rule_is_not_exact_at_degree_2n(dim, n):
    # The degree bound is sharp: E[ξ_1^{2n}] = (2n − 1)!! is missed, so the exactness test above can fail.
    nodes, weights = standard_normal_rule(n, dim)
    approx = weights @ nodes[:, 0] ** (2 * n)
    assert abs(approx - _std_moment(2 * n)) > 0.1


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_random_polynomial_under_a_general_gaussian_is_exact(dim):
    # A polynomial of total degree ≤ 2n − 1 in z is one in ξ (z = m + Lξ): exact with n nodes.
    rng = np.random.default_rng(dim)
    n = 3
    mean, cov = rng.normal(size=dim), _random_spd(rng, dim)
    chol = np.linalg.cholesky(cov)
    exps = [e for e in itertools.product(range(2 * n), repeat=dim) if sum(e) <= 2 * n - 1]
    coef = rng.normal(size=len(exps))

    def poly_in_xi(xi):
        z = mean + xi @ chol.T
        return sum(c * np.prod(z ** np.array(e), axis=1) for c, e in zip(coef, exps))

    # Reference: the same polynomial expanded exactly in ξ via a rule with many more nodes (degree ≤ 5 ≪ 2·10 − 1).
    xi_big, w_big = standard_normal_rule(10, dim)
    reference = w_big @ poly_in_xi(xi_big)
    got = gaussian_expectation(lambda z: poly_in_xi(np.linalg.solve(chol, (z - mean).T).T), mean, cov, n)
    assert got == pytest.approx(reference, rel=1e-11, abs=1e-11)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_mean_covariance_and_third_moments_are_recovered_with_two_nodes(dim):
    rng = np.random.default_rng(10 + dim)
    mean, cov = rng.normal(size=dim), _random_spd(rng, dim)
    np.testing.assert_allclose(gaussian_expectation(lambda z: z, mean, cov, 2), mean, atol=1e-13)
    second = gaussian_expectation(lambda z: z[:, :, None] * z[:, None, :], mean, cov, 2)
    np.testing.assert_allclose(second - np.outer(mean, mean), cov, atol=1e-13)
    third = gaussian_expectation(lambda z: np.einsum("pi,pj,pk->pijk", z, z, z), mean, cov, 2)
    m = mean
    exact3 = (np.einsum("i,j,k->ijk", m, m, m) + np.einsum("i,jk->ijk", m, cov)
              + np.einsum("j,ik->ijk", m, cov) + np.einsum("k,ij->ijk", m, cov))
    np.testing.assert_allclose(third, exact3, atol=1e-12)


def test_fourth_central_moments_follow_isserlis_with_three_nodes_but_not_two():
    rng = np.random.default_rng(3)
    mean, cov = rng.normal(size=2), _random_spd(rng, 2)

    def fourth(z):
        y = z - mean
        return np.einsum("pi,pj,pk,pl->pijkl", y, y, y, y)

    isserlis = (np.einsum("ij,kl->ijkl", cov, cov) + np.einsum("ik,jl->ijkl", cov, cov)
                + np.einsum("il,jk->ijkl", cov, cov))
    np.testing.assert_allclose(gaussian_expectation(fourth, mean, cov, 3), isserlis, atol=1e-12)
    assert np.abs(gaussian_expectation(fourth, mean, cov, 2) - isserlis).max() > 1e-2


def test_smooth_integrand_converges():
    # E[exp(a·z)] = exp(a·m + ½ aᵀCa): not a polynomial, but converges fast.
    rng = np.random.default_rng(4)
    mean, cov, a = rng.normal(size=2), _random_spd(rng, 2), np.array([0.4, -0.3])
    exact = np.exp(a @ mean + 0.5 * a @ cov @ a)
    assert gaussian_expectation(lambda z: np.exp(z @ a), mean, cov, 20) == pytest.approx(exact, rel=1e-13)


def test_scalar_mean_and_variance_are_accepted_in_one_dimension():
    nodes, weights = gaussian_nodes(1.5, 4.0, 3)
    assert nodes.shape == (3, 1)
    assert weights @ nodes[:, 0] == pytest.approx(1.5, abs=1e-14)
    assert weights @ (nodes[:, 0] - 1.5) ** 2 == pytest.approx(4.0, abs=1e-13)


def test_weights_are_a_probability_vector_and_the_cached_rule_is_read_only():
    nodes, weights = standard_normal_rule(7, 2)
    assert weights.min() > 0 and weights.sum() == pytest.approx(1.0, abs=1e-14)
    with pytest.raises(ValueError):
        weights[0] = 1.0  # the lru_cache shares these arrays: they must not be writable
    with pytest.raises(ValueError):
        nodes[0, 0] = 1.0


def test_non_symmetric_cov_raises_naming_cov():
    with pytest.raises(ValueError, match="cov.*symmetric"):
        gaussian_nodes([0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]], 3)


@pytest.mark.parametrize("cov", [[[1.0, 2.0], [2.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]])
def test_non_positive_definite_cov_raises_naming_cov(cov):
    with pytest.raises(ValueError, match="cov.*positive definite"):
        gaussian_expectation(lambda z: z[:, 0], [0.0, 0.0], cov, 3)


def test_nan_cov_or_mean_raise_naming_the_argument():
    with pytest.raises(ValueError, match="cov"):
        gaussian_nodes([0.0], [[float("nan")]], 3)
    with pytest.raises(ValueError, match="mean"):
        gaussian_nodes([float("nan")], [[1.0]], 3)


def test_cov_of_the_wrong_size_raises_naming_cov():
    with pytest.raises(ValueError, match="cov"):
        gaussian_nodes([0.0, 0.0, 0.0], np.eye(2), 3)


def test_dimension_four_raises():
    assert MAX_DIM == 3
    with pytest.raises(ValueError, match="dim"):
        gaussian_nodes(np.zeros(4), np.eye(4), 2)
    with pytest.raises(ValueError, match="dim"):
        standard_normal_rule(2, 4)


def test_zero_points_raise_naming_n_points():
    with pytest.raises(ValueError, match="n_points"):
        standard_normal_rule(0, 1)


def test_func_returning_the_wrong_first_axis_raises_naming_func():
    with pytest.raises(ValueError, match="func"):
        gaussian_expectation(lambda z: np.zeros(3), [0.0], [[1.0]], 5)
