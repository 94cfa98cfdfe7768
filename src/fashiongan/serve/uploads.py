"""Uploaded images, decoded defensively: only a few formats, a cap on pixels before any decoding, one-line errors.

Pillow reads the header first (``Image.open`` is lazy), so the size is checked before a decompression
bomb can inflate; its own bomb guard is made an error too. Any mode comes in (L, RGB, RGBA, P, I;16, ...)
and leaves as uint8 grayscale or RGB. For the classifiers, items against a light background (product
photos) are inverted to Fashion-MNIST's black background, and the reply says so; colorize and restyle
take them as they are and cut the garment out of its backdrop (:mod:`fashiongan.background`).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fashiongan.errors import FashionGANError

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
MIN_SIDE, MAX_SIDE = 8, 2048
MAX_PIXELS = 4_000_000


@dataclass(frozen=True)
class Upload:
    """A decoded image: uint8 (H, W) grayscale or (H, W, 3) RGB, and whether it was inverted."""

    image: np.ndarray
    inverted: bool


def decode(data: bytes) -> Image.Image:
    """Bytes -> a loaded Pillow image, or a FashionGANError saying why not."""
    if not data:
        raise FashionGANError("the upload is empty; send a PNG or JPEG image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                raise FashionGANError(
                    f"the image is {width}x{height} px; send one between {MIN_SIDE} and {MAX_SIDE} px a side"
                )
            image.load()
        except FashionGANError:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise FashionGANError(f"the upload is not a readable image ({', '.join(FORMATS)}) of a safe size") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise FashionGANError(f"the image could not be decoded ({exc}); it may be truncated") from None
    return ImageOps.exif_transpose(image) or image


def _to_uint8(image: Image.Image, colour: bool) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        return np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))  # transparent = Fashion-MNIST's black
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB" if colour else "L"))


def load(data: bytes, colour: bool = False, invert_light: bool = True) -> Upload:
    """An upload as uint8 grayscale (or RGB with ``colour``), light backgrounds inverted when ``invert_light``."""
    array = _to_uint8(decode(data), colour)
    if array.ndim == 3 and not colour:
        array = array[..., 0]
    border = np.concatenate([array[0].reshape(-1), array[-1].reshape(-1), array[:, 0].reshape(-1), array[:, -1].reshape(-1)])
    inverted = bool(invert_light and border.mean() > 127)
    return Upload(255 - array if inverted else array, inverted)


def to_size(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 (H, W[, 3]) -> (size, size[, 3]), fitted inside a black square (aspect kept, area-averaged down)."""
    pil = Image.fromarray(image)
    pil = ImageOps.pad(pil, (max(pil.size),) * 2, color=0)
    return np.asarray(pil.resize((size, size), Image.BOX if pil.size[0] >= size else Image.BICUBIC))
