"""Exploring a latent space: sliders for a live notebook, a traversal figure for the page.

Introduced in chapter 5. A decoder turns a code ``z`` into an image; moving one
coordinate of ``z`` while keeping the others fixed shows what that coordinate
controls. :func:`latent_explorer` does it interactively with one ipywidgets slider per
coordinate (it needs a running kernel, so it does nothing in the rendered HTML book);
:func:`latent_traversal` and :func:`traversal_figure` make the same pictures as a static
figure::

    from aeutils import explore
    explore.latent_explorer(model.decode, {"a test image": code})      # in Jupyter
    images = explore.latent_traversal(model.decode, code, dims=[0, 3], values=np.linspace(-3, 3, 9))
    explore.traversal_figure(images, dims=[0, 3], values=np.linspace(-3, 3, 9), title="...")

``decode`` is any function from a batch of codes, shape ``(n, latent_dim)``, to a batch
of grey images with pixel values in [0, 1], shape ``(n, H, W)`` or ``(n, H, W, 1)``:
``VAE.decode`` of :mod:`aeutils.vae`, or ``lambda z: autoencoder.decoder.predict(z, verbose=0)``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

Decode = Callable[[np.ndarray], Any]


def _check_code(code: Any, what: str) -> np.ndarray:
    array = np.asarray(code, dtype=np.float32)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{what} must be one latent code, a 1-D array of shape (latent_dim,), got shape {array.shape}; "
            "for one row of a batch of codes use codes[i]"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return array


def _decode_images(decode: Decode, codes: np.ndarray) -> np.ndarray:
    """Call ``decode`` on a batch of codes and check that it returns grey images in [0, 1]."""
    if not callable(decode):
        raise TypeError(
            f"decode must be a function from codes (n, latent_dim) to images, got {type(decode).__name__}; "
            "pass for example vae_model.decode"
        )
    images = np.asarray(decode(codes), dtype=np.float32)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) != len(codes):
        raise ValueError(
            f"decode must return one grey image per code, shape ({len(codes)}, H, W) or ({len(codes)}, H, W, 1); "
            f"got shape {images.shape}"
        )
    if not np.isfinite(images).all() or images.min() < -1e-6 or images.max() > 1 + 1e-6:
        raise ValueError(
            "decode must return pixel values in [0, 1]; if it returns logits, wrap it: "
            "lambda z: 1 / (1 + np.exp(-logits_decoder(z)))"
        )
    return np.clip(images, 0.0, 1.0)


def latent_traversal(
    decode: Decode, base_code: Any, dims: Sequence[int], values: Sequence[float]
) -> np.ndarray:
    """Decode ``base_code`` with one coordinate at a time replaced by each of ``values``.

    Args:
        decode: codes ``(n, latent_dim)`` -> images in [0, 1].
        base_code: the starting code, shape ``(latent_dim,)``; coordinates not being moved keep its values.
        dims: the coordinates to move, each in ``0 .. latent_dim - 1``.
        values: the values each moved coordinate takes.

    Returns:
        Images of shape ``(len(dims), len(values), H, W)``: row ``i`` moves coordinate ``dims[i]``.
    """
    base = _check_code(base_code, "base_code")
    dims = [int(d) for d in dims]
    if not dims or any(d < 0 or d >= base.size for d in dims):
        raise ValueError(f"dims must be coordinates between 0 and {base.size - 1}, got {dims}")
    steps = np.asarray(values, dtype=np.float32)
    if steps.ndim != 1 or steps.size == 0 or not np.isfinite(steps).all():
        raise ValueError(f"values must be a non-empty 1-D sequence of finite numbers, got {values!r}")
    codes = np.repeat(base[None, None, :], len(dims), axis=0).repeat(len(steps), axis=1)
    for row, dim in enumerate(dims):
        codes[row, :, dim] = steps
    images = _decode_images(decode, codes.reshape(-1, base.size))
    return images.reshape(len(dims), len(steps), *images.shape[1:])


def traversal_figure(
    images: Any, *, dims: Sequence[int], values: Sequence[float], title: str, size: float = 0.9
) -> plt.Figure:
    """Show the output of :func:`latent_traversal`: one row per coordinate, one column per value."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[:2] != (len(dims), len(values)):
        raise ValueError(
            f"images must have shape (len(dims), len(values), H, W) = ({len(dims)}, {len(values)}, H, W), "
            f"got {images.shape}; make them with latent_traversal"
        )
    rows, cols = images.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + 1.2, size * rows + 0.9), squeeze=False)
    for row in range(rows):
        for col in range(cols):
            ax = axes[row, col]
            ax.imshow(images[row, col], vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
            if row == rows - 1:
                ax.set_xlabel(f"{values[col]:+.1f}", fontsize="small")
        axes[row, 0].set_ylabel(f"$z_{{{dims[row]}}}$", rotation=0, ha="right", va="center")
    fig.supxlabel("value of the moved coordinate (the others stay fixed)", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _png(image: np.ndarray, zoom: int) -> bytes:
    from PIL import Image

    pixels = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    picture = Image.fromarray(pixels, mode="L")
    picture = picture.resize((pixels.shape[1] * zoom, pixels.shape[0] * zoom), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def latent_explorer(
    decode: Decode,
    start_codes: Mapping[str, Any],
    *,
    dims: Sequence[int] | None = None,
    value_range: tuple[float, float] = (-3.0, 3.0),
    step: float = 0.05,
    zoom: int = 8,
) -> Any:
    """Sliders over a latent space, with the decoded image updated as they move (ipywidgets).

    Display the returned widget in Jupyter (it is the last expression of a cell). Choose a
    starting code from the drop-down (for example the posterior means of a few test images),
    then move the sliders; the button puts them back at the starting code.

    Args:
        decode: codes ``(n, latent_dim)`` -> grey images in [0, 1].
        start_codes: name -> code of shape ``(latent_dim,)``; at least one.
        dims: the coordinates that get a slider (default: all); the others keep the starting values.
        value_range: (low, high) of every slider; starting values outside it are clipped.
        step: slider resolution.
        zoom: each pixel is shown as a ``zoom`` x ``zoom`` square.

    Returns:
        An ``ipywidgets.VBox``; its ``.sliders`` (dict coordinate -> slider), ``.image``,
        ``.start`` (the drop-down) and ``.code()`` (the current code) are there for scripting and tests.

    Raises:
        ImportError: when ipywidgets is not installed (``pip install ipywidgets``).
        ValueError: for codes of different sizes, coordinates out of range, or a bad range or step.
    """
    try:
        import ipywidgets as widgets
    except ImportError as error:  # pragma: no cover - ipywidgets is in requirements.txt
        raise ImportError("latent_explorer needs ipywidgets: pip install ipywidgets") from error

    if not isinstance(start_codes, Mapping) or not start_codes:
        raise ValueError("start_codes must be a non-empty dict of name -> latent code")
    starts = {str(name): _check_code(code, f"start_codes[{name!r}]") for name, code in start_codes.items()}
    sizes = {code.size for code in starts.values()}
    if len(sizes) != 1:
        raise ValueError(f"all start codes must have the same size, got sizes {sorted(sizes)}")
    latent_dim = sizes.pop()
    dims = list(range(latent_dim)) if dims is None else [int(d) for d in dims]
    if not dims or any(d < 0 or d >= latent_dim for d in dims) or len(set(dims)) != len(dims):
        raise ValueError(f"dims must be distinct coordinates between 0 and {latent_dim - 1}, got {dims}")
    low, high = (float(v) for v in value_range)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
    if not (0 < step < high - low):
        raise ValueError(f"step must be positive and smaller than the range, got {step!r}")
    if not isinstance(zoom, int) or zoom < 1:
        raise ValueError(f"zoom must be a positive int, got {zoom!r}")

    first = next(iter(starts))
    _decode_images(decode, starts[first][None])  # fail now, not inside a slider callback

    start = widgets.Dropdown(options=list(starts), value=first, description="start from")
    reset = widgets.Button(description="reset sliders")
    sliders = {
        d: widgets.FloatSlider(
            value=float(np.clip(starts[first][d], low, high)),
            min=low,
            max=high,
            step=step,
            description=f"z{d}",
            readout_format=".2f",
            layout=widgets.Layout(width="320px"),
        )
        for d in dims
    }
    image = widgets.Image(format="png")

    def code() -> np.ndarray:
        current = starts[start.value].copy()
        for d, slider in sliders.items():
            current[d] = slider.value
        return current

    def redraw(_: Any = None) -> None:
        image.value = _png(_decode_images(decode, code()[None])[0], zoom)

    def set_sliders(_: Any = None) -> None:
        for d, slider in sliders.items():  # move every slider first, then decode once
            slider.unobserve(redraw, names="value")
            slider.value = float(np.clip(starts[start.value][d], low, high))
            slider.observe(redraw, names="value")
        redraw()

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    start.observe(set_sliders, names="value")
    reset.on_click(set_sliders)
    redraw()

    columns = 2 if len(sliders) > 8 else 1
    slider_list = list(sliders.values())
    per_column = -(-len(slider_list) // columns)
    slider_box = widgets.HBox(
        [widgets.VBox(slider_list[i : i + per_column]) for i in range(0, len(slider_list), per_column)]
    )
    box = widgets.VBox([widgets.HBox([start, reset]), widgets.HBox([image, slider_box])])
    box.sliders, box.image, box.start, box.code = sliders, image, start, code
    return box
