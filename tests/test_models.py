"""Unit tests of aeutils.models: shapes, encoder/decoder composition, input checks."""

from __future__ import annotations

import numpy as np
import pytest

import aeutils  # noqa: F401  (quietens TensorFlow first)
from aeutils import models


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    return np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)


def check_encoder_decoder_composition(model, batch, latent_dim, atol):
    """The code has latent_dim numbers, the output is a sigmoid image, and decoder(encoder(x)) == model(x)."""
    code = model.encoder(batch)
    assert tuple(code.shape) == (5, latent_dim)
    out = np.asarray(model(batch))
    assert out.shape == batch.shape
    assert np.all((out >= 0) & (out <= 1))  # sigmoid output
    np.testing.assert_allclose(out, np.asarray(model.decoder(code)), atol=atol)


@pytest.mark.parametrize("latent_dim", [2, 32])
def test_dense_shapes_and_composition(batch, latent_dim):
    model = models.build_dense_autoencoder(latent_dim)
    check_encoder_decoder_composition(model, batch, latent_dim, atol=1e-6)
    # 784*64+64 + 64*L+L + L*64+64 + 64*784+784 parameters
    expected = 784 * 64 + 64 + 64 * latent_dim + latent_dim + latent_dim * 64 + 64 + 64 * 784 + 784
    assert model.count_params() == expected


def test_dense_shares_weights_with_submodels(batch):
    model = models.build_dense_autoencoder(8, hidden=16)
    assert model.count_params() == model.encoder.count_params() + model.decoder.count_params()
    model.encoder.get_layer("code").kernel.assign(np.zeros((16, 8), np.float32))
    # With a zero code layer the code is relu(bias) = 0 for every image.
    np.testing.assert_allclose(np.asarray(model.encoder(batch)), 0.0)
    out = np.asarray(model(batch))
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)


def test_dense_other_input_shape():
    model = models.build_dense_autoencoder(4, input_shape=(8, 8))
    out = model(np.zeros((2, 8, 8), np.float32))
    assert tuple(out.shape) == (2, 8, 8)


@pytest.mark.parametrize("latent_dim", [2, 32])
def test_conv_shapes_and_composition(batch, latent_dim):
    model = models.build_conv_autoencoder(latent_dim)
    check_encoder_decoder_composition(model, batch, latent_dim, atol=1e-5)
    sides = [tuple(layer.output.shape[1:3]) for layer in model.encoder.layers if "conv" in layer.name]
    assert sides == [(14, 14), (7, 7)]
    assert tuple(model.decoder.get_layer("to_volume").output.shape[1:]) == (7, 7, 64)


def test_conv_filters_and_shape():
    model = models.build_conv_autoencoder(3, filters=(4, 8), input_shape=(32, 32, 3))
    out = model(np.zeros((1, 32, 32, 3), np.float32))
    assert tuple(out.shape) == (1, 32, 32, 3)
    assert tuple(model.decoder.get_layer("to_volume").output.shape[1:]) == (8, 8, 8)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "32", True, None])
@pytest.mark.parametrize("builder", [models.build_dense_autoencoder, models.build_conv_autoencoder])
def test_latent_dim_validation(builder, bad):
    with pytest.raises(ValueError, match="latent_dim must be a positive int"):
        builder(bad)


def test_numpy_int_latent_dim_is_accepted():
    assert models.build_dense_autoencoder(np.int64(3)).encoder.output_shape == (None, 3)


@pytest.mark.parametrize("shape", [(784,), (28, 28, 1, 1), "28x28", (28, 0, 1), (28.0, 28, 1)])
def test_input_shape_validation(shape):
    with pytest.raises(ValueError, match="input_shape|entry of input_shape"):
        models.build_dense_autoencoder(8, input_shape=shape)


def test_conv_rejects_bad_shapes_and_filters():
    with pytest.raises(ValueError, match="divisible by 4"):
        models.build_conv_autoencoder(8, input_shape=(30, 30, 1))
    with pytest.raises(ValueError, match="channels"):
        models.build_conv_autoencoder(8, input_shape=(28, 28))
    with pytest.raises(ValueError, match="filters must be two"):
        models.build_conv_autoencoder(8, filters=(32,))
    with pytest.raises(ValueError, match="filters must be two"):
        models.build_conv_autoencoder(8, filters="32,64")
    with pytest.raises(ValueError, match="entry of filters"):
        models.build_conv_autoencoder(8, filters=(32, 0))
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        models.build_dense_autoencoder(8, hidden=0)


def test_wrong_input_shape_at_call_time():
    model = models.build_conv_autoencoder(8)
    with pytest.raises(ValueError, match=r"expected shape=\(None, 28, 28, 1\)"):
        model(np.zeros((2, 784), np.float32))
    dense = models.build_dense_autoencoder(8)
    with pytest.raises(ValueError, match="incompatible"):
        dense(np.zeros((2, 32, 32, 1), np.float32))


def test_check_input_messages():
    model = models.build_dense_autoencoder(8)
    assert models.check_input(model, np.zeros((3, 28, 28, 1))).dtype == np.float32
    with pytest.raises(ValueError, match=r"reshape with x.reshape\(\(-1, 28, 28, 1\)\)"):
        models.check_input(model, np.zeros((3, 784)))
    with pytest.raises(ValueError, match=r"add the batch axis"):
        models.check_input(model, np.zeros((28, 28, 1)))
    with pytest.raises(ValueError, match=r"expects a batch of shape \(N, 28, 28, 1\), got \(3, 32, 32, 1\)$"):
        models.check_input(model, np.zeros((3, 32, 32, 1)))


def test_models_train_one_step(batch):
    model = models.build_conv_autoencoder(4, filters=(4, 8))
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(batch, batch, verbose=0)
    for _ in range(5):
        model.train_on_batch(batch, batch)
    assert model.evaluate(batch, batch, verbose=0) < before
