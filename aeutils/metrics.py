"""Sample-quality metrics: a feature classifier, Fréchet distance, precision and recall.

Introduced in chapter 7 (AE, VAE and GAN compared).

Generated images are judged in the feature space of a small Fashion-MNIST
classifier trained for this purpose (the book's stand-in for the Inception network
of the FID of Heusel et al., 2017, which is trained on ImageNet photographs and says
little about 28x28 clothes):

- :func:`frechet_distance` compares the mean and covariance of two feature clouds
  (a Gaussian approximation: sensitive to both quality and diversity, one number);
- :func:`precision_recall` follows Kynkäänniemi et al. (2019): precision is the share
  of generated samples that fall inside the real data's k-NN manifold (quality),
  recall the share of real samples inside the generated manifold (coverage).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Name of the classifier layer whose activations are the features.
FEATURE_LAYER = "features"


def _check_features(features: Any, what: str, *, min_rows: int = 2) -> np.ndarray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D array (n_samples, n_features), got shape {array.shape}; "
            "use extract_features(...) to turn images into features"
        )
    if len(array) < min_rows:
        raise ValueError(f"{what} needs at least {min_rows} rows, got {len(array)}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return array


# ------------------------------------------------------------ the classifier


def build_feature_classifier(feature_dim: int = 64, *, learning_rate: float = 1e-3) -> Any:
    """A small compiled CNN for 28x28x1 images and 10 classes, with a ``features`` layer.

    Two conv blocks, then a dense layer of ``feature_dim`` units (named
    ``"features"``, the space in which samples are compared) and a softmax.
    Trained with :func:`aeutils.train.fit` on labels. Chapter 7.
    """
    import keras
    from keras import layers

    if not isinstance(feature_dim, int) or isinstance(feature_dim, bool) or feature_dim < 2:
        raise ValueError(f"feature_dim must be an int >= 2, got {feature_dim!r}")
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER),
            layers.Dense(10, activation="softmax"),
        ],
        name="feature_classifier",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_feature_classifier(
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int = 3,
    feature_dim: int = 64,
    batch_size: int = 128,
    seed: int = 0,
) -> tuple[Any, Any]:
    """Build and train the feature classifier with :func:`aeutils.train.fit`.

    Returns ``(classifier, train_result)``. Chapter 7.
    """
    from aeutils import train

    x_train = np.asarray(x_train)
    y_train = np.asarray(y_train)
    if x_train.ndim != 4 or x_train.shape[1:] != (28, 28, 1):
        raise ValueError(f"x_train must have shape (n, 28, 28, 1), got {x_train.shape}")
    if y_train.shape != (len(x_train),) or not np.issubdtype(y_train.dtype, np.integer):
        raise ValueError(
            f"y_train must be {len(x_train)} integer class labels, got {y_train.dtype} {y_train.shape}"
        )
    if y_train.min() < 0 or y_train.max() > 9:
        raise ValueError("y_train must hold class labels 0..9")
    classifier = build_feature_classifier(feature_dim)
    result = train.fit(
        classifier,
        x_train,
        y_train,
        name="feature_classifier",
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        seed=seed,
    )
    return classifier, result


def feature_extractor(classifier: Any) -> Any:
    """A model from images to the classifier's ``features`` layer. Chapter 7."""
    import keras

    try:
        layer = classifier.get_layer(FEATURE_LAYER)
    except (ValueError, AttributeError):
        raise ValueError(
            f"the classifier has no layer named {FEATURE_LAYER!r}; build it with build_feature_classifier()"
        ) from None
    return keras.Model(classifier.inputs, layer.output, name="feature_extractor")


def extract_features(extractor: Any, images: Any, *, batch_size: int = 500) -> np.ndarray:
    """Features (float64, shape (n, feature_dim)) of images in [0, 1]. Chapter 7."""
    from aeutils.data import check_images

    images = check_images(images, "images")
    return np.asarray(extractor.predict(images, batch_size=batch_size, verbose=0), dtype=np.float64)


