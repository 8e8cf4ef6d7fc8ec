"""Book-level checks: glue, stamps, freshness and hygiene of every committed notebook."""

import copy
import json
import os
import re
from pathlib import Path

import pytest

from tools import book

CHAPTERS = sorted((book.REPO_ROOT / "chapters").glob("*.ipynb"))


def clean_notebook():
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# T"},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": "print(1)",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}],
            },
            {"cell_type": "code", "metadata": {}, "execution_count": 2, "source": "x = 2", "outputs": []},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    nb["metadata"][book.STAMP_KEY] = {
        "code_sha256": book.code_cells_sha256(nb),
        "aeutils_sha256": book.aeutils_sha256(),
        "mode": "full",
    }
    return nb


def problems_of(nb, tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    return book.problems(path)


def test_clean_notebook_has_no_problems(tmp_path):
    assert problems_of(clean_notebook(), tmp_path) == []


@pytest.mark.parametrize(
    "spoil, expected",
    [
        (lambda nb: nb["metadata"].pop(book.STAMP_KEY), "no execution stamp"),
        (lambda nb: nb["metadata"][book.STAMP_KEY].update(mode="fast"), "mode='fast'"),
        (lambda nb: nb["cells"][2].update(source="x = 3"), "code cells changed"),
        (
            lambda nb: nb["metadata"][book.STAMP_KEY].update(aeutils_sha256="0" * 64),
            "aeutils sources changed",
        ),
        (lambda nb: nb["cells"][2].update(execution_count=5), "not 1..2 in order"),
        (
            lambda nb: nb["cells"][2]["outputs"].append(
                {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}
            ),
            "error output",
        ),
        (
            lambda nb: nb["cells"][2]["outputs"].append(
                {"output_type": "stream", "name": "stderr", "text": "WARNING"}
            ),
            "stderr output",
        ),
        (lambda nb: nb["cells"][1]["outputs"][0].update(text="saved to /root/x\n"), "absolute local path"),
        (lambda nb: nb["cells"][1]["outputs"][0].update(text="10%\r20%\n"), "carriage-return"),
        (
            lambda nb: nb["metadata"].update(widgets={"application/vnd.jupyter.widget-state+json": {}}),
            "widget state",
        ),
    ],
)
def test_each_kind_of_problem_is_detected(tmp_path, spoil, expected):
    nb = copy.deepcopy(clean_notebook())
    spoil(nb)
    found = problems_of(nb, tmp_path)
    assert any(expected in problem for problem in found), found


def test_markdown_edits_do_not_make_outputs_stale(tmp_path):
    nb = clean_notebook()
    nb["cells"][0]["source"] = "# A better title"
    assert problems_of(nb, tmp_path) == []


@pytest.mark.parametrize(
    "name, value, error",
    [("Bad Name", 1.0, ValueError), ("x", float("nan"), ValueError), ("flag", True, TypeError)],
)
def test_glue_refuses_bad_names_and_values(name, value, error):
    from aeutils.notebook import glue

    with pytest.raises(error):
        glue(name, value)


def test_every_chapter_is_listed_in_the_toc():
    listed = {path.resolve() for path in book.toc_notebooks()}
    assert CHAPTERS, "no chapters found"
    assert {path.resolve() for path in CHAPTERS} <= listed, "a chapter notebook is missing from _toc.yml"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_committed_notebook_is_fresh_and_clean(notebook: Path):
    found = book.problems(notebook)
    assert not found, f"{notebook.name}:\n  " + "\n  ".join(found)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_the_full_run_checked_every_claim_cell(notebook: Path):
    """A claim cell is an assertion in the full run too: the stamp records how many held."""
    data = book.read_notebook(notebook)
    stamp = data.get("metadata", {}).get(book.STAMP_KEY, {})
    assert stamp.get("claims_checked") == book.claim_cells(data), (
        f"{notebook.name}: stamp says {stamp.get('claims_checked')} claim cells held, the notebook has "
        f"{book.claim_cells(data)}: re-execute it with `python -m tools.book execute`"
    )


def test_stamp_goes_stale_only_when_a_loaded_module_changes(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    for name in ("__init__.py", "used.py", "unused.py"):
        (package / name).write_text(f"# {name}\n")
    monkeypatch.setattr(book, "PACKAGE_DIR", package)
    nb = clean_notebook()
    modules = book._module_files(["aeutils", "aeutils.used"])
    assert modules == ["__init__.py", "used.py"]
    nb["metadata"][book.STAMP_KEY].update(
        aeutils_modules=modules, aeutils_sha256=book.aeutils_sha256(modules)
    )
    assert problems_of(nb, tmp_path) == []
    (package / "unused.py").write_text("# changed\n")
    assert problems_of(nb, tmp_path) == []
    (package / "used.py").write_text("# changed\n")
    assert any("aeutils sources changed" in p for p in problems_of(nb, tmp_path))
    (package / "used.py").unlink()
    assert any("aeutils sources changed" in p for p in problems_of(nb, tmp_path))


def test_editing_the_tooling_leaves_every_notebook_fresh(tmp_path, monkeypatch):
    """The stamp hashes only the modules a notebook loaded: the execute/status code is not among them."""
    for notebook in CHAPTERS:
        stamp = book.read_notebook(notebook).get("metadata", {}).get(book.STAMP_KEY, {})
        assert all("tools/book.py" not in name for name in stamp.get("aeutils_modules", [])), notebook.name
    copy_of_tools = tmp_path / "tools"
    copy_of_tools.mkdir()
    edited = copy_of_tools / "book.py"
    edited.write_text(Path(book.__file__).read_text(encoding="utf-8") + "\n# an edit to the tooling\n")
    nb = clean_notebook()
    modules = book._module_files(["aeutils", "aeutils.config", "aeutils.notebook"])
    nb["metadata"][book.STAMP_KEY].update(
        aeutils_modules=modules, aeutils_sha256=book.aeutils_sha256(modules)
    )
    assert problems_of(nb, tmp_path) == []
    assert "../tools/book.py" not in modules and "notebook.py" in modules


def test_the_benchmark_a_notebook_shows_is_tracked_like_a_package_module():
    modules = book._module_files(["aeutils", "tools.bench"])
    assert "../tools/bench.py" in modules
    assert book.aeutils_sha256(modules) != book.aeutils_sha256(["__init__.py"])


def _tiny_notebook(path, *sources, tags=()):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source in sources:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = list(tags)
        notebook.cells.append(cell)
    nbformat.write(notebook, path)
    return path


def test_execute_writes_outputs_and_a_stamp_and_restores_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AEUTILS_FAST", "1")
    monkeypatch.setenv("AEUTILS_NO_CACHE", "1")
    monkeypatch.delenv("AEUTILS_CACHE_DIR", raising=False)
    path = _tiny_notebook(
        tmp_path / "tiny.ipynb",
        "import os, aeutils\nprint(os.environ['AEUTILS_FAST'], os.environ['AEUTILS_NO_CACHE'])",
        "assert 1 + 1 == 2",
        tags=("remove-cell",),
    )
    stamp = book.execute(path, timeout=120)
    notebook = book.read_notebook(path)
    assert notebook["metadata"][book.STAMP_KEY] == stamp
    assert stamp["mode"] == "full" and stamp["claims_checked"] == 1 and stamp["wall_seconds"] > 0
    assert "__init__.py" in stamp["aeutils_modules"] and "config.py" in stamp["aeutils_modules"]
    # full mode, with a weight cache of its own (empty) instead of the reader's
    assert "".join(notebook["cells"][0]["outputs"][0]["text"]).split() == ["0", "0"]
    assert book.problems(path) == []
    assert os.environ["AEUTILS_FAST"] == "1" and os.environ["AEUTILS_NO_CACHE"] == "1"
    assert "AEUTILS_CACHE_DIR" not in os.environ


def test_a_failing_claim_fails_the_run_and_writes_nothing(tmp_path, monkeypatch):
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("AEUTILS_FAST", "1")
    path = _tiny_notebook(tmp_path / "claim.ipynb", "x = 1", "assert x == 2, 'the claim does not hold'")
    before = path.read_bytes()
    with pytest.raises(CellExecutionError, match="the claim does not hold"):
        book.execute(path, timeout=120)
    assert path.read_bytes() == before
    assert os.environ["AEUTILS_FAST"] == "1"


def test_a_source_edited_during_the_run_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("AEUTILS_FAST", "1")
    path = _tiny_notebook(tmp_path / "edited.ipynb", "import aeutils.config")
    before = path.read_bytes()
    real = book._source_digests()
    calls = []

    def digests():  # config.py as it was at the start, then as if someone saved an edit
        calls.append(1)
        return real if len(calls) == 1 else {**real, "config.py": "edited"}

    monkeypatch.setattr(book, "_source_digests", digests)
    with pytest.raises(RuntimeError, match=r"config\.py changed while edited\.ipynb ran"):
        book.execute(path, timeout=120)
    assert path.read_bytes() == before


def test_claim_cells_are_counted_only_when_hidden_and_asserting():
    nb = clean_notebook()
    nb["cells"].append({"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": "assert True"})
    nb["cells"].append({"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": "glue('a', 1)"})
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": "assert True"})
    assert book.claim_cells(nb) == 1


GLUE_ROLE = re.compile(r"\{glue(?::[a-z]+)?\}`([A-Za-z_][A-Za-z0-9_]*)")


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_every_glued_number_in_the_prose_exists_once(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    glued: dict[str, set[str]] = {}
    used: set[str] = set()
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            used.update(GLUE_ROLE.findall(source))
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued.setdefault(name, set()).add(json.dumps(output["data"], sort_keys=True))
    missing = sorted(used - set(glued))
    assert not missing, f"{notebook.name}: prose uses glue keys that no cell glued: {missing}"
    conflicting = sorted(name for name, values in glued.items() if len(values) > 1)
    assert not conflicting, f"{notebook.name}: keys glued twice with different values: {conflicting}"


def test_the_timed_test_command_is_the_readme_command():
    command = ".venv/bin/python " + " ".join(book.TEST_ARGS)
    assert command in (book.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci_lines = (book.REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci_lines[-1].strip() == command  # CI runs exactly that, last


def test_time_tests_records_the_summary_and_the_exit_code(tmp_path, monkeypatch):
    record_path = tmp_path / "timing.json"
    monkeypatch.setattr(book, "TEST_ARGS", ("-c", "print('===== 3 passed, 1 skipped in 0.12s =====')"))
    record = book.time_tests(record_path)
    assert record["summary"] == "3 passed, 1 skipped" and record["exit_code"] == 0
    assert 0 < record["wall_seconds"] < 60
    assert book.read_test_timing(record_path) == record

    monkeypatch.setattr(book, "TEST_ARGS", ("-c", "import sys; print('collection failed'); sys.exit(2)"))
    record = book.time_tests(record_path)
    assert record["exit_code"] == 2 and record["summary"] == "no pytest summary line"


def test_read_test_timing_is_none_when_absent_and_rejects_an_incomplete_record(tmp_path):
    assert book.read_test_timing(tmp_path / "absent.json") is None
    (tmp_path / "bad.json").write_text(json.dumps({"wall_seconds": 1.0}))
    with pytest.raises(ValueError, match="time-tests"):
        book.read_test_timing(tmp_path / "bad.json")


RUN_TIME = re.compile(
    r"\*\*Run time\.\*\*\s+(About\s+(a|\d+)\s+minutes?|Under\s+a\s+minute)\s+for\s+the\s+full\s+run"
)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_the_run_time_a_chapter_announces_matches_its_last_full_run(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    found = RUN_TIME.search("".join(nb["cells"][0]["source"]))
    assert found, (
        f"{notebook.name}: the first cell must say '**Run time.** About N minutes for the full run ...'"
    )
    measured = nb["metadata"][book.STAMP_KEY]["wall_seconds"] / 60
    if found.group(1).startswith("Under"):
        assert measured < 1.0, (
            f"{notebook.name} announces under a minute; its last full run took {measured:.1f}"
        )
        return
    announced = 1 if found.group(2) == "a" else int(found.group(2))
    assert abs(announced - measured) <= max(1.0, 0.25 * measured), (
        f"{notebook.name} announces about {announced} minutes; its last full run took {measured:.1f}"
    )
