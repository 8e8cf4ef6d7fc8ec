"""aeutils.plots: figures carry titles and labels; bad shapes are refused."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from aeutils import plots  # noqa: E402


def test_image_grid_layout_and_title():
    fig = plots.image_grid(
        np.zeros((12, 28, 28, 1)), ncols=5, title="grid", labels=[str(i) for i in range(12)]
    )
    assert fig._suptitle.get_text() == "grid"
    assert len(fig.axes) == 15
    assert fig.axes[11].get_title() == "11"


def test_image_grid_accepts_flat_square_images():
    fig = plots.image_grid(np.zeros((3, 784)), ncols=3, title="flat")
    assert fig.axes[0].images[0].get_array().shape == (28, 28)


def test_compare_rows_labels_each_row():
    fig = plots.compare_rows(
        {"original": np.zeros((4, 28, 28)), "rebuilt": np.ones((4, 28, 28, 1))}, title="t"
    )
    assert fig.axes[0].get_ylabel() == "original" and fig.axes[4].get_ylabel() == "rebuilt"


def test_training_curves_have_axes_labels_and_legend():
    fig = plots.training_curves({"loss": [3, 2, 1], "val_loss": [3, 2.5, 2]}, title="curves")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_title() == "curves"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "val loss"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: plots.image_grid(np.zeros((2, 28, 28, 3)), title="x"), "grey images"),
        (lambda: plots.image_grid(np.zeros((2, 28, 28)), ncols=0, title="x"), "ncols"),
        (lambda: plots.image_grid(np.zeros((2, 28, 28)), title="x", labels=["a"]), "1 labels for 2 images"),
        (lambda: plots.compare_rows({}, title="x"), "at least one"),
        (lambda: plots.training_curves({"loss": [1]}, title="x", metrics=["acc"]), "no \\['acc'\\]"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises((ValueError, KeyError), match=message):
        call()
