"""The clustering benchmark script runs end to end (tiny presets; its numbers are not checked here)."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_clustering.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_clustering", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_method_reports_every_seed(bench, tmp_path, capsys):
    out = tmp_path / "results.json"
    results = bench.main(["--quick", "--seeds", "0", "1", "--methods", *bench.METHODS, "--json", str(out)])
    assert set(results) == set(bench.METHODS)
    for method, rows in results.items():
        assert [r["seed"] for r in rows] == [0, 1]
        assert all(0.0 <= r["acc"] <= 1.0 and 0.0 <= r["nmi"] <= 1.0 for r in rows)
        assert ("start_acc" in rows[0]) == (method in ("dgg", "vade"))
    assert json.loads(out.read_text()) == json.loads(json.dumps(results))
    table = capsys.readouterr().out
    assert "| DGG" in table and "±" in table
