"""Quality gates of the code: ruff (lint and format, code and notebooks) and mypy over the packages."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tools.book import REPO_ROOT


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False)


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(REPO_ROOT / ".venv" / "bin")) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -r requirements.txt")
    return found


def test_ruff_lint_passes_on_code_and_notebooks():
    done = _run(_tool("ruff"), "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_leaves_code_and_notebooks_unchanged():
    done = _run(_tool("ruff"), "format", "--check", ".")
    assert done.returncode == 0, "run `ruff format .` (then re-execute changed notebooks):\n" + done.stdout


def test_mypy_passes_on_aeutils_and_tools():
    done = _run(sys.executable, "-m", "mypy")  # files and settings: [tool.mypy] in pyproject.toml
    assert done.returncode == 0, done.stdout + done.stderr
