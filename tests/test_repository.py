"""Repository-level promises: paired notebooks in sync, environment.yml = pyproject, small notebooks, CI = README."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCRIPTS = sorted((ROOT / "notebooks").glob("*.py"))
CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> PyPI name
MAX_NOTEBOOK_BYTES = 3 * 1024 * 1024


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_every_notebook_is_paired():
    assert NOTEBOOKS, "no notebooks found"
    assert {p.stem for p in NOTEBOOKS} == {p.stem for p in SCRIPTS}


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_in_sync(ipynb):
    script = ipynb.with_suffix(".py")
    a, b = jupytext.read(ipynb), jupytext.read(script)
    cells_a = [(c.cell_type, c.source.strip()) for c in a.cells]
    cells_b = [(c.cell_type, c.source.strip()) for c in b.cells]
    assert cells_a == cells_b, f"{ipynb.name} and {script.name} differ: run `jupytext --sync {script}`"


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_small_and_starts_with_setup(ipynb):
    assert ipynb.stat().st_size < MAX_NOTEBOOK_BYTES, f"{ipynb.name} is over 3 MB; check plotly's renderer"
    code = [c.source for c in jupytext.read(ipynb).cells if c.cell_type == "code"]
    assert "setup_book(" in code[0], f"{ipynb.name} must open with the standard setup cell"


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    env = (ROOT / "environment.yml").read_text()
    listed = set()
    dependencies = env.split("dependencies:", 1)[1]
    for line in dependencies.splitlines():
        m = re.match(r"\s*-\s+([A-Za-z0-9_.\-]+)", line)
        if m and m.group(1) not in ("pip", "python", "-e"):
            name = _name(m.group(1))
            listed.add(CONDA_NAMES.get(name, name))
    assert wanted == listed, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)
