"""Tests for dggbook.derivation.affinity: the w_ij of notebook 06."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dggbook.derivation.affinity import (
    gaussian_weights,
    local_scaling_window,
    normalize_rows,
    uniform_weights,
)
from dggbook.derivation.reproductions import public_code_gauss_weights, public_code_row11_window

# --- gaussian_weights ------------------------------------------------------

def test_gaussian_weights_match_the_formula_of_dgg_section_5():
    sq = torch.tensor([[1.0, 4.0, 9.0], [0.5, 0.5, 2.0]], dtype=torch.float64)
    s = torch.tensor([1.0, 2.0], dtype=torch.float64)
    w = gaussian_weights(sq, s)
    raw = torch.exp(-sq / (2 * s[:, None] ** 2))
    expected = raw / raw.sum(dim=1, keepdim=True)
    torch.testing.assert_close(w, expected, rtol=1e-12, atol=1e-12)


def test_gaussian_weights_rows_sum_to_one_and_numpy_stays_numpy():
    rng = np.random.default_rng(0)
    sq = rng.random((50, 7)) * 10
    w = gaussian_weights(sq, 1.5)
    assert isinstance(w, np.ndarray)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)


def test_gaussian_weights_without_normalisation_is_the_raw_kernel():
    sq = torch.tensor([[2.0, 8.0]])
    w = gaussian_weights(sq, 2.0, normalize=False)
    torch.testing.assert_close(w, torch.exp(-sq / 8.0))
    assert not math.isclose(float(w.sum()), 1.0)


def test_gaussian_weights_are_stable_for_huge_distances():
    # exp(-1e6 / 2e-2) underflows to 0 without the row-min shift.
    sq = torch.tensor([[1e6, 1e6 + 1e-3, 1e6 + 10.0]], dtype=torch.float64)
    w = gaussian_weights(sq, 0.1)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w.sum(dim=1), torch.ones(1, dtype=torch.float64))
    assert w[0, 0] > w[0, 1] > w[0, 2]


@settings(max_examples=40, deadline=None)
@given(
    sq=arrays(np.float64, (6, 4), elements=st.floats(0, 1e4)),
    window=st.floats(1e-2, 1e2),
)
def test_gaussian_weights_rows_sum_to_one_and_decrease_with_distance(sq, window):
    w = gaussian_weights(sq, window)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-9)
    order = np.argsort(sq, axis=1, kind="stable")
    w_sorted = np.take_along_axis(w, order, axis=1)
    assert (np.diff(w_sorted, axis=1) <= 1e-12).all()


@pytest.mark.parametrize(
    "sq, window, argument",
    [
        (torch.tensor([[1.0, float("nan")]]), 1.0, "sq_distances"),
        (torch.tensor([[1.0, -1.0]]), 1.0, "sq_distances"),
        (torch.tensor([1.0, 2.0]), 1.0, "sq_distances"),
        (torch.tensor([[1.0, 2.0]]), 0.0, "window"),
        (torch.tensor([[1.0, 2.0]]), -1.0, "window"),
        (torch.tensor([[1.0, 2.0], [1.0, 2.0]]), torch.tensor([1.0, 2.0, 3.0]), "window"),
        (torch.tensor([[1.0, 2.0]]), float("inf"), "window"),
    ],
)
def test_gaussian_weights_reject_bad_input(sq, window, argument):
    with pytest.raises(ValueError, match=argument):
        gaussian_weights(sq, window)


# --- local_scaling_window ----------------------------------------------------

def test_local_scaling_window_is_the_kth_neighbour_distance():
    dist = torch.tensor([[0.1, 0.2, 0.3, 0.4], [1.0, 2.0, 3.0, 4.0]])
    torch.testing.assert_close(local_scaling_window(dist, k=3), torch.tensor([0.3, 3.0]))
    torch.testing.assert_close(local_scaling_window(dist, k=1), torch.tensor([0.1, 1.0]))


def test_local_scaling_makes_weights_invariant_to_each_rows_scale():
    # Self-tuning: a row whose distances are all c times larger gets the same weights.
    base = np.sort(np.random.default_rng(1).random(8)) + 0.1
    dist = np.stack([base, 25.0 * base])
    w = gaussian_weights(dist**2, local_scaling_window(dist, k=3))
    np.testing.assert_allclose(w[0], w[1], rtol=1e-10)
    # A single global window would not do that.
    w_fixed = gaussian_weights(dist**2, 1.0)
    assert not np.allclose(w_fixed[0], w_fixed[1])


def test_zero_window_from_duplicates_is_floored_and_weights_go_to_duplicates():
    dist = torch.tensor([[0.0, 0.0, 0.0, 1.0, 2.0]], dtype=torch.float64)
    s = local_scaling_window(dist, k=2, eps=1e-6)
    assert float(s[0]) == pytest.approx(1e-6)
    w = gaussian_weights(dist**2, s)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w[0, :3], torch.full((3,), 1 / 3, dtype=torch.float64))
    assert float(w[0, 3:].sum()) == 0.0


@pytest.mark.parametrize(
    "dist, k, argument",
    [
        (torch.tensor([[0.1, 0.2]]), 3, "k"),
        (torch.tensor([[0.1, 0.2]]), 0, "k"),
        (torch.tensor([[0.3, 0.2]]), 1, "distances"),  # not sorted
        (torch.tensor([[0.1, float("nan")]]), 1, "distances"),
        (torch.tensor([0.1, 0.2]), 1, "distances"),
    ],
)
def test_local_scaling_window_rejects_bad_input(dist, k, argument):
    with pytest.raises(ValueError, match=argument):
        local_scaling_window(dist, k=k)


# --- uniform_weights / normalize_rows -----------------------------------------

def test_uniform_weights_are_one_over_j():
    w = uniform_weights(4, 20)
    assert w.shape == (4, 20) and w.dtype == torch.float32
    torch.testing.assert_close(w, torch.full((4, 20), 0.05))


@pytest.mark.parametrize("n_rows, n_neighbors, argument", [(0, 3, "n_rows"), (3, 0, "n_neighbors"), (3, 2.5, "n_neighbors")])
def test_uniform_weights_reject_bad_sizes(n_rows, n_neighbors, argument):
    with pytest.raises(ValueError, match=argument):
        uniform_weights(n_rows, n_neighbors)


def test_normalize_rows_divides_by_row_sums():
    w = np.array([[1.0, 3.0], [2.0, 2.0]])
    np.testing.assert_allclose(normalize_rows(w), [[0.25, 0.75], [0.5, 0.5]])


@pytest.mark.parametrize(
    "weights",
    [
        torch.tensor([[1.0, 1.0], [0.0, 0.0]]),  # zero row
        torch.tensor([[1.0, -0.5]]),  # negative weight
        torch.tensor([[1.0, float("nan")]]),
        torch.tensor([1.0, 2.0]),  # wrong ndim
    ],
)
def test_normalize_rows_rejects_bad_weights(weights):
    with pytest.raises(ValueError, match="weights"):
        normalize_rows(weights)


# --- what the public code's `sigma = dist_temp[11]` does ---------------------

def _batch_distances(n_anchors=16, n_neighbors=5, seed=0):
    """(B, 1+J) squared distances, column 0 the self distance, as the public code lays them out."""
    rng = np.random.default_rng(seed)
    nbr = rng.random((n_anchors, n_neighbors)) * rng.uniform(0.5, 5.0, size=(n_anchors, 1))
    return torch.from_numpy(np.hstack([np.zeros((n_anchors, 1)), nbr]))


def test_row11_window_is_row_11_not_each_samples_11th_distance():
    dist = _batch_distances()
    sigma = public_code_row11_window(dist)
    sorted_rows = torch.sort(dist, dim=1).values
    assert sigma.shape == (dist.shape[1],)  # one value per column, shared by every anchor
    torch.testing.assert_close(sigma, sorted_rows[11])
    assert float(sigma[0]) == 0.0  # the self distance: dividing by it is 0/0
    assert torch.isnan(dist / sigma)[:, 0].all()
    # What a per-sample window would be differs from anchor to anchor.
    per_sample = sorted_rows[:, -1]
    assert not torch.allclose(per_sample, per_sample[11].expand_as(per_sample))


def test_public_code_gauss_weights_hide_the_nan_and_are_not_normalised():
    dist = _batch_distances()
    w = public_code_gauss_weights(dist)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w[:, 0], w[:, 1:].sum(dim=1))
    assert not torch.allclose(w.sum(dim=1), torch.ones(w.shape[0], dtype=w.dtype))


def test_public_code_helpers_need_twelve_rows():
    with pytest.raises(ValueError, match="distances"):
        public_code_row11_window(_batch_distances(n_anchors=11))
    with pytest.raises(ValueError, match="distances"):
        public_code_gauss_weights(torch.zeros(16))
