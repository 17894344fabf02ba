"""Repository-level promises: paired notebooks in sync, small notebooks, CI = README, LICENSE."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCRIPTS = sorted((ROOT / "notebooks").glob("*.py"))
MAX_NOTEBOOK_BYTES = 3 * 1024 * 1024


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


def test_ci_runs_the_readme_test_command_and_the_book_check():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book-check" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)
    assert re.search(r"^make notebooks$", ci, flags=re.M)  # the notebooks under nbval, each in a fresh kernel
    assert re.search(r"^make book-check$", ci, flags=re.M)
    assert re.search(r"^make site-test$", ci, flags=re.M)
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "bash .ci/run" in workflow


def test_license_file_matches_the_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_wheel_ships_every_subpackage():
    """A wheel built from pyproject.toml holds dggbook.derivation, .model and .book, not only dggbook."""
    from fnmatch import fnmatch

    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "dggbook").rglob("__init__.py")}
    assert {"dggbook", "dggbook.derivation", "dggbook.model", "dggbook.book"} <= packages
    shipped = {p for p in packages if any(fnmatch(p, pattern) for pattern in find["include"])}
    assert shipped == packages


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_names_its_kernel_and_language(ipynb):
    """Jupyter opens the notebook on the kernel `make install` registers, without asking for one."""
    from dggbook.book.runner import KERNELSPEC

    metadata = json.loads(ipynb.read_text())["metadata"]
    assert metadata.get("kernelspec") == KERNELSPEC, f"{ipynb.name}: run `make book` or add the kernelspec"
    assert metadata.get("language_info", {}).get("name") == "python", f"{ipynb.name} has no language_info"
    makefile = (ROOT / "Makefile").read_text()
    assert f"ipykernel install --sys-prefix --name {KERNELSPEC['name']} " in makefile
    assert f'--display-name "{KERNELSPEC["display_name"]}"' in makefile
