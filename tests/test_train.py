"""aeutils.train: training, progress, NaN guard, cache, errors."""

import keras
import numpy as np
import pytest

from aeutils import config, train


def tiny_autoencoder(learning_rate=1e-2, optimizer="adam"):
    config.seed_everything(0)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.Dense(8, activation="sigmoid"),
        ]
    )
    opt = keras.optimizers.Adam(learning_rate) if optimizer == "adam" else keras.optimizers.SGD(learning_rate)
    model.compile(optimizer=opt, loss="mse")
    return model


@pytest.fixture
def x():
    return np.random.default_rng(0).uniform(size=(256, 8)).astype(np.float32)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("AEUTILS_CACHE_DIR", str(tmp_path / "cache"))


def test_fit_trains_and_reports(x, capsys):
    result = train.fit(
        tiny_autoencoder(), x, x, name="t", epochs=3, batch_size=32, validation_data=(x, x), cache=False
    )
    out = capsys.readouterr().out
    assert out.count("t: epoch") == 3 and "\r" not in out
    assert set(result.history) == {"loss", "val_loss"} and len(result.history["loss"]) == 3
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.epochs == 3 and result.seconds > 0
    assert result.images_per_second == pytest.approx(256 * 3 / result.seconds)
    assert result.final("val_loss") == result.history["val_loss"][-1]
    with pytest.raises(KeyError, match="no metric 'accuracy'"):
        result.final("accuracy")


def test_log_every_prints_first_last_and_every_nth(x, capsys):
    train.fit(tiny_autoencoder(), x, x, name="t", epochs=6, log_every=4, cache=False)
    lines = [line for line in capsys.readouterr().out.splitlines() if "epoch" in line]
    assert [line.split("epoch")[1].split("/")[0].strip() for line in lines] == ["1", "4", "6"]


def test_nan_guard_stops_with_a_clear_message(x):
    # A linear model with an absurd learning rate: the weights overflow within a few steps.
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
    model.compile(optimizer=keras.optimizers.SGD(1e12), loss="mse")
    with pytest.raises(
        train.TrainingDivergedError, match="diverged: loss became (nan|inf).*Lower the learning rate"
    ):
        train.fit(model, x, x, name="boom", epochs=3, cache=False)


