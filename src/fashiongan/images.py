"""The one door a user's image comes in by: data folders, uploads, colorize, restyle and `evaluate --images`
all read through ``read`` (or ``convert``, for an image already open), so one file gives the same pixels
wherever it is handed in.

- A guarded open with the caller's limits: the pixel count is checked from the header before anything is
  decoded (a decompression-bomb guard per caller; Pillow's process-wide ``MAX_IMAGE_PIXELS`` is never
  changed, and its own bomb warning is an error), then the formats the caller takes and the sides. Larger
  sides are refused, or scaled down with a note where the caller allows (JPEGs then decode reduced).
- One answer for every mode: EXIF orientation applied; 16-bit grey scaled to 8 bits (Pillow's own
  conversion would clip everything above 255 to white); palette, CMYK, grey and 1-bit as RGB; alpha
  kept beside the colours, which are premultiplied by it: transparent pixels are black, the background
  every model here learnt garments on, and a task that gives an image back puts the alpha back on it.
- ``luminance``: the grey of RGB, defined once (ITU-R BT.601, what Pillow's ``convert("L")`` uses).
"""

from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator, TypeVar

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from fashiongan.errors import FashionGANError

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as Pillow's convert("L")
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
Source = str | Path | bytes | BinaryIO
Pixels = TypeVar("Pixels", np.ndarray, torch.Tensor)


@dataclass
class UserImage:
    """A user's image: ``rgb`` uint8 (H, W, 3), premultiplied by ``alpha`` (uint8 (H, W), None when opaque);
    ``grey`` when the file holds one channel; ``notes`` says what was changed on reading (a scale-down), and
    ``original`` is then the file's own size."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    name: str
    grey: bool = False
    notes: list[str] = field(default_factory=list)
    original: tuple[int, int] | None = None  # (width, height) of the file, upright, when it was read scaled down

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as Pillow says it."""
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass(frozen=True)
class Limits:
    """What a caller accepts: at most ``max_pixels`` (checked before decoding), sides of at least ``min_side``
    and at most ``max_side`` (longer ones refused, or scaled down to it with a note when ``shrink``), and
    only ``formats`` (Pillow's names; None: any Pillow reads). ``advice`` ends the too-large messages."""

    max_pixels: int
    min_side: int = 1
    max_side: int | None = None
    shrink: bool = False
    formats: tuple[str, ...] | None = None
    advice: str = ""


def name_of(source: Source) -> str:
    return str(source) if isinstance(source, (str, Path)) else "the uploaded image"


def read(source: Source, limits: Limits, name: str | None = None) -> UserImage:
    """A path, bytes or file object as a :class:`UserImage` within ``limits``; one-line FashionGANErrors for a
    missing, unreadable, damaged, refused or too-large file."""
    name = name or name_of(source)
    if isinstance(source, bytes) and not source:
        raise FashionGANError(f"{name} is empty; send an image (PNG or JPEG, say)")
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    if limits.formats:
        Image.init()  # every plugin registered, so a format named here that preinit left out is found
    with reading(name, limits.advice, limits.formats):
        with Image.open(handle, formats=limits.formats) as img:
            width, height = img.size
            if width * height > limits.max_pixels:
                raise FashionGANError(
                    f"{name} is {width}x{height} px, over the {limits.max_pixels / 1e6:g} megapixels read here "
                    f"(a decompression-bomb guard){limits.advice}"
                )
            too_long = limits.max_side is not None and max(width, height) > limits.max_side
            if too_long and not limits.shrink:
                raise FashionGANError(f"{name} is {width}x{height} px; send one of at most {limits.max_side} px a side")
            if too_long:
                scale = limits.max_side / max(width, height)
                img.draft(img.mode, (max(1, round(width * scale)), max(1, round(height * scale))))  # JPEG: decode reduced
            img.load()
            found = convert(img, name)
    if too_long:
        upright = (width, height) if (found.size[0] >= found.size[1]) == (width >= height) else (height, width)
        scale = limits.max_side / max(found.size)
        found = resized(found, (max(1, round(found.size[0] * scale)), max(1, round(found.size[1] * scale))))
        found.notes.append(f"{name}: over {limits.max_side} px a side, read at {found.size[0]}x{found.size[1]}")
        found.original = upright
    if min(found.size) < limits.min_side:
        raise FashionGANError(f"{name} is {found.size[0]}x{found.size[1]} px; it needs at least {limits.min_side} px a side")
    return found


