"""A small DCGAN for 28x28 grey images: generator, discriminator, losses, training step.

The generator upsamples with resize-convolutions (nearest-neighbour upsampling, then a
convolution) and both networks use batch normalisation, following Radford et al. (2016)
and Odena et al. (2016). Introduced in chapter 6 (generative adversarial networks) and reused in chapter 7
(AE, VAE and GAN compared).

The :class:`GAN` is a ``keras.Model`` with its own ``train_step``: one step updates
the discriminator on a batch of real and a batch of generated images, then the
generator through the discriminator. Train it like every model of the book, with
``aeutils.train.fit(gan, x_train, None, name=..., epochs=..., batch_size=...)``.

Images are float32 in [0, 1] (as :func:`aeutils.data.load` returns them); the
generator ends in a sigmoid so its samples live in the same range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from aeutils import checks

IMAGE_SHAPE = (28, 28, 1)


# ------------------------------------------------------------------ losses


def discriminator_loss(real_logits: Any, fake_logits: Any) -> tf.Tensor:
    """Binary cross-entropy of the discriminator: real images -> 1, generated -> 0.

    ``-log D(x) - log(1 - D(G(z)))`` written with logits, where
    ``-log sigmoid(l) = softplus(-l)`` and ``-log(1 - sigmoid(l)) = softplus(l)``,
    which never takes the log of 0. Returns the batch mean. Chapter 6.
    """

    ops = keras.ops
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def minimax_generator_loss(fake_logits: Any) -> tf.Tensor:
    """The generator's part of the original minimax game: ``log(1 - D(G(z)))``.

    Minimising it *saturates*: when the discriminator confidently rejects the
    samples (``D(G(z))`` near 0, as early in training) its gradient vanishes.
    Written as ``-softplus(l)``. Chapter 6.
    """

    return -keras.ops.mean(keras.ops.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits: Any) -> tf.Tensor:
    """The non-saturating generator loss ``-log D(G(z))`` of Goodfellow et al. (2014).

    Same fixed point as the minimax loss, but strong gradients exactly when the
    discriminator wins. Written as ``softplus(-l)``. Chapter 6.
    """

    return keras.ops.mean(keras.ops.softplus(-fake_logits))


GENERATOR_LOSSES = {
    "non_saturating": non_saturating_generator_loss,
    "minimax": minimax_generator_loss,
}


# ------------------------------------------------------------------ networks


def build_generator(
    noise_dim: int = 64,
    width: int = 32,
    *,
    kernel_size: int = 3,
    output_activation: str | None = "sigmoid",
) -> keras.Sequential:
    """DCGAN-style generator: noise (noise_dim,) -> image (28, 28, 1) in [0, 1].

    Dense to a 7x7 feature map, then two *resize-convolutions* (7 -> 14 -> 28): a
    nearest-neighbour upsampling followed by an ordinary convolution, which cannot
    make the checkerboard artefacts of strided transposed convolutions (Odena et
    al., 2016). Batch normalisation and ReLU after every hidden layer, as in
    Radford et al. (2016), and a last convolution to one channel. Chapter 6.

    Args:
        noise_dim: length of the input vector.
        width: channels of the 14x14 layer (2 * width at 7x7, width // 2 at 28x28).
        kernel_size: side of every convolution kernel.
        output_activation: ``"sigmoid"`` for images in [0, 1], or None for logits
            (a VAE's Bernoulli decoder, chapter 7).
    """

    noise_dim = checks.positive_int(noise_dim, "noise_dim")
    width = checks.positive_int(width, "width")
    kernel_size = checks.positive_int(kernel_size, "kernel_size")
    if width < 2:
        raise ValueError(f"width must be at least 2 (the 28x28 layer has width // 2 channels), got {width}")
    if output_activation not in ("sigmoid", None):
        raise ValueError(f"output_activation must be 'sigmoid' or None (logits), got {output_activation!r}")
    return keras.Sequential(
        [
            keras.Input(shape=(noise_dim,)),
            layers.Dense(7 * 7 * 2 * width, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Reshape((7, 7, 2 * width)),
            layers.UpSampling2D(2),
            layers.Conv2D(width, kernel_size, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.UpSampling2D(2),
            layers.Conv2D(width // 2, kernel_size, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Conv2D(1, kernel_size, padding="same", activation=output_activation),
        ],
        name="generator",
    )


def build_discriminator(
    width: int = 32, *, dropout: float = 0.0, batch_norm: bool = True
) -> keras.Sequential:
    """DCGAN-style discriminator: image (28, 28, 1) -> one logit ("real" when large).

    Two stride-2 convolutions with leaky ReLU (no pooling), batch normalisation
    after the second one (Radford et al., 2016, leave it out of the first layer),
    optional dropout, and a dense logit; no sigmoid, the losses work on logits.
    Chapter 6.

    Args:
        width: channels of the first convolution (2 * width in the second).
        dropout: dropout rate after each convolution (0 switches it off).
        batch_norm: batch normalisation after the second convolution.
    """

    width = checks.positive_int(width, "width")
    dropout = checks.finite_number(dropout, "dropout", minimum=0.0)
    if dropout >= 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if not isinstance(batch_norm, bool):
        raise ValueError(f"batch_norm must be True or False, got {batch_norm!r}")
    stack: list[Any] = [keras.Input(shape=IMAGE_SHAPE), layers.Conv2D(width, 4, strides=2, padding="same")]
    stack.append(layers.LeakyReLU(0.2))
    if dropout > 0:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Conv2D(2 * width, 4, strides=2, padding="same", use_bias=not batch_norm))
    if batch_norm:
        stack.append(layers.BatchNormalization())
    stack.append(layers.LeakyReLU(0.2))
    if dropout > 0:
        stack.append(layers.Dropout(dropout))
    stack += [layers.Flatten(), layers.Dense(1)]
    return keras.Sequential(stack, name="discriminator")


# ------------------------------------------------------------------ the model


class GAN(keras.Model):
    """Generator and discriminator trained against each other (chapter 6).

    Args:
        generator: maps noise ``(batch, noise_dim)`` to images in [0, 1].
        discriminator: maps images to one logit per image.
        noise_dim: length of the noise vector ``z ~ N(0, I)``.
        generator_loss: ``"non_saturating"`` (default) or ``"minimax"``.
        seed: seed of the noise drawn inside ``train_step``.

    Compile with ``gan.compile(d_optimizer=..., g_optimizer=...)``. Logged metrics:
    ``d_loss``, ``g_loss`` and ``d_real``/``d_fake``, the discriminator's mean
    probability of "real" on real and on generated images.
    """

    def __init__(
        self,
        generator: Any,
        discriminator: Any,
        noise_dim: int,
        generator_loss: str = "non_saturating",
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(
                f"generator_loss must be one of {sorted(GENERATOR_LOSSES)}, got {generator_loss!r}"
            )
        self.noise_dim = checks.positive_int(noise_dim, "noise_dim")
        if tuple(generator.input_shape[1:]) != (self.noise_dim,):
            raise ValueError(
                f"the generator takes inputs of shape {generator.input_shape[1:]}, "
                f"but noise_dim={self.noise_dim}; build it with build_generator(noise_dim)"
            )
        if tuple(generator.output_shape[1:]) != tuple(discriminator.input_shape[1:]):
            raise ValueError(
                f"generator makes images of shape {generator.output_shape[1:]} but the "
                f"discriminator expects {discriminator.input_shape[1:]}"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.generator_loss_name = generator_loss
        self.generator_loss_fn = GENERATOR_LOSSES[generator_loss]
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")
        }

    def compile(self, d_optimizer: Any = None, g_optimizer: Any = None, **kwargs: Any) -> None:
        if d_optimizer is None or g_optimizer is None:
            raise ValueError(
                "GAN.compile needs two optimizers: compile(d_optimizer=keras.optimizers.Adam(2e-4, "
                "beta_1=0.5), g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))"
            )
        super().compile(**kwargs)
        self.d_optimizer: Any = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self) -> list[Any]:
        return list(self.trackers.values())

    def get_config(self) -> dict[str, Any]:
        """Both networks, the noise size, the generator loss, the seed and both optimizers' settings.

        The weight cache of :func:`aeutils.train.fit` hashes it, so a minimax run never loads
        the weights of a non-saturating one.
        """
        optimizers = {
            name: keras.saving.serialize_keras_object(getattr(self, name))
            for name in ("d_optimizer", "g_optimizer")
            if getattr(self, name, None) is not None
        }
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "noise_dim": self.noise_dim,
            "generator_loss": self.generator_loss_name,
            "seed": self.seed,
            **optimizers,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> keras.Model:
        config = dict(config)
        optimizers = {name: config.pop(name, None) for name in ("d_optimizer", "g_optimizer")}
        model = cls(
            keras.saving.deserialize_keras_object(config.pop("generator")),
            keras.saving.deserialize_keras_object(config.pop("discriminator")),
            **config,
        )
        if all(optimizers.values()):
            model.compile(**{k: keras.saving.deserialize_keras_object(v) for k, v in optimizers.items()})
        return model

    def call(self, images: Any, training: bool = False) -> tf.Tensor:
        """The discriminator's logits for ``images``."""
        return self.discriminator(images, training=training)

    def generate(self, noise: Any) -> np.ndarray:
        """Images (NumPy, in [0, 1]) for a batch of noise vectors."""
        noise = np.asarray(noise, dtype="float32")
        if noise.ndim != 2 or noise.shape[1] != self.noise_dim:
            raise ValueError(f"noise must have shape (n, {self.noise_dim}), got {noise.shape}")
        return np.asarray(self.generator.predict(noise, batch_size=500, verbose=0))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` images from noise drawn with a NumPy generator seeded by ``seed``."""
        n = checks.positive_int(n, "n")
        noise = np.random.default_rng(seed).standard_normal((n, self.noise_dim))
        return self.generate(noise.astype("float32"))

    def train_step(self, data: Any) -> dict[str, Any]:
        real = data[0] if isinstance(data, tuple) else data
        batch = tf.shape(real)[0]
        # 1. Discriminator: push D(real) -> 1 and D(G(z)) -> 0.
        noise = keras.random.normal((batch, self.noise_dim), seed=self.seed_generator)
        fake = self.generator(noise, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights, strict=True))
        # 2. Generator: make the (now fixed) discriminator call fresh samples real.
        noise = keras.random.normal((batch, self.noise_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(noise, training=True), training=True)
            g_loss = self.generator_loss_fn(fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights, strict=True))
        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def build_gan(
    noise_dim: int = 64,
    width: int = 32,
    *,
    learning_rate: float = 2e-4,
    generator_loss: str = "non_saturating",
    seed: int = 0,
) -> GAN:
    """A compiled :class:`GAN` with the book's DCGAN and Adam(lr, beta_1=0.5) for both players.

    Chapter 6 builds it step by step; chapter 7 calls this.
    """

    if not float(learning_rate) > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    gan = GAN(
        build_generator(noise_dim, width),
        build_discriminator(width),
        noise_dim=noise_dim,
        generator_loss=generator_loss,
        seed=seed,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
    )
    return gan


def sample_snapshots(noise: Any, epochs: Sequence[int]) -> keras.callbacks.Callback:
    """A Keras callback that keeps the generator's images for fixed ``noise`` at given epochs.

    ``callback.images[epoch]`` holds the images after that epoch (epoch 0: before
    training). Following one fixed batch of noise shows how the *same* latent points
    change as training goes on. Chapter 6.
    """

    noise = np.asarray(noise, dtype="float32")
    if noise.ndim != 2:
        raise ValueError(f"noise must be a 2-D batch (n, noise_dim), got shape {noise.shape}")
    wanted = sorted({int(e) for e in epochs})
    if not wanted or wanted[0] < 0:
        raise ValueError(f"epochs must be non-negative epoch numbers, got {list(epochs)!r}")

    class SampleSnapshots(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.noise = noise
            self.epochs = wanted
            self.images: dict[int, np.ndarray] = {}

        def _keep(self, epoch: int) -> None:
            if epoch in self.epochs:
                images = self.model.generator.predict(self.noise, batch_size=len(self.noise), verbose=0)
                self.images[epoch] = np.asarray(images)

        def on_train_begin(self, logs: Any = None) -> None:
            self._keep(0)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self._keep(epoch + 1)

    return SampleSnapshots()


def step_recorder(
    names: Sequence[str] = ("d_loss", "g_loss", "d_real", "d_fake"),
) -> keras.callbacks.Callback:
    """A Keras callback that keeps the value of each metric at every training step.

    Keras reports the running mean of the epoch so far after each batch; the value
    of step i is recovered as ``i * mean_i - (i - 1) * mean_(i-1)``. After training,
    ``callback.steps[name]`` is a NumPy array with one value per step, which shows
    the oscillations that per-epoch means hide. Chapter 6.
    """
    names = list(names)
    if not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be metric names such as 'd_loss', got {names!r}")

    class StepRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self._values: dict[str, list[float]] = {name: [] for name in names}
            self._previous: dict[str, float] = {}

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._previous = {name: 0.0 for name in names}

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            logs = logs or {}
            for name in names:
                if name not in logs:
                    raise KeyError(f"step_recorder: the model does not log {name!r}; it logs {sorted(logs)}")
                mean = float(logs[name])
                self._values[name].append((batch + 1) * mean - batch * self._previous[name])
                self._previous[name] = mean

        @property
        def steps(self) -> dict[str, np.ndarray]:
            return {name: np.asarray(values) for name, values in self._values.items()}

    return StepRecorder()