def test_cache_loads_the_same_weights_and_skips_training(x, capsys):
    first_model = tiny_autoencoder()
    first = train.fit(first_model, x, x, name="c", epochs=2, cache=True)
    assert not first.from_cache
    second_model = tiny_autoencoder()
    second = train.fit(second_model, x, x, name="c", epochs=2, cache=True)
    assert second.from_cache and "loaded cached weights" in capsys.readouterr().out
    assert second.history == first.history
    for a, b in zip(first_model.get_weights(), second_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_cache_key_changes_with_what_determines_the_weights(x):
    base = train.fit(tiny_autoencoder(), x, x, name="k", epochs=1, cache=True)
    assert not train.fit(tiny_autoencoder(), x, x, name="k", epochs=2, cache=True).from_cache
    assert not train.fit(tiny_autoencoder(), x[:128], x[:128], name="k", epochs=1, cache=True).from_cache
    assert not train.fit(
        tiny_autoencoder(learning_rate=3e-3), x, x, name="k", epochs=1, cache=True
    ).from_cache
    assert not train.fit(tiny_autoencoder(), x, x, name="k", epochs=1, seed=5, cache=True).from_cache
    assert train.fit(tiny_autoencoder(), x, x, name="k", epochs=1, cache=True).cache_key == base.cache_key


def _vae(beta=1.0, learning_rate=1e-3):
    import keras

    from aeutils import vae

    model = vae.build_conv_vae(2, filters=(4, 4), hidden_units=8, beta=beta)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model(np.zeros((1, 28, 28, 1), "float32"))
    return model


def _gan(generator_loss="non_saturating", learning_rate=2e-4):
    from aeutils import gan

    model = gan.build_gan(noise_dim=8, width=4, generator_loss=generator_loss, learning_rate=learning_rate)
    model(np.zeros((1, 28, 28, 1), "float32"))
    return model


def test_cache_key_sees_custom_hyper_parameters_losses_and_every_optimizer():
    def key(model):
        return train.model_fingerprint(model)

    assert key(_vae()) == key(_vae())
    assert key(_vae(beta=4.0)) != key(_vae())
    assert key(_vae(learning_rate=3e-3)) != key(_vae())
    assert key(_gan()) == key(_gan())
    assert key(_gan(generator_loss="minimax")) != key(_gan())
    assert key(_gan(learning_rate=1e-3)) != key(_gan())  # both Adams, which model.optimizer does not show
    assert {"d_optimizer", "g_optimizer"} <= set(key(_gan())["optimizers"])


def test_a_minimax_run_never_loads_non_saturating_weights(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AEUTILS_CACHE_DIR", str(tmp_path))
    images = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    first = train.fit(_gan(), images, None, name="gan_exercise", epochs=1, batch_size=32, cache=True)
    second = train.fit(
        _gan(generator_loss="minimax"), images, None, name="gan_exercise", epochs=1, batch_size=32, cache=True
    )
    assert not second.from_cache and second.cache_key != first.cache_key
    again = train.fit(_gan(), images, None, name="gan_exercise", epochs=1, batch_size=32, cache=True)
    assert again.from_cache and again.cache_key == first.cache_key


def test_a_model_without_a_readable_config_is_trained_but_not_cached(tmp_path, monkeypatch, capsys):
    import keras

    class Opaque(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, inputs):
            return self.inner(inputs)

    monkeypatch.setenv("AEUTILS_CACHE_DIR", str(tmp_path))
    data = np.random.default_rng(0).random((32, 3)).astype("float32")
    for _ in range(2):
        model = Opaque(keras.layers.Dense(3))
        model.compile(optimizer="adam", loss="mse")
        result = train.fit(model, data, data, name="opaque", epochs=1, cache=True)
        assert not result.from_cache
    out = capsys.readouterr().out
    assert "opaque: not cached" in out and "get_config()" in out
    assert not list(tmp_path.glob("opaque-*"))


def test_bad_images_get_a_sentence_that_says_what_to_do():
    from aeutils import models

    images = np.random.default_rng(0).random((32, 28, 28, 1)).astype("float32")
    model = models.build_conv_autoencoder(2, filters=(4, 4))
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="look like 0-255 pixels: divide by 255"):
        train.fit(model, images * 255.0, images * 255.0, name="pixels", epochs=1, cache=False)
    with pytest.raises(TypeError, match=r"integer dtype uint8.*/ 255"):
        raw = (images * 255).astype("uint8")
        train.fit(model, raw, raw, name="uint8", epochs=1, cache=False)
    train.fit(model, images, images, name="ok", epochs=1, cache=False)  # trained once: shapes are fixed
    with pytest.raises(ValueError, match=r"channel axis is missing: use x\[\.\.\., None\]"):
        train.fit(model, images[..., 0], images[..., 0], name="no_channel", epochs=1, cache=False)


def test_no_cache_environment_variable(x, monkeypatch):
    monkeypatch.setenv("AEUTILS_NO_CACHE", "1")
    train.fit(tiny_autoencoder(), x, x, name="n", epochs=1)
    assert not train.fit(tiny_autoencoder(), x, x, name="n", epochs=1).from_cache


def test_training_is_repeatable(x):
    first = train.fit(tiny_autoencoder(), x, x, name="r", epochs=2, cache=False)
    second = train.fit(tiny_autoencoder(), x, x, name="r", epochs=2, cache=False)
    assert first.history == second.history


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(epochs=0), ValueError, "epochs must be a positive int"),
        (dict(batch_size=2.5), ValueError, "batch_size must be a positive int"),
        (dict(name="my model!"), ValueError, "name must be a short identifier"),
        (dict(validation_data=[1, 2]), ValueError, "validation_data must be"),
        (dict(y=np.zeros((3, 8), np.float32)), ValueError, "differ in length"),
        (dict(x=[[0.0] * 8]), TypeError, "must be a NumPy array"),
        (dict(x=np.full((4, 8), np.nan, np.float32)), ValueError, "NaN"),
    ],
)
def test_bad_arguments(x, kwargs, error, message):
    arguments = dict(x=x, y=x, name="b", epochs=1, cache=False)
    arguments.update(kwargs)
    model = tiny_autoencoder()
    with pytest.raises(error, match=message):
        train.fit(model, arguments.pop("x"), arguments.pop("y"), **arguments)


def test_uncompiled_model_is_refused(x):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
    with pytest.raises(ValueError, match="not compiled"):
        train.fit(model, x, x, name="u", epochs=1)