def convert(img: Image.Image, name: str = "the image") -> UserImage:
    """An open Pillow image of any mode, upright (EXIF), as a :class:`UserImage` (see the module)."""
    grey = img.mode in GREY_MODES or (img.mode == "P" and _palette_is_grey(img))
    img = ImageOps.exif_transpose(img) or img
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        values = np.asarray(img, dtype=np.float64)
        deep = img.mode.startswith("I;16") or values.max(initial=0) > 255
        grey8 = np.clip(values / 257 if deep else values, 0, 255).round().astype(np.uint8)
        return UserImage(np.repeat(grey8[..., None], 3, axis=2), None, name, True)
    has_alpha = img.mode in ("RGBA", "LA", "La", "PA", "RGBa") or (img.mode == "P" and "transparency" in img.info)
    if not has_alpha:
        return UserImage(np.asarray(img.convert("RGB"), dtype=np.uint8), None, name, grey)
    rgba = np.asarray(img.convert("RGBA"), dtype=np.uint16)
    alpha = rgba[..., 3]
    rgb = (rgba[..., :3] * alpha[..., None] + 127) // 255  # premultiplied: transparent is black
    return UserImage(rgb.astype(np.uint8), alpha.astype(np.uint8), name, grey)


def resized(image: UserImage, size: tuple[int, int]) -> UserImage:
    """``image`` at (width, height): area-averaged down, bicubic up; alpha alike."""
    def scale(array: np.ndarray) -> np.ndarray:
        pil = Image.fromarray(array)
        method = Image.BOX if size[0] <= pil.size[0] and size[1] <= pil.size[1] else Image.BICUBIC
        return np.asarray(pil.resize(size, method))

    alpha = None if image.alpha is None else scale(image.alpha)
    return UserImage(scale(image.rgb), alpha, image.name, image.grey, list(image.notes))


def letterboxed(image: UserImage, side: int) -> np.ndarray:
    """uint8 RGB (side, side, 3): ``image`` scaled so its longer side fills ``side``, centred, the rest filled
    with its own backdrop (the median colour of its border), so a 60x80 garment keeps its proportions."""
    width, height = image.size
    scale = side / max(width, height)
    fitted = resized(image, (max(1, round(width * scale)), max(1, round(height * scale)))).rgb
    border = np.concatenate([fitted[0], fitted[-1], fitted[:, 0], fitted[:, -1]])
    canvas = np.empty((side, side, 3), dtype=np.uint8)
    canvas[:] = np.median(border, axis=0).astype(np.uint8)
    top, left = (side - fitted.shape[0]) // 2, (side - fitted.shape[1]) // 2
    canvas[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted
    return canvas


def with_alpha(rgb: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    """A task's uint8 RGB result (H, W, 3) as a Pillow image, RGBA with the input's alpha put back when it had one."""
    image = Image.fromarray(rgb)
    if alpha is not None:
        image.putalpha(Image.fromarray(alpha))
    return image


def luminance(rgb: Pixels) -> Pixels:
    """The grey of RGB pixels, channels last (numpy, (..., 3)) or a batch channels first (torch, (N, 3, H, W));
    float, on the input's scale."""
    if isinstance(rgb, torch.Tensor):
        weights = torch.tensor(LUMA, dtype=rgb.dtype if rgb.is_floating_point() else torch.float32, device=rgb.device)
        return (rgb * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    return np.asarray(rgb, dtype=np.float32) @ np.array(LUMA, dtype=np.float32)


def _palette_is_grey(img: Image.Image) -> bool:
    colours = np.array(img.getpalette() or [], dtype=np.int32).reshape(-1, 3)
    return bool(len(colours)) and bool((colours == colours[:, :1]).all())


@contextmanager
def reading(name: str, advice: str = "", formats: tuple[str, ...] | None = None) -> Iterator[None]:
    """Turn what opening and decoding ``name`` may raise into one-line FashionGANErrors; ``advice`` ends the
    too-large message (what the user should do), ``formats`` are the ones the caller opened it as."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FashionGANError(f"{name} is too large to decode safely ({exc}){advice}") from None
    except FileNotFoundError:
        raise FashionGANError(f"{name} does not exist") from None
    except IsADirectoryError:
        raise FashionGANError(f"{name} is a folder, not an image") from None
    except PermissionError:
        raise FashionGANError(f"{name} cannot be read (permission denied)") from None
    except UnidentifiedImageError:
        if formats:
            raise FashionGANError(f"{name} is not an image of a format read here ({', '.join(formats)})") from None
        raise FashionGANError(f"{name} is not an image Pillow can read (PNG or JPEG, say)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        raise FashionGANError(f"{name} is damaged or truncated ({exc})") from None
