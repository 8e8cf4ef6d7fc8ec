"""aeutils.vae: sampling layer, VAE model, ELBO and importance-weighted bound (chapter 5)."""

import numpy as np
import pytest

import aeutils  # noqa: F401  (quiet TensorFlow first)
from aeutils import vae


@pytest.fixture(scope="module")
def tiny_images():
    rng = np.random.default_rng(0)
    # 64 binary "images" with structure (two prototypes plus noise), so training can make progress
    prototypes = (rng.random((2, 28, 28, 1)) > 0.5).astype(np.float32)
    flips = (rng.random((64, 28, 28, 1)) < 0.05).astype(np.float32)
    return np.abs(prototypes[np.arange(64) % 2] - flips)


@pytest.fixture(scope="module")
def trained(tiny_images):
    import keras

    keras.utils.set_random_seed(0)
    model = vae.build_conv_vae(3, filters=(4, 8), hidden_units=16)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(tiny_images, epochs=30, batch_size=32, verbose=0, validation_data=(tiny_images,))
    return model, history.history


def test_sampling_layer_is_mean_plus_scaled_noise():
    import tensorflow as tf

    layer = vae.Sampling(seed=1)
    mean = tf.fill((20000, 2), 3.0)
    log_var = tf.fill((20000, 2), np.log(4.0).astype(np.float32))
    z = np.asarray(layer([mean, log_var]))
    assert z.shape == (20000, 2)
    assert abs(z.mean() - 3.0) < 0.05 and abs(z.std() - 2.0) < 0.05


def test_vae_trains_under_mixed_bfloat16_with_float32_losses(tiny_images):
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        model = vae.build_conv_vae(3, filters=(4, 8), hidden_units=16)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        history = model.fit(tiny_images, epochs=3, batch_size=32, verbose=0).history
        reconstruction, kl = model.compute_terms(tiny_images[:4])
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert reconstruction.dtype.name == "float32" and kl.dtype.name == "float32"
    assert np.isfinite(history["loss"]).all() and history["loss"][-1] < history["loss"][0]


def test_shapes(tiny_images):
    model = vae.build_conv_vae(5, filters=(4, 8), hidden_units=16)
    logits = model(tiny_images[:3])
    assert tuple(logits.shape) == (3, 28, 28, 1)
    mean, log_var = model.encode(tiny_images[:3])
    assert mean.shape == (3, 5) and log_var.shape == (3, 5)
    samples = model.sample(4, seed=0)
    assert samples.shape == (4, 28, 28, 1) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, model.sample(4, seed=0))
    assert model.reconstruct(tiny_images[:2]).shape == (2, 28, 28, 1)


def test_training_lowers_the_loss_and_reports_separate_metrics(trained):
    _, history = trained
    for name in ("loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_kl"):
        assert name in history
    assert history["loss"][-1] < 0.9 * history["loss"][0]
    # the loss is the sum of its two terms (beta = 1), averaged per image
    np.testing.assert_allclose(
        history["val_loss"][-1], history["val_reconstruction"][-1] + history["val_kl"][-1], rtol=1e-4
    )


def test_elbo_is_below_the_importance_weighted_bound(trained, tiny_images):
    model, _ = trained
    elbo = vae.elbo(model, tiny_images, num_samples=10)
    iwae_1 = vae.iwae_log_likelihood(model, tiny_images, num_samples=1, batch_size=16)
    iwae_50 = vae.iwae_log_likelihood(model, tiny_images, num_samples=50, batch_size=16)
    assert elbo.shape == iwae_50.shape == (64,)
    assert (elbo < 0).all()
    # K = 1 is an unbiased ELBO estimate; K = 50 is a tighter bound
    assert abs(iwae_1.mean() - elbo.mean()) < 0.1 * abs(elbo.mean())
    assert iwae_50.mean() >= elbo.mean()


