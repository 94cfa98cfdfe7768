"""Uploaded images, decoded defensively: any photo a phone or camera makes, worked on at a size the models
can afford, answered at the upload's own size.

Read through :mod:`fashiongan.images` (the one door for a user's image) with the web app's limits, stated
here once: at most ``MAX_MB`` MB and ``MAX_MEGAPIXELS`` megapixels (the size is checked from the header before
a decompression bomb can inflate), EXIF orientation honoured, any mode (L, RGB, RGBA, P, I;16, CMYK, ...).
A photo larger than ``WORK_SIDE`` px a side is decoded reduced to it (JPEGs decode reduced, cheaply) and the
answer is scaled back to the upload's size. Transparent pixels are worked on as black (the garment on the
black the models learnt on) and the upload's alpha is put back on the answer. For the classifiers, items
against a light background (product photos) are inverted to Fashion-MNIST's black background, and the reply
says so; colorize and restyle take them as they are and cut the garment out of its backdrop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from fashiongan import images

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
MAX_MB = 25
MAX_BYTES = MAX_MB * 1024 * 1024
MAX_MEGAPIXELS = 50
MIN_SIDE = 8
WORK_SIDE = 1024
LIMITS = images.Limits(MAX_MEGAPIXELS * 1_000_000, MIN_SIDE, WORK_SIDE, shrink=True, formats=FORMATS,
                       advice=f"; send a photo of at most {MAX_MEGAPIXELS} megapixels")
HELP = (f"Any JPEG, PNG, WebP, GIF or BMP photo up to {MAX_MB} MB and {MAX_MEGAPIXELS} megapixels; "
        "the answer comes back at the photo's own size, transparency kept.")


@dataclass(frozen=True)
class Upload:
    """A decoded image: uint8 (H, W) grayscale or (H, W, 3) RGB at most WORK_SIDE a side, whether it was
    inverted, its alpha (None when opaque) and the upload's own (width, height)."""

    image: np.ndarray
    inverted: bool
    alpha: np.ndarray | None
    size: tuple[int, int]


def load(data: bytes, colour: bool = False, invert_light: bool = True) -> Upload:
    """An upload as uint8 grayscale (or RGB with ``colour``), light backgrounds inverted when ``invert_light``."""
    image = images.read(data, LIMITS, name="the upload")
    array = image.rgb if colour else np.clip(images.luminance(image.rgb).round(), 0, 255).astype(np.uint8)
    border = np.concatenate([array[0].reshape(-1), array[-1].reshape(-1), array[:, 0].reshape(-1), array[:, -1].reshape(-1)])
    inverted = bool(invert_light and border.mean() > 127)
    return Upload(255 - array if inverted else array, inverted, image.alpha, image.original or image.size)


def answer(result: np.ndarray, upload: Upload) -> np.ndarray:
    """A task's uint8 RGB result at the upload's own size, RGBA with the upload's alpha put back when it had one."""
    picture = images.with_alpha(result, None if upload.alpha is None else _fit(upload.alpha, result.shape[1::-1]))
    if picture.size != upload.size:
        picture = picture.resize(upload.size, Image.BICUBIC)
    return np.asarray(picture)


def _fit(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    pil = Image.fromarray(alpha)
    return np.asarray(pil if pil.size == size else pil.resize(size, Image.BICUBIC))


def to_size(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 (H, W[, 3]) -> (size, size[, 3]), fitted inside a black square (aspect kept, area-averaged down)."""
    pil = Image.fromarray(image)
    pil = ImageOps.pad(pil, (max(pil.size),) * 2, color=0)
    return np.asarray(pil.resize((size, size), Image.BOX if pil.size[0] >= size else Image.BICUBIC))
