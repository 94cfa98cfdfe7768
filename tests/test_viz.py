"""Pictures: grids of the right size, curves and confusion matrices as PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashiongan import viz

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _images(n: int, h: int = 28, w: int = 28, colour: bool = False) -> np.ndarray:
    shape = (n, h, w, 3) if colour else (n, h, w)
    return np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)


def _png(path: Path) -> Image.Image:
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left beside it
    with Image.open(path) as image:
        image.load()
        return image


@pytest.mark.parametrize(("n", "nrow", "scale", "pad"), [(20, 10, 2, 2), (7, 3, 1, 0), (1, 4, 3, 1)])
def test_save_grid_size(tmp_path: Path, n: int, nrow: int, scale: int, pad: int) -> None:
    path = viz.save_grid(_images(n), tmp_path / "grid.png", nrow=nrow, scale=scale, pad=pad)
    rows = -(-n // nrow)
    assert path == tmp_path / "grid.png"
    image = _png(path)
    assert image.size == (nrow * (28 * scale + pad) + pad, rows * (28 * scale + pad) + pad)
    assert image.mode == "RGB"


def test_save_grid_places_the_pixels(tmp_path: Path) -> None:
    images = _images(4, 5, 6)
    image = np.asarray(_png(viz.save_grid(images, tmp_path / "g.png", nrow=2, scale=1, pad=1)))
    np.testing.assert_array_equal(image[1:6, 1:7, 0], images[0])  # first tile, top left
    np.testing.assert_array_equal(image[7:12, 8:14, 1], images[3])  # last tile, bottom right


def test_save_grid_with_row_labels_is_wider_and_labelled(tmp_path: Path) -> None:
    plain = _png(viz.save_grid(_images(20), tmp_path / "a" / "plain.png", nrow=10))
    labelled = _png(viz.save_grid(_images(20), tmp_path / "b" / "labelled.png", nrow=10, row_labels=["Ankle boot", "Bag"]))
    assert labelled.height == plain.height and labelled.width > plain.width + 20
    label_strip = np.asarray(labelled)[:, : labelled.width - plain.width]
    assert (label_strip < 128).any()  # some dark text was drawn


def test_save_grid_of_colour_images(tmp_path: Path) -> None:
    image = _png(viz.save_grid(_images(6, colour=True), tmp_path / "c.png", nrow=3, scale=1, pad=0))
    assert image.size == (84, 56)


def test_the_format_does_not_depend_on_the_temp_file_name(tmp_path: Path) -> None:
    path = viz.save_grid(_images(2), tmp_path / "grid", nrow=2)  # no suffix: PNG
    assert path.read_bytes()[:8] == PNG_MAGIC
    gif = viz.save_gif([viz.grid_image(_images(2), 2), viz.grid_image(_images(2), 2)], tmp_path / "a.gif")
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_plot_curves(tmp_path: Path) -> None:
    path = viz.plot_curves(
        {"cnn": ([0, 0.1, 0.2], [0.9, 0.5, 0.2]), "mlp": ([0, 0.1, 0.2], [0.85, 0.3, 0.1])},
        tmp_path / "curves.png", xlabel="eps", ylabel="accuracy", title="FGSM",
    )
    image = _png(path)
    assert image.size == (720, 480)


def test_plot_confusion(tmp_path: Path) -> None:
    matrix = np.diag(np.full(10, 90)) + 1
    classes = [f"class {i}" for i in range(10)]
    image = _png(viz.plot_confusion(matrix, classes, tmp_path / "confusion.png", title="evaluator"))
    assert image.size == (840, 720)
