"""The two helpers every chapter's setup calls: :func:`setup_notebook` and :func:`glue`.

Introduced in chapter 1. In a chapter::

    from aeutils.notebook import glue, setup_notebook
    print(setup_notebook(seed=0))
    glue("test_mse", test_mse)          # then {glue:text}`test_mse:.4f` in markdown
    glue("ae_vs_pca", "beats")          # a word works too; the Chinese edition translates it

Executing and stamping notebooks is the book's own tooling (``python -m tools.book``), not part
of this package.
"""

from __future__ import annotations

import math
import re
from typing import Any

from aeutils import config

_GLUE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def glue(name: str, value: Any, *, display: bool = False) -> Any:
    """Record ``value`` under ``name`` so markdown can print it with ``{glue:text}``.

    Numbers must be finite (a NaN in the prose is a bug to fix, not to print).
    Returns ``value`` so the call can sit inside an expression.

    Raises:
        ValueError: the name is not lower_snake_case, or the number is NaN or infinite.
        TypeError: the value is a bool (glue the number or a word instead).
    """
    if not isinstance(name, str) or not _GLUE_NAME.match(name):
        raise ValueError(f"glue name must be lower_snake_case, got {name!r}")
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:
        value = value.item()
    if isinstance(value, bool):
        raise TypeError(f"glue {name!r}: got a bool; glue numbers or strings")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"glue {name!r}: value is {value}; refusing to put it into the prose")
    from myst_nb import glue as _myst_glue

    _myst_glue(name, value, display=display)
    return value


def setup_notebook(seed: int = 0) -> str:
    """The one call of a chapter's setup cell: quiet logs, seed, plot style.

    Returns a one-line description of the mode, which the setup cell prints.
    """
    import logging
    import warnings

    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    config.seed_everything(seed)
    from aeutils import plots

    plots.set_style()
    return f"mode: {config.mode()} (set {config.FAST_ENV}=1 for the fast test run), seed: {seed}"
