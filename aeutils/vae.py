"""The variational autoencoder: reparameterisation, the ELBO loss, evaluation in nats.

Introduced in chapter 5, which shows this code line by line; later chapters
(comparison, representation learning, anomaly detection) import it. The pieces:

- :class:`Sampling`, the reparameterisation trick as a layer;
- :func:`build_conv_vae`, a small convolutional encoder/decoder pair wrapped in
- :class:`VAE`, a ``keras.Model`` whose ``train_step``/``test_step`` minimise the
  negative ELBO (Bernoulli reconstruction + beta * KL) and keep separate metric
  trackers, so ``validation_data`` works;
- :func:`elbo` and :func:`iwae_log_likelihood`, per-image evaluation in nats.

Images are modelled as independent Bernoulli pixels, so the decoder outputs
logits and the data should be binary (``x > 0.5``), as in chapter 5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from aeutils import checks, losses


def reparameterize(mean: Any, log_var: Any, epsilon: Any) -> tf.Tensor:
    """z = mean + exp(log_var / 2) * epsilon: a draw from N(mean, exp(log_var)) given epsilon ~ N(0, I).

    The one place the book writes the reparameterisation trick; :class:`Sampling`, :func:`elbo`
    and :func:`iwae_log_likelihood` all call it. Introduced in chapter 5.
    """
    return mean + keras.ops.exp(0.5 * log_var) * epsilon


@keras.saving.register_keras_serializable(package="aeutils")
class Sampling(keras.layers.Layer):
    """z = mean + exp(log_var / 2) * eps with eps ~ N(0, I): the reparameterisation trick.

    The noise is an *input* of the computation rather than a random node inside it,
    so gradients flow to ``mean`` and ``log_var``. Introduced in chapter 5.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        mean, log_var = inputs
        # In the layer's compute dtype, so that the layer also works under a mixed-precision policy.
        epsilon = keras.random.normal(
            keras.ops.shape(mean), dtype=self.compute_dtype, seed=self.seed_generator
        )
        return reparameterize(mean, log_var, epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


class VAE(keras.Model):
    """A VAE trained on the negative ELBO: Bernoulli reconstruction + beta * KL.

    Args:
        encoder: a model mapping images to ``(mean, log_var)``, each ``(batch, latent_dim)``.
        decoder: a model mapping ``z`` to pixel logits with the shape of the images.
        beta: weight of the KL term (1 is the ELBO; other values give a beta-VAE).
        seed: seed of the sampling noise.

    ``call`` returns the logits of a reconstruction through one sampled ``z``.
    ``fit`` reports ``loss`` (the negative ELBO, nats per image), ``reconstruction``
    and ``kl``, and their ``val_`` versions. Introduced in chapter 5.
    """

    def __init__(
        self, encoder: keras.Model, decoder: keras.Model, *, beta: float = 1.0, seed: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if (
            not isinstance(beta, (int, float))
            or isinstance(beta, bool)
            or not math.isfinite(beta)
            or beta < 0
        ):
            raise ValueError(f"beta must be a finite number >= 0 (1 gives the ELBO), got {beta!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.seed = seed
        self.latent_dim = int(decoder.inputs[0].shape[-1]) if getattr(decoder, "inputs", None) else None
        self.sampling = Sampling(seed=seed, name="sampling")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so Keras resets them at the start of each epoch and of evaluation.
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def get_config(self) -> dict[str, Any]:
        """Everything that defines the model: both networks, the likelihood, beta and the seed.

        The weight cache of :func:`aeutils.train.fit` hashes it, so a VAE with another beta
        never loads this one's weights.
        """
        return {
            "name": self.name,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": "bernoulli",
            "beta": self.beta,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> keras.Model:
        config = dict(config)
        config.pop("likelihood", None)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)

    def check_training_data(self, x: Any) -> None:
        """Called by :func:`aeutils.train.fit`: the Bernoulli likelihood needs binary images."""
        checks.binary_images(x, "VAE training images")

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var])
        return self.decoder(z, training=training)

    def compute_terms(self, x: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """Per-image reconstruction term -log p(x|z) (one sampled z) and KL, in nats."""
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var])
        logits = self.decoder(z, training=training)
        # Under a mixed-precision policy the layers compute in bfloat16; sums over 784 pixels need float32.
        mean, log_var, logits = (tf.cast(t, tf.float32) for t in (mean, log_var, logits))
        return losses.bernoulli_nll(x, logits), losses.gaussian_kl(mean, log_var)

    def _update(self, reconstruction: tf.Tensor, kl: tf.Tensor) -> tf.Tensor:
        loss = tf.reduce_mean(reconstruction) + self.beta * tf.reduce_mean(kl)
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(tf.reduce_mean(reconstruction))
        self.kl_tracker.update_state(tf.reduce_mean(kl))
        return loss

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        x = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            reconstruction, kl = self.compute_terms(x, training=True)
            loss = self._update(reconstruction, kl)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        x = data[0] if isinstance(data, (tuple, list)) else data
        self._update(*self.compute_terms(x, training=False))
        return {metric.name: metric.result() for metric in self.metrics}

    # ------------------------------------------------------------ convenience

    def encode(self, x: Any, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and log-variances of ``x``, as NumPy arrays."""
        x = checks.images(x, "encode: x", ndim=(2, 3, 4))
        means, log_vars = [], []
        for start in range(0, len(x), batch_size):
            mean, log_var = self.encoder(x[start : start + batch_size], training=False)
            means.append(np.asarray(mean))
            log_vars.append(np.asarray(log_var))
        return np.concatenate(means), np.concatenate(log_vars)

    def decode(self, z: Any, batch_size: int = 512) -> np.ndarray:
        """Pixel probabilities (sigmoid of the logits) for latent codes ``z``."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or (self.latent_dim is not None and z.shape[1] != self.latent_dim):
            raise ValueError(f"z must have shape (n, {self.latent_dim}), got {z.shape}")
        parts = [
            np.asarray(tf.sigmoid(self.decoder(z[start : start + batch_size], training=False)))
            for start in range(0, len(z), batch_size)
        ]
        return np.concatenate(parts)

    def reconstruct(self, x: Any, batch_size: int = 512) -> np.ndarray:
        """Decode the posterior mean of each image: the model's reconstruction."""
        mean, _ = self.encode(x, batch_size)
        return self.decode(mean, batch_size)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """Draw ``n`` images from the model: z ~ N(0, I), then the decoder's pixel probabilities."""
        n = checks.positive_int(n, "n (the number of images)")
        if self.latent_dim is None:
            raise ValueError("the decoder has no known input size; build it as a functional keras.Model")
        z = tf.random.stateless_normal((n, self.latent_dim), seed=[int(seed), 0])
        return self.decode(np.asarray(z))


def build_conv_vae(
    latent_dim: int,
    *,
    filters: tuple[int, int] = (32, 32),
    hidden_units: int = 256,
    beta: float = 1.0,
    image_shape: tuple[int, int, int] = (28, 28, 1),
    seed: int = 0,
) -> VAE:
    """A small convolutional VAE for 28x28 grey images (uncompiled).

    Encoder: two stride-2 convolutions, a dense layer, then two dense heads for
    the mean and log-variance. Decoder: the mirror image (dense, dense, two
    stride-2 transposed convolutions), ending in one logit per pixel. The
    expensive full-resolution layer has one output channel only, which keeps an
    epoch fast on a CPU. Compile it with an optimizer only (the loss is built in), for example
    ``model.compile(optimizer=keras.optimizers.Adam(2e-3))``. Introduced in chapter 5.

    Args:
        latent_dim: size of z (2 to plot the latent space, 16 or more for quality).
        filters: channels of the two convolutions (the decoder mirrors them).
        hidden_units: width of the dense layer on each side.
        beta: weight of the KL term (see :class:`VAE`).
        image_shape: (height, width, channels); height and width divisible by 4.
        seed: seed of the sampling noise.
    """
    latent_dim = checks.positive_int(latent_dim, "latent_dim", "build_conv_vae")
    hidden_units = checks.positive_int(hidden_units, "hidden_units", "build_conv_vae")
    if len(filters) != 2 or any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in filters):
        raise ValueError(f"filters must be two positive ints such as (32, 32), got {filters!r}")
    height, width, channels = image_shape
    if height % 4 or width % 4:
        raise ValueError(f"image height and width must be divisible by 4, got {image_shape}")

    images = keras.Input(shape=image_shape, name="image")
    h = keras.layers.Conv2D(filters[0], 3, strides=2, padding="same", activation="relu")(images)
    h = keras.layers.Conv2D(filters[1], 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(hidden_units, activation="relu")(h)
    mean = keras.layers.Dense(latent_dim, name="mean")(h)
    log_var = keras.layers.Dense(latent_dim, name="log_var")(h)
    encoder = keras.Model(images, [mean, log_var], name="encoder")

    z = keras.Input(shape=(latent_dim,), name="z")
    h = keras.layers.Dense(hidden_units, activation="relu")(z)
    h = keras.layers.Dense((height // 4) * (width // 4) * filters[1], activation="relu")(h)
    h = keras.layers.Reshape((height // 4, width // 4, filters[1]))(h)
    h = keras.layers.Conv2DTranspose(filters[0], 3, strides=2, padding="same", activation="relu")(h)
    logits = keras.layers.Conv2DTranspose(channels, 3, strides=2, padding="same", name="logits")(h)
    decoder = keras.Model(z, logits, name="decoder")
    return VAE(encoder, decoder, beta=beta, seed=seed, name=f"conv_vae_{latent_dim}")


# ------------------------------------------------------------------ evaluation


def _check_model(model: Any, function: str) -> None:
    if not (hasattr(model, "encoder") and hasattr(model, "decoder")):
        raise TypeError(
            f"{function}: model must be a VAE with .encoder and .decoder, got {type(model).__name__}"
        )


def _check_eval_args(
    model: Any, x: Any, num_samples: Any, batch_size: Any, function: str
) -> tuple[np.ndarray, int, int]:
    """The shared input checks of :func:`elbo` and :func:`iwae_log_likelihood`."""
    _check_model(model, function)
    x = checks.binary_images(x, f"{function}: x")
    return (
        x,
        checks.positive_int(num_samples, "num_samples", function),
        checks.positive_int(batch_size, "batch_size", function),
    )


def elbo(model: VAE, x: Any, *, num_samples: int = 1, batch_size: int = 500, seed: int = 0) -> np.ndarray:
    """The evidence lower bound of each image, in nats (higher is better).

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)), with the KL in closed form and
    the expectation estimated with ``num_samples`` draws of z. The mean over a
    test set is the number papers report as "ELBO" or "-log p(x) <=". Introduced
    in chapter 5.

    Returns:
        A float64 array of shape ``(len(x),)``.
    """
    x, num_samples, batch_size = _check_eval_args(model, x, num_samples, batch_size, "elbo")
    out = []
    for batch_index, start in enumerate(range(0, len(x), batch_size)):
        batch = x[start : start + batch_size]
        mean, log_var = model.encoder(batch, training=False)
        kl = losses.gaussian_kl(mean, log_var)
        reconstruction = 0.0
        for sample in range(num_samples):
            eps = tf.random.stateless_normal(tf.shape(mean), seed=[seed, batch_index * num_samples + sample])
            logits = model.decoder(reparameterize(mean, log_var, eps), training=False)
            reconstruction += losses.bernoulli_nll(batch, logits) / num_samples
        out.append(np.asarray(-(reconstruction + kl), dtype=np.float64))
    return np.concatenate(out)


def iwae_log_likelihood(
    model: VAE, x: Any, *, num_samples: int = 100, batch_size: int = 100, seed: int = 0
) -> np.ndarray:
    """Importance-weighted estimate of log p(x) per image, in nats (Burda et al., 2016).

    With K = ``num_samples`` draws z_k ~ q(z|x) and weights
    w_k = p(x|z_k) p(z_k) / q(z_k|x), the estimate is log((1/K) sum_k w_k),
    computed as a log-sum-exp so that nothing underflows. K = 1 gives the ELBO;
    it rises towards log p(x) as K grows. Introduced in chapter 5.

    Args:
        model: a trained :class:`VAE`.
        x: images in [0, 1] (binary for a Bernoulli decoder).
        num_samples: K, the number of importance samples per image.
        batch_size: images per step; the decoder sees ``batch_size * K`` codes at a time
            at most 8192 (larger K is split into chunks).
        seed: seed of the samples.

    Returns:
        A float64 array of shape ``(len(x),)``.
    """
    x, num_samples, batch_size = _check_eval_args(model, x, num_samples, batch_size, "iwae_log_likelihood")
    chunk = max(1, min(num_samples, 8192 // batch_size))

    @tf.function(reduce_retracing=True)
    def log_weights(batch, mean, log_var, eps):
        # eps: (k, b, d) -> z: (k, b, d); decode all k*b codes in one call.
        z = reparameterize(mean[None], log_var[None], eps)
        k, b = tf.shape(eps)[0], tf.shape(eps)[1]
        flat_z = tf.reshape(z, [k * b, -1])
        logits = model.decoder(flat_z, training=False)
        targets = tf.repeat(batch[None], k, axis=0)
        targets = tf.reshape(targets, tf.concat([[k * b], tf.shape(batch)[1:]], axis=0))
        log_px_z = tf.reshape(-losses.bernoulli_nll(targets, logits), [k, b])
        log_pz = losses.log_normal_pdf(z, 0.0, 0.0)
        log_qz = losses.log_normal_pdf(z, mean[None], log_var[None])
        return log_px_z + log_pz - log_qz

    out = []
    for batch_index, start in enumerate(range(0, len(x), batch_size)):
        batch = tf.constant(x[start : start + batch_size])
        mean, log_var = model.encoder(batch, training=False)
        parts = []
        for chunk_index, k0 in enumerate(range(0, num_samples, chunk)):
            k = min(chunk, num_samples - k0)
            eps = tf.random.stateless_normal(
                (k, batch.shape[0], mean.shape[-1]), seed=[seed, batch_index * 100003 + chunk_index]
            )
            parts.append(log_weights(batch, mean, log_var, eps))
        log_w = tf.cast(tf.concat(parts, axis=0), tf.float64)
        out.append(np.asarray(tf.reduce_logsumexp(log_w, axis=0) - math.log(num_samples)))
    return np.concatenate(out)
