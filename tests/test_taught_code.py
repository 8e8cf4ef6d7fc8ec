"""Taught code is code the reader runs, and it cannot drift from the package.

A chapter that teaches a class or function of :mod:`aeutils` writes it in a code cell that begins
with the imports it needs and a marker line::

    from aeutils import checks
    # @save aeutils.models.build_conv_autoencoder
    def build_conv_autoencoder(...):
        ...

Everything after the marker must be exactly the package object's source (``inspect.getsource``),
so the package is the chapter's code, not a copy that can drift (the ``# @save`` idea of Dive into
Deep Learning). A reader in Jupyter or Colab can read, change and re-run the cell; the rendered book
shows the same cell. No notebook shows package code through a ``literalinclude`` directive, which
Jupyter would display as a raw directive.
"""

from __future__ import annotations

import json

import pytest

from tools import book, taught
from tools.taught import split_taught_cell

NOTEBOOKS = sorted((book.REPO_ROOT / "chapters").glob("*.ipynb"))


def _code_cells(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        yield index, cell["cell_type"], source


def all_taught_cells():
    return [
        pytest.param(path, index, module, name, body, id=f"{path.stem}-{name}")
        for path in NOTEBOOKS
        for index, module, name, body in taught.taught_cells(path)
    ]


def test_split_taught_cell_finds_the_object_and_its_source():
    module, name, body = split_taught_cell("import math\n# @save aeutils.vae.VAE\nclass VAE:\n    pass\n")
    assert (module, name, body) == ("aeutils.vae", "VAE", "class VAE:\n    pass\n")
    with pytest.raises(ValueError, match="not a taught cell"):
        split_taught_cell("class VAE:\n    pass\n")


@pytest.mark.parametrize(("path", "index", "module", "name", "body"), all_taught_cells())
def test_taught_cell_is_exactly_the_package_source(path, index, module, name, body):
    assert body.rstrip("\n") == taught.package_source(module, name).rstrip("\n"), (
        f"{path.name} cell {index} teaches {module}.{name} but differs from the package: run "
        "`python -m tools.taught sync` (or copy the cell into the package) and execute the notebook again"
    )


def test_every_taught_object_is_taught_once_and_the_chapters_teach_the_core_classes():
    names = [f"{p.values[2]}.{p.values[3]}" for p in all_taught_cells()]
    assert len(names) == len(set(names)), names
    for expected in (
        "aeutils.vae.VAE",
        "aeutils.vae.Sampling",
        "aeutils.gan.GAN",
        "aeutils.models.build_conv_autoencoder",
    ):
        assert expected in names


def test_sync_rewrites_a_drifted_cell(tmp_path):
    import nbformat

    source = taught.package_source("aeutils.vae", "reparameterize")
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell("# @save aeutils.vae.reparameterize\n" + source.replace("0.5", "0.25"))
    )
    path = tmp_path / "drifted.ipynb"
    nbformat.write(notebook, path)
    ((index, module, name, body),) = taught.taught_cells(path)
    assert body.rstrip() != source.rstrip()
    assert taught.sync(path) == 1
    ((index, module, name, body),) = taught.taught_cells(path)
    assert body.rstrip() == source.rstrip()
    assert taught.sync(path) == 0


def test_no_notebook_shows_package_code_through_literalinclude():
    offenders = [
        f"{path.name} cell {index}"
        for path in NOTEBOOKS
        for index, _, source in _code_cells(path)
        if "literalinclude" in source and "aeutils" in source
    ]
    assert not offenders, f"show taught code in a code cell instead: {offenders}"
