import json

from dggbook.cli import main
from dggbook.derivation import checks


def test_check_table_passes(capsys):
    assert main(["check", "--only", "eq. (31)"]) == 0
    out = capsys.readouterr().out
    assert "(31)" in out and "0 failed" in out


def test_check_json(capsys):
    assert main(["check", "--json", "--only", "step (2.1)"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2
    assert {"name", "equation", "lhs", "rhs", "error", "tolerance", "passed"} <= set(rows[0])
    assert all(r["passed"] for r in rows)


def test_check_exits_nonzero_when_a_check_fails(monkeypatch, capsys):
    broken = checks.Check("deliberately broken", "(0)", 1e-12, lambda: (1.0, 2.0))
    monkeypatch.setattr(checks, "REGISTRY", checks.REGISTRY + [broken])
    assert main(["check", "--only", "deliberately broken"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_unknown_filter_is_an_error(capsys):
    assert main(["check", "--only", "no such check"]) == 2


def test_check_covers_every_derivation_step():
    labels = {r.equation for r in checks.run_checks()}
    assert {"(1)", "(2.1)", "(2.3)", "(3)", "(4)", "(5)", "(21)", "(31)", "§8", "§9"} <= labels
