"""Uploaded images, decoded defensively: only a few formats, a cap on pixels before any decoding, one-line errors.

Read through :mod:`fashiongan.images` (the one door for a user's image) with the web app's limits: the
size is checked from the header before a decompression bomb can inflate, and any mode comes in (L, RGB,
RGBA, P, I;16, CMYK, ...) and leaves as uint8 grayscale or RGB, transparent pixels black. For the classifiers, items against a light background (product
photos) are inverted to Fashion-MNIST's black background, and the reply says so; colorize and restyle
take them as they are and cut the garment out of its backdrop (:mod:`fashiongan.background`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from fashiongan import images

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
MIN_SIDE, MAX_SIDE = 8, 2048
MAX_PIXELS = 4_000_000
LIMITS = images.Limits(MAX_PIXELS, MIN_SIDE, MAX_SIDE, formats=FORMATS)


@dataclass(frozen=True)
class Upload:
    """A decoded image: uint8 (H, W) grayscale or (H, W, 3) RGB, and whether it was inverted."""

    image: np.ndarray
    inverted: bool


def load(data: bytes, colour: bool = False, invert_light: bool = True) -> Upload:
    """An upload as uint8 grayscale (or RGB with ``colour``), light backgrounds inverted when ``invert_light``."""
    image = images.read(data, LIMITS, name="the upload")
    array = image.rgb if colour else np.clip(images.luminance(image.rgb).round(), 0, 255).astype(np.uint8)
    border = np.concatenate([array[0].reshape(-1), array[-1].reshape(-1), array[:, 0].reshape(-1), array[:, -1].reshape(-1)])
    inverted = bool(invert_light and border.mean() > 127)
    return Upload(255 - array if inverted else array, inverted)


def to_size(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 (H, W[, 3]) -> (size, size[, 3]), fitted inside a black square (aspect kept, area-averaged down)."""
    pil = Image.fromarray(image)
    pil = ImageOps.pad(pil, (max(pil.size),) * 2, color=0)
    return np.asarray(pil.resize((size, size), Image.BOX if pil.size[0] >= size else Image.BICUBIC))
