"""Tests for dggbook.validation: every check names the offending argument in its ValueError."""
import numpy as np
import pytest
import torch

from dggbook.validation import (
    check_covariance,
    check_finite,
    check_ndim,
    check_nonnegative,
    check_rows_positive,
    check_shape,
    check_unit_interval,
)


@pytest.mark.parametrize("value", [np.array([1.0, np.nan]), torch.tensor([np.inf]), [0.0, -np.inf], float("nan")])
def test_check_finite_names_the_argument(value):
    with pytest.raises(ValueError, match="^my_arg contains NaN or inf"):
        check_finite("my_arg", value)


@pytest.mark.parametrize("value", [np.zeros(3), torch.zeros(2, 2), torch.zeros(0), [1.0, 2.0], 3.0])
def test_check_finite_accepts_finite_values(value):
    check_finite("my_arg", value)


@pytest.mark.parametrize("value", [np.zeros(3), torch.zeros(2, 3, 1), [[1.0]]])
def test_check_ndim_names_the_argument_and_the_shape(value):
    with pytest.raises(ValueError, match=r"^my_arg must be 4-D, got shape"):
        check_ndim("my_arg", value, 4)


def test_check_ndim_accepts_the_right_ndim():
    check_ndim("my_arg", torch.zeros(2, 3), 2)
    check_ndim("my_arg", [[1.0, 2.0]], 2)


def test_check_shape_names_the_argument_and_allows_wildcards():
    check_shape("my_arg", np.zeros((2, 5)), (2, None))
    with pytest.raises(ValueError, match=r"^my_arg must have shape \(3, .*\), got \(2, 5\)"):
        check_shape("my_arg", np.zeros((2, 5)), (3, None))
    with pytest.raises(ValueError, match="^my_arg"):
        check_shape("my_arg", torch.zeros(2, 5, 1), (2, None))


def test_check_nonnegative_names_the_argument():
    check_nonnegative("my_arg", np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="^my_arg has negative entries"):
        check_nonnegative("my_arg", torch.tensor([0.5, -1e-300], dtype=torch.float64))


@pytest.mark.parametrize("value", [np.array([-0.1, 0.5]), torch.tensor([0.5, 1.5])])
def test_check_unit_interval_names_the_argument(value):
    with pytest.raises(ValueError, match=r"^my_arg has values outside \[0, 1\]"):
        check_unit_interval("my_arg", value)


def test_check_unit_interval_accepts_the_closed_interval_and_empty_input():
    check_unit_interval("my_arg", np.array([0.0, 1.0, 0.5]))
    check_unit_interval("my_arg", np.zeros(0))


def test_check_rows_positive_names_the_argument_and_the_row():
    check_rows_positive("my_arg", np.array([[0.0, 1.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match="^my_arg row 1 sums to zero"):
        check_rows_positive("my_arg", torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="^my_arg row 2 sums to zero"):
        check_rows_positive("my_arg", np.array([1.0, 2.0, 0.0]))


def test_check_covariance_accepts_spd_and_returns_floats():
    out = check_covariance("my_cov", [[2, 1], [1, 2]])
    assert out.dtype == float and out.shape == (2, 2)


@pytest.mark.parametrize(
    "cov, what",
    [
        ([[1.0, 0.2], [0.0, 1.0]], "not symmetric"),
        ([[1.0, 2.0], [2.0, 1.0]], "not positive definite"),
        ([[1.0, 1.0], [1.0, 1.0]], "not positive definite"),
        ([[0.0]], "not positive definite"),
        (np.zeros((2, 3)), "square"),
        (np.zeros(3), "square"),
        ([[1.0, np.nan], [np.nan, 1.0]], "NaN"),
    ],
)
def test_check_covariance_names_the_argument(cov, what):
    with pytest.raises(ValueError, match=f"^my_cov .*{what}|^my_cov {what}"):
        check_covariance("my_cov", cov)