# ------------------------------------------------------------ Fréchet distance


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance matrix (rows are samples). Chapter 7."""
    features = _check_features(features, "features")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance_from_stats(
    mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """Fréchet (2-Wasserstein) distance squared between two Gaussians.

    ``||m_a - m_b||^2 + tr(C_a + C_b - 2 (C_a C_b)^{1/2})``. The trace of the matrix
    square root is computed from the symmetric matrix ``C_a^{1/2} C_b C_a^{1/2}``,
    which has the same eigenvalues as ``C_a C_b`` but is symmetric positive
    semi-definite, so ``eigh`` gives real, non-negative eigenvalues (no complex
    round-off as with ``scipy.linalg.sqrtm``). Chapter 7.
    """
    mean_a = np.atleast_1d(np.asarray(mean_a, dtype=np.float64))
    mean_b = np.atleast_1d(np.asarray(mean_b, dtype=np.float64))
    cov_a = np.atleast_2d(np.asarray(cov_a, dtype=np.float64))
    cov_b = np.atleast_2d(np.asarray(cov_b, dtype=np.float64))
    dim = mean_a.shape[0]
    if mean_a.shape != (dim,) or mean_b.shape != (dim,):
        raise ValueError(f"means must be vectors of the same length, got {mean_a.shape} and {mean_b.shape}")
    if cov_a.shape != (dim, dim) or cov_b.shape != (dim, dim):
        raise ValueError(
            f"covariances must be ({dim}, {dim}) matrices to match the means, got {cov_a.shape} and {cov_b.shape}"
        )
    for name, value in (("mean_a", mean_a), ("mean_b", mean_b), ("cov_a", cov_a), ("cov_b", cov_b)):
        if not np.isfinite(value).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    sqrt_a = _psd_sqrt(cov_a)
    middle = sqrt_a @ cov_b @ sqrt_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    distance = float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)
    return max(distance, 0.0)


def frechet_distance(features_a: Any, features_b: Any) -> float:
    """Fréchet distance between Gaussians fitted to two feature clouds (the "FID" recipe).

    Args:
        features_a, features_b: arrays (n_a, d) and (n_b, d), for example from
            :func:`extract_features`. Use the same number of samples when comparing
            models: the estimate is biased upwards for small n.

    Returns:
        The squared Fréchet distance (0 for identical clouds). Chapter 7.
    """
    features_a = _check_features(features_a, "features_a")
    features_b = _check_features(features_b, "features_b")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            f"the two feature sets have different dimensions ({features_a.shape[1]} vs {features_b.shape[1]})"
        )
    return frechet_distance_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b))


# ------------------------------------------------------------ precision and recall


def _kth_neighbour_radii(points: np.ndarray, k: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    # k + 1 neighbours: the nearest one of each point is itself.
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    return distances[:, k]


def _inside_manifold(
    queries: np.ndarray, support: np.ndarray, radii: np.ndarray, chunk: int = 1024
) -> np.ndarray:
    from sklearn.metrics import pairwise_distances

    inside = np.zeros(len(queries), dtype=bool)
    for start in range(0, len(queries), chunk):
        distances = pairwise_distances(queries[start : start + chunk], support)
        inside[start : start + chunk] = (distances <= radii[None, :]).any(axis=1)
    return inside


def precision_recall(real_features: Any, fake_features: Any, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of Kynkäänniemi et al. (2019).

    Each set's manifold is the union of balls around its points, each ball reaching
    the point's k-th nearest neighbour in the same set. Precision is the share of
    generated points inside the real manifold; recall the share of real points
    inside the generated manifold.

    Args:
        real_features, fake_features: (n, d) feature arrays, ideally of equal size.
        k: neighbourhood size (the paper uses 3).

    Returns:
        ``(precision, recall)``, both in [0, 1]. Chapter 7.
    """
    real = _check_features(real_features, "real_features")
    fake = _check_features(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"the two feature sets have different dimensions ({real.shape[1]} vs {fake.shape[1]})"
        )
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if k >= min(len(real), len(fake)):
        raise ValueError(
            f"k={k} needs more than k points in each set, got {len(real)} real and {len(fake)} fake"
        )
    precision = _inside_manifold(fake, real, _kth_neighbour_radii(real, k)).mean()
    recall = _inside_manifold(real, fake, _kth_neighbour_radii(fake, k)).mean()
    return float(precision), float(recall)
