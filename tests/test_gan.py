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
