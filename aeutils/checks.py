"""Input checks shared by every public function of :mod:`aeutils`.

A reader's typical mistakes get a sentence that says what was wrong and how to fix it,
never a TensorFlow stack trace and never a silently wrong number:

- pixels in 0-255 instead of [0, 1] (:func:`images`);
- a batch without the channel axis, or of the wrong size, for a model (:func:`model_input`);
- continuous images where a Bernoulli likelihood needs binary ones (:func:`binary_images`);
- a feature matrix of the wrong shape (:func:`features`);
- a count that is not a positive int (:func:`positive_int`);
- an environment flag that is not a boolean (:func:`env_flag`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = [
    "binary_images",
    "env_flag",
    "features",
    "finite_number",
    "images",
    "model_input",
    "positive_int",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def env_flag(name: str) -> bool:
    """Read a boolean environment variable: 1/true/yes/on or unset/0/false/no/off.

    Raises:
        ValueError: any other value (``AEUTILS_OFFLINE=maybe``), with the accepted spellings.
    """
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"environment variable {name}={raw!r} is not a boolean; "
        f"use {name}=1 to switch it on, or {name}=0 (or unset it) to switch it off"
    )


def positive_int(value: Any, name: str, function: str | None = None) -> int:
    """``value`` as an int after checking it is a positive integer (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        where = f"{function}: " if function else ""
        raise ValueError(f"{where}{name} must be a positive int, got {value!r}")
    return int(value)


def finite_number(value: Any, name: str, *, minimum: float | None = None) -> float:
    """``value`` as a float after checking it is a finite real number (>= ``minimum`` if given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        bound = f" >= {minimum:g}" if minimum is not None else ""
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return number


def images(x: object, what: str = "images", *, ndim: tuple[int, ...] = (4,)) -> np.ndarray:
    """Return ``x`` as a float32 array after checking it holds images in [0, 1].

    Raises:
        TypeError: not an array of real numbers, or integer pixels (convert them first).
        ValueError: wrong number of dimensions, NaN/inf, or values outside [0, 1].
    """
    if isinstance(x, (list, tuple)) or not hasattr(x, "shape"):
        raise TypeError(f"{what} must be a NumPy array of images, got {type(x).__name__}")
    array = np.asarray(x)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{what} must be a numeric array, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"{what} has integer dtype {array.dtype}; convert to float32 in [0, 1] "
            "first (for uint8 images: x.astype('float32') / 255)"
        )
    if array.ndim not in ndim:
        expected = " or ".join(f"{n}-D" for n in ndim)
        hint = " (batch, height, width, channels)" if 4 in ndim else ""
        extra = ""
        if 4 in ndim and array.ndim == 3:
            extra = "; add the channel axis with x[..., None]"
        raise ValueError(f"{what} must be {expected}{hint}, got shape {array.shape}{extra}")
    if array.size == 0:
        raise ValueError(f"{what} is empty (shape {array.shape})")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        hint = (
            "they look like 0-255 pixels: divide by 255"
            if low >= 0.0 and high <= 255.0 and high > 1.0
            else "scale them into [0, 1]"
        )
        raise ValueError(f"{what} must lie in [0, 1], got values in [{low:.3g}, {high:.3g}]; {hint}")
    return array.astype(np.float32, copy=False)


def binary_images(x: object, what: str = "images", *, ndim: tuple[int, ...] = (2, 3, 4)) -> np.ndarray:
    """Images in {0, 1}, as a Bernoulli likelihood needs (checked after :func:`images`).

    Continuous pixels given to a Bernoulli log-likelihood give numbers that are not
    log-probabilities of anything, so they are refused rather than reported in nats.
    """
    array = images(x, what, ndim=ndim)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValueError(
            f"{what} must be binary (every pixel 0 or 1) for a Bernoulli likelihood, got continuous "
            "values; binarise them with (x > 0.5).astype('float32'), or use a likelihood for "
            "continuous pixels"
        )
    return array


def model_input(model: Any, x: Any, what: str = "x") -> np.ndarray:
    """Check that the batch ``x`` fits ``model``'s input shape; return it as float32.

    Keras checks shapes too, but its messages name internal layers (or, for a model
    that was already trained, say "as_list() is not defined on an unknown TensorShape");
    this one says what was expected and how to fix it.
    """
    try:
        expected = tuple(model.input_shape[1:])
    except (AttributeError, ValueError):
        return np.asarray(x, dtype=np.float32)
    if any(side is None for side in expected):
        return np.asarray(x, dtype=np.float32)
    array = np.asarray(x, dtype=np.float32)
    if array.shape[1:] != expected:
        hint = ""
        if array.shape == expected:
            hint = " (a single example: add the batch axis with x[None])"
        elif array.shape[1:] + (1,) == expected:
            hint = " (the channel axis is missing: use x[..., None])"
        elif int(np.prod(array.shape[1:])) == int(np.prod(expected)):
            hint = f" (same number of values: reshape with x.reshape((-1, {', '.join(map(str, expected))})))"
        where = "" if what == "x" else f"{what}: "
        raise ValueError(
            f"{where}{getattr(model, 'name', 'the model')} expects a batch of shape "
            f"(N, {', '.join(map(str, expected))}), got {array.shape}{hint}"
        )
    return array


def features(matrix: Any, what: str, *, min_rows: int = 2) -> np.ndarray:
    """A finite 2-D feature matrix (n_samples, n_features) with at least ``min_rows`` rows."""
    array = np.asarray(matrix, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D array (n_samples, n_features), got shape {array.shape}; "
            "use extract_features(...) to turn images into features"
        )
    if len(array) < min_rows:
        raise ValueError(f"{what} needs at least {min_rows} rows, got {len(array)}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return array