def test_iwae_over_many_chunks_is_exact_when_every_sample_is_the_mean(trained, tiny_images, monkeypatch):
    """With eps = 0 every importance weight equals w(mean), so the bound is exactly log w(mean) for
    any K: a chunk dropped, counted twice or averaged with the wrong K would move it."""
    import tensorflow as tf

    from aeutils import losses

    model, _ = trained
    monkeypatch.setattr(tf.random, "stateless_normal", lambda shape, seed, **kw: tf.zeros(shape))
    x = tiny_images[:8]
    # batch_size 4096 leaves room for 8192 // 4096 = 2 samples per decoder call: K = 20 takes 10 chunks.
    bound = vae.iwae_log_likelihood(model, x, num_samples=20, batch_size=4096)
    mean, log_var = model.encoder(x, training=False)
    log_px = -losses.bernoulli_nll(x, model.decoder(mean, training=False))
    by_hand = log_px + losses.log_normal_pdf(mean, 0.0, 0.0) - losses.log_normal_pdf(mean, mean, log_var)
    np.testing.assert_allclose(bound, np.asarray(by_hand, dtype=np.float64), rtol=1e-5, atol=1e-3)


def test_iwae_bound_rises_with_k_on_average(trained, tiny_images):
    model, _ = trained
    x = tiny_images[:32]
    k1 = vae.iwae_log_likelihood(model, x, num_samples=1, seed=1).mean()
    k50 = vae.iwae_log_likelihood(model, x, num_samples=50, batch_size=8, seed=1).mean()
    assert k50 > k1


def test_a_bernoulli_elbo_refuses_continuous_pixels(trained):
    model, _ = trained
    grey = np.full((4, 28, 28, 1), 0.3, dtype=np.float32)
    with pytest.raises(ValueError, match=r"must be binary .*\(x > 0.5\)"):
        vae.elbo(model, grey)
    with pytest.raises(ValueError, match="must be binary"):
        vae.iwae_log_likelihood(model, grey, num_samples=2)


def test_training_a_vae_on_continuous_pixels_is_refused_with_advice():
    import keras

    from aeutils import train

    model = vae.build_conv_vae(2, filters=(4, 4), hidden_units=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    grey = np.full((16, 28, 28, 1), 0.3, dtype=np.float32)
    with pytest.raises(ValueError, match=r"binarise them with \(x > 0.5\)"):
        train.fit(model, grey, None, name="grey_vae", epochs=1, cache=False)


def test_get_config_holds_beta_and_round_trips():
    model = vae.build_conv_vae(2, filters=(4, 4), hidden_units=8, beta=4.0, seed=3)
    config = model.get_config()
    assert config["beta"] == 4.0 and config["seed"] == 3 and config["likelihood"] == "bernoulli"
    clone = vae.VAE.from_config(config)
    assert clone.beta == 4.0 and clone.latent_dim == 2


def test_reparameterize_is_mean_plus_standard_deviation_times_noise():
    z = vae.reparameterize(np.array([1.0, -2.0]), np.log(np.array([4.0, 0.25])), np.array([0.5, 2.0]))
    np.testing.assert_allclose(np.asarray(z), [1.0 + 2.0 * 0.5, -2.0 + 0.5 * 2.0])


def test_beta_weights_the_kl_term(tiny_images):
    import keras

    model = vae.build_conv_vae(2, filters=(4, 8), hidden_units=8, beta=0.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    logs = model.evaluate(tiny_images, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["reconstruction"], rel=1e-5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: vae.build_conv_vae(0), "latent_dim"),
        (lambda: vae.build_conv_vae(2, filters=(4,)), "filters"),
        (lambda: vae.build_conv_vae(2, image_shape=(30, 30, 1)), "divisible by 4"),
        (lambda: vae.build_conv_vae(2, beta=-1.0), "beta"),
        (lambda: vae.elbo("not a model", np.zeros((1, 28, 28, 1))), "VAE"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_bad_data_raises_clear_errors(trained):
    model, _ = trained
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae.elbo(model, np.full((2, 28, 28, 1), 255.0))
    with pytest.raises(TypeError, match="NumPy array"):
        vae.iwae_log_likelihood(model, [[0.0]])
    with pytest.raises(ValueError, match="num_samples"):
        vae.iwae_log_likelihood(model, np.zeros((2, 28, 28, 1)), num_samples=0)
    with pytest.raises(ValueError, match="positive int"):
        model.sample(0)
    with pytest.raises(ValueError, match="shape"):
        model.decode(np.zeros((2, 7)))
