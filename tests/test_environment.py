"""The three dependency lists agree, and the environment report and thread control work.

- ``requirements-lock.txt`` (pip-compile) holds the exact versions of everything;
- ``pyproject.toml`` keeps lower bounds, which every locked version must satisfy;
- ``environment.yml`` pins each direct dependency to its locked version.
"""
from __future__ import annotations

import re
import os
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


def clean_env() -> dict:
    """This process's environment without the kernel settings and the opt-out (a user who exported none)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("MKL_CBWR", "ATEN_CPU_CAPABILITY", environment.OPT_OUT_ENV)}


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, env=env,
                          check=False)


def test_importing_dggbook_changes_nothing():
    """No environment variable set, no torch loaded, no warning: ``import dggbook`` has no side effects."""
    code = ("import os, sys; before = dict(os.environ); import dggbook; "
            "print(dict(os.environ) == before, 'torch' in sys.modules, dggbook.DGG.__name__)")
    out = run_python(code, clean_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "DGG"]
    late = run_python("import torch, dggbook; dggbook.DGG", clean_env())  # torch first: no warning either
    assert late.returncode == 0 and late.stderr == "", late.stderr


@pytest.mark.skipif(environment.platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only")
def test_pin_cpu_math_is_an_explicit_call_that_pins_the_avx2_kernels():
    code = ("import dggbook, os; pinned = dggbook.pin_cpu_math(); import torch; "
            "print(pinned, os.environ.get('MKL_CBWR'), torch.backends.cpu.get_cpu_capability())")
    out = run_python(code, clean_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "AVX2", "AVX2"]
    # Called after torch loaded: this process is not pinned, and it says so (an error under -W error).
    late = run_python("import torch, dggbook; dggbook.pin_cpu_math()", clean_env())
    assert late.returncode != 0 and "torch was imported before pin_cpu_math()" in late.stderr
    # A setting the caller exported wins: the stand-in for another CPU.
    other = {**clean_env(), "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
    out = run_python(code, other)
    assert out.stdout.split() == ["True", "COMPATIBLE", "DEFAULT"], out.stderr
    # The opt-out: nothing set, nothing said.
    out = run_python(code, {**clean_env(), environment.OPT_OUT_ENV: "1"})
    assert out.stdout.split()[:2] == ["False", "None"], out.stderr
    late = run_python("import torch, dggbook; dggbook.pin_cpu_math()", {**clean_env(), environment.OPT_OUT_ENV: "1"})
    assert late.returncode == 0 and late.stderr == ""


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
def test_scripts_pin_the_kernels_before_torch(script):
    """An import sorter that moves ``import dggbook`` below ``import torch``, or a script that forgets to call
    ``dggbook.pin_cpu_math()`` before its other imports, silently unpins the kernels."""
    first = first_library_import(script)
    assert first in ("dggbook", "")  # "": the script imports no library itself
    if first:
        text = script.read_text()
        call = text.find("dggbook.pin_cpu_math()")
        assert call != -1, f"{script.name} imports dggbook but never calls dggbook.pin_cpu_math()"
        later = [text.find(f"\nimport {name}") for name in ("torch", "numpy", "sklearn")]
        later += [text.find(f"\nfrom {name}") for name in ("torch", "numpy", "sklearn", "dggbook.")]
        assert all(index == -1 or index > call for index in later), \
            f"{script.name} imports a library before dggbook.pin_cpu_math()"
