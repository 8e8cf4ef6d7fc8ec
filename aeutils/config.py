"""Run-time configuration: fast/full budget, seeding, paths, quiet TensorFlow.

Introduced in chapter 1. Presentation (plots) and notebook helpers live elsewhere
(:mod:`aeutils.notebook`). Importing this module sets TensorFlow's logging
environment variables, so it must be imported *before* TensorFlow (importing
:mod:`aeutils` does that).

Fast mode (``AEUTILS_FAST=1``) is what the test-suite uses: small subsets and one
or two epochs, so that every notebook runs in CI. Full mode (the default) is
what the committed notebook outputs come from.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aeutils.checks import env_flag

# Quiet TensorFlow's C++ logs (including the oneDNN notice) without switching off any fast path:
# oneDNN stays on. Must happen before the first ``import tensorflow`` anywhere in the process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras with the process's stderr muted.

    TensorFlow writes its oneDNN notice through absl logging before any log level applies, straight
    to file descriptor 2, which Jupyter shows as a red stderr block. Muting that descriptor for the
    import alone keeps oneDNN (a real speed-up on CPUs) on and the outputs clean. Errors still
    surface as Python exceptions.
    """
    if "tensorflow" in sys.modules:
        return
    try:
        stderr_fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
        saved = os.dup(stderr_fd)
    except (AttributeError, OSError, ValueError):  # no real descriptor (embedded interpreters)
        import keras  # noqa: F401
        import tensorflow  # noqa: F401

        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stderr_fd)
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, stderr_fd)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()

#: Environment variable that selects fast mode.
FAST_ENV = "AEUTILS_FAST"
#: Environment variable that disables the training cache (see :mod:`aeutils.train`).
NO_CACHE_ENV = "AEUTILS_NO_CACHE"
#: Environment variable that moves the training cache.
CACHE_DIR_ENV = "AEUTILS_CACHE_DIR"

#: The installed package directory (``.../aeutils``).
PACKAGE_DIR: Path = Path(__file__).resolve().parent


def is_fast() -> bool:
    """Return True when fast mode is selected (``AEUTILS_FAST=1``)."""
    return env_flag(FAST_ENV)


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
    """Directory for cached model weights.

    ``AEUTILS_CACHE_DIR`` if set, else the per-user cache (``$XDG_CACHE_HOME/aeutils``, by default
    ``~/.cache/aeutils``; ``~/Library/Caches/aeutils`` on macOS, ``%LOCALAPPDATA%\\aeutils`` on
    Windows): somewhere a reader can write, never inside an installed package.
    """
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "aeutils"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "aeutils"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "aeutils"


def cache_enabled() -> bool:
    """False when ``AEUTILS_NO_CACHE=1`` (full executions set this, so times are honest)."""
    return not env_flag(NO_CACHE_ENV)
