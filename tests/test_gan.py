"""Tests of aeutils.gan (chapter 6): losses, networks, one training run, errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from aeutils import gan, train


def test_losses_match_their_formulas():
    logits = np.array([-3.0, 0.0, 2.0], dtype="float32")
    d = 1 / (1 + np.exp(-logits))
    assert float(gan.non_saturating_generator_loss(logits)) == pytest.approx(np.mean(-np.log(d)), rel=1e-5)
    assert float(gan.minimax_generator_loss(logits)) == pytest.approx(np.mean(np.log(1 - d)), rel=1e-5)
    real, fake = np.array([1.0, 2.0], "float32"), np.array([-1.0, 0.5], "float32")
    dr, df = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
    expected = np.mean(-np.log(dr)) + np.mean(-np.log(1 - df))
    assert float(gan.discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-5)


def test_networks_have_the_right_shapes():
    generator = gan.build_generator(noise_dim=8, width=4)
    discriminator = gan.build_discriminator(width=4)
    images = generator(np.zeros((3, 8), "float32"))
    assert tuple(images.shape) == (3, 28, 28, 1)
    assert float(keras.ops.min(images)) >= 0.0 and float(keras.ops.max(images)) <= 1.0
    assert tuple(discriminator(images).shape) == (3, 1)


def test_generator_upsamples_by_resize_convolution_and_both_networks_normalise_batches():
    generator = gan.build_generator(noise_dim=8, width=4)
    kinds = [type(layer).__name__ for layer in generator.layers]
    assert "Conv2DTranspose" not in kinds
    assert kinds.count("UpSampling2D") == 2 and kinds.count("BatchNormalization") == 3
    discriminator = gan.build_discriminator(width=4)
    assert [type(layer).__name__ for layer in discriminator.layers] == [
        "Conv2D",
        "LeakyReLU",
        "Conv2D",
        "BatchNormalization",
        "LeakyReLU",
        "Flatten",
        "Dense",
    ]
    plain = gan.build_discriminator(width=4, batch_norm=False, dropout=0.25)
    assert [type(layer).__name__ for layer in plain.layers].count("Dropout") == 2
    assert "BatchNormalization" not in [type(layer).__name__ for layer in plain.layers]


def test_a_constant_feature_map_gives_an_image_without_checkerboard():
    # Odena et al. (2016): a stride-2 transposed convolution whose kernel does not divide evenly
    # paints a periodic pattern even on a constant input; upsampling then convolving cannot.
    rng = np.random.default_rng(0)
    generator = gan.build_generator(noise_dim=8, width=4, output_activation=None)  # logits: no saturation
    dense, first_norm = generator.layers[0], generator.layers[1]
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    per_channel = rng.uniform(0.5, 1.5, 8)  # 2 * width channels at 7x7, the same value at every position
    first_norm.set_weights([np.ones(392), np.tile(per_channel, 49), np.zeros(392), np.ones(392)])
    for layer in generator.layers[2:]:
        if layer.get_weights():
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in layer.get_weights()])
    image = np.asarray(generator(rng.standard_normal((1, 8)).astype("float32"), training=False))[0, ..., 0]
    interior = image[4:-4, 4:-4]  # four 3x3 convolutions with zero padding reach 4 pixels in
    assert np.ptp(interior) <= 1e-5 * abs(interior.mean())
    assert np.ptp(image) > 1e-2 * abs(interior.mean())  # only the zero-padded border differs
    transposed = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    painted = np.asarray(transposed(np.ones((1, 14, 14, 1), "float32")))[0, 2:-2, 2:-2, 0]
    assert np.ptp(painted) > 1e-3  # the checkerboard


def test_generator_with_logits_is_the_sigmoid_generator_before_its_sigmoid():
    with_sigmoid = gan.build_generator(noise_dim=8, width=4)
    with_logits = gan.build_generator(noise_dim=8, width=4, output_activation=None)
    with_logits.set_weights(with_sigmoid.get_weights())
    noise = np.random.default_rng(0).standard_normal((3, 8)).astype("float32")
    logits = np.asarray(with_logits(noise))
    np.testing.assert_allclose(np.asarray(with_sigmoid(noise)), 1 / (1 + np.exp(-logits)), atol=1e-6)


def test_cache_fingerprint_tells_apart_every_setting_that_changes_the_weights():
    def fingerprint(**kwargs):
        keras.utils.set_random_seed(0)
        return train.model_fingerprint(gan.build_gan(8, 4, **kwargs))

    base = fingerprint()
    assert base == fingerprint()
    for change in (dict(generator_loss="minimax"), dict(seed=1), dict(learning_rate=1e-3)):
        assert fingerprint(**change) != base, change
    config = gan.build_gan(8, 4).get_config()
    assert {
        "generator",
        "discriminator",
        "noise_dim",
        "generator_loss",
        "seed",
        "d_optimizer",
        "g_optimizer",
    } <= set(config)


def test_training_runs_and_logs_both_losses(tmp_path, monkeypatch):
    monkeypatch.setenv("AEUTILS_CACHE_DIR", str(tmp_path))
    x = np.random.default_rng(0).uniform(size=(64, 28, 28, 1)).astype("float32")
    model = gan.build_gan(noise_dim=8, width=4)
    snapshots = gan.sample_snapshots(np.zeros((2, 8), "float32"), epochs=[0, 2])
    result = train.fit(
        model, x, None, name="gan_test", epochs=2, batch_size=32, callbacks=[snapshots], cache=False
    )
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(result.history)
    assert all(np.isfinite(v) for values in result.history.values() for v in values)
    assert sorted(snapshots.images) == [0, 2] and snapshots.images[2].shape == (2, 28, 28, 1)
    assert not np.allclose(snapshots.images[0], snapshots.images[2])
    assert model.sample(5, seed=1).shape == (5, 28, 28, 1)
    np.testing.assert_allclose(model.sample(3, seed=1), model.sample(3, seed=1))


def test_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="noise_dim"):
        gan.build_generator(noise_dim=0)
    with pytest.raises(ValueError, match="dropout"):
        gan.build_discriminator(dropout=1.5)
    with pytest.raises(ValueError, match="batch_norm"):
        gan.build_discriminator(batch_norm="yes")
    with pytest.raises(ValueError, match="output_activation"):
        gan.build_generator(8, 4, output_activation="tanh")
    with pytest.raises(ValueError, match="width"):
        gan.build_generator(8, 1)
    with pytest.raises(ValueError, match="generator_loss"):
        gan.build_gan(8, 4, generator_loss="wasserstein")
    with pytest.raises(ValueError, match="noise_dim"):
        gan.GAN(gan.build_generator(8, 4), gan.build_discriminator(4), noise_dim=16)
    model = gan.GAN(gan.build_generator(8, 4), gan.build_discriminator(4), noise_dim=8)
    with pytest.raises(ValueError, match="two optimizers"):
        model.compile()
    with pytest.raises(ValueError, match="shape"):
        gan.build_gan(8, 4).generate(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="epochs"):
        gan.sample_snapshots(np.zeros((2, 8)), epochs=[-1])
    with pytest.raises(ValueError, match="names"):
        gan.step_recorder([])
