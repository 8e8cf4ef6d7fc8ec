"""Per-example losses of probabilistic autoencoders, in nats.

Introduced in chapter 5 (the variational autoencoder). Every function returns one
value per example (shape ``(batch,)``): the sum over pixels or latent dimensions,
never a mean, so that the numbers are log-likelihoods in nats per image and the
two terms of the ELBO are on the same scale.

The functions accept NumPy arrays or TensorFlow tensors and return tensors.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

_LOG_2PI = math.log(2.0 * math.pi)


def _as_float(value: Any, what: str) -> tf.Tensor:
    try:
        tensor = tf.convert_to_tensor(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{what} must be an array or tensor of numbers, got {type(value).__name__}"
        ) from error
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
        raise TypeError(f"{what} must hold numbers, got dtype {tensor.dtype.name}")
    if not tensor.dtype.is_floating:
        tensor = tf.cast(tensor, tf.float32)
    return tensor


def _check_pair(a: tf.Tensor, b: tf.Tensor, names: tuple[str, str], function: str) -> None:
    if a.shape.rank is not None and a.shape.rank < 2:
        raise ValueError(
            f"{function}: {names[0]} must be a batch (batch, ...) with at least 2 axes, got shape "
            f"{tuple(a.shape)}; add a batch axis, e.g. x[None]"
        )
    if not a.shape.is_compatible_with(b.shape):
        raise ValueError(
            f"{function}: {names[0]} and {names[1]} must have the same shape, got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )


def _sum_per_example(values: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def gaussian_kl(mean: Any, log_var: Any) -> tf.Tensor:
    """KL( N(mean, diag(exp(log_var))) || N(0, I) ) per example, in nats.

    The closed form :math:`\\tfrac12\\sum_j (\\mu_j^2 + \\sigma_j^2 - \\log\\sigma_j^2 - 1)`,
    summed over the latent dimensions. Introduced in chapter 5.

    Args:
        mean: posterior means, shape ``(batch, latent_dim)``.
        log_var: posterior log-variances, same shape.

    Returns:
        A tensor of shape ``(batch,)``, each entry >= 0.

    Raises:
        ValueError: if the shapes differ or there is no batch axis.
    """
    mean = _as_float(mean, "mean")
    log_var = tf.cast(_as_float(log_var, "log_var"), mean.dtype)
    _check_pair(mean, log_var, ("mean", "log_var"), "gaussian_kl")
    return 0.5 * _sum_per_example(tf.square(mean) + tf.exp(log_var) - log_var - 1.0)


def bernoulli_nll(x: Any, logits: Any) -> tf.Tensor:
    """-log p(x | logits) of independent Bernoulli pixels, per example, in nats.

    Computed from logits with the stable form
    :math:`\\max(l, 0) - l x + \\log(1 + e^{-|l|})` (what
    ``tf.nn.sigmoid_cross_entropy_with_logits`` does), summed over all pixels, so it
    never takes the log of a sigmoid that rounded to 0 or 1. ``x`` may be binary
    or in [0, 1] (then it is the cross-entropy). Introduced in chapter 5.

    Args:
        x: targets in [0, 1], shape ``(batch, ...)``.
        logits: decoder outputs before the sigmoid, same shape.

    Returns:
        A tensor of shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ or there is no batch axis.
    """
    logits = _as_float(logits, "logits")
    x = tf.cast(_as_float(x, "x"), logits.dtype)
    _check_pair(x, logits, ("x", "logits"), "bernoulli_nll")
    return _sum_per_example(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits))


def gaussian_nll(x: Any, mean: Any, log_var: Any = 0.0) -> tf.Tensor:
    """-log N(x; mean, diag(exp(log_var))) per example, in nats.

    ``log_var`` may be a scalar (one variance for every pixel) or an array of the
    shape of ``x``. With ``log_var=0`` this is half the summed squared error plus a
    constant, which is why a Gaussian decoder and an MSE loss are the same thing up
    to a scale. Introduced in chapter 5.

    Raises:
        ValueError: if the shapes of ``x``, ``mean`` (and an array ``log_var``) differ.
    """
    mean = _as_float(mean, "mean")
    x = tf.cast(_as_float(x, "x"), mean.dtype)
    _check_pair(x, mean, ("x", "mean"), "gaussian_nll")
    log_var = tf.cast(_as_float(log_var, "log_var"), mean.dtype)
    if log_var.shape.rank != 0:
        _check_pair(x, log_var, ("x", "log_var"), "gaussian_nll")
    per_pixel = 0.5 * (_LOG_2PI + log_var + tf.square(x - mean) * tf.exp(-log_var))
    return _sum_per_example(per_pixel + tf.zeros_like(x))


def log_normal_pdf(z: Any, mean: Any, log_var: Any) -> tf.Tensor:
    """log N(z; mean, diag(exp(log_var))) summed over the last axes, per example.

    Used by the importance-weighted bound of chapter 5 (``aeutils.vae``), where
    ``z`` may carry extra leading sample axes: all axes but the last are kept.

    Raises:
        ValueError: if ``z`` has no latent axis or the shapes do not broadcast.
    """
    z = _as_float(z, "z")
    mean = tf.cast(_as_float(mean, "mean"), z.dtype)
    log_var = tf.cast(_as_float(log_var, "log_var"), z.dtype)
    if z.shape.rank is not None and z.shape.rank < 1:
        raise ValueError("log_normal_pdf: z must have a latent axis, got a scalar")
    try:
        tf.broadcast_static_shape(z.shape, mean.shape)
        tf.broadcast_static_shape(z.shape, log_var.shape)
    except ValueError as error:
        raise ValueError(
            f"log_normal_pdf: shapes of z {tuple(z.shape)}, mean {tuple(mean.shape)} and "
            f"log_var {tuple(log_var.shape)} do not broadcast"
        ) from error
    return -0.5 * tf.reduce_sum(_LOG_2PI + log_var + tf.square(z - mean) * tf.exp(-log_var), axis=-1)
