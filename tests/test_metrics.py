"""Tests of aeutils.metrics (chapter 7): Fréchet distance, precision/recall, classifier."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from aeutils import metrics


def _gaussian_cloud(n: int, dim: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    return rng.standard_normal((n, dim)) @ mixing + shift


def test_identical_clouds_have_zero_distance():
    cloud = _gaussian_cloud(500, 8, seed=0)
    assert metrics.frechet_distance(cloud, cloud) == pytest.approx(0.0, abs=1e-8)


def test_same_gaussian_samples_are_close_and_shift_adds_squared_norm():
    a = _gaussian_cloud(20000, 4, seed=1)
    b = np.random.default_rng(2).standard_normal((20000, 4)) @ (
        np.random.default_rng(1).standard_normal((4, 4)) / 2.0
    )
    assert metrics.frechet_distance(a, b) < 0.02
    shifted = a + np.array([3.0, 0.0, 0.0, 4.0])
    assert metrics.frechet_distance(a, shifted) == pytest.approx(25.0, rel=1e-9)


def test_closed_form_one_dimensional_case():
    # For 1-D Gaussians the distance is (m1 - m2)^2 + (s1 - s2)^2.
    d = metrics.frechet_distance_from_stats(
        np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[9.0]])
    )
    assert d == pytest.approx(9.0 + 1.0)


def test_matches_scipy_sqrtm_formula():
    a, b = _gaussian_cloud(300, 6, seed=3), _gaussian_cloud(300, 6, seed=4, shift=0.5)
    (ma, ca), (mb, cb) = metrics.gaussian_stats(a), metrics.gaussian_stats(b)
    covmean = linalg.sqrtm(ca @ cb).real
    expected = np.sum((ma - mb) ** 2) + np.trace(ca + cb - 2 * covmean)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_singular_covariance_is_fine():
    a = np.zeros((50, 3))
    a[:, 0] = np.linspace(0, 1, 50)
    b = a.copy()
    b[:, 1] = 1.0
    assert metrics.frechet_distance(a, b) == pytest.approx(1.0, abs=1e-9)


def test_precision_recall_on_toy_clouds():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((1000, 2))
    same = rng.standard_normal((1000, 2))
    precision, recall = metrics.precision_recall(real, same, k=3)
    assert precision > 0.9 and recall > 0.9
    # Mode collapse: all samples in a small part of the real cloud -> high precision, low recall.
    collapsed = 0.1 * rng.standard_normal((1000, 2)) + np.array([1.0, 0.0])
    precision, recall = metrics.precision_recall(real, collapsed, k=3)
    assert precision > 0.9 and recall < 0.2
    # Samples far away: neither.
    far = rng.standard_normal((1000, 2)) + 20.0
    assert metrics.precision_recall(real, far, k=3) == (0.0, 0.0)


def test_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="2-D"):
        metrics.frechet_distance(np.zeros(10), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="different dimensions"):
        metrics.frechet_distance(np.zeros((10, 3)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance(np.full((10, 2), np.nan), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance(np.zeros((1, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="covariances"):
        metrics.frechet_distance_from_stats(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="k="):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)
    with pytest.raises(ValueError, match="positive int"):
        metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 2)), k=0)
    with pytest.raises(ValueError, match="feature_dim"):
        metrics.build_feature_classifier(1)
    with pytest.raises(ValueError, match="labels"):
        metrics.train_feature_classifier(np.zeros((4, 28, 28, 1), "float32"), np.array([0, 1, 2, 11]))


def test_feature_extractor_shapes():
    classifier = metrics.build_feature_classifier(16)
    extractor = metrics.feature_extractor(classifier)
    features = metrics.extract_features(extractor, np.zeros((5, 28, 28, 1), "float32"))
    assert features.shape == (5, 16) and features.dtype == np.float64
    with pytest.raises(ValueError, match="no layer"):
        import keras

        metrics.feature_extractor(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()]))


# ------------------------------------------------------------ class coverage


def test_class_coverage_matches_a_hand_count():
    probabilities = np.array(
        [
            [0.7, 0.2, 0.1],
            [0.1, 0.8, 0.1],
            [0.6, 0.3, 0.1],
            [0.2, 0.2, 0.6],
        ]
    )
    coverage = metrics.class_coverage(probabilities)
    np.testing.assert_allclose(coverage.shares, [0.5, 0.25, 0.25])
    assert coverage.mean_confidence == pytest.approx((0.7 + 0.8 + 0.6 + 0.6) / 4)
    assert coverage.classes_present == 3
    assert coverage.max_share == pytest.approx(0.5) and coverage.min_share == pytest.approx(0.25)


def test_class_coverage_sees_a_missing_class_and_refuses_logits():
    one_class = np.tile([0.1, 0.9, 0.0], (5, 1))
    coverage = metrics.class_coverage(one_class)
    assert coverage.classes_present == 1 and coverage.min_share == 0.0 and coverage.max_share == 1.0
    with pytest.raises(ValueError, match="sum to 1"):
        metrics.class_coverage(np.array([[2.0, -1.0, 0.5]]))
    with pytest.raises(ValueError, match="2-D"):
        metrics.class_coverage(np.array([0.5, 0.5]))


def test_classify_returns_the_classifier_probabilities():
    import keras

    classifier = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    images = np.random.default_rng(0).uniform(size=(7, 28, 28, 1)).astype("float32")
    probabilities = metrics.classify(classifier, images)
    assert probabilities.shape == (7, 10) and probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probabilities, np.asarray(classifier(images)), atol=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.classify(classifier, images * 255)


def test_classifier_learning_rate_decays_along_a_cosine():
    classifier = metrics.build_feature_classifier(16, learning_rate=2e-3, decay_steps=100)
    schedule = classifier.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "CosineDecay"
    assert schedule["config"]["initial_learning_rate"] == pytest.approx(2e-3)
    assert schedule["config"]["decay_steps"] == 100 and schedule["config"]["alpha"] == 0.0
    steady = metrics.build_feature_classifier(16, learning_rate=2e-3)
    assert float(steady.optimizer.learning_rate) == pytest.approx(2e-3)
    with pytest.raises(ValueError, match="decay_steps"):
        metrics.build_feature_classifier(16, decay_steps=0)


# ------------------------------------------------------------ degraded images


def test_blur_is_a_normalised_gaussian_filter():
    images = np.zeros((2, 28, 28, 1), "float32")
    images[0, 14, 14, 0] = 1.0
    images[1] = 0.25
    blurred = metrics.blur(images, sigma=1.0)
    # scipy truncates the kernel at 4 sigma and normalises it; a point becomes the kernel's outer product.
    taps = np.exp(-0.5 * np.arange(-4, 5) ** 2)
    taps /= taps.sum()
    np.testing.assert_allclose(blurred[0, 10:19, 10:19, 0], np.outer(taps, taps), atol=1e-6)
    assert blurred[0].sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(blurred[1], 0.25, atol=1e-6)  # a constant image stays constant
    np.testing.assert_array_equal(metrics.blur(images, 0.0), images)


def test_smudge_averages_random_images():
    images = np.arange(6, dtype="float32")[:, None, None, None] * np.ones((6, 28, 28, 1), "float32") / 10
    smudged = metrics.smudge(images, n_mix=3, seed=4)
    picks = np.random.default_rng(4).integers(0, 6, size=(6, 3))
    np.testing.assert_allclose(smudged[:, 0, 0, 0], picks.mean(axis=1) / 10, atol=1e-6)
    assert smudged.shape == images.shape
    with pytest.raises(ValueError, match="n_mix"):
        metrics.smudge(images, n_mix=7)


def _rectangles(n: int, seed: int) -> np.ndarray:
    """Synthetic binary images: one filled rectangle each, of random size and place."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28, 1), "float32")
    for image in images:
        top, left = rng.integers(2, 14, size=2)
        height, width = rng.integers(6, 13, size=2)
        image[top : top + height, left : left + width] = 1.0
    return images


