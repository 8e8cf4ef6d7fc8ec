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
