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
  recall the share of real samples inside the generated manifold (coverage);
- :func:`class_coverage` counts the classes the classifier sees in a set of samples
  (every class present? one class too common?) and its mean confidence (chapter 6);
- :func:`blur` and :func:`smudge` make degraded copies of real images, to check that
  a metric scores them worse than real images before it is trusted (chapter 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # keras is imported inside the functions, after aeutils.config
    import keras

from aeutils import checks

#: Name of the classifier layer whose activations are the features.
FEATURE_LAYER = "features"


# ------------------------------------------------------------ the classifier


def build_feature_classifier(
    feature_dim: int = 64, *, learning_rate: float = 3e-3, decay_steps: int | None = None
) -> keras.Model:
    """A small compiled CNN for 28x28x1 images and 10 classes, with a ``features`` layer.

    Three conv blocks (32, 64 and 128 channels at 28, 14 and 7 pixels; batch
    normalisation in the last two, max-pooling after each), then a dense layer of
    ``feature_dim`` units (named ``"features"``, the space in which samples are
    compared) and a softmax. Adam, with the learning rate decayed to 0 along a cosine
    over ``decay_steps`` steps when given. Trained with :func:`aeutils.train.fit` on
    labels. Chapter 7.
    """
    import keras
    from keras import layers

    if not isinstance(feature_dim, int) or isinstance(feature_dim, bool) or feature_dim < 2:
        raise ValueError(f"feature_dim must be an int >= 2, got {feature_dim!r}")
    learning_rate = checks.finite_number(learning_rate, "learning_rate", minimum=0.0)
    if learning_rate == 0:
        raise ValueError("learning_rate must be positive, got 0")
    schedule: Any = learning_rate
    if decay_steps is not None:
        decay_steps = checks.positive_int(decay_steps, "decay_steps")
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps)

    def conv_block(channels: int, batch_norm: bool) -> list[Any]:
        if not batch_norm:
            return [layers.Conv2D(channels, 3, padding="same", activation="relu"), layers.MaxPooling2D()]
        return [
            layers.Conv2D(channels, 3, padding="same", use_bias=False),
            # A short memory for the moving statistics: right after a few hundred steps too.
            layers.BatchNormalization(momentum=0.9),
            layers.ReLU(),
            layers.MaxPooling2D(),
        ]

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            *conv_block(32, batch_norm=False),
            *conv_block(64, batch_norm=True),
            *conv_block(128, batch_norm=True),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER),
            layers.Dense(10, activation="softmax"),
        ],
        name="feature_classifier",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_feature_classifier(
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int = 7,
    feature_dim: int = 64,
    batch_size: int = 128,
    seed: int = 0,
) -> tuple[Any, Any]:
    """Build and train the feature classifier with :func:`aeutils.train.fit`.

    The learning rate follows a cosine from 3e-3 to 0 over the ``epochs``; with the
    defaults and the 55,000 Fashion-MNIST training images the test accuracy is above
    0.92. Returns ``(classifier, train_result)``. Chapters 6 and 7.
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
    epochs = checks.positive_int(epochs, "epochs")
    batch_size = checks.positive_int(batch_size, "batch_size")
    steps = epochs * -(-len(x_train) // batch_size)
    classifier = build_feature_classifier(feature_dim, decay_steps=steps)
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


def feature_extractor(classifier: keras.Model) -> keras.Model:
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


def classify(classifier: Any, images: Any, *, batch_size: int = 500) -> np.ndarray:
    """Class probabilities (float64, shape (n, n_classes)) of images in [0, 1]. Chapters 6 and 7."""
    from aeutils.data import check_images

    images = check_images(images, "images")
    batch_size = checks.positive_int(batch_size, "batch_size")
    return np.asarray(classifier.predict(images, batch_size=batch_size, verbose=0), dtype=np.float64)


@dataclass(frozen=True)
class ClassCoverage:
    """Which classes a classifier sees in a set of images, and how sure it is.

    ``shares[c]`` is the fraction of images whose most probable class is ``c``;
    ``mean_confidence`` the mean over images of the largest class probability.
    """

    shares: np.ndarray
    mean_confidence: float

    @property
    def classes_present(self) -> int:
        """Number of classes assigned to at least one image."""
        return int(np.count_nonzero(self.shares))

    @property
    def max_share(self) -> float:
        """The share of the most common class (1 / n_classes when perfectly even)."""
        return float(self.shares.max())

    @property
    def min_share(self) -> float:
        """The share of the rarest class (0 when a class is missing)."""
        return float(self.shares.min())


def class_coverage(probabilities: Any) -> ClassCoverage:
    """Class shares and mean confidence of a classifier's probabilities for a set of samples.

    A generator that covers the data makes every class, none much more often than
    the data does (Fashion-MNIST: 10 % each); a mode-collapsed one makes a few. The
    mean confidence says how recognisable the samples are to the classifier (compare
    it with the same number for real test images). Chapter 6.

    Args:
        probabilities: (n, n_classes) rows of class probabilities, for example
            from :func:`classify`.

    Returns:
        A :class:`ClassCoverage`.
    """
    probabilities = checks.features(probabilities, "probabilities", min_rows=1)
    if probabilities.shape[1] < 2:
        raise ValueError(f"probabilities need one column per class (at least 2), got {probabilities.shape}")
    if probabilities.min() < 0 or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            "probabilities must be non-negative rows that sum to 1 (a softmax output), not logits or features"
        )
    labels = probabilities.argmax(axis=1)
    shares = np.bincount(labels, minlength=probabilities.shape[1]) / len(labels)
    return ClassCoverage(shares=shares, mean_confidence=float(probabilities.max(axis=1).mean()))


# ------------------------------------------------------------ degraded real images


def blur(images: Any, sigma: float) -> np.ndarray:
    """Images in [0, 1] blurred by a Gaussian of standard deviation ``sigma`` pixels.

    Each image is filtered over its height and width (``scipy.ndimage.gaussian_filter``,
    edges reflected), never across the batch or channels. A sample-quality metric
    should score blurred real images worse than real ones. Chapter 7.
    """
    from scipy import ndimage

    from aeutils.data import check_images

    images = check_images(images, "images")
    sigma = checks.finite_number(sigma, "sigma", minimum=0.0)
    blurred = ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="reflect")
    return np.clip(blurred, 0.0, 1.0).astype(np.float32)


def smudge(images: Any, n_mix: int = 4, *, seed: int = 0) -> np.ndarray:
    """Grey smudges: each output image is the pixel mean of ``n_mix`` random input images.

    The mean of several garments is what a decoder makes of a code that lies between
    them (chapter 7's autoencoder with random codes); it is a fair image of no class.
    Returns as many images as ``images`` holds. Chapter 7.
    """
    from aeutils.data import check_images

    images = check_images(images, "images")
    n_mix = checks.positive_int(n_mix, "n_mix")
    if n_mix > len(images):
        raise ValueError(f"n_mix={n_mix} needs at least that many images, got {len(images)}")
    picks = np.random.default_rng(seed).integers(0, len(images), size=(len(images), n_mix))
    return images[picks].mean(axis=1).astype(np.float32)


# ------------------------------------------------------------ Fréchet distance


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance matrix (rows are samples). Chapter 7."""
    features = checks.features(features, "features")
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
    features_a = checks.features(features_a, "features_a")
    features_b = checks.features(features_b, "features_b")
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
    real = checks.features(real_features, "real_features")
    fake = checks.features(fake_features, "fake_features")
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
