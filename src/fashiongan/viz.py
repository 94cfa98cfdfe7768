"""Pictures people would rather look at than read: image grids, curves, confusion matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fashiongan.atomic import atomic_write


def grid_image(
    images: np.ndarray, nrow: int, scale: int = 2, pad: int = 2, row_labels: Sequence[str] | None = None,
    captions: Sequence[str] | None = None,
) -> Image.Image:
    """uint8 images (N, H, W) or (N, H, W, 3) tiled ``nrow`` per row, optionally with a label per row
    and a caption under each image."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=-1)
    n, h, w, _ = images.shape
    rows = -(-n // nrow)
    label_w = 0
    font = ImageFont.load_default()
    if row_labels:
        label_w = max(int(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(t, font=font)) for t in row_labels) + 8
    caption_h = 12 if captions else 0
    cell_h, cell_w = h * scale + pad + caption_h, w * scale + pad
    canvas = Image.new("RGB", (label_w + nrow * cell_w + pad, rows * cell_h + pad), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i, tile in enumerate(images):
        r, c = divmod(i, nrow)
        img = Image.fromarray(tile).resize((w * scale, h * scale), Image.NEAREST)
        canvas.paste(img, (label_w + pad + c * cell_w, pad + r * cell_h))
        if captions:
            draw.text((label_w + pad + c * cell_w, pad + r * cell_h + h * scale), captions[i], fill=(60, 60, 60), font=font)
    for r, text in enumerate(row_labels or []):
        draw.text((4, pad + r * cell_h + cell_h // 2 - 6), text, fill=(0, 0, 0), font=font)
    return canvas


def save_grid(images: np.ndarray, path: str | Path, nrow: int, **kwargs) -> Path:
    """Save a grid of uint8 images as PNG, or the format the suffix names (see ``grid_image``)."""
    image = grid_image(images, nrow, **kwargs)
    # The format is given explicitly: the temp file's name is not the one the user asked for.
    fmt = Image.registered_extensions().get(Path(path).suffix.lower(), "PNG")
    return atomic_write(path, lambda tmp: image.save(tmp, format=fmt))


def save_gif(frames: Sequence[Image.Image], path: str | Path, ms_per_frame: int = 300) -> Path:
    """An animated GIF of grids, e.g. the samples of each epoch."""
    first, *rest = frames
    return atomic_write(
        path,
        lambda tmp: first.save(
            tmp, format="GIF", save_all=True, append_images=rest, duration=ms_per_frame, loop=0
        ),
    )


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | Path,
    xlabel: str,
    ylabel: str,
    title: str = "",
) -> Path:
    """Line plot of named (x, y) series."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for name, (x, y) in curves.items():
        ax.plot(x, y, marker="o" if len(x) < 30 else None, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], path: str | Path, title: str = "",
                   xlabel: str = "predicted", ylabel: str = "true") -> Path:
    """A confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    return plot_confusions([(matrix, classes, title)], path, xlabel, ylabel)


def plot_confusions(panels: Sequence[tuple[np.ndarray, Sequence[str], str]], path: str | Path,
                    xlabel: str = "predicted", ylabel: str = "true") -> Path:
    """Confusion matrices side by side, one (matrix, names, title) per panel, counts in the cells."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 6), dpi=120, squeeze=False)
    for ax, (matrix, names, title) in zip(axes[0], panels):
        matrix = np.asarray(matrix)
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        threshold = matrix.max() / 2
        for (i, j), v in np.ndenumerate(matrix):
            ax.text(j, i, int(v), ha="center", va="center", fontsize=7, color="white" if v > threshold else "black")
    fig.tight_layout()
    return _save_figure(fig, path)


def _save_figure(fig, path: str | Path) -> Path:
    try:
        fmt = Path(path).suffix.lower().lstrip(".")
        if fmt not in fig.canvas.get_supported_filetypes():
            fmt = "png"  # the format is given explicitly: the temp file's name is not the user's
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt))
    finally:
        _pyplot().close(fig)
