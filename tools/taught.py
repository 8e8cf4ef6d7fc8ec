"""Taught code cells: the chapters' copies of package objects, kept identical to the package.

A chapter that teaches a class or function of :mod:`aeutils` writes it in a code cell that begins
with the imports it needs and a marker line, then the object's source::

    from aeutils import checks
    # @save aeutils.models.build_conv_autoencoder
    def build_conv_autoencoder(...):
        ...

``tests/test_taught_code.py`` fails when a cell and its package twin differ. After editing the
package, ``python -m tools.taught sync`` copies the package source into every taught cell (the
notebooks must then be executed again, since their code changed).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
from pathlib import Path

from tools.book import REPO_ROOT

#: ``# @save aeutils.module.name`` on a line of its own.
MARKER = re.compile(r"^# ?@save (aeutils(?:\.\w+)+)\.(\w+)$", re.M)


def split_taught_cell(source: str) -> tuple[str, str, str]:
    """(module, object name, the source after the marker line) of a taught cell."""
    match = MARKER.search(source)
    if match is None:
        raise ValueError("not a taught cell: no '# @save aeutils.module.name' line")
    return match.group(1), match.group(2), source[match.end() :].lstrip("\n")


def package_source(module: str, name: str) -> str:
    """The source of ``module.name`` as ``inspect`` reads it from the installed package."""
    return inspect.getsource(getattr(importlib.import_module(module), name))


def taught_cells(path: Path) -> list[tuple[int, str, str, str]]:
    """(cell index, module, name, body) of every taught cell of a notebook."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    found = []
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and MARKER.search(source):
            found.append((index, *split_taught_cell(source)))
    return found


def sync(path: Path) -> int:
    """Copy the package source into every taught cell of ``path``; return how many cells changed."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    changed = 0
    for cell in notebook.cells:
        if cell.cell_type != "code" or not MARKER.search(cell.source):
            continue
        module, name, body = split_taught_cell(cell.source)
        fresh = package_source(module, name).rstrip("\n")
        if body.rstrip("\n") != fresh:
            head = cell.source[: MARKER.search(cell.source).end()]  # type: ignore[union-attr]
            cell.source = f"{head}\n{fresh}"
            changed += 1
    if changed:
        nbformat.write(notebook, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.taught", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="copy the package source into every taught cell")
    sub.add_parser("check", help="list taught cells that differ from the package")
    args = parser.parse_args(argv)
    notebooks = sorted((REPO_ROOT / "chapters").glob("*.ipynb"))
    if args.command == "sync":
        for path in notebooks:
            if changed := sync(path):
                print(f"{path.name}: {changed} taught cell(s) updated; execute it again")
        return 0
    differ = [
        f"{path.name} cell {index}: {module}.{name}"
        for path in notebooks
        for index, module, name, body in taught_cells(path)
        if body.rstrip("\n") != package_source(module, name).rstrip("\n")
    ]
    print("\n".join(differ) or "every taught cell matches the package")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