def _pooled_pixels(images: np.ndarray) -> np.ndarray:
    """A fixed feature map for the test: 2x2 average-pooled pixels (196 numbers)."""
    return images.reshape(len(images), 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(images), -1)


def test_blurred_and_smudged_images_score_worse_than_real_ones():
    reference, held_out = _rectangles(1500, seed=0), _rectangles(1500, seed=1)
    features_reference = _pooled_pixels(reference)
    scores = {}
    for name, images in (
        ("real", held_out),
        ("blurred", metrics.blur(held_out, sigma=1.5)),
        ("smudged", metrics.smudge(held_out, n_mix=4)),
    ):
        features = _pooled_pixels(images)
        precision, recall = metrics.precision_recall(features_reference, features)
        scores[name] = (metrics.frechet_distance(features_reference, features), precision, recall)
    for degraded in ("blurred", "smudged"):
        assert scores[degraded][0] > 5 * scores["real"][0], scores  # Fréchet distance: higher is worse
        # Precision or recall (lower is worse) falls far: blurred rectangles stay near real ones in
        # these features (precision holds) but crowd together (recall falls); smudges lose both.
        assert min(scores[degraded][1:]) < min(scores["real"][1:]) - 0.5, scores
    assert scores["smudged"][1] < scores["real"][1] - 0.5, scores
