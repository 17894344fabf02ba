"""The autocheck helpers of the exercises: a failure says which exercise, what was expected and what was received."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dggbook.book.exercises import check_close, check_equal, check_true


def test_check_close_passes_within_tolerance_and_says_so(capsys):
    check_close("4.1", torch.tensor([0.5, 0.5], dtype=torch.float64), [0.5, 0.5 + 1e-12], what="π")
    assert "Exercise 4.1: π is right" in capsys.readouterr().out


def test_check_close_failure_names_the_exercise_and_both_values():
    with pytest.raises(AssertionError) as raised:
        check_close("3.1", [1.0, -7.09], [1.0, -3.55], what="term 2")
    message = str(raised.value)
    assert message.startswith("Exercise 3.1: term 2 is wrong (largest error at index (1,))")
    assert "expected [ 1.  , -3.55]" in message and "received [ 1.  , -7.09]" in message


@pytest.mark.parametrize("received, reason", [(None, "not been answered"), (..., "not been answered"),
                                              ([1.0, 2.0, 3.0], "shape (3,); expected shape (2,)"),
                                              ([np.nan, 1.0], "NaN or inf")])
def test_check_close_explains_unanswered_misshaped_and_nan(received, reason):
    with pytest.raises(AssertionError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_close("1.2", received, [1.0, 2.0])


def test_check_equal_and_check_true():
    check_equal("7.4", (9, 3), (9, 3), what="the merged pair")
    with pytest.raises(AssertionError, match=r"expected \(9, 3\)\n  received \(3, 9\)"):
        check_equal("7.4", (3, 9), (9, 3), what="the merged pair")
    with pytest.raises(AssertionError, match="not been answered"):
        check_equal("7.4", ..., (9, 3))
    check_equal("7.4", np.array([9, 3]), (9, 3))  # an array or a list of the right numbers is the right answer
    check_equal("7.4", [np.int64(9), 3], (9, 3))
    with pytest.raises(AssertionError, match="is wrong"):
        check_equal("7.4", torch.tensor([3, 9]), (9, 3))
    check_true("6.3", True, "unused")
    with pytest.raises(AssertionError, match="Exercise 6.3: rows must sum to 1"):
        check_true("6.3", False, "rows must sum to 1")
