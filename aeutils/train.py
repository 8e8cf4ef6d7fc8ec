"""The one training path every chapter uses.

Introduced in chapter 1. :func:`fit` wraps ``keras.Model.fit`` and adds what a
book needs:

- progress that reads well in a notebook: one line per epoch, never ``\\r`` bars;
- a NaN guard that stops training with a clear message (:class:`TrainingDivergedError`);
- wall time and images per second, recorded in the returned :class:`TrainResult`;
- load-if-cached-else-train: the weights are saved under a key made from everything
  that determines them (the model's own ``get_config()`` with its custom
  hyper-parameters and losses, every optimizer it holds, the data, epochs, batch size,
  seed, library versions), so re-running a chapter does not pay for training twice.
  A subclassed model whose configuration cannot be read is trained but not cached.
  Set ``AEUTILS_NO_CACHE=1`` to always train.

Weights are stored as ``.weights.h5`` files (plain arrays, nothing unpickled).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aeutils import checks, config, data


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite during training."""


@dataclass
class TrainResult:
    """What :func:`fit` returns: the history and how long training took."""

    history: dict[str, list[float]]
    epochs: int
    seconds: float
    images_per_second: float
    from_cache: bool
    cache_key: str = ""

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(self.epochs, 1)

    def final(self, metric: str = "loss") -> float:
        """The last recorded value of ``metric`` (for example ``"val_loss"``)."""
        if metric not in self.history:
            raise KeyError(f"no metric {metric!r} in history; it has {sorted(self.history)}")
        return float(self.history[metric][-1])


def _plain(value: Any, names: Mapping[str, str] | None = None) -> Any:
    """Make a config JSON-serialisable and stable for hashing.

    ``names`` maps layer names to their position in the model ("layer_3"): Keras numbers unnamed
    layers with a global counter ("conv2d_7"), so two identical models built one after the other
    would otherwise get different keys.
    """
    names = names or {}
    if isinstance(value, Mapping):
        return {
            str(k): _plain(v, names)
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
            if k != "name"
        }
    if isinstance(value, (list, tuple)):
        return [_plain(v, names) for v in value]
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return type(value).__name__


class UncacheableModelError(ValueError):
    """The model's configuration cannot be read, so no cache key can describe it."""


def _optimizers(model: Any) -> dict[str, Any]:
    """Every optimizer the model holds, by attribute name (``optimizer``, ``d_optimizer``, ...)."""
    import keras

    found = {}
    for name, value in sorted(vars(model).items()):
        if isinstance(value, keras.optimizers.Optimizer):
            found[name.lstrip("_")] = value
    optimizer = getattr(model, "optimizer", None)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        found["optimizer"] = optimizer
    return found


def model_fingerprint(model: Any) -> dict[str, Any]:
    """A description of a compiled model that changes whenever anything that shapes its weights does.

    It holds the model's own ``get_config()`` (a subclassed model such as :class:`aeutils.vae.VAE`
    or :class:`aeutils.gan.GAN` puts its custom hyper-parameters and losses there), every
    optimizer the model holds with its configuration, the compiled loss, and the shape of every
    weight.

    Raises:
        UncacheableModelError: the model's ``get_config()`` fails (a subclassed model that does
            not define it): such a model cannot be cached safely.
    """
    layer_names = {
        layer.name: f"layer_{index}" for index, layer in enumerate(model._flatten_layers(include_self=False))
    }
    try:
        model_config = _plain(model.get_config(), layer_names)
    except Exception as error:  # Keras raises NotImplementedError or TypeError for subclassed models
        raise UncacheableModelError(
            f"{type(model).__name__}.get_config() failed ({type(error).__name__}); define get_config() "
            "returning every constructor argument to make the model cacheable"
        ) from error
    optimizers = {}
    for name, optimizer in _optimizers(model).items():
        try:
            optimizers[name] = {"class": type(optimizer).__name__, "config": _plain(optimizer.get_config())}
        except Exception as error:
            raise UncacheableModelError(f"the optimizer {name!r} has no readable configuration") from error
    return {
        "model": type(model).__name__,
        "config": model_config,
        "weights": [list(w.shape) for w in model.weights],
        "optimizers": optimizers,
        "loss": _plain(getattr(model, "loss", None)),
    }


