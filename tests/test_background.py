"""Garments on a plain backdrop (product photos): found by flood fill from the border, restyled and coloured
on black, and put back on their own backdrop, with the shipped restyle model and colorizer."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage
from typer.testing import CliRunner

from fashiongan import background, colorize, restyle
from fashiongan.cli import app

runner = CliRunner()
SHIRT = [(40, 20), (130, 20), (150, 50), (130, 60), (125, 120), (45, 120), (40, 60), (20, 50)]


def photo(backdrop=(240, 238, 232), garment=(90, 50, 30), size=(173, 131), print_colour=None) -> Image.Image:
    """A shirt on a plain backdrop; ``print_colour`` adds a patch inside it the colour of the backdrop."""
    image = Image.new("RGB", size, backdrop)
    draw = ImageDraw.Draw(image)
    draw.polygon(SHIRT, fill=garment)
    if print_colour is not None:
        draw.rectangle((70, 60, 100, 90), fill=print_colour)
    return image


def shirt_mask(size=(173, 131)) -> np.ndarray:
    image = Image.new("L", size, 0)
    ImageDraw.Draw(image).polygon(SHIRT, fill=1)
    return np.asarray(image).astype(bool)


def far_from_shirt() -> np.ndarray:
    """Backdrop pixels at least 3 px from the shirt's outline."""
    return ~ndimage.binary_dilation(shirt_mask(), iterations=3)


def unit(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def jpeg(image: Image.Image, quality: int = 70) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("backdrop", [(240, 238, 232), (255, 255, 255), (128, 128, 128)])
def test_the_garment_on_a_plain_backdrop_is_found(backdrop) -> None:
    mask = background.garment_mask(unit(photo(backdrop)))
    assert mask is not None and mask.shape == (131, 173)
    assert iou(mask > 0.5, shirt_mask()) > 0.97
    assert mask[:5].max() == 0 and mask[65, 85] == 1


def test_a_print_the_colour_of_the_backdrop_stays_garment() -> None:
    mask = background.garment_mask(unit(photo(print_colour=(240, 238, 232))))
    assert mask[75, 85] == 1  # the border's flood fill cannot reach inside the garment


def test_jpeg_ringing_leaves_no_specks_around_the_garment() -> None:
    mask = background.garment_mask(unit(jpeg(photo())))
    assert iou(mask > 0.5, shirt_mask()) > 0.95
    assert mask[far_from_shirt()].max() < 0.1  # at most the soft edge reaches there, no speck


@pytest.mark.parametrize("case", ["black", "busy", "blank", "tiny garment"])
def test_nothing_is_cut_when_there_is_no_plain_backdrop_or_no_garment(case: str) -> None:
    rng = np.random.default_rng(0)
    rgb = {
        "black": unit(photo(backdrop=(0, 0, 0), garment=(200, 200, 200))),  # Fashion-MNIST's own layout
        "busy": rng.uniform(0, 1, (64, 64, 3)).astype(np.float32),
        "blank": np.full((64, 64, 3), 0.9, np.float32),
        "tiny garment": np.pad(np.zeros((2, 2, 3), np.float32), ((49, 49), (49, 49), (0, 0)), constant_values=0.98),
    }[case]
    assert background.garment_mask(rgb) is None


def test_onto_keeps_the_photos_backdrop_where_there_is_no_garment() -> None:
    photo_rgb = unit(photo())
    mask = background.garment_mask(photo_rgb)
    result = np.zeros(photo_rgb.shape, np.uint8)
    out = background.onto(result, photo_rgb, mask)
    assert np.array_equal(out[mask == 0], np.round(photo_rgb[mask == 0] * 255).astype(np.uint8))
    assert out[mask == 1].max() == 0
    grey = background.onto(result, photo_rgb.mean(2), mask)  # a grey photo's backdrop stays grey
    assert np.array_equal(grey[0, 0], np.repeat(grey[0, 0, 0], 3))


def test_restyle_puts_denim_on_the_garment_and_keeps_the_backdrop(tmp_path: Path) -> None:
    jpeg(photo(), quality=92).save(tmp_path / "jacket.jpg")
    translator = restyle.load("pretrained:fabric-cyclegan")
    image = restyle.read_image(tmp_path / "jacket.jpg")
    cut, = translator([image], "denim")
    whole, = translator([image], "denim", cutout=False)
    garment, far = shirt_mask(), far_from_shirt()
    assert cut.cut_out and cut.notes and not whole.cut_out
    assert np.abs(cut.translated[far].astype(int) - cut.original[far]).max() <= 1  # the backdrop is the photo's
    blue = cut.translated[garment].astype(float).mean(0)
    assert blue[2] > blue[0] + 30  # indigo on the garment
    assert np.abs(whole.translated[far].astype(int) - whole.original[far]).mean() > 30  # without: the backdrop moves


def test_restyle_cli_notes_the_cut_and_no_cutout_turns_it_off(tmp_path: Path) -> None:
    photo().save(tmp_path / "jacket.png")
    for flag, cut in (([], True), (["--no-cutout"], False)):
        result = runner.invoke(app, ["restyle", "-c", "pretrained:fabric-cyclegan", "-i", str(tmp_path / "jacket.png"),
                                     "--to", "denim", "--out", str(tmp_path / f"out{cut}.png"), "--json", *flag])
        assert result.exit_code == 0, result.output
        assert bool(json.loads(result.output)["images"][0]["notes"]) == cut


def test_colorize_paints_the_garment_and_leaves_the_backdrop_grey() -> None:
    gray = unit(photo(garment=(120, 120, 120))).mean(2)
    model = colorize.load_colorizer("pretrained:colorizer")
    cut = model(gray, "red")
    whole = model(gray, "red", cutout=False)
    far = far_from_shirt()
    chroma = lambda rgb: rgb.astype(int).max(-1) - rgb.astype(int).min(-1)  # noqa: E731
    assert cut.cut_out and not whole.cut_out
    assert chroma(cut.rgb)[far].max() == 0 and chroma(cut.rgb)[shirt_mask()].mean() > 40
    assert chroma(whole.rgb)[far].mean() > 20  # without the cut the backdrop is painted too
