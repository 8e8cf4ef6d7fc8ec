"""Figures in one consistent style: image grids, reconstructions, training curves.

Introduced in chapter 1. Every function returns the matplotlib ``Figure`` and
gives it a title, labelled axes and (where there is more than one line) a legend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "figure.titlesize": "large",
    "legend.frameon": False,
    "image.cmap": "gray",
}


def set_style() -> None:
    """Apply the book's matplotlib style (called by :func:`aeutils.notebook.setup_notebook`)."""
    plt.style.use(STYLE)


def _as_images(images: object, what: str) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2 and int(np.sqrt(array.shape[1])) ** 2 == array.shape[1]:
        side = int(np.sqrt(array.shape[1]))
        array = array.reshape(-1, side, side)
    if array.ndim != 3:
        raise ValueError(
            f"{what} must be a batch of grey images (N, H, W), (N, H, W, 1) or "
            f"(N, H*W) with square images; got shape {np.asarray(images).shape}"
        )
    return array


def image_grid(
    images: object, *, ncols: int = 10, title: str, labels: Sequence[str] | None = None, size: float = 1.1
) -> plt.Figure:
    """Show a batch of grey images in a grid, with optional per-image labels."""
    array = _as_images(images, "images")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    if labels is not None and len(labels) != len(array):
        raise ValueError(f"got {len(labels)} labels for {len(array)} images")
    nrows = int(np.ceil(len(array) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.5), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(array):
            ax.imshow(array[index], vmin=0.0, vmax=1.0)
            if labels is not None:
                ax.set_title(labels[index], fontsize="x-small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare_rows(rows: Mapping[str, object], *, title: str, n: int = 10, size: float = 1.1) -> plt.Figure:
    """Rows of images, one row per entry of ``rows`` (for example original / reconstruction).

    The row names are written at the left of each row.
    """
    if not rows:
        raise ValueError("rows must name at least one batch of images")
    arrays = {label: _as_images(images, f"row {label!r}")[:n] for label, images in rows.items()}
    count = min(len(a) for a in arrays.values())
    fig, axes = plt.subplots(
        len(arrays), count, figsize=(size * count + 1.0, size * len(arrays) + 0.5), squeeze=False
    )
    for row, (label, array) in enumerate(arrays.items()):
        for col in range(count):
            ax = axes[row, col]
            ax.imshow(array[col], vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def training_curves(
    history: Mapping[str, Sequence[float]],
    *,
    title: str,
    metrics: Sequence[str] | None = None,
    ylabel: str = "loss",
    log_scale: bool = False,
) -> plt.Figure:
    """Plot metrics per epoch (``loss`` and ``val_loss`` by default, when present)."""
    if hasattr(history, "history") and not isinstance(history, Mapping):
        history = history.history  # a TrainResult or a keras History
    if metrics is None:
        metrics = [m for m in ("loss", "val_loss") if m in history] or list(history)
    missing = [m for m in metrics if m not in history]
    if missing:
        raise KeyError(f"history has no {missing}; it has {sorted(history)}")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for metric in metrics:
        values = list(history[metric])
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=metric.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
