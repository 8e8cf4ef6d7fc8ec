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
