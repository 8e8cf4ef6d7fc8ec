"""aeutils.losses: closed-form Gaussian KL, stable Bernoulli and Gaussian NLL (chapter 5)."""

import math

import numpy as np
import pytest

import aeutils  # noqa: F401  (quiet TensorFlow first)
from aeutils import losses


def test_gaussian_kl_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = np.zeros((3, 4), np.float32)
    np.testing.assert_allclose(np.asarray(losses.gaussian_kl(zeros, zeros)), 0.0, atol=1e-7)
    rng = np.random.default_rng(0)
    kl = np.asarray(losses.gaussian_kl(rng.normal(size=(5, 4)), rng.normal(size=(5, 4))))
    assert kl.shape == (5,) and (kl > 0).all()


def test_gaussian_kl_matches_a_hand_computation():
    # one dimension: mu = 1, sigma^2 = e -> 0.5 * (1 + e - 1 - 1)
    kl = float(losses.gaussian_kl([[1.0]], [[1.0]])[0])
    assert kl == pytest.approx(0.5 * (1.0 + math.e - 1.0 - 1.0), rel=1e-6)


def test_gaussian_kl_matches_a_monte_carlo_estimate():
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(2, 3))
    log_var = rng.normal(scale=0.5, size=(2, 3))
    z = mean + np.exp(0.5 * log_var) * rng.normal(size=(200_000, 2, 3))
    log_q = -0.5 * (np.log(2 * np.pi) + log_var + (z - mean) ** 2 / np.exp(log_var)).sum(-1)
    log_p = -0.5 * (np.log(2 * np.pi) + z**2).sum(-1)
    monte_carlo = (log_q - log_p).mean(0)
    closed = np.asarray(losses.gaussian_kl(mean, log_var))
    np.testing.assert_allclose(closed, monte_carlo, atol=0.02)


def test_bernoulli_nll_matches_a_hand_computation():
    x = np.array([[1.0, 0.0, 0.3]], np.float32)
    logits = np.array([[2.0, -1.0, 0.5]], np.float32)
    p = 1.0 / (1.0 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum()
    assert float(losses.bernoulli_nll(x, logits)[0]) == pytest.approx(expected, rel=1e-5)


def test_bernoulli_nll_is_stable_for_huge_logits():
    x = np.array([[1.0, 0.0]], np.float32)
    logits = np.array([[-200.0, 200.0]], np.float32)  # confidently wrong: sigmoid rounds to 0 / 1
    nll = float(losses.bernoulli_nll(x, logits)[0])
    assert math.isfinite(nll) and nll == pytest.approx(400.0, rel=1e-6)


def test_bernoulli_nll_sums_over_pixels_per_image():
    x = np.ones((4, 28, 28, 1), np.float32)
    nll = np.asarray(losses.bernoulli_nll(x, np.zeros_like(x)))
    assert nll.shape == (4,)
    np.testing.assert_allclose(nll, 784 * math.log(2.0), rtol=1e-5)


def test_gaussian_nll_with_unit_variance_is_half_squared_error_plus_constant():
    rng = np.random.default_rng(2)
    x, mean = rng.random((3, 10)), rng.random((3, 10))
    expected = 0.5 * ((x - mean) ** 2).sum(1) + 5 * math.log(2 * math.pi)
    np.testing.assert_allclose(np.asarray(losses.gaussian_nll(x, mean)), expected, rtol=1e-5)
    per_pixel = np.asarray(losses.gaussian_nll(x, mean, np.zeros_like(x)))
    np.testing.assert_allclose(per_pixel, expected, rtol=1e-5)


def test_log_normal_pdf_keeps_leading_sample_axes():
    z = np.zeros((7, 3, 2))
    out = np.asarray(losses.log_normal_pdf(z, 0.0, 0.0))
    assert out.shape == (7, 3)
    np.testing.assert_allclose(out, -math.log(2 * math.pi), rtol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: losses.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 4))), "same shape"),
        (lambda: losses.gaussian_kl(np.zeros(3), np.zeros(3)), "batch"),
        (lambda: losses.bernoulli_nll(np.zeros((2, 5)), np.zeros((2, 4))), "same shape"),
        (lambda: losses.bernoulli_nll(np.array(["a", "b"]), np.zeros(2)), "numbers"),
        (lambda: losses.gaussian_nll(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4))), "same shape"),
        (lambda: losses.log_normal_pdf(np.zeros((2, 3)), np.zeros((2, 4)), 0.0), "broadcast"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
