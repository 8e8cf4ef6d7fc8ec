"""Shared fixtures: the book is built once per test run, even with several xdist workers."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tools import book

BUILD_DIR = book.REPO_ROOT / "_build"


def _build_book() -> dict:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(jupyter_book) if jupyter_book.exists() else "jupyter-book",
        "build",
        str(book.REPO_ROOT),
        "-W",
        "-n",
        "--keep-going",
    ]
    shutil.rmtree(BUILD_DIR / "html", ignore_errors=True)
    shutil.rmtree(BUILD_DIR / ".doctrees", ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=book.REPO_ROOT)
    return {
        "returncode": done.returncode,
        "output": done.stdout + done.stderr,
        "seconds": time.perf_counter() - start,
    }


@pytest.fixture(scope="session")
def built_book():
    """Build the book with warnings as errors; return (html directory, returncode, output, seconds).

    xdist workers of one run share the build: the first one builds under a file lock and
    leaves a record keyed by the run's id; the others wait for the lock and read the record.
    """
    BUILD_DIR.mkdir(exist_ok=True)
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    record_path = BUILD_DIR / ".book-build.json"
    with open(BUILD_DIR / ".book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        if record.get("run") != run_id:
            record = {"run": run_id, **_build_book()}
            record_path.write_text(json.dumps(record))
    return BUILD_DIR / "html", record["returncode"], record["output"], record["seconds"]
