"""aeutils.explore: latent traversals and the slider explorer, with a decoder whose output is known."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from aeutils import explore

SIDE = 6


def linear_decode(codes):
    """Image = sigmoid of a fixed pattern scaled by each coordinate: pixel (i, j) depends on z[(i + j) % d]."""
    codes = np.asarray(codes, dtype=np.float32)
    index = (np.arange(SIDE)[:, None] + np.arange(SIDE)[None, :]) % codes.shape[1]
    return 1.0 / (1.0 + np.exp(-codes[:, index]))


def png_pixels(data: bytes, zoom: int) -> np.ndarray:
    picture = np.asarray(Image.open(io.BytesIO(data)), dtype=np.float64) / 255.0
    return picture[::zoom, ::zoom]


def test_traversal_moves_exactly_one_coordinate_per_row():
    base = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    values = [-2.0, 0.0, 3.0]
    images = explore.latent_traversal(linear_decode, base, dims=[2, 0], values=values)
    assert images.shape == (2, 3, SIDE, SIDE)
    for row, dim in enumerate([2, 0]):
        for col, value in enumerate(values):
            code = base.copy()
            code[dim] = value
            np.testing.assert_allclose(images[row, col], linear_decode(code[None])[0], rtol=1e-6)
    # pixels driven by an untouched coordinate do not change along a row
    untouched = (np.arange(SIDE)[:, None] + np.arange(SIDE)[None, :]) % 3 == 1
    assert np.ptp(images[0][:, untouched], axis=0).max() == 0.0


def test_traversal_accepts_a_channel_axis_and_rejects_bad_input():
    with_channel = explore.latent_traversal(
        lambda z: linear_decode(z)[..., None], np.zeros(2), dims=[0], values=[1]
    )
    assert with_channel.shape == (1, 1, SIDE, SIDE)
    with pytest.raises(ValueError, match="1-D array"):
        explore.latent_traversal(linear_decode, np.zeros((1, 3)), dims=[0], values=[0.0])
    with pytest.raises(ValueError, match="between 0 and 2"):
        explore.latent_traversal(linear_decode, np.zeros(3), dims=[3], values=[0.0])
    with pytest.raises(ValueError, match="finite"):
        explore.latent_traversal(linear_decode, np.zeros(3), dims=[0], values=[np.nan])
    with pytest.raises(ValueError, match=r"\[0, 1\].*logits"):
        explore.latent_traversal(
            lambda z: z[:, :1, None] * 10 * np.ones((1, 1, 4)), np.ones(3), dims=[0], values=[5]
        )
    with pytest.raises(ValueError, match="one grey image per code"):
        explore.latent_traversal(lambda z: np.zeros((1, 4, 4)), np.zeros(3), dims=[0, 1], values=[0.0])
    with pytest.raises(TypeError, match="decode must be a function"):
        explore.latent_traversal("decoder", np.zeros(3), dims=[0], values=[0.0])


def test_traversal_figure_labels_rows_and_columns():
    values = np.linspace(-1, 1, 3)
    images = explore.latent_traversal(linear_decode, np.zeros(4), dims=[1, 3], values=values)
    fig = explore.traversal_figure(images, dims=[1, 3], values=values, title="traversal")
    axes = np.array(fig.axes).reshape(2, 3)
    assert axes[0, 0].get_ylabel() == "$z_{1}$" and axes[1, 0].get_ylabel() == "$z_{3}$"
    assert [ax.get_xlabel() for ax in axes[1]] == ["-1.0", "+0.0", "+1.0"]
    assert fig._suptitle.get_text() == "traversal"
    plt.close(fig)
    with pytest.raises(ValueError, match="latent_traversal"):
        explore.traversal_figure(images[0], dims=[1, 3], values=values, title="t")


def test_explorer_redraws_when_a_slider_moves_and_resets_from_the_start_code():
    starts = {"first": np.array([0.0, 1.0, -1.0]), "second": np.array([2.0, -2.0, 0.5])}
    box = explore.latent_explorer(linear_decode, starts, zoom=3)
    assert sorted(box.sliders) == [0, 1, 2]
    np.testing.assert_allclose(box.code(), starts["first"])
    np.testing.assert_allclose(
        png_pixels(box.image.value, 3), linear_decode(starts["first"][None])[0], atol=1 / 255
    )

    box.sliders[1].value = -2.5
    expected = np.array([0.0, -2.5, -1.0], dtype=np.float32)
    np.testing.assert_allclose(box.code(), expected)
    np.testing.assert_allclose(png_pixels(box.image.value, 3), linear_decode(expected[None])[0], atol=1 / 255)

    box.start.value = "second"  # choosing a start code moves every slider to it
    np.testing.assert_allclose(box.code(), starts["second"])
    np.testing.assert_allclose(
        png_pixels(box.image.value, 3), linear_decode(starts["second"][None])[0], atol=1 / 255
    )


def test_explorer_with_some_sliders_keeps_the_other_coordinates_and_clips_to_the_range():
    box = explore.latent_explorer(
        linear_decode, {"x": np.array([5.0, 0.3, -0.7])}, dims=[0], value_range=(-3, 3)
    )
    assert list(box.sliders) == [0]
    np.testing.assert_allclose(box.code(), [3.0, 0.3, -0.7])  # 5 is clipped to the slider's maximum


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_codes": {}}, "non-empty dict"),
        ({"start_codes": {"a": np.zeros(2), "b": np.zeros(3)}}, "same size"),
        ({"dims": [0, 0]}, "distinct"),
        ({"dims": [5]}, "between 0 and 2"),
        ({"value_range": (1.0, -1.0)}, "low < high"),
        ({"step": 0.0}, "step must be positive"),
        ({"zoom": 0}, "zoom must be a positive int"),
    ],
)
def test_explorer_rejects_bad_arguments(kwargs, message):
    arguments = {"decode": linear_decode, "start_codes": {"a": np.zeros(3)}} | kwargs
    with pytest.raises(ValueError, match=message):
        explore.latent_explorer(**arguments)


def test_explorer_checks_the_decoder_before_any_slider_moves():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        explore.latent_explorer(lambda z: 3.0 + linear_decode(z), {"a": np.zeros(3)})
