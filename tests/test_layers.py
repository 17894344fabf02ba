"""The package's architecture, read from its imports (README, "What is where").

Rules:
- ``dggbook.derivation`` imports only itself and the shared base modules;
- ``dggbook.model`` may add the derivation; ``dggbook.study`` (experiments about the model) may add
  the model; none of them imports ``dggbook.book``, and the model never imports the study;
- the base modules (``environment``, ``paths``, ``validation``) import no layer;
- only the checks and ``dggbook.model.departures`` import ``dggbook.derivation.reproductions``
  (the misprints and the public code's behaviour), so the correct library never computes with
  them unless a training setting names one (the ablation study of notebook 08);
- no module imports another module's private (``_name``) helper or module.

Each rule is also run against a small package written to a temporary folder
that breaks it, so a checker that stopped seeing imports would fail here too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dggbook"
BASE = {"dggbook.environment", "dggbook.paths", "dggbook.validation"}
REPRODUCTIONS = "dggbook.derivation.reproductions"
MAY_IMPORT_REPRODUCTIONS = {"dggbook.derivation.checks", "dggbook.model.departures"}
ALLOWED_LAYERS = {
    "base": {"base"},
    "derivation": {"base", "derivation"},
    "model": {"base", "derivation", "model"},
    "study": {"base", "derivation", "model", "study"},
    "book": {"base", "derivation", "model", "study", "book"},
    "app": {"base", "derivation", "model", "study", "book", "app"},  # dggbook/__init__, the command line
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module in BASE:
        return "base"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("derivation", "model", "study", "book"):
        return parts[1]
    return "app"


def imports_of(path: Path, root: Path):
    """(line, imported module, imported name or None) for every import in ``path``, relative ones resolved."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                yield node.lineno, target, alias.name


def violations(root: Path) -> list[str]:
    """Every broken rule in the package at ``root``, as 'file:line: what'."""
    found = []
    modules = {module_name(p, root) for p in root.rglob("*.py")}
    for path in sorted(root.rglob("*.py")):
        here = module_name(path, root)
        where = f"{path.relative_to(root.parent)}"
        for line, target, name in imports_of(path, root):
            if not (target == root.name or target.startswith(root.name + ".")):
                continue  # a third-party or standard-library import
            # `from dggbook.model import cache` imports the module dggbook.model.cache
            full = f"{target}.{name}" if name and f"{target}.{name}" in modules else target
            attr = None if full != target else name
            if layer_of(full) not in ALLOWED_LAYERS[layer_of(here)]:
                found.append(f"{where}:{line}: the {layer_of(here)} layer imports {full} ({layer_of(full)} layer)")
            if full == REPRODUCTIONS and here not in MAY_IMPORT_REPRODUCTIONS and layer_of(here) != "book":
                found.append(f"{where}:{line}: {here} computes with a reproduction of a mistake ({full})")
            private_module = any(p.startswith("_") and not p.startswith("__") for p in full.split("."))
            private_name = attr is not None and attr.startswith("_") and not attr.startswith("__")
            if (private_module or private_name) and full != here:
                found.append(f"{where}:{line}: imports a private helper {full}{'.' + attr if private_name else ''}")
    return found


def test_the_package_keeps_its_layers():
    assert violations(PACKAGE) == []


def test_the_four_layers_exist_as_subpackages():
    for layer in ("derivation", "model", "study", "book"):
        assert (PACKAGE / layer / "__init__.py").is_file()
    assert (PACKAGE / "derivation" / "reproductions.py").is_file()


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "dggbook"
    for name, text in {"__init__.py": "", "derivation/__init__.py": "", "model/__init__.py": "",
                       "study/__init__.py": "", "book/__init__.py": "", "validation.py": "", **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return package


@pytest.mark.parametrize("files, expected", [
    ({"model/graph.py": "from ..book import plots\n", "book/plots.py": ""}, "the model layer imports dggbook.book.plots"),
    ({"derivation/elbo.py": "from dggbook.model.networks import Encoder\n", "model/networks.py": ""},
     "the derivation layer imports dggbook.model.networks"),
    ({"model/dgg.py": "def fit():\n    from ..book.setup import quick_mode\n", "book/setup.py": ""},
     "the model layer imports dggbook.book.setup"),
    ({"validation.py": "from .model import data\n", "model/data.py": ""}, "the base layer imports dggbook.model.data"),
    ({"model/vade.py": "from ..study.paired import paired_differences\n", "study/paired.py": ""},
     "the model layer imports dggbook.study.paired"),
    ({"study/questions.py": "from ..book import plots\n", "book/plots.py": ""},
     "the study layer imports dggbook.book.plots"),
    ({"derivation/pi_update.py": "from .reproductions import public_code_pi\n", "derivation/reproductions.py": ""},
     "computes with a reproduction"),
    ({"model/siamese.py": "from .graph import _as_feature_tensor\n", "model/graph.py": ""}, "private helper"),
    ({"model/pretrain.py": "from . import _loops\n", "model/_loops.py": ""}, "private helper dggbook.model._loops"),
])
def test_each_rule_catches_a_package_that_breaks_it(tmp_path, files, expected):
    found = violations(write_package(tmp_path, files))
    assert any(expected in line for line in found), found


def test_allowed_imports_are_not_reported(tmp_path):
    package = write_package(tmp_path, {
        "model/graph.py": "import numpy\nfrom ..derivation.affinity import uniform_weights\nfrom ..validation import x\n",
        "derivation/affinity.py": "", "derivation/checks.py": "from .reproductions import public_code_pi\n",
        "derivation/reproductions.py": "", "book/plots.py": "from ..model import graph\n",
    })
    assert violations(package) == []
