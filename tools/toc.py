"""The pages of the book in reading order, read from ``_toc.yml``.

A module of its own so that the translation tooling (also a Sphinx extension) can use it without
importing :mod:`aeutils`, which loads TensorFlow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT: Path = Path(__file__).resolve().parents[1]


def toc_pages(root: Path = REPO_ROOT) -> list[str]:
    """The root and every ``file`` of ``_toc.yml`` in reading order, as paths without extension."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [str(toc["root"])]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                pages.append(str(node["file"]))
            for key, value in node.items():
                if key != "file":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return [re.sub(r"\.(md|ipynb)$", "", page) for page in pages]
