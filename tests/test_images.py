"""The one door a user's image comes in by: every reader (data folders, uploads, colorize, restyle,
`evaluate --images`) gives the same pixels for the same odd file, and each oddity has one answer."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashiongan import colorize, images, restyle
from fashiongan.data import folders
from fashiongan.errors import FashionGANError
from fashiongan.metrics.inputs import load_images
from fashiongan.serve import uploads

HEIGHT, WIDTH = 24, 16


def garment() -> np.ndarray:
    """A red garment with a lighter stripe on black, uint8 (HEIGHT, WIDTH, 3); asymmetric, so a rotation shows."""
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    rgb[4:20, 3:12] = (200, 40, 50)
    rgb[6:9, 3:12] = (240, 200, 180)
    return rgb


def odd_files(folder: Path) -> dict[str, Path]:
    """The same picture in the modes users hand in: 16-bit grey PNG, palette GIF, RGBA PNG, CMYK JPEG, and a
    JPEG stored on its side with an EXIF orientation that turns it upright."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = garment()
    grey16 = (images.luminance(rgb).round().astype(np.uint16) * 257)
    Image.fromarray(grey16.astype(np.uint16)).save(folder / "deep.png")
    Image.fromarray(rgb).quantize(8).save(folder / "palette.gif")
    rgba = np.dstack([rgb, np.where(rgb.any(2), 255, 0).astype(np.uint8)])
    rgba[..., :3][rgba[..., 3] == 0] = (255, 255, 255)  # what sits under the transparent pixels must not show
    Image.fromarray(rgba).save(folder / "cutout.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "print.jpg", quality=95)
    sideways = Image.fromarray(np.ascontiguousarray(np.rot90(rgb, 1)))  # the camera held on its side
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    sideways.save(folder / "phone.jpg", quality=95, exif=exif)
    return {p.stem: p for p in folder.iterdir()}


def every_reader(path: Path) -> dict[str, np.ndarray]:
    """The RGB each reader makes of ``path`` (grey readers' luminance repeated), uint8 (H, W, 3)."""
    found = {
        "data folder": folders.decode(path),
        "restyle": restyle.read_image(path).rgb,
        "upload": uploads.load(path.read_bytes(), colour=True, invert_light=False).image,
    }
    if path.suffix in (".png", ".jpg"):
        grey = colorize.read_image(path).gray * 255
        found["colorize (luminance)"] = np.repeat(grey.round().astype(np.uint8)[..., None], 3, axis=2)
    if path.suffix == ".png":
        alone = path.parent / f"only-{path.stem}"
        alone.mkdir(exist_ok=True)
        (alone / path.name).write_bytes(path.read_bytes())
        scored = load_images(alone).images[0]
        found["evaluate --images"] = np.repeat(scored[..., None], 3, axis=2) if scored.ndim == 2 else scored.transpose(1, 2, 0)
    return found


@pytest.mark.parametrize("name", ["deep", "palette", "cutout", "print", "phone"])
def test_every_reader_gives_the_same_pixels(name: str, tmp_path: Path) -> None:
    path = odd_files(tmp_path / "odd")[name]
    found = every_reader(path)
    reference = found["data folder"]
    assert reference.shape == (HEIGHT, WIDTH, 3) and reference.dtype == np.uint8
    for reader, rgb in found.items():
        if reader.startswith("colorize"):
            expected = np.repeat(images.luminance(reference).round().astype(np.uint8)[..., None], 3, axis=2)
            assert np.abs(rgb.astype(int) - expected).max() <= 1, reader
        else:
            assert np.array_equal(rgb, reference), reader


def test_each_oddity_has_one_answer(tmp_path: Path) -> None:
    files, rgb = odd_files(tmp_path / "odd"), garment()
    deep = images.read(files["deep"], folders.LIMITS)
    assert deep.grey and np.array_equal(deep.rgb[..., 0], images.luminance(rgb).round().astype(np.uint8))  # 16 bits / 257
    cutout = images.read(files["cutout"], folders.LIMITS)
    assert np.array_equal(cutout.alpha, np.where(rgb.any(2), 255, 0)) and np.array_equal(cutout.rgb, rgb)  # black under alpha 0
    phone = images.read(files["phone"], folders.LIMITS)
    assert phone.size == (WIDTH, HEIGHT) and np.abs(phone.rgb.astype(int) - rgb).mean() < 10  # upright, as taken
    assert images.luminance(phone.rgb[6:9, 3:12]).mean() > 150 > images.luminance(phone.rgb[15:18, 3:12]).mean()
    cmyk = images.read(files["print"], folders.LIMITS)
    assert np.abs(cmyk.rgb.astype(int) - rgb).mean() < 6 and not cmyk.grey
    palette = images.read(files["palette"], folders.LIMITS)
    assert palette.alpha is None and np.abs(palette.rgb.astype(int) - rgb).mean() < 6


def test_the_alpha_is_put_back_where_a_task_gives_an_image_back(tmp_path: Path) -> None:
    path = odd_files(tmp_path / "odd")["cutout"]
    model = colorize.load_colorizer("pretrained:colorizer")
    painted = model(colorize.read_image(path), "navy")
    assert painted.image().mode == "RGBA" and np.array_equal(np.asarray(painted.image())[..., 3], images.read(path, folders.LIMITS).alpha)
    moved = restyle.load("pretrained:fabric-cyclegan")([restyle.read_image(path)], "denim")[0]
    assert moved.image().mode == "RGBA" and np.array_equal(moved.alpha, np.asarray(painted.image())[..., 3])


def test_limits_are_the_callers_and_pillow_is_left_as_it_was(tmp_path: Path) -> None:
    before = Image.MAX_IMAGE_PIXELS
    path = odd_files(tmp_path / "odd")["cutout"]
    folders.decode(path)
    assert Image.MAX_IMAGE_PIXELS == before
    with pytest.raises(FashionGANError, match="over the 0.0003 megapixels"):
        images.read(path, images.Limits(max_pixels=300))
    with pytest.raises(FashionGANError, match="is 16x24 px; send one of at most 20 px a side"):
        images.read(path, images.Limits(10_000, max_side=20))
    shrunk = images.read(path.read_bytes(), images.Limits(10_000, max_side=12, shrink=True))
    assert shrunk.size == (8, 12) and shrunk.alpha.shape == (12, 8) and "read at 8x12" in shrunk.notes[0]
    with pytest.raises(FashionGANError, match="not an image of a format read here \\(PNG\\)"):
        images.read(io.BytesIO(b"GIF89a not really"), images.Limits(10_000, formats=("PNG",)))
