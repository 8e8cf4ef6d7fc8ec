"""Executing and stamping the book's notebooks, the status page, the test-suite timing.

The book's own tooling: no chapter's teaching code imports it. From the repository root::

    python -m tools.book execute                 # every chapter, in _toc.yml order
    python -m tools.book execute chapters/01_what_is_an_autoencoder.ipynb
    python -m tools.book check                   # are committed outputs fresh?
    python -m tools.book status                  # one line per chapter
    python -m tools.book write-status            # regenerate the status page's table
    python -m tools.book time-tests              # run the README's test command, record its time

``execute`` runs notebooks in full mode, in order, with a weight cache that starts empty
(so a model that a later chapter trains again with identical settings is trained once,
and nothing from a reader's own cache leaks in), then writes the outputs and a stamp into
each notebook's metadata: the sha256 of its code cells, the source files of the book's
modules the notebook loaded (``aeutils`` and, for the performance appendix, the benchmark)
with the sha256 of their sources, the number of claim cells that ran and held, the mode,
the date and the wall time. Only modules a chapter actually loads can change its outputs,
so editing ``aeutils/gan.py`` makes stale only the chapters that use it, and editing this
file makes stale none. The tests compare the stamp with the current code, so stale outputs
cannot be committed unnoticed.
"""

from __future__ import annotations

import argparse
import ast
import datetime as _dt
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aeutils.config import CACHE_DIR_ENV, FAST_ENV, NO_CACHE_ENV
from tools.bench import cpu_model, vector_units
from tools.toc import REPO_ROOT, toc_pages

#: The reader's package, whose modules a stamp tracks.
PACKAGE_DIR: Path = REPO_ROOT / "aeutils"
#: Modules outside ``aeutils`` whose output a notebook shows, so a change to them makes it stale.
TRACKED_TOOLS = ("tools.bench",)

STAMP_KEY = "aeutils_stamp"


def machine_label(record: dict[str, Any]) -> str:
    """The processor of a stamp or timing record: model name and vector units, as the status page shows it."""
    model = record.get("cpu_model", "not recorded")
    units = record.get("cpu_vector_units")
    return f"{model} ({units})" if units else model


#: Strings that must never appear in committed outputs (absolute local paths).
FORBIDDEN_IN_OUTPUTS = ("/root/", "/home/", "/tmp/", "/Users/", "C:\\Users")
#: The README's test command (after the interpreter), timed by ``time-tests``.
TEST_ARGS = ("-m", "pytest", "-n", "2", "--dist", "loadfile")
#: Where ``time-tests`` records the last timing of the test-suite (read by the Performance appendix).
TEST_TIMING_FILE = REPO_ROOT / "chapters" / "test_suite_timing.json"
#: The sentence the "Performance" appendix includes, generated from :data:`TEST_TIMING_FILE`.
TEST_TIMING_FRAGMENT = REPO_ROOT / "chapters" / "test_suite_timing.txt"


# ---------------------------------------------------------------- stamps & hashes


def code_cells_sha256(notebook: dict[str, Any]) -> str:
    """sha256 over the sources of a notebook's code cells, in order."""
    hasher = hashlib.sha256()
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            hasher.update(source.encode("utf-8"))
            hasher.update(b"\x00")
    return hasher.hexdigest()


def aeutils_sources() -> list[str]:
    """Every ``.py`` file of the package, as paths relative to the package directory."""
    return sorted(
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*.py")
        if "__pycache__" not in path.parts
    )


def aeutils_sha256(modules: list[str] | None = None) -> str:
    """sha256 over source files of the book's modules (path and content).

    Args:
        modules: files relative to the ``aeutils`` package (``["config.py", "train.py"]``), or
            relative to the repository for tracked tools (``"../tools/bench.py"``); None means
            every file of ``aeutils``. A file that no longer exists hashes as missing, so the
            stamp goes stale.
    """
    hasher = hashlib.sha256()
    for name in sorted(modules if modules is not None else aeutils_sources()):
        path = (PACKAGE_DIR / name).resolve()
        hasher.update(name.encode())
        hasher.update(b"\x00")
        hasher.update(path.read_bytes().replace(b"\r\n", b"\n") if path.is_file() else b"<missing>")
        hasher.update(b"\x00")
    return hasher.hexdigest()


