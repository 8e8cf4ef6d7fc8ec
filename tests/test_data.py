"""aeutils.data: IDX parsing, the registry, the look-up order, splits, noise and masks."""

import dataclasses

import numpy as np
import pytest

from aeutils import data
from aeutils.data import DataError

SHAPES = {"x_train": (50, 28, 28), "y_train": (50,), "x_test": (20, 28, 28), "y_test": (20,)}


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "_CACHE", {})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))  # an empty Keras cache
    monkeypatch.delenv("AEUTILS_DATA_DIR", raising=False)
    monkeypatch.setenv("AEUTILS_OFFLINE", "1")


def make_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {
        key: (
            rng.integers(0, 256, size=shape, dtype=np.uint8)
            if key.startswith("x")
            else rng.integers(0, 10, size=shape).astype(np.uint8)
        )
        for key, shape in SHAPES.items()
    }


def write_dataset(directory, arrays, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    for key, stem in data._IDX_FILES.items():
        data.write_idx(directory / (stem + (".gz" if gz else "")), arrays[key])
    return directory


@pytest.fixture
def tiny(monkeypatch):
    """Register a small 'mnist' whose digests match the arrays the test writes."""
    arrays = make_arrays()
    info = dataclasses.replace(
        data.REGISTRY["mnist"],
        shapes=SHAPES,
        sha256={key: data.array_sha256(array) for key, array in arrays.items()},
        system_dirs=(),
    )
    monkeypatch.setitem(data.REGISTRY, "mnist", info)
    return arrays


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = data.write_idx(tmp_path / ("a.idx.gz" if gz else "a.idx"), array)
    back = data.read_idx(path)
    assert back.shape == (2, 3, 4) and back.dtype == np.uint8
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_parsed_by_hand_made_bytes():
    raw = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))
    np.testing.assert_array_equal(data.parse_idx(raw), [[0, 1, 2], [3, 4, 5]])


def test_idx_big_endian_int32():
    raw = bytes([0, 0, 0x0C, 1, 0, 0, 0, 2]) + (258).to_bytes(4, "big") + (1).to_bytes(4, "big")
    np.testing.assert_array_equal(data.parse_idx(raw), [258, 1])


