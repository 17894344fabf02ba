"""The three dependency lists agree, and the environment report and thread control work.

- ``requirements-lock.txt`` (pip-compile) holds the exact versions of everything;
- ``pyproject.toml`` keeps lower bounds, which every locked version must satisfy;
- ``environment.yml`` pins each direct dependency to its locked version.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from dggbook import environment

ROOT = Path(__file__).resolve().parent.parent
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PACKAGES = {"pip", "python"}


def locked_versions() -> dict[str, Version]:
    found = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if m:
            found[canonicalize_name(m.group(1))] = Version(m.group(2))
    return found


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(r) for r in lines]


def conda_pins() -> dict[str, str]:
    """Every ``- name=version`` (conda) and ``- name==version`` (pip) line of environment.yml."""
    pins = {}
    for line in (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1].splitlines():
        m = re.match(r"\s*-\s+([A-Za-z0-9_.\-]+)\s*(==?)?\s*([^\s#]*)", line)
        if m and m.group(1) not in NOT_PACKAGES and m.group(1) != "-e":
            pins[canonicalize_name(CONDA_TO_PYPI.get(m.group(1), m.group(1)))] = m.group(3)
    return pins


def test_lock_satisfies_every_lower_bound_in_pyproject():
    locked = locked_versions()
    for req in pyproject_requirements():
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is in pyproject.toml but not in requirements-lock.txt: run `make lock`"
        assert req.specifier.contains(locked[name], prereleases=True), \
            f"locked {req.name}=={locked[name]} violates pyproject.toml's {req}"


def test_pyproject_keeps_lower_bounds_not_pins():
    for req in pyproject_requirements():
        if canonicalize_name(req.name) == "nbval":  # the one tool pinned because newer ones break (README)
            continue
        assert all(spec.operator == ">=" for spec in req.specifier), f"pyproject.toml should only bound {req}"


def test_environment_yml_pins_exactly_the_locked_versions_of_the_direct_dependencies():
    locked, pins = locked_versions(), conda_pins()
    direct = {canonicalize_name(r.name) for r in pyproject_requirements()}
    assert set(pins) == direct, f"only in pyproject: {direct - set(pins)}; only in environment.yml: {set(pins) - direct}"
    for name, pinned in pins.items():
        assert pinned, f"environment.yml lists {name} without a version"
        assert Version(pinned) == Version(locked[name].public), \
            f"environment.yml pins {name}={pinned}, the lock has {locked[name]}"


def test_environment_yml_python_matches_the_lock_header():
    header = (ROOT / "requirements-lock.txt").read_text().splitlines()[1]
    python = re.search(r"Python (\d+\.\d+)", header).group(1)
    assert re.search(rf"^\s*-\s+python={re.escape(python)}\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_makefile_installs_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "requirements-lock.txt" in makefile and "-c $(VENV)/constraints.txt" in makefile


def test_versions_reports_the_five_packages_and_the_cpu_math():
    found = environment.versions()
    assert set(found) == {"python", "torch", "numpy", "scipy", "scikit-learn", "cpu_math"}
    assert found["torch"].startswith(torch.__version__.split("+")[0])
    line = environment.describe()
    assert f"numpy={found['numpy']}" in line and "python=" in line


def test_torch_threads_applies_and_restores():
    before = torch.get_num_threads()
    with environment.torch_threads(2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with environment.torch_threads(None):
        assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_name_the_argument(bad):
    with pytest.raises(ValueError, match="n_threads"):
        with environment.torch_threads(bad):
            pass


@pytest.mark.skipif(environment.platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only")
def test_importing_dggbook_first_pins_the_avx2_kernels():
    code = ("import dggbook, os, torch; "
            "print(os.environ.get('MKL_CBWR'), torch.backends.cpu.get_cpu_capability())")
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("MKL_CBWR", "ATEN_CPU_CAPABILITY", environment.OPT_OUT_ENV)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["AVX2", "AVX2"]
    late = subprocess.run([sys.executable, "-c", "import torch, dggbook"], capture_output=True, text=True, env=env,
                          check=True)
    assert "torch was imported before dggbook" in late.stderr
    env[environment.OPT_OUT_ENV] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split()[0] == "None"
    late = subprocess.run([sys.executable, "-c", "import torch, dggbook"], capture_output=True, text=True, env=env,
                          check=True)
    assert late.stderr == ""


def first_library_import(path: Path) -> str:
    """The first top-level import in ``path`` that is neither ``__future__`` nor the standard library."""
    import ast

    for node in ast.parse(path.read_text()).body:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and not node.level else []
        for name in names:
            root = name.split(".")[0]
            if root != "__future__" and root not in sys.stdlib_module_names:
                return root
    return ""


@pytest.mark.parametrize("script", [ROOT / "tests" / "conftest.py", *sorted((ROOT / "benchmarks").glob("*.py"))],
                         ids=lambda p: p.name)
def test_scripts_import_dggbook_before_torch(script):
    """An import sorter that moves ``import dggbook`` below ``import torch`` silently unpins the kernels."""
    assert first_library_import(script) in ("dggbook", "")  # "": the script imports no library itself