#: Appended to a notebook while it executes (then removed): lists the aeutils modules it loaded.
_PROBE = (
    "import sys as _aeutils_sys\n"
    "print(sorted({m for m in _aeutils_sys.modules if m == 'aeutils' or m.startswith('aeutils.')"
    f" or m in {TRACKED_TOOLS!r}}}))"
)


def _module_files(module_names: list[str]) -> list[str]:
    files = set()
    for name in module_names:
        if name in TRACKED_TOOLS:
            files.add("../" + name.replace(".", "/") + ".py")
            continue
        parts = name.split(".")[1:]
        candidate = "/".join(parts) + ".py" if parts else "__init__.py"
        if not (PACKAGE_DIR / candidate).is_file():
            candidate = "/".join([*parts, "__init__.py"])
        files.add(candidate)
    files.add("__init__.py")
    return sorted(files)


def _source_digests() -> dict[str, str]:
    """sha256 of every file a stamp can name (``aeutils`` and the tracked tools), by stamp name."""
    names = aeutils_sources() + ["../" + tool.replace(".", "/") + ".py" for tool in TRACKED_TOOLS]
    return {name: aeutils_sha256([name]) for name in names}


#: What :func:`aeutils.train.fit` prints when it loads a model from the weight cache instead of training it.
CACHE_LOAD_MESSAGE = ": loaded cached weights ("


def cache_loads(notebook: dict[str, Any]) -> int:
    """How many trained models a notebook's outputs say were loaded from the weight cache, not trained."""
    count = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") == "stream":
                text = output.get("text", "")
                count += ("".join(text) if isinstance(text, list) else text).count(CACHE_LOAD_MESSAGE)
    return count


def read_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def toc_notebooks() -> list[Path]:
    """Notebooks listed in ``_toc.yml``, in reading order."""
    candidates = (REPO_ROOT / f"{page}.ipynb" for page in toc_pages())
    return [path for path in candidates if path.is_file()]


def problems(path: str | os.PathLike[str]) -> list[str]:
    """Everything wrong with a committed notebook (empty list when it is fresh and clean)."""
    path = Path(path)
    notebook = read_notebook(path)
    found: list[str] = []
    stamp = notebook.get("metadata", {}).get(STAMP_KEY)
    if not stamp:
        found.append(f"no execution stamp: run `python -m tools.book execute {path.name}`")
    else:
        if stamp.get("mode") != "full":
            found.append(
                f"stamp says mode={stamp.get('mode')!r}; committed outputs must come from a full run"
            )
        if stamp.get("code_sha256") != code_cells_sha256(notebook):
            found.append("code cells changed since the outputs were made (stale outputs): re-execute it")
        if stamp.get("aeutils_sha256") != aeutils_sha256(stamp.get("aeutils_modules")):
            found.append("aeutils sources changed since the outputs were made (stale outputs): re-execute it")
    if notebook.get("metadata", {}).get("widgets"):
        found.append(
            "widget state in the notebook metadata (the rendered book would fetch widget JavaScript "
            "from a CDN): re-execute it with `python -m tools.book execute`, which does not store it"
        )
    counts = [c.get("execution_count") for c in notebook["cells"] if c.get("cell_type") == "code"]
    if counts != list(range(1, len(counts) + 1)):
        found.append(f"execution counts are not 1..{len(counts)} in order: {counts}")
    for index, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                found.append(f"cell {index}: error output {output.get('ename')}: {output.get('evalue')}")
            if kind == "stream" and output.get("name") == "stderr":
                text = "".join(output.get("text", ""))
                found.append(f"cell {index}: stderr output: {text[:120]!r}")
            blob = json.dumps(output)
            for needle in FORBIDDEN_IN_OUTPUTS:
                if needle in blob:
                    found.append(f"cell {index}: absolute local path {needle!r} in an output")
            if kind == "stream" and "\r" in "".join(output.get("text", "")):
                found.append(f"cell {index}: carriage-return progress bar in an output")
    return found


