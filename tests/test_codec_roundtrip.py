"""Round trip of the entropy coder that chapter 11 uses to write real bitstreams.

Chapter 11 codes each image's integer symbols with ``constriction``'s ANS coder under a zero-mean
quantised Laplace model (one scale per latent channel or PCA component) and keeps the shortest
byte string that still decodes. A test cannot import a notebook, so the two small coding functions
are written here the way the chapter writes them; the chapter's fast run checks the same round trip
on every test image of its own models.
"""

from __future__ import annotations

import numpy as np
import pytest

constriction = pytest.importorskip("constriction")
scipy_stats = pytest.importorskip("scipy.stats")

SUPPORT = 255  # symbols are clipped to [-SUPPORT, SUPPORT] before coding
LAPLACE = constriction.stream.model.QuantizedLaplace(-SUPPORT, SUPPORT)


def encode(symbols: np.ndarray, scales: np.ndarray) -> bytes:
    """Integer symbols -> the shortest byte string that decodes (little-endian 32-bit words, cut)."""
    symbols = np.clip(symbols, -SUPPORT, SUPPORT).astype(np.int32).ravel()
    scales = np.asarray(scales, dtype=np.float64).ravel()
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(symbols, LAPLACE, np.zeros_like(scales), scales)
    # The last word's high bytes are zero; the decoder restores them, so they need not be sent.
    return coder.get_compressed().astype("<u4").tobytes().rstrip(b"\x00")


def decode(blob: bytes, scales: np.ndarray) -> np.ndarray:
    """The inverse of :func:`encode`; the number of symbols is the number of scales."""
    scales = np.asarray(scales, dtype=np.float64).ravel()
    padded = blob + bytes(-len(blob) % 4)
    coder = constriction.stream.stack.AnsCoder(np.frombuffer(padded, dtype="<u4").astype(np.uint32))
    return coder.decode(LAPLACE, np.zeros_like(scales), scales)


def information_bits(symbols: np.ndarray, scales: np.ndarray) -> float:
    """-log2 of the model probability of the symbols: what an ideal coder would spend."""
    laplace = scipy_stats.laplace(scale=scales)
    probability = laplace.cdf(symbols + 0.5) - laplace.cdf(symbols - 0.5)
    return float(-np.log2(probability).sum())


def _laplace_symbols(rng: np.random.Generator, scales: np.ndarray) -> np.ndarray:
    return np.clip(np.round(rng.laplace(0.0, scales)), -SUPPORT, SUPPORT).astype(np.int32)


@pytest.mark.parametrize("n_symbols", [1, 49, 7 * 7 * 16, 784])
def test_decoded_symbols_equal_encoded_symbols(n_symbols):
    rng = np.random.default_rng(n_symbols)
    for _ in range(20):
        scales = rng.uniform(0.02, 20.0, size=n_symbols)
        symbols = _laplace_symbols(rng, scales)
        blob = encode(symbols, scales)
        assert isinstance(blob, bytes)
        np.testing.assert_array_equal(decode(blob, scales), symbols)


def test_the_byte_string_is_as_short_as_it_can_be():
    rng = np.random.default_rng(1)
    scales = rng.uniform(0.1, 5.0, size=300)
    symbols = _laplace_symbols(rng, scales)
    blob = encode(symbols, scales)
    assert blob[-1] != 0  # no zero byte left at the end
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(symbols, LAPLACE, np.zeros_like(scales), scales)
    assert coder.num_valid_bits() <= 8 * len(blob) < coder.num_bits()
    try:  # one byte fewer does not carry the message
        shorter = decode(blob[:-1], scales)
    except Exception:  # constriction may also refuse the stream outright
        shorter = None
    assert shorter is None or not np.array_equal(shorter, symbols)


def test_bits_are_close_to_the_information_content_of_each_message():
    rng = np.random.default_rng(2)
    for n_symbols in (49, 784):
        for _ in range(20):
            scales = rng.uniform(0.05, 8.0, size=n_symbols)
            symbols = _laplace_symbols(rng, scales)
            bits = 8 * len(encode(symbols, scales))
            ideal = information_bits(symbols, scales)
            # ANS adds a few dozen bits per message (its final state, byte rounding); nothing grows with n.
            assert ideal - 8 <= bits <= 1.01 * ideal + 48


def test_mean_rate_matches_the_entropy_of_the_model():
    rng = np.random.default_rng(3)
    scales = np.repeat([0.1, 0.5, 1.0, 3.0], 49)  # a 7x7 latent with four channels of different scale
    support = np.arange(-SUPPORT, SUPPORT + 1)
    laplace = scipy_stats.laplace(scale=scales[:, None])
    probability = laplace.cdf(support + 0.5) - laplace.cdf(support - 0.5)
    entropy = float(-(probability * np.log2(np.maximum(probability, 1e-300))).sum())
    rates = [8 * len(encode(_laplace_symbols(rng, scales), scales)) for _ in range(400)]
    per_message_overhead = np.mean(rates) - entropy
    assert 0 <= per_message_overhead < 40, (np.mean(rates), entropy)


def test_near_deterministic_channels_cost_almost_nothing():
    scales = np.full(7 * 7 * 32, 0.02)  # a channel the rate term has switched off
    symbols = np.zeros(len(scales), dtype=np.int32)
    blob = encode(symbols, scales)
    np.testing.assert_array_equal(decode(blob, scales), symbols)
    assert 8 * len(blob) <= 40


def test_rare_symbols_at_the_edge_of_the_support_still_round_trip():
    scales = np.full(10, 0.05)
    symbols = np.array([0, SUPPORT, -SUPPORT, 7, -1, 0, 0, 300, -300, 0])  # 300 is clipped to SUPPORT
    blob = encode(symbols, scales)
    np.testing.assert_array_equal(decode(blob, scales), np.clip(symbols, -SUPPORT, SUPPORT))
