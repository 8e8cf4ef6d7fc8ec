"""What the book imports is what it declares.

A reader gets the chapters' libraries in one of two ways: Colab's first cell installs ``aeutils[book]``
(the package's dependencies and its ``book`` extra, from ``pyproject.toml``), and a clone or Binder
installs ``requirements.txt``. A module that a chapter imports and neither declares fails only on the
reader's machine, with a ``ModuleNotFoundError`` halfway through a chapter, so these tests read every
import of the chapters and of ``aeutils`` and look up which distribution provides it.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the tests run there

ROOT = Path(__file__).resolve().parents[1]
# Imports that need no declared dependency: the book's own package and tooling (the Performance appendix
# runs from a clone, see the README) and IPython, which every Jupyter kernel brings.
OWN = {"aeutils", "tools", "IPython"}
# Modules that a declared distribution installs as its own dependency.
INSTALLED_WITH = {"threadpoolctl": "scikit-learn", "absl": "tensorflow"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement such as ``scikit-image>=0.24,<1``."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement.strip())
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _declared(*, book: bool) -> set[str]:
    """The distributions aeutils depends on, with those of its ``book`` extra when ``book``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + (project["optional-dependencies"]["book"] if book else [])
    return {_name(r) for r in requirements}


@functools.cache
def _module_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()  # scans every installed distribution: once


def _distributions(module: str) -> set[str]:
    if module in INSTALLED_WITH:
        return {INSTALLED_WITH[module]}
    return {_name(d) for d in _module_distributions().get(module, [])}


def chapter_imports() -> dict[str, set[str]]:
    """Top-level module -> the notebooks whose code cells import it (magics and shell lines skipped)."""
    found: dict[str, set[str]] = {}
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            lines = "".join(cell["source"]).split("\n")
            # A shell or magic line (the Colab cell's !pip) becomes `pass`, so the cell still parses.
            code = "\n".join(_magic_as_pass(line) for line in lines)
            for module in _imports(ast.parse(code)):
                found.setdefault(module, set()).add(notebook.name)
    return found


def _magic_as_pass(line: str) -> str:
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("!", "%")) else line


def _imports(tree: ast.AST) -> set[str]:
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def _undeclared(imports: dict[str, set[str]], declared: set[str]) -> dict[str, list[str]]:
    return {
        module: sorted(where)
        for module, where in imports.items()
        if module not in sys.stdlib_module_names
        and module not in OWN
        and not _distributions(module) & declared
    }


def test_every_module_a_chapter_imports_comes_with_aeutils_book():
    declared = _declared(book=True)
    imports = chapter_imports()
    assert {"bm3d", "constriction", "skimage", "sklearn", "keras"} <= set(imports)  # the scan sees them
    missing = _undeclared(imports, declared)
    assert not missing, (
        f"chapters import modules that aeutils[book] does not install (Colab installs only that): {missing}; "
        "add their distributions to the 'book' extra in pyproject.toml"
    )


def test_every_module_aeutils_imports_is_a_dependency_of_aeutils():
    declared = _declared(book=False)
    imports: dict[str, set[str]] = {}
    for path in sorted((ROOT / "aeutils").glob("*.py")):
        for module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            imports.setdefault(module, set()).add(path.name)
    missing = _undeclared(imports, declared)
    assert not missing, f"aeutils imports modules that are not among its dependencies: {missing}"


def test_requirements_txt_installs_everything_aeutils_book_declares():
    wanted = _declared(book=True)
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    listed = {_name(line.split("#")[0]) for line in lines if line.split("#")[0].strip()}
    assert wanted <= listed, f"requirements.txt lacks {sorted(wanted - listed)}"


def test_a_missing_declaration_is_reported():
    imports = {"bm3d": {"10_denoising_restoration.ipynb"}, "numpy": {"x.ipynb"}, "json": {"x.ipynb"}}
    assert _undeclared(imports, {"numpy"}) == {"bm3d": ["10_denoising_restoration.ipynb"]}
    assert _undeclared(imports, {"numpy", "bm3d"}) == {}
