"""Datasets, IDX parsing, fixed splits, noise and masks, ``tf.data`` pipelines.

Introduced in chapter 1. :func:`load` finds a dataset in this order:

1. an explicit directory: the ``data_dir`` argument, else the environment
   variable ``AEUTILS_DATA_DIR`` (a folder holding the four IDX files, gzipped or not);
2. the Keras cache (``~/.keras/datasets/``, or ``$KERAS_HOME/datasets``);
3. the Debian package path (``/usr/share/datasets/fashion-mnist/``, installed by
   ``apt-get install dataset-fashion-mnist``);
4. a Keras download (needs an internet connection).

The decoded arrays are checked against the sha256 digests in :data:`REGISTRY`,
so a truncated or tampered file is an error, never a silently different book.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aeutils import checks

#: Environment variable naming a directory that holds the IDX files.
DATA_DIR_ENV = "AEUTILS_DATA_DIR"
#: Environment variable that forbids downloads (set by the test-suite).
OFFLINE_ENV = "AEUTILS_OFFLINE"

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class DatasetInfo:
    """What :func:`load` knows about a dataset: files, digests, class names."""

    name: str
    class_names: tuple[str, ...]
    #: sha256 of the decoded uint8 arrays (C order); None where not recorded.
    sha256: dict[str, str | None]
    system_dirs: tuple[str, ...] = ()
    keras_subdir: str = ""
    keras_npz: str | None = None
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


REGISTRY: dict[str, DatasetInfo] = {
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        sha256={
            "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
            "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
            "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
            "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        keras_subdir="fashion-mnist",
        shapes={
            "x_train": (60000, 28, 28),
            "y_train": (60000,),
            "x_test": (10000, 28, 28),
            "y_test": (10000,),
        },
    ),
    "mnist": DatasetInfo(
        name="mnist",
        class_names=tuple(str(d) for d in range(10)),
        # Digests of the decoded MNIST arrays are not recorded (the data is not
        # available where this package is tested); shapes and label ranges are
        # still checked, and Keras checks its download against a file hash.
        sha256={"x_train": None, "y_train": None, "x_test": None, "y_test": None},
        system_dirs=("/usr/share/datasets/mnist",),
        keras_subdir="mnist",
        keras_npz="mnist.npz",
        shapes={
            "x_train": (60000, 28, 28),
            "y_train": (60000,),
            "x_test": (10000, 28, 28),
            "y_test": (10000,),
        },
    ),
}


class DataError(RuntimeError):
    """A dataset is missing, truncated, corrupted or does not match its digest."""


def _how_to_get(name: str) -> str:
    apt = (
        "  - on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
        if name == "fashion_mnist"
        else ""
    )
    return (
        "How to get the data:\n"
        f"{apt}"
        f"  - put the four IDX files (gzipped or not) in a folder and set {DATA_DIR_ENV}=/that/folder"
        " (or pass data_dir=...)\n"
        f"  - or connect to the internet: the first load downloads it through keras.datasets.{name}"
    )


# --------------------------------------------------------------------------- IDX


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped (``.gz``) or raw.

    Args:
        path: the file.

    Returns:
        The array, with the shape and dtype the file declares.

    Raises:
        DataError: if the file is missing, truncated, not IDX, or has trailing bytes.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"IDX file not found: {path}")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as error:  # gzip raises these on truncation/corruption
        raise DataError(
            f"{path.name}: cannot be decompressed ({error}); the file is "
            "truncated or corrupted - delete it and get it again"
        ) from error
    return parse_idx(raw, source=path.name)


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an IDX file; see :func:`read_idx`."""
    if len(raw) < 4:
        raise DataError(f"{source}: only {len(raw)} bytes, too short to be an IDX file")
    zero1, zero2, type_code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero1 != 0 or zero2 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{source}: bad IDX magic number {raw[:4].hex()} "
            "(expected 0000 then a type code such as 08 and the number of dimensions)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{source}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        kind = "truncated" if got < expected else "longer than declared"
        raise DataError(
            f"{source}: {kind}: header declares shape {shape} ({expected} bytes of data) "
            f"but the file holds {got}; delete it and get it again"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` (uint8) as an IDX file; gzip it when ``path`` ends in ``.gz``.

    Used by the tests to make small IDX files, and handy to export your own data.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_idx writes uint8 arrays only, got {array.dtype}")
    if array.ndim < 1 or array.ndim > 255:
        raise ValueError(f"write_idx needs 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + np.ascontiguousarray(array).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)
    return path


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's bytes in C order (what :data:`REGISTRY` records)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# ------------------------------------------------------------------ finding files


def _keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()


def _find_idx_in(directory: Path) -> dict[str, Path] | None:
    """The four IDX files in ``directory`` (gz preferred), or None if any is missing."""
    found: dict[str, Path] = {}
    for key, stem in _IDX_FILES.items():
        for candidate in (directory / f"{stem}.gz", directory / stem):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def _read_arrays_from_dir(info: DatasetInfo, directory: Path) -> dict[str, np.ndarray] | None:
    files = _find_idx_in(directory)
    if files is None:
        return None
    return {key: read_idx(path) for key, path in files.items()}


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in _IDX_FILES}
    except (OSError, ValueError, KeyError) as error:
        raise DataError(
            f"{path.name}: not a valid dataset archive ({error}); delete it and let it download again"
        ) from error


def _download(info: DatasetInfo) -> dict[str, np.ndarray]:
    if checks.env_flag(OFFLINE_ENV):
        raise DataError(
            f"dataset {info.name!r} not found locally and downloads are off "
            f"({OFFLINE_ENV} is set).\n" + _how_to_get(info.name)
        )
    import keras

    loader = getattr(keras.datasets, info.name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # network errors come in many types
        raise DataError(
            f"dataset {info.name!r} not found locally and the download failed "
            f"({type(error).__name__}: {error}).\n" + _how_to_get(info.name)
        ) from error
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _locate(info: DatasetInfo, data_dir: str | os.PathLike[str] | None) -> tuple[dict[str, np.ndarray], str]:
    explicit = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if explicit is not None:
        directory = Path(explicit).expanduser()
        arrays = _read_arrays_from_dir(info, directory) if directory.is_dir() else None
        if arrays is None:
            names = ", ".join(f"{stem}[.gz]" for stem in _IDX_FILES.values())
            raise DataError(
                f"data directory {directory} does not hold the {info.name} files "
                f"({names}).\n" + _how_to_get(info.name)
            )
        return arrays, "explicit directory"
    keras_dir = _keras_home() / "datasets"
    if info.keras_npz and (keras_dir / info.keras_npz).is_file():
        return _read_npz(keras_dir / info.keras_npz), "Keras cache"
    arrays = _read_arrays_from_dir(info, keras_dir / info.keras_subdir)
    if arrays is not None:
        return arrays, "Keras cache"
    for system_dir in info.system_dirs:
        arrays = _read_arrays_from_dir(info, Path(system_dir))
        if arrays is not None:
            return arrays, "system package"
    return _download(info), "download"


def _verify(info: DatasetInfo, arrays: dict[str, np.ndarray]) -> None:
    for key, array in arrays.items():
        expected_shape = info.shapes.get(key)
        if expected_shape is not None and tuple(array.shape) != expected_shape:
            raise DataError(
                f"{info.name} {key} ({_IDX_FILES[key]}): shape {array.shape}, expected "
                f"{expected_shape}; the file is wrong or incomplete - replace it.\n" + _how_to_get(info.name)
            )
        if array.dtype != np.uint8:
            raise DataError(f"{info.name} {key}: dtype {array.dtype}, expected uint8")
        digest = info.sha256.get(key)
        if digest is not None and array_sha256(array) != digest:
            raise DataError(
                f"{info.name} {key} ({_IDX_FILES[key]}): sha256 of the decoded data "
                "does not match the registry; the file is corrupted or not the "
                "official release - delete it and get it again.\n" + _how_to_get(info.name)
            )
    for key in ("y_train", "y_test"):
        if arrays[key].size and int(arrays[key].max()) >= len(info.class_names):
            raise DataError(f"{info.name} {key}: labels outside 0..{len(info.class_names) - 1}")


# ------------------------------------------------------------------------ loading


@dataclass(frozen=True)
class Dataset:
    """Images as float32 in [0, 1], shape (N, 28, 28, 1), with integer labels.

    ``x_val``/``y_val`` are a fixed, seeded split of the official training set;
    ``x_test``/``y_test`` are the official test set, used only for final numbers.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.x_train)}, val={len(self.x_val)}, "
            f"test={len(self.x_test)}, image shape={self.x_train.shape[1:]}, from {self.source})"
        )


_CACHE: dict[tuple[str, str], tuple[dict[str, np.ndarray], str]] = {}


def load(
    name: str = "fashion_mnist",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    validation_size: int = 5000,
    seed: int = 0,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
) -> Dataset:
    """Load a dataset with a fixed train/validation split.

    Args:
        name: ``"fashion_mnist"`` or ``"mnist"``.
        data_dir: a folder with the four IDX files; overrides the search order.
        validation_size: images moved from the official training set to validation.
        seed: seed of the split permutation (the same seed gives the same split).
        n_train, n_val, n_test: keep only the first n of each part (fast mode);
            None keeps all. Subsets are nested: a smaller n is a prefix of a larger one.

    Returns:
        A :class:`Dataset`.

    Raises:
        ValueError: for an unknown name or sizes out of range.
        DataError: for missing, truncated or tampered files (the message says how to
            get the data).
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(REGISTRY)}")
    info = REGISTRY[name]
    if not isinstance(validation_size, int) or validation_size < 1:
        raise ValueError(f"validation_size must be a positive int, got {validation_size!r}")
    key = (name, str(data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV, "")))
    if key not in _CACHE:
        arrays, source = _locate(info, data_dir)
        _verify(info, arrays)
        _CACHE[key] = (arrays, source)
    arrays, source = _CACHE[key]
    n_official = len(arrays["x_train"])
    if validation_size >= n_official:
        raise ValueError(
            f"validation_size={validation_size} leaves no training images (the training set has {n_official})"
        )
    order = np.random.default_rng(seed).permutation(n_official)
    val_index, train_index = order[:validation_size], order[validation_size:]

    def take(count: int | None, available: int, what: str) -> int:
        if count is None:
            return available
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"{what} must be a positive int or None, got {count!r}")
        if count > available:
            raise ValueError(f"{what}={count} but only {available} images are available")
        return count

    train_index = train_index[: take(n_train, len(train_index), "n_train")]
    val_index = val_index[: take(n_val, len(val_index), "n_val")]
    n_test_kept = take(n_test, len(arrays["x_test"]), "n_test")

    def images(raw: np.ndarray) -> np.ndarray:
        return (raw.astype(np.float32) / np.float32(255.0))[..., None]

    return Dataset(
        name=name,
        x_train=images(arrays["x_train"][train_index]),
        y_train=arrays["y_train"][train_index].astype(np.int64),
        x_val=images(arrays["x_train"][val_index]),
        y_val=arrays["y_train"][val_index].astype(np.int64),
        x_test=images(arrays["x_test"][:n_test_kept]),
        y_test=arrays["y_test"][:n_test_kept].astype(np.int64),
        class_names=info.class_names,
        source=source,
    )


# ------------------------------------------------------------- checks and helpers


def check_images(x: object, what: str = "images", *, ndim: tuple[int, ...] = (4,)) -> np.ndarray:
    """Return ``x`` as float32 images in [0, 1] (see :func:`aeutils.checks.images`)."""
    return checks.images(x, what, ndim=ndim)


def add_gaussian_noise(x: np.ndarray, sigma: float, *, seed: int = 0, clip: bool = True) -> np.ndarray:
    """Add N(0, sigma^2) noise to images in [0, 1], clipped back to [0, 1] by default."""
    x = check_images(x, "x", ndim=(2, 3, 4))
    sigma = checks.finite_number(sigma, "sigma", minimum=0.0)
    rng = np.random.default_rng(seed)
    noisy = x + rng.normal(0.0, sigma, size=x.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0) if clip else noisy


def random_patch_mask(shape: tuple[int, ...], patch_size: int, *, seed: int = 0) -> np.ndarray:
    """A mask of ones with one random square patch of zeros per image.

    Args:
        shape: the image batch shape, (N, H, W) or (N, H, W, C).
        patch_size: side of the square hole in pixels (1 <= patch_size <= min(H, W)).

    Returns:
        float32 array of ``shape``: 1 where the pixel is kept, 0 inside the hole.
    """
    if len(shape) not in (3, 4):
        raise ValueError(f"shape must be (N, H, W) or (N, H, W, C), got {shape}")
    n, height, width = shape[0], shape[1], shape[2]
    if not isinstance(patch_size, int) or not 1 <= patch_size <= min(height, width):
        raise ValueError(f"patch_size must be an int in 1..{min(height, width)}, got {patch_size!r}")
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, height - patch_size + 1, size=n)
    lefts = rng.integers(0, width - patch_size + 1, size=n)
    rows = np.arange(height)[None, :, None]
    cols = np.arange(width)[None, None, :]
    inside = (
        (rows >= tops[:, None, None])
        & (rows < tops[:, None, None] + patch_size)
        & (cols >= lefts[:, None, None])
        & (cols < lefts[:, None, None] + patch_size)
    )
    mask = (~inside).astype(np.float32)
    if len(shape) == 4:
        mask = np.broadcast_to(mask[..., None], shape).copy()
    return mask


def as_tf_dataset(
    x: np.ndarray, y: np.ndarray | None = None, *, batch_size: int = 128, shuffle: bool = True, seed: int = 0
):
    """A batched, prefetched ``tf.data.Dataset`` of ``x`` (and ``y``), shuffled each epoch.

    The one input pipeline of the book: :func:`aeutils.train.fit` uses it too. It shuffles the
    *indices* and gathers each batch in one operation, rather than passing every image through a
    shuffle buffer one by one: the same batches in the same order as
    ``Dataset.from_tensor_slices(x).shuffle(len(x), seed).batch(batch_size)``, for a fraction of the
    work (wide rows, such as chapter 8's 4,768 features per image, cost almost nothing to gather).

    It prefetches two batches and switches ``tf.data``'s autotuning off. The autotuner runs in a
    thread of its own that wakes at growing intervals; destroying an iterator that has run for a
    while (which Keras does at the end of every ``fit``) waits for that thread, and on the book's
    2-core test machine that wait sometimes took 9-10 s per ``fit`` call. A fixed prefetch of two
    batches keeps the CPU as busy as autotuning did for these small in-memory pipelines.
    """
    import tensorflow as tf

    checks.positive_int(batch_size, "batch_size", "as_tf_dataset")
    if y is not None and len(y) != len(x):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    columns = tuple(tf.constant(array) for array in ((x,) if y is None else (x, y)))
    indices = tf.data.Dataset.range(len(x))
    if shuffle:
        indices = indices.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)

    def gather(batch):
        taken = tuple(tf.gather(column, batch) for column in columns)
        return taken[0] if y is None else taken

    options = tf.data.Options()
    options.autotune.enabled = False
    return indices.batch(batch_size).map(gather).prefetch(2).with_options(options)