def test_truncated_idx_names_the_file(tmp_path):
    path = data.write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: truncated"):
        data.read_idx(path)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = data.write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((50, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: cannot be decompressed"):
        data.read_idx(path)


def test_bad_magic_number(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(DataError, match="bad IDX magic"):
        data.read_idx(path)


def test_trailing_bytes(tmp_path):
    raw = bytes([0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3])
    with pytest.raises(DataError, match="longer than declared"):
        data.parse_idx(raw)


def test_missing_idx_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        data.read_idx(tmp_path / "nope.gz")


def test_write_idx_refuses_other_dtypes(tmp_path):
    with pytest.raises(TypeError, match="uint8"):
        data.write_idx(tmp_path / "f.idx", np.zeros(3, np.float32))


# ------------------------------------------------------------------------ loading


def test_load_parses_small_mnist_files(tmp_path, tiny):
    directory = write_dataset(tmp_path / "mnist", tiny, gz=False)
    loaded = data.load("mnist", data_dir=directory, validation_size=10)
    assert loaded.source == "explicit directory"
    assert loaded.x_train.shape == (40, 28, 28, 1) and loaded.x_val.shape == (10, 28, 28, 1)
    assert loaded.x_test.shape == (20, 28, 28, 1)
    assert loaded.x_train.dtype == np.float32 and 0.0 <= loaded.x_train.min() <= loaded.x_train.max() <= 1.0
    np.testing.assert_allclose(loaded.x_test[..., 0], tiny["x_test"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(loaded.y_test, tiny["y_test"])


def test_environment_variable_names_the_directory(tmp_path, tiny, monkeypatch):
    directory = write_dataset(tmp_path / "somewhere", tiny)
    monkeypatch.setenv("AEUTILS_DATA_DIR", str(directory))
    assert data.load("mnist", validation_size=10).source == "explicit directory"


def test_keras_cache_npz_is_found(tmp_path, tiny, monkeypatch):
    keras_home = tmp_path / "kh"
    (keras_home / "datasets").mkdir(parents=True)
    np.savez(keras_home / "datasets" / "mnist.npz", **tiny)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    loaded = data.load("mnist", validation_size=10)
    assert loaded.source == "Keras cache"
    np.testing.assert_array_equal(loaded.y_test, tiny["y_test"])


def test_split_is_deterministic_disjoint_and_complete(tmp_path, tiny):
    directory = write_dataset(tmp_path / "d", tiny)
    first = data.load("mnist", data_dir=directory, validation_size=10, seed=3)
    again = data.load("mnist", data_dir=directory, validation_size=10, seed=3)
    other = data.load("mnist", data_dir=directory, validation_size=10, seed=4)
    np.testing.assert_array_equal(first.x_val, again.x_val)
    assert not np.array_equal(first.x_val, other.x_val)
    rows = lambda x: {row.tobytes() for row in (x * 255).round().astype(np.uint8)}  # noqa: E731
    train_rows, val_rows = rows(first.x_train), rows(first.x_val)
    assert not train_rows & val_rows
    assert train_rows | val_rows == rows(tiny["x_train"][..., None] / 255.0)


def test_subsets_are_nested_prefixes(tmp_path, tiny):
    directory = write_dataset(tmp_path / "d", tiny)
    small = data.load("mnist", data_dir=directory, validation_size=10, n_train=5, n_test=3)
    full = data.load("mnist", data_dir=directory, validation_size=10)
    np.testing.assert_array_equal(small.x_train, full.x_train[:5])
    assert len(small.x_test) == 3


def test_digest_mismatch_of_a_tampered_file(tmp_path, tiny):
    directory = write_dataset(tmp_path / "d", tiny, gz=False)
    path = directory / "train-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[-1] = (raw[-1] + 1) % 10  # a valid label, but not the official one
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"y_train \(train-labels-idx1-ubyte\): sha256.*does not match"):
        data.load("mnist", data_dir=directory, validation_size=10)


def test_wrong_shape_is_reported(tmp_path, tiny):
    tiny = dict(tiny, x_test=tiny["x_test"][:5])
    directory = write_dataset(tmp_path / "d", tiny)
    with pytest.raises(DataError, match=r"x_test .*shape \(5, 28, 28\), expected \(20, 28, 28\)"):
        data.load("mnist", data_dir=directory, validation_size=10)


def test_directory_without_the_files(tmp_path):
    with pytest.raises(
        DataError, match="(?s)does not hold the fashion_mnist files.*apt-get install dataset-fashion-mnist"
    ):
        data.load("fashion_mnist", data_dir=tmp_path)


def test_missing_data_offline_says_how_to_get_it(monkeypatch):
    info = dataclasses.replace(data.REGISTRY["fashion_mnist"], system_dirs=("/nonexistent/fashion",))
    monkeypatch.setitem(data.REGISTRY, "fashion_mnist", info)
    with pytest.raises(DataError) as caught:
        data.load("fashion_mnist")
    message = str(caught.value)
    assert "downloads are off" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "AEUTILS_DATA_DIR" in message and "internet" in message


def test_unknown_dataset_name():
    with pytest.raises(
        ValueError, match=r"unknown dataset 'cifar'; choose one of \['fashion_mnist', 'mnist'\]"
    ):
        data.load("cifar")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(validation_size=0), "validation_size must be a positive int"),
        (dict(validation_size=50), "leaves no training images"),
        (dict(n_train=0), "n_train must be a positive int"),
        (dict(n_test=21), "n_test=21 but only 20"),
    ],
)
def test_bad_sizes(tmp_path, tiny, kwargs, message):
    directory = write_dataset(tmp_path / "d", tiny)
    kwargs.setdefault("validation_size", 10)
    with pytest.raises(ValueError, match=message):
        data.load("mnist", data_dir=directory, **kwargs)


def test_real_fashion_mnist_matches_the_registry():
    try:
        fashion = data.load("fashion_mnist")
    except DataError as error:
        pytest.skip(f"Fashion-MNIST not installed here: {error}")
    assert fashion.x_train.shape == (55000, 28, 28, 1)
    assert fashion.x_val.shape == (5000, 28, 28, 1) and fashion.x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(fashion.y_test).tolist() == [1000] * 10


# ------------------------------------------------------------------ noise & masks


def test_gaussian_noise_statistics_and_clipping():
    x = np.full((200, 28, 28, 1), 0.5, np.float32)
    noisy = data.add_gaussian_noise(x, 0.1, seed=1)
    assert noisy.shape == x.shape and noisy.dtype == np.float32
    assert abs(float((noisy - x).std()) - 0.1) < 0.005
    clipped = data.add_gaussian_noise(np.zeros((10, 28, 28, 1), np.float32), 0.5, seed=1)
    assert clipped.min() == 0.0 and clipped.max() <= 1.0
    np.testing.assert_array_equal(noisy, data.add_gaussian_noise(x, 0.1, seed=1))


@pytest.mark.parametrize(
    "x, sigma, error, message",
    [
        (np.zeros((2, 28, 28, 1), np.uint8), 0.1, TypeError, "integer dtype"),
        (np.full((2, 28, 28, 1), 255.0, np.float32), 0.1, ValueError, r"must lie in \[0, 1\]"),
        (np.zeros((2, 28, 28, 1), np.float32), -0.1, ValueError, "sigma must be"),
        (np.zeros((2,), np.float32), 0.1, ValueError, "must be 2-D or 3-D or 4-D"),
        (np.full((2, 28, 28, 1), np.nan, np.float32), 0.1, ValueError, "NaN"),
    ],
)
def test_noise_rejects_bad_input(x, sigma, error, message):
    with pytest.raises(error, match=message):
        data.add_gaussian_noise(x, sigma)


def test_patch_mask_has_one_hole_of_the_right_size():
    mask = data.random_patch_mask((6, 28, 28, 1), 8, seed=0)
    assert mask.shape == (6, 28, 28, 1)
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert ((1 - mask).sum(axis=(1, 2, 3)) == 64).all()


@pytest.mark.parametrize("shape, patch", [((2, 28, 28), 0), ((2, 28, 28), 29), ((28, 28), 4)])
def test_patch_mask_rejects_bad_arguments(shape, patch):
    with pytest.raises(ValueError):
        data.random_patch_mask(shape, patch)


def test_as_tf_dataset_batches_and_checks_lengths():
    x = np.zeros((10, 4), np.float32)
    batches = list(data.as_tf_dataset(x, np.arange(10), batch_size=4, shuffle=False))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    with pytest.raises(ValueError, match="differ in length"):
        data.as_tf_dataset(x, np.arange(9))


def test_as_tf_dataset_turns_autotuning_off():
    # The autotuner's thread made destroying a long-used iterator (the end of every fit) wait seconds.
    dataset = data.as_tf_dataset(np.zeros((10, 4), np.float32), batch_size=4)
    assert dataset.options().autotune.enabled is False
    assert [len(batch) for batch in dataset] == [4, 4, 2]


def test_as_tf_dataset_keeps_pairs_and_matches_an_element_shuffle():
    import tensorflow as tf

    x = np.arange(50 * 3, dtype=np.float32).reshape(50, 3)
    y = np.arange(50) * 10
    ours = data.as_tf_dataset(x, y, batch_size=8, seed=7)
    reference = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(50, seed=7).batch(8)
    orders = []
    for _ in range(2):  # two epochs, each reshuffled, in the same order as the element-wise shuffle
        got = [(bx.numpy(), by.numpy()) for bx, by in ours]
        want = [(bx.numpy(), by.numpy()) for bx, by in reference]
        assert [len(bx) for bx, _ in got] == [8] * 6 + [2]
        for (gx, gy), (wx, wy) in zip(got, want, strict=True):
            np.testing.assert_array_equal(gx, wx)
            np.testing.assert_array_equal(gy, wy)
            np.testing.assert_array_equal(gx[:, 0], gy * 3 / 10)  # each row keeps its own label
        rows = np.concatenate([gx for gx, _ in got])[:, 0]
        np.testing.assert_array_equal(np.sort(rows), x[:, 0])  # every row exactly once per epoch
        orders.append(rows)
    assert not np.array_equal(orders[0], orders[1])  # a fresh order every epoch
    assert not np.array_equal(orders[0], x[:, 0])  # shuffled at all
    alone = np.concatenate([bx.numpy() for bx in data.as_tf_dataset(x, batch_size=8, seed=7)])
    np.testing.assert_array_equal(alone[:, 0], orders[0])  # x alone: the same first order for the seed
    unshuffled = np.concatenate([bx.numpy() for bx in data.as_tf_dataset(x, batch_size=8, shuffle=False)])
    np.testing.assert_array_equal(unshuffled, x)


def test_look_up_order_explicit_then_keras_cache_then_system_package_then_download(
    tmp_path, tiny, monkeypatch
):
    explicit = write_dataset(tmp_path / "explicit", tiny)
    keras_home = tmp_path / "keras_home"
    write_dataset(keras_home / "datasets" / "mnist", tiny)
    system = write_dataset(tmp_path / "usr_share_datasets_mnist", tiny)
    monkeypatch.setitem(
        data.REGISTRY, "mnist", dataclasses.replace(data.REGISTRY["mnist"], system_dirs=(str(system),))
    )
    monkeypatch.setenv("KERAS_HOME", str(keras_home))

    def source():
        monkeypatch.setattr(data, "_CACHE", {})
        return data.load("mnist", validation_size=10).source

    monkeypatch.setenv("AEUTILS_DATA_DIR", str(explicit))
    assert source() == "explicit directory"
    monkeypatch.delenv("AEUTILS_DATA_DIR")
    assert source() == "Keras cache"
    for path in (keras_home / "datasets" / "mnist").iterdir():
        path.unlink()
    assert source() == "system package"
    for path in system.iterdir():
        path.unlink()
    with pytest.raises(DataError, match="downloads are off"):
        source()


@pytest.mark.parametrize("value", ["0", "false", "no", "off", ""])
def test_offline_flag_spelled_false_allows_the_download(value, tiny, monkeypatch):
    import keras

    def no_network():
        raise OSError("no network here")

    monkeypatch.setenv("AEUTILS_OFFLINE", value)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(DataError, match="the download failed"):
        data.load("mnist", validation_size=10)


def test_offline_flag_that_is_not_a_boolean_is_refused(tiny, monkeypatch):
    monkeypatch.setenv("AEUTILS_OFFLINE", "maybe")
    with pytest.raises(ValueError, match="AEUTILS_OFFLINE='maybe' is not a boolean"):
        data.load("mnist", validation_size=10)
