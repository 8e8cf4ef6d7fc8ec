"""Model builders that more than one chapter uses.

Introduced in chapter 3 ("Autoencoders in code"), which builds both models step
by step and then shows this source. Later chapters (applications, comparison)
import them from here so that nothing is written twice.

Both builders return a functional ``keras.Model`` (not compiled) with two extra
attributes, ``.encoder`` (image -> code) and ``.decoder`` (code -> image), which
are themselves functional models sharing their weights with the full model, so
``model(x)`` equals ``model.decoder(model.encoder(x))``. Functional models check
the shape of their input when they are called; :func:`check_input` gives the same
check with a message that says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # keras is imported inside the functions, after aeutils.config
    import keras

from aeutils import checks

__all__ = ["build_conv_autoencoder", "build_dense_autoencoder", "check_input"]


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) not in (2, 3):
        raise ValueError(
            f"input_shape must be (height, width) or (height, width, channels) without the batch "
            f"axis, for example (28, 28, 1); got {input_shape!r}"
        )
    shape = tuple(checks.positive_int(side, "every entry of input_shape") for side in input_shape)
    return shape


def check_input(model: Any, x: Any) -> np.ndarray:
    """Check that the batch ``x`` fits ``model``'s input shape; return it as float32.

    Introduced in chapter 3. Keras checks shapes as well, but its message names
    internal layers; this one says what was expected and how to fix it
    (see :func:`aeutils.checks.model_input`).

    Raises:
        ValueError: if ``x`` is not a batch of the shape the model was built for.
    """
    return checks.model_input(model, x)


def _attach(model: keras.Model, encoder: keras.Model, decoder: keras.Model) -> keras.Model:
    # Functional models accept new attributes; Keras tracks the sub-models' weights,
    # which are the same variables as the full model's.
    model.encoder = encoder
    model.decoder = decoder
    return model


def build_dense_autoencoder(
    latent_dim: int = 32,
    hidden: int = 64,
    *,
    input_shape: Sequence[int] = (28, 28, 1),
    code_activation: str | None = "relu",
) -> keras.Model:
    """The dense autoencoder of chapter 3: 784-hidden-latent, latent-hidden-784 (sigmoid).

    Introduced in chapter 3 (the source articles' model, written as a functional
    Keras model). The encoder flattens the image, the decoder reshapes its output
    back to ``input_shape``, so the model maps images to images.

    Args:
        latent_dim: size of the code ``z`` (positive int).
        hidden: width of the hidden layer on each side (positive int).
        input_shape: shape of one image without the batch axis.
        code_activation: activation of the code layer: ``"relu"`` as in the source articles, or
            None for a linear code (no code unit can switch off, which matters for small codes).

    Returns:
        An uncompiled ``keras.Model`` with ``.encoder`` and ``.decoder`` sub-models.

    Raises:
        ValueError: for a non-positive or non-integer size, or a malformed shape.
    """
    import keras
    from keras import layers

    latent_dim = checks.positive_int(latent_dim, "latent_dim")
    hidden = checks.positive_int(hidden, "hidden")
    input_shape = _check_input_shape(input_shape)
    n_pixels = int(np.prod(input_shape))

    image = keras.Input(shape=input_shape, name="image")
    h = layers.Flatten(name="flatten")(image)
    h = layers.Dense(hidden, activation="relu", name="enc_hidden")(h)
    code = layers.Dense(latent_dim, activation=code_activation, name="code")(h)
    encoder = keras.Model(image, code, name="dense_encoder")

    code_in = keras.Input(shape=(latent_dim,), name="code_in")
    h = layers.Dense(hidden, activation="relu", name="dec_hidden")(code_in)
    h = layers.Dense(n_pixels, activation="sigmoid", name="pixels")(h)
    reconstruction = layers.Reshape(input_shape, name="to_image")(h)
    decoder = keras.Model(code_in, reconstruction, name="dense_decoder")

    model = keras.Model(image, decoder(encoder(image)), name=f"dense_ae_{latent_dim}")
    return _attach(model, encoder, decoder)


def build_conv_autoencoder(
    latent_dim: int = 32, *, filters: Sequence[int] = (32, 64), input_shape: Sequence[int] = (28, 28, 1)
) -> keras.Model:
    """A convolutional autoencoder whose layer shapes fit: 28 -> 14 -> 7 -> code -> 7 -> 14 -> 28.

    Introduced in chapter 3, where it replaces a source article's model whose shapes
    do not fit. Encoder: two 3x3 convolutions with stride 2 (each halves the side),
    Flatten, Dense to ``latent_dim`` (linear code). Decoder: Dense back to the
    7x7xfilters[-1] volume, Reshape, two stride-2 transposed convolutions (each
    doubles the side; filters[0] and filters[0] // 2 channels, thin at full
    resolution to stay fast on a CPU) and a 3x3 convolution with a sigmoid that
    mixes the channels into the output image.

    Args:
        latent_dim: size of the code ``z`` (positive int).
        filters: channels of the two encoder convolutions (the decoder mirrors them).
        input_shape: (height, width, channels) of one image; height and width must
            be divisible by 4.

    Returns:
        An uncompiled ``keras.Model`` with ``.encoder`` and ``.decoder`` sub-models.

    Raises:
        ValueError: for a non-positive size, a wrong number of filters, or a shape
            whose sides are not divisible by 4.
    """
    import keras
    from keras import layers

    latent_dim = checks.positive_int(latent_dim, "latent_dim")
    if isinstance(filters, (str, bytes)) or not isinstance(filters, Sequence) or len(filters) != 2:
        raise ValueError(f"filters must be two positive ints such as (32, 64), got {filters!r}")
    f1, f2 = (checks.positive_int(f, "every entry of filters") for f in filters)
    input_shape = _check_input_shape(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"input_shape must be (height, width, channels) for a convolutional model, got {input_shape}; "
            "for grey images add the channel axis, for example (28, 28, 1)"
        )
    height, width, channels = input_shape
    if height % 4 or width % 4:
        raise ValueError(
            f"height and width must be divisible by 4 (two stride-2 steps down and up), got {height}x{width}; "
            "pad or crop the images, for example to 28x28 or 32x32"
        )
    small = (height // 4, width // 4, f2)

    image = keras.Input(shape=input_shape, name="image")
    h = layers.Conv2D(f1, 3, strides=2, padding="same", activation="relu", name="conv1")(image)
    h = layers.Conv2D(f2, 3, strides=2, padding="same", activation="relu", name="conv2")(h)
    h = layers.Flatten(name="flatten")(h)
    code = layers.Dense(latent_dim, name="code")(h)
    encoder = keras.Model(image, code, name="conv_encoder")

    code_in = keras.Input(shape=(latent_dim,), name="code_in")
    h = layers.Dense(int(np.prod(small)), activation="relu", name="expand")(code_in)
    h = layers.Reshape(small, name="to_volume")(h)
    h = layers.Conv2DTranspose(f1, 3, strides=2, padding="same", activation="relu", name="up1")(h)
    h = layers.Conv2DTranspose(max(f1 // 2, 1), 3, strides=2, padding="same", activation="relu", name="up2")(
        h
    )
    reconstruction = layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="pixels")(h)
    decoder = keras.Model(code_in, reconstruction, name="conv_decoder")

    model = keras.Model(image, decoder(encoder(image)), name=f"conv_ae_{latent_dim}")
    return _attach(model, encoder, decoder)