def _digest_arrays(*arrays: Any) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if array is None:
            hasher.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        hasher.update(f"{array.dtype}{array.shape}".encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()


class EpochLogger:
    """A Keras callback that prints one line per epoch (a factory keeps keras lazy)."""

    def __new__(cls, epochs: int, every: int = 1, prefix: str = "") -> Any:  # a keras Callback
        import keras

        class _EpochLogger(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.diverged: str | None = None
                self._start = time.perf_counter()

            def on_epoch_begin(self, epoch, logs=None):
                self._epoch_start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                bad = [k for k, v in logs.items() if not math.isfinite(float(v))]
                seconds = time.perf_counter() - self._epoch_start
                if bad:
                    self.diverged = f"{', '.join(bad)} became {logs[bad[0]]} in epoch {epoch + 1}"
                    self.model.stop_training = True
                if (epoch + 1) % every == 0 or epoch + 1 == epochs or epoch == 0 or bad:
                    metrics = "  ".join(
                        f"{k} {float(v):.4g}" for k, v in logs.items() if k != "learning_rate"
                    )
                    print(f"{prefix}epoch {epoch + 1:>3}/{epochs}  {metrics}  ({seconds:.1f} s)", flush=True)

        return _EpochLogger()


def _check_xy(x: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(x, (list, tuple)) or not hasattr(x, "shape"):
        raise TypeError(f"{what}: x must be a NumPy array, got {type(x).__name__}")
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{what}: x must be a non-empty batch of examples, got shape {x.shape}")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise ValueError(f"{what}: x contains NaN or infinite values")
    if x.ndim >= 3:  # image batches: (N, H, W) or (N, H, W, C)
        checks.images(x, f"{what} (x)", ndim=(x.ndim,))
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"{what}: x and y differ in length ({len(x)} vs {len(y)})")
    return x, y


def fit(
    model: Any,
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    name: str,
    epochs: int,
    batch_size: int = 128,
    validation_data: tuple[np.ndarray, ...] | None = None,
    seed: int = 0,
    shuffle: bool = True,
    callbacks: Sequence[Any] = (),
    log_every: int = 1,
    cache: bool | None = None,
    extra_key: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train a compiled Keras model, or load its weights if this exact run was cached.

    Args:
        model: a compiled ``keras.Model`` (a custom ``train_step`` is fine).
        x: training inputs (a NumPy array).
        y: training targets; for a plain autoencoder pass ``x`` again. None for models
            whose ``train_step`` needs only ``x`` (VAE, GAN).
        name: a short name for the run (part of the cache file name).
        epochs: number of passes over ``x``.
        batch_size: examples per step.
        validation_data: ``(x_val,)`` or ``(x_val, y_val)``, evaluated after each epoch.
        seed: seed of the shuffling order.
        shuffle: shuffle the training set every epoch.
        callbacks: extra Keras callbacks.
        log_every: print every n-th epoch (the first and last are always printed).
        cache: use the weight cache; None means "unless ``AEUTILS_NO_CACHE=1``".
        extra_key: anything else that determines the weights (for example a
            hyper-parameter used inside a custom ``train_step``).

    Returns:
        A :class:`TrainResult`.

    Raises:
        TrainingDivergedError: the loss became NaN or infinite.
        ValueError, TypeError: bad arguments (the message says which).
    """
    if not getattr(model, "compiled", False) and getattr(model, "optimizer", None) is None:
        raise ValueError("model is not compiled: call model.compile(optimizer=..., loss=...) first")
    if not isinstance(name, str) or not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"name must be a short identifier such as 'dense_ae', got {name!r}")
    for label, value in (("epochs", epochs), ("batch_size", batch_size), ("log_every", log_every)):
        checks.positive_int(value, label, "fit")
    x, y = _check_xy(x, y, "training data")
    val_x = val_y = None
    if validation_data is not None:
        if not isinstance(validation_data, tuple) or len(validation_data) not in (1, 2):
            raise ValueError("validation_data must be (x_val,) or (x_val, y_val)")
        val_x, val_y = _check_xy(
            validation_data[0], validation_data[1] if len(validation_data) == 2 else None, "validation data"
        )
    checks.model_input(model, x, "the training images")
    if val_x is not None:
        checks.model_input(model, val_x, "the validation images")
    check_data = getattr(model, "check_training_data", None)
    if callable(check_data):  # for example the VAE: a Bernoulli likelihood needs binary images
        check_data(x)
        if val_x is not None:
            check_data(val_x)
    if not model.built:
        model(x[:1])  # build so that weights exist for the fingerprint and loading

    import keras
    import tensorflow as tf

    from aeutils import __version__

    use_cache = config.cache_enabled() if cache is None else bool(cache)
    try:
        fingerprint = model_fingerprint(model)
    except UncacheableModelError as error:
        fingerprint = None
        if use_cache:
            print(f"{name}: not cached: {error}")
        use_cache = False
    key_material = {
        "name": name,
        "model": fingerprint,
        "data": _digest_arrays(x, y, val_x, val_y),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "shuffle": shuffle,
        "extra": _plain(dict(extra_key or {})),
        "versions": [__version__, tf.__version__, keras.__version__],
    }
    cache_key = hashlib.sha256(json.dumps(key_material, sort_keys=True).encode()).hexdigest()[:20]
    weights_path = config.cache_dir() / f"{name}-{cache_key}.weights.h5"
    record_path = weights_path.with_name(f"{name}-{cache_key}.json")

    if use_cache and weights_path.is_file() and record_path.is_file():
        with warnings.catch_warnings():
            # The file also holds optimizer slots; a fresh model has none yet, which is fine.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(weights_path)
        record = json.loads(record_path.read_text())
        print(
            f"{name}: loaded cached weights (trained {record['epochs']} epochs "
            f"in {record['seconds']:.1f} s; set AEUTILS_NO_CACHE=1 to retrain)"
        )
        return TrainResult(
            history=record["history"],
            epochs=record["epochs"],
            seconds=record["seconds"],
            images_per_second=record["images_per_second"],
            from_cache=True,
            cache_key=cache_key,
        )

    train_ds = data.as_tf_dataset(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    val_ds = None if val_x is None else data.as_tf_dataset(val_x, val_y, batch_size=batch_size, shuffle=False)
    logger = EpochLogger(epochs, every=log_every, prefix=f"{name}: ")
    start = time.perf_counter()
    keras_history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        verbose=0,
        shuffle=False,
        callbacks=[logger, *callbacks],
    )
    seconds = time.perf_counter() - start
    if logger.diverged:
        raise TrainingDivergedError(
            f"training of {name!r} diverged: {logger.diverged}. Lower the learning rate, check "
            "that inputs are scaled to [0, 1], or use a numerically stable loss "
            "(for example from_logits=True)."
        )
    history = {k: [float(v) for v in values] for k, values in keras_history.history.items()}
    epochs_run = len(next(iter(history.values()), [])) or epochs
    result = TrainResult(
        history=history,
        epochs=epochs_run,
        seconds=seconds,
        images_per_second=len(x) * epochs_run / max(seconds, 1e-9),
        from_cache=False,
        cache_key=cache_key,
    )
    if use_cache:
        weights_path.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(weights_path)
        record_path.write_text(
            json.dumps(
                {
                    "history": history,
                    "epochs": epochs_run,
                    "seconds": seconds,
                    "images_per_second": result.images_per_second,
                }
            )
        )
    return result
