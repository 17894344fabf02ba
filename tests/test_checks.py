"""Tests for dggbook.derivation.checks: the registry of numeric derivation checks (notebooks 01–05)."""
import math

import pytest
import torch

import dggbook.derivation.checks as checks
from dggbook.derivation.checks import REGISTRY, Check, CheckResult, check, run_checks

FIELDS = ("name", "equation", "lhs", "rhs", "error", "tolerance", "passed")


@pytest.fixture(scope="module")
def results():
    return run_checks()


def test_every_registered_check_passes(results):
    assert len(results) == len(REGISTRY) >= 20
    failed = [(r.name, r.error, r.tolerance) for r in results if not r.passed]
    assert not failed, failed


def test_every_result_carries_both_sides_error_tolerance_and_verdict(results):
    for r in results:
        d = r.as_dict()
        assert set(FIELDS) <= set(d), r.name
        assert isinstance(r.name, str) and r.name and isinstance(r.equation, str) and r.equation
        assert all(isinstance(d[k], float) for k in ("lhs", "rhs", "error", "tolerance"))
        assert isinstance(r.passed, bool)
        assert r.error == pytest.approx(abs(r.lhs - r.rhs), abs=0, rel=1e-15)
        assert math.isfinite(r.error) and r.tolerance >= 0
        assert r.expect in ("equal", "differ")
        assert r.passed == (r.error <= r.tolerance if r.expect == "equal" else r.error > r.tolerance)


def test_names_are_unique(results):
    names = [r.name for r in results]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("label", ["(1)", "(2.1)", "(2.3)", "(3)", "(4)", "(5)", "(21)", "(31)", "§8", "§9"])
def test_the_labels_cover_every_derivation_step(results, label):
    assert any(r.equation == label for r in results), label


def test_misprints_are_demonstrated_by_differ_checks(results):
    differ = {r.equation for r in results if r.expect == "differ"}
    assert {"(21)", "(31)", "(3)"} <= differ


def test_a_check_whose_sides_differ_fails():
    result = Check("deliberately wrong", "(test)", 1e-12, lambda: (1.0, 1.0 + 1e-6)).run()
    assert isinstance(result, CheckResult)
    assert result.passed is False
    assert result.error == pytest.approx(1e-6, rel=1e-9)


def test_a_differ_check_with_equal_sides_fails_and_nan_never_passes():
    assert Check("equal sides", "(test)", 1e-3, lambda: (2.0, 2.0), expect="differ").run().passed is False
    assert Check("nan", "(test)", math.inf, lambda: (math.nan, 0.0)).run().passed is False
    assert Check("nan differ", "(test)", 0.0, lambda: (math.nan, 0.0), expect="differ").run().passed is False
    assert Check("inf", "(test)", 1.0, lambda: (math.inf, 0.0), expect="differ").run().passed is False


def test_a_wrong_pi_update_is_caught(monkeypatch):
    def broken(gamma_self, gamma_neighbors, weights, **kwargs):
        return 0.5 * gamma_self + 0.5 * gamma_neighbors.mean(1) ** 2  # not on the simplex, not the maximiser

    monkeypatch.setattr(checks, "update_pi", broken)
    results = {r.name: r for r in run_checks(["eq. (31)"])}
    assert results, "no π checks selected"
    assert not results["eq. (31): closed form = numeric optimiser (unnormalised w)"].passed
    assert not results["eq. (31): rows of π sum to 1 (unnormalised w)"].passed


def test_a_wrong_elbo_coefficient_is_caught(monkeypatch):
    original = checks.elbo_terms

    def printed(*args, **kwargs):
        kwargs["coefficient"] = 1.0
        return original(*args, **kwargs)

    monkeypatch.setattr(checks, "elbo_terms", printed)
    results = run_checks(["eq. (4): closed-form", "coefficient ½"])
    assert len(results) == 2 and not any(r.passed for r in results)


def test_dropping_the_gaussian_sign_is_caught(monkeypatch):
    original = checks.gaussian_log_likelihood
    monkeypatch.setattr(checks, "gaussian_log_likelihood", lambda *a, **k: -original(*a, **k))
    (result,) = run_checks(["Gaussian log-likelihood"])
    assert not result.passed


def test_registering_a_failing_check_shows_up_in_run_checks(monkeypatch):
    monkeypatch.setattr(checks, "REGISTRY", list(REGISTRY))

    @check("test-only: 1 = 2", "(test)", 1e-12)
    def _wrong():
        return 1.0, 2.0

    results = {r.name: r for r in run_checks(["test-only"])}
    assert set(results) == {"test-only: 1 = 2"} and results["test-only: 1 = 2"].passed is False
    assert len(REGISTRY) == len(checks.REGISTRY) - 1  # the module-level registry was left alone


def test_run_checks_filters_by_name_substring():
    selected = run_checks(["§9"])
    assert selected and all("§9" in r.name for r in selected)
    assert len(selected) < len(REGISTRY)
    assert run_checks(["no check has this name"]) == []


def test_closed_form_elbo_helper_returns_float64_terms():
    model, x, posts = checks._mean_field()
    terms = checks.closed_form_elbo(model, x[0], posts[0])
    assert terms.total.dtype == torch.float64 and terms.total.shape == (1,)