# ---------------------------------------------------------------------- execute


def claim_cells(notebook: dict[str, Any]) -> int:
    """The number of claim cells: hidden code cells (tag ``remove-cell``) that ``assert`` something."""
    count = 0
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        tags = cell.get("metadata", {}).get("tags", [])
        if (
            cell.get("cell_type") == "code"
            and "remove-cell" in tags
            and re.search(r"^\s*assert\b", source, re.M)
        ):
            count += 1
    return count


def execute(
    path: str | os.PathLike[str],
    *,
    fast: bool = False,
    timeout: int = 1800,
    write: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Execute one notebook in place and stamp it; return the stamp.

    Args:
        path: the notebook.
        fast: fast mode (for trying; the tests reject fast stamps).
        timeout: seconds allowed per cell.
        write: write the outputs and the stamp into the file.
        cache_dir: the weight cache to use; None means a new, empty one for this notebook alone.
            :func:`main` passes one shared directory to all the notebooks of a run, so a model
            that a later chapter trains again with identical settings is trained once.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed, for example a claim cell whose
            assertion does not hold; nothing is written then.
        RuntimeError: a source file the notebook loaded was edited while it ran.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path).resolve()
    notebook = nbformat.read(path, as_version=4)
    sources_at_start = _source_digests()
    env_backup = {k: os.environ.get(k) for k in (FAST_ENV, NO_CACHE_ENV, CACHE_DIR_ENV)}
    own_cache = None if cache_dir is not None else tempfile.TemporaryDirectory(prefix="aeutils-cache-")
    os.environ[FAST_ENV] = "1" if fast else "0"
    os.environ[NO_CACHE_ENV] = "0"
    os.environ[CACHE_DIR_ENV] = str(cache_dir if cache_dir is not None else own_cache.name)  # type: ignore[union-attr]
    try:
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            # Sliders need a live kernel; their state would only make the book load widget JavaScript.
            store_widget_state=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        notebook.cells.append(nbformat.v4.new_code_cell(_PROBE))
        client.execute()
        seconds = time.perf_counter() - start
    finally:
        for key, value in env_backup.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if own_cache is not None:
            own_cache.cleanup()
    import keras
    import tensorflow as tf

    probe = notebook.cells.pop()
    loaded = ast.literal_eval("".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout"))
    modules = _module_files(loaded)
    # The stamp vouches for the sources the run used: an edit made while it ran would make stale
    # outputs look fresh, so refuse to stamp them.
    sources_now = _source_digests()
    changed = [name for name in modules if sources_now.get(name) != sources_at_start.get(name)]
    if changed:
        raise RuntimeError(
            f"{', '.join(changed)} changed while {path.name} ran; nothing was written: execute it again"
        )
    stamp = {
        "code_sha256": code_cells_sha256(notebook),
        "aeutils_modules": modules,
        "aeutils_sha256": aeutils_sha256(modules),
        "mode": "fast" if fast else "full",
        "claims_checked": claim_cells(notebook),
        "cache_loads": cache_loads(notebook),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": round(seconds, 1),
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "cpu_vector_units": vector_units(),
    }
    notebook.metadata[STAMP_KEY] = stamp
    if write:
        nbformat.write(notebook, path)
    return stamp


def stamps() -> list[tuple[str, dict[str, Any]]]:
    """(notebook name, stamp) for each chapter in the table of contents."""
    return [(p.name, read_notebook(p).get("metadata", {}).get(STAMP_KEY, {})) for p in toc_notebooks()]


# ------------------------------------------------------------------ status page

#: The status page of the book, rewritten by ``python -m tools.book write-status``.
STATUS_PAGE = REPO_ROOT / "chapters" / "status.md"
STATUS_START = "<!-- status-table:start (generated by `python -m tools.book write-status`; do not edit) -->"
STATUS_END = "<!-- status-table:end -->"


def status_markdown(chapter_stamps: list[tuple[str, dict[str, Any]]] | None = None) -> str:
    """The table of the status page: one row per chapter with its full-run wall time and date.

    ``chapter_stamps`` defaults to :func:`stamps` (the chapters in ``_toc.yml``).
    Introduced with the book's status page.
    """
    chapter_stamps = stamps() if chapter_stamps is None else chapter_stamps
    if not chapter_stamps:
        return "*No chapter in the table of contents has been executed yet.*"
    lines = [
        "| Chapter | Wall time | Executed | Mode | TensorFlow | Keras | CPU cores | CPU |",
        "|---|---:|---|---|---|---|---:|---|",
    ]
    total = 0.0
    for name, stamp in chapter_stamps:
        doc = "{doc}`" + Path(name).stem + "`"
        if not stamp:
            lines.append(f"| {doc} | not executed | | | | | | |")
            continue
        seconds = float(stamp.get("wall_seconds", 0.0))
        total += seconds
        lines.append(
            f"| {doc} | {seconds:.0f} s | {stamp.get('date', '')} | {stamp.get('mode', '')} "
            f"| {stamp.get('tensorflow', '')} | {stamp.get('keras', '')} | {stamp.get('cpu_count', '')} "
            f"| {machine_label(stamp)} |"
        )
    lines.append(f"| **Whole book** | **{total:.0f} s** | | | | | | |")
    lines.extend(_cache_sentence(chapter_stamps))
    machines = sorted({machine_label(stamp) for _, stamp in chapter_stamps if stamp})
    if len(machines) > 1:
        lines.append("")
        lines.append(
            f"The rows were measured on {len(machines)} different machines ("
            + "; ".join(machines)
            + "), so the whole-book sum mixes their speeds: compare a chapter only with chapters measured on "
            "the same machine."
        )
    return "\n".join(lines)


def _cache_sentence(chapter_stamps: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Under the table: whether any chapter's time leaves out training that the weight cache saved it."""
    executed = [(name, stamp) for name, stamp in chapter_stamps if stamp]
    if not executed or any("cache_loads" not in stamp for _, stamp in executed):
        return []  # not recorded for every row: say nothing rather than guess
    loaded = [(name, int(stamp["cache_loads"])) for name, stamp in executed if stamp["cache_loads"]]
    if not loaded:
        return [
            "",
            "No chapter loaded a trained model from the weight cache: every time includes all of its chapter's training.",
        ]
    listed = ", ".join("{doc}`" + Path(name).stem + f"` ({count})" for name, count in loaded)
    return [
        "",
        "Some chapters loaded trained models from the weight cache instead of training them, so their times "
        f"leave that training out (models loaded): {listed}.",
    ]


def write_status(path: str | os.PathLike[str] = STATUS_PAGE) -> bool:
    """Rewrite the generated table of the status page; return True when the file changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if STATUS_START not in text or STATUS_END not in text:
        raise ValueError(
            f"{path} has no generated-table markers; put the lines {STATUS_START!r} and "
            f"{STATUS_END!r} where the table belongs"
        )
    head, rest = text.split(STATUS_START, 1)
    _, tail = rest.split(STATUS_END, 1)
    new = f"{head}{STATUS_START}\n\n{status_markdown()}\n\n{STATUS_END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def time_tests(path: str | os.PathLike[str] = TEST_TIMING_FILE) -> dict[str, Any]:
    """Run the README's test command from the repository root, time it, record the result as JSON.

    The output of pytest is echoed as it comes. The record (command, wall time, pytest's summary
    line, exit code, date, machine) is written to ``path`` even when tests fail, so a failing
    run is never mistaken for a passing one; the "Performance" appendix shows it.
    """
    command = [sys.executable, *TEST_ARGS]
    start = time.perf_counter()
    tail: list[str] = []
    with subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            tail = (tail + [line.rstrip()])[-40:]
    seconds = time.perf_counter() - start
    summaries = [m.group(1) for line in tail if (m := re.search(r"=+ (.+) in [0-9.]+s", line))]
    record = {
        "command": ".venv/bin/python " + " ".join(TEST_ARGS),
        "wall_seconds": round(seconds, 2),
        "summary": summaries[-1] if summaries else "no pytest summary line",
        "exit_code": process.returncode,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "cpu_vector_units": vector_units(),
        "python": sys.version.split()[0],
    }
    Path(path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def read_test_timing(path: str | os.PathLike[str] = TEST_TIMING_FILE) -> dict[str, Any] | None:
    """The record written by :func:`time_tests`, or None when the suite has not been timed."""
    path = Path(path)
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    missing = {"command", "wall_seconds", "summary", "exit_code", "date"} - set(record)
    if missing:
        raise ValueError(
            f"{path.name} lacks {sorted(missing)}; re-create it with `python -m tools.book time-tests`"
        )
    return record


def test_timing_markdown(record: dict[str, Any] | None) -> str:
    """One MyST sentence describing a :func:`time_tests` record (or saying there is none)."""
    if record is None:
        return "*The test-suite has not been timed yet: run `python -m tools.book time-tests`.*\n"
    outcome = "passed" if record["exit_code"] == 0 else f"**failed** (exit code {record['exit_code']})"
    return (
        f"`{record['command']}` took **{record['wall_seconds'] / 60:.1f} minutes** on "
        f"{record.get('date', 'an unknown date')} ({record.get('cpu_count', '?')} CPU cores"
        f"{', ' + machine_label(record) if record.get('cpu_model') else ''}): "
        f"{record['summary']}; the run {outcome}. Recorded by `python -m tools.book time-tests`.\n"
    )


def write_test_timing_fragment(path: str | os.PathLike[str] = TEST_TIMING_FRAGMENT) -> bool:
    """Rewrite the included test-suite sentence from the record; return True when it changed."""
    path = Path(path)
    new = test_timing_markdown(read_test_timing())
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.book", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="execute notebooks in full mode and stamp them")
    run.add_argument("notebooks", nargs="*", help="default: every chapter in _toc.yml order")
    run.add_argument("--fast", action="store_true", help="fast mode (for trying; tests reject it)")
    check = sub.add_parser("check", help="report stale or unclean committed notebooks")
    check.add_argument("notebooks", nargs="*")
    sub.add_parser("status", help="one line per chapter: mode, date, wall time")
    sub.add_parser("write-status", help="rewrite the table of chapters/status.md from the stamps")
    sub.add_parser("time-tests", help="run the README's test command and record its wall time")
    args = parser.parse_args(argv)

    if args.command == "time-tests":
        record = time_tests()
        write_test_timing_fragment()
        print(f"{record['summary']} in {record['wall_seconds']:.0f} s; recorded in {TEST_TIMING_FILE.name}")
        return record["exit_code"]

    if args.command == "write-status":
        print("status page updated" if write_status() else "status page up to date")
        print(
            "test-suite sentence updated"
            if write_test_timing_fragment()
            else "test-suite sentence up to date"
        )
        return 0
    if args.command == "status":
        for name, stamp in stamps():
            print(
                f"{name:45s} {stamp.get('mode', '-'):5s} {stamp.get('date', '-'):21s} "
                f"{stamp.get('wall_seconds', float('nan')):7.1f} s"
            )
        return 0
    paths = [Path(p) for p in args.notebooks] or toc_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if args.command == "check":
        bad = 0
        for path in paths:
            for problem in problems(path):
                bad += 1
                print(f"{path.name}: {problem}")
        print("all fresh" if not bad else f"{bad} problem(s)")
        return 1 if bad else 0
    total = 0.0
    with tempfile.TemporaryDirectory(prefix="aeutils-cache-") as shared_cache:
        for path in paths:
            print(f"executing {path.name} ({'fast' if args.fast else 'full'} mode) ...", flush=True)
            stamp = execute(path, fast=args.fast, cache_dir=shared_cache)
            total += stamp["wall_seconds"]
            print(
                f"  done in {stamp['wall_seconds']:.0f} s, {stamp['claims_checked']} claim cells held",
                flush=True,
            )
    print(f"total {total:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
