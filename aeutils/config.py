"""Run-time configuration: fast/full budget, seeding, paths, quiet TensorFlow.

Introduced in chapter 1. Importing this module sets TensorFlow's logging
environment variables, so it must be imported *before* TensorFlow (importing
:mod:`aeutils` does that).

Fast mode (``AEUTILS_FAST=1``) is what the test-suite uses: small subsets and one
or two epochs, so that every notebook runs in CI. Full mode (the default) is
what the committed notebook outputs come from.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Quiet TensorFlow's C++ logs and the oneDNN notice. Must happen before the
# first ``import tensorflow`` anywhere in the process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

#: Environment variable that selects fast mode.
FAST_ENV = "AEUTILS_FAST"
#: Environment variable that disables the training cache (see :mod:`aeutils.train`).
NO_CACHE_ENV = "AEUTILS_NO_CACHE"
#: Environment variable that moves the training cache.
CACHE_DIR_ENV = "AEUTILS_CACHE_DIR"

#: The installed package directory (``.../aeutils``).
PACKAGE_DIR: Path = Path(__file__).resolve().parent
#: The repository root (the directory holding ``_config.yml``).
REPO_ROOT: Path = PACKAGE_DIR.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _env_flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"environment variable {name}={os.environ[name]!r} is not a boolean; "
        f"use {name}=1 to switch it on or unset it (or {name}=0) to switch it off"
    )


def is_fast() -> bool:
    """Return True when fast mode is selected (``AEUTILS_FAST=1``)."""
    return _env_flag(FAST_ENV)


def mode() -> str:
    """Return ``"fast"`` or ``"full"``, the current execution mode."""
    return "fast" if is_fast() else "full"


class Budget(Mapping[str, Any]):
    """The settings of one mode: read them as attributes or as a mapping.

    >>> b = Budget({"epochs": 3})
    >>> b.epochs
    3
    """

    def __init__(self, values: Mapping[str, Any], mode: str = "full") -> None:
        self._values = dict(values)
        self.mode = mode

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            known = ", ".join(sorted(self.__dict__.get("_values", {})))
            raise AttributeError(f"budget has no setting {name!r}; it has: {known}") from None

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Budget[{self.mode}]({items})"


def budget(*, full: Mapping[str, Any], fast: Mapping[str, Any]) -> Budget:
    """Pick the settings for the current mode.

    Every chapter calls this once in its setup cell, for example::

        BUDGET = budget(full=dict(epochs=10, n_train=None),
                        fast=dict(epochs=1, n_train=2000))

    Args:
        full: settings for the full run (the committed outputs).
        fast: settings for the fast run (the test-suite). Must have the same keys.

    Returns:
        A :class:`Budget` with the settings of the current mode.

    Raises:
        ValueError: if the two modes do not define the same settings.
    """
    if not isinstance(full, Mapping) or not isinstance(fast, Mapping):
        raise TypeError("budget(full=..., fast=...) expects two dicts of settings")
    if set(full) != set(fast):
        only_full = sorted(set(full) - set(fast))
        only_fast = sorted(set(fast) - set(full))
        raise ValueError(
            "full and fast budgets must define the same settings; "
            f"only in full: {only_full}, only in fast: {only_fast}"
        )
    chosen = mode()
    return Budget(fast if chosen == "fast" else full, mode=chosen)


def seed_everything(seed: int = 0, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow/Keras, and make TensorFlow ops deterministic.

    With ``deterministic=True`` two runs of a chapter on the same machine give the
    same numbers (at a small cost in speed).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def cache_dir() -> Path:
    """Directory for cached model weights (``AEUTILS_CACHE_DIR`` or ``<repo>/.cache``)."""
    override = os.environ.get(CACHE_DIR_ENV)
    path = Path(override).expanduser() if override else REPO_ROOT / ".cache" / "aeutils"
    return path


def cache_enabled() -> bool:
    """False when ``AEUTILS_NO_CACHE=1`` (full executions set this, so times are honest)."""
    return not _env_flag(NO_CACHE_ENV)


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
    seed_everything(seed)
    from aeutils import plots

    plots.set_style()
    return f"mode: {mode()} (set {FAST_ENV}=1 for the fast test run), seed: {seed}"
