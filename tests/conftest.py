"""Shared fixtures: the book is built once per test session (by whichever test needs it)."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aeutils import config

BUILD_DIR = config.REPO_ROOT / "_build"


@pytest.fixture(scope="session")
def built_book():
    """Build the book with warnings as errors; return (html directory, output, seconds)."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(jupyter_book) if jupyter_book.exists() else "jupyter-book",
        "build",
        str(config.REPO_ROOT),
        "-W",
        "-n",
        "--keep-going",
    ]
    shutil.rmtree(BUILD_DIR / "html", ignore_errors=True)
    shutil.rmtree(BUILD_DIR / ".doctrees", ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=config.REPO_ROOT)
    seconds = time.perf_counter() - start
    return BUILD_DIR / "html", done.returncode, done.stdout + done.stderr, seconds
