"""Colour a user's grey items with a colorizer checkpoint: the library behind `fashiongan colorize` and the web app.

A user's image comes as it is: any size, mode (L, RGB, RGBA, LA, P, I;16, CMYK, ...), PNG or JPEG, read
through :mod:`fashiongan.images` (EXIF orientation applied, transparent pixels black: the background of
the items the colorizer learnt from); colour images are reduced to their luminance, and an image with
alpha gets it back on the result. A garment on a
plain light or grey backdrop (a product photo) is cut out of it (:mod:`fashiongan.background`), painted
on black, and put back on its backdrop, which stays grey. The colorizer
runs at its native size (the image fitted into its square, edges replicated around it); its colour is
then carried onto the full-resolution shading by guided upsampling (He & Sun's fast guided filter):
per small window the output's Lab channels are fitted as a linear function of the input's grey, and
those fits, upsampled, are applied to the full-resolution grey. Folds, seams and print edges stay as
sharp as in the input, where a plain upscale of the 28 px output would blur them.

Guards (``LIMITS``): files over ``MAX_PIXELS`` are refused before decoding; images over ``MAX_SIDE`` a side
are scaled down to it (JPEGs decode reduced) and the result says so; images under ``MIN_SIDE`` a side are
refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb, rgb_to_lab
from PIL import Image
from torch import nn

from fashiongan import hub, images
from fashiongan.atomic import atomic_write
from fashiongan.background import garment_mask, onto
from fashiongan.data import colored
from fashiongan.declaration import declaration
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.nets.unet import UNet

MAX_SIDE = 4096  # longer sides are scaled down to this (and the result says so)
MAX_PIXELS = 64_000_000  # larger files are refused before decoding
MIN_SIDE = 4
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FORMATS = ("PNG", "JPEG")  # JPEG opens the multi-picture JPEGs (MPO) many cameras write too
LIMITS = images.Limits(MAX_PIXELS, MIN_SIDE, MAX_SIDE, shrink=True, formats=FORMATS,
                       advice=f"; scale it down to at most {MAX_SIDE} px a side")
RADIUS, EPS = 1, 1e-3  # guided upsampling: window radius in native pixels, regularisation (grey on [0, 1])
STRIP = 256  # full-resolution rows painted at a time (bounded memory at 4096 px)


@dataclass
class GreyImage:
    """A user's image as luminance float32 (H, W) in [0, 1] (on black where it is transparent), its ``alpha``
    (uint8 (H, W), None when opaque), put back on the result; ``notes`` says what was changed on reading."""

    gray: np.ndarray
    name: str
    notes: list[str] = field(default_factory=list)
    alpha: np.ndarray | None = None


@dataclass
class Colorized:
    """The result: uint8 RGB (H, W, 3) at the input's size, or (N, H, W, 3) for a batch; the colour asked
    and the colour each image was painted in (``auto``'s pick), both None for an unconditional model;
    ``cut_out`` when the garment was cut out of its backdrop."""

    rgb: np.ndarray
    asked: str | None
    painted: list[str] | None
    notes: list[str] = field(default_factory=list)
    cut_out: bool = False
    alpha: np.ndarray | None = None  # the input's, uint8 (H, W): the result is RGBA

    def image(self) -> Image.Image:
        """One result as a Pillow image, RGBA when the input had alpha."""
        return images.with_alpha(self.rgb, self.alpha)


def read_image(source: images.Source) -> GreyImage:
    """An image (path, bytes or file object) as luminance in [0, 1] with its alpha, checked and capped (see the module)."""
    image = images.read(source, LIMITS)
    return GreyImage(images.luminance(image.rgb) / 255, image.name, image.notes, image.alpha)


class Colorizer:
    """A loaded colorizer (a U-Net from 1 grey channel to 3 colour channels). Load once, call per image."""

    def __init__(self, net: UNet, source: str = "the colorizer") -> None:
        self.net, self.source = net.eval(), source

    @property
    def conditional(self) -> bool:
        return self.net.num_colours > 0

    def colour_index(self, colour: str | int | None) -> int | None:
        """The index to ask for (``auto`` when None on a conditional model); None for an unconditional one."""
        if not self.conditional:
            if colour is not None:
                raise FashionGANError(
                    f"{self.source} is an unconditional colorizer (it picks the colour itself), so it takes no colour; "
                    "drop --colour or use a conditional one (pretrained:colorizer)"
                )
            return None
        if self.net.num_colours != len(colored.catalogue()):
            raise CheckpointError(
                f"{self.source} knows {self.net.num_colours} colours but the catalogue has {len(colored.catalogue())}; "
                "it was trained with another colour table"
            )
        return colored.colour_index(colored.AUTO if colour is None else colour, allow_auto=True)

    @torch.inference_mode()
    def __call__(self, image: GreyImage | np.ndarray, colour: str | int | None = None, cutout: bool = True) -> Colorized:
        """Colour one image (a :class:`GreyImage`, or grey (H, W) float in [0, 1] / uint8) or a batch (N, H, W) of one
        size; with ``cutout`` one image's garment on a plain backdrop is painted and the backdrop kept."""
        index = self.colour_index(colour)
        gray = image.gray if isinstance(image, GreyImage) else _unit(image)
        notes = list(image.notes) if isinstance(image, GreyImage) else []
        mask = garment_mask(np.repeat(gray[..., None], 3, axis=2)) if cutout and gray.ndim == 2 else None
        batch = torch.from_numpy(np.ascontiguousarray(gray if mask is None else gray * mask, dtype=np.float32))
        batch = batch[None, None] if batch.dim() == 2 else batch[:, None]
        if min(batch.shape[-2:]) < MIN_SIDE:
            raise FashionGANError(f"images must be at least {MIN_SIDE}x{MIN_SIDE} px, got {tuple(batch.shape[-2:])}")
        rgb, painted = paint(self.net, batch.to(_device(self.net)), index)
        rgb = rgb[0] if gray.ndim == 2 else rgb
        if mask is not None:
            rgb = onto(rgb, gray, mask)
            notes.append(f"{image.name if isinstance(image, GreyImage) else 'the image'}: the garment was cut out of its "
                         "plain backdrop, painted, and put back on it")
        asked = None if index is None else colored.colour_name(index)
        names = None if painted is None else [colored.colour_name(int(i)) for i in painted]
        alpha = image.alpha if isinstance(image, GreyImage) else None
        return Colorized(rgb, asked, names, notes, mask is not None, alpha)


def paint_items(model: Colorizer, gray: np.ndarray, colours: np.ndarray | None, batch: int = 500) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 (N, H, W, 3): grey items (N, H, W) painted by ``model``, each in its colour index (``auto`` allowed;
    None: an unconditional model's own), and the colour index each was painted in (``auto`` resolved to the
    model's pick; None for an unconditional model)."""
    out, painted = [], []
    for start in range(0, len(gray), batch):
        part = gray[start : start + batch]
        if colours is None:
            out.append(model(part, cutout=False).rgb)
            continue
        rgb, names = np.empty((*part.shape, 3), dtype=np.uint8), np.empty(len(part), dtype=np.int64)
        asked = colours[start : start + batch]
        for c in np.unique(asked):  # one call per colour asked
            result = model(part[asked == c], int(c), cutout=False)
            rgb[asked == c] = result.rgb
            names[asked == c] = [colored.colour_index(name) for name in result.painted]
        out.append(rgb)
        painted.append(names)
    return np.concatenate(out), (np.concatenate(painted) if painted else None)


def evaluate(model: Colorizer, n: int = 10_000, judge: str | Path | None = None) -> dict:
    """A colorizer's colour scores (:func:`fashiongan.metrics.colour.colorizer_scores`) on the first ``n`` coloured
    test items: a conditional model asked each item's true colour, an unconditional one scored against it."""
    from fashiongan.metrics.colour import colorizer_scores  # scoring loads the colour judge: only when asked

    test = colored.load("test", "catalogue", seed=0, limit=n)
    outputs, painted = paint_items(model, test.gray, test.colours if model.conditional else None)
    scores = colorizer_scores(test.gray, outputs, test.colours if painted is None else painted, truth=test.images,
                              labels=test.labels, judge=judge)
    return {**scores, "source": model.source, "asked": "true colour" if model.conditional else "none (true colour scored)"}


def colour_sheet(model: Colorizer, gray: np.ndarray, colours: list[str | None]) -> np.ndarray:
    """Grey items (N, H, W) uint8 and each of them painted in every colour asked: uint8 (1 + len(colours),
    N, H, W, 3), the grey row first (the figure `colorize --test-items` draws)."""
    rows = [np.repeat(np.asarray(gray, np.uint8)[..., None], 3, axis=-1)]
    rows += [model(gray, colour).rgb for colour in colours]
    return np.stack(rows)


def _unit(gray: np.ndarray) -> np.ndarray:
    gray = np.asarray(gray)
    if gray.ndim not in (2, 3):
        raise FashionGANError(f"grey images must be (H, W) or (N, H, W), got shape {gray.shape}")
    if gray.dtype == np.uint8:
        return gray.astype(np.float32) / 255
    if not np.issubdtype(gray.dtype, np.floating) or not np.isfinite(gray).all() or gray.min() < 0 or gray.max() > 1:
        raise FashionGANError("grey images must be uint8 or float in [0, 1]")
    return gray.astype(np.float32)


def _device(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


def load_colorizer(checkpoint: str | Path, device: str | torch.device = "cpu") -> Colorizer:
    """The colorizer of a checkpoint directory or ``pretrained:NAME`` (its EMA copy when training kept one)."""
    config = hub.read_config(checkpoint)
    found = declaration(config, checkpoint)
    if found.kind != "colorizer":
        raise CheckpointError(
            f"{checkpoint} holds a {found.kind} ({found.model!r}), not a colorizer; "
            "use a pix2pix colorizer such as pretrained:colorizer (train one: fashiongan train --model colorizer)"
        )
    net = hub.load_checkpoint(checkpoint, roles=[config["main"]]).main
    return Colorizer(net.to(device), str(checkpoint))


def paint(net: UNet, gray: torch.Tensor, colour: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey (N, 1, H, W) in [0, 1] -> uint8 RGB (N, H, W, 3): the net at its size, carried onto (H, W);
    and the colour index each image was painted in (``auto`` resolved by the net's picker)."""
    n, _, height, width = gray.shape
    side = net.image_size
    scale = side / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    small = _resize(gray, h, w)
    top, left = (side - h) // 2, (side - w) // 2
    canvas = F.pad(small * 2 - 1, (left, side - w - left, top, side - h - top), mode="replicate")
    asked = None
    if colour is not None:
        asked = net.pick_colour(canvas) if colour == net.num_colours else torch.full((n,), colour, device=gray.device)
    out = ((net.to_rgb(net(canvas, asked))[..., top : top + h, left : left + w] + 1) / 2).clamp(0, 1)
    rgb = _to_uint8(out) if (h, w) == (height, width) else carry(small, out, gray)
    return rgb, None if asked is None else asked.cpu().numpy()


def _resize(images: torch.Tensor, h: int, w: int) -> torch.Tensor:
    if images.shape[-2:] == (h, w):
        return images
    mode = "area" if h <= images.shape[-2] and w <= images.shape[-1] else "bilinear"
    return F.interpolate(images, size=(h, w), mode=mode, **({} if mode == "area" else {"align_corners": False}))


def _box(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 2 * RADIUS + 1, stride=1, padding=RADIUS, count_include_pad=False)


def _interpolation(n_out: int, n_in: int) -> torch.Tensor:
    """(n_out, n_in) weights of 1-D linear resampling, as bilinear interpolate (align_corners=False) does it."""
    return F.interpolate(torch.eye(n_in)[None], size=n_out, mode="linear", align_corners=False)[0].T.contiguous()


def carry(small_gray: torch.Tensor, small_rgb: torch.Tensor, gray: torch.Tensor) -> np.ndarray:
    """Guided upsampling: fit the output's Lab as ``a * grey + b`` per window at the small size, then
    apply the upsampled (a, b) to the full-resolution grey. Returns uint8 RGB (N, H, W, 3)."""
    lab = rgb_to_lab(small_rgb)
    mean_g = _box(small_gray)
    var_g = _box(small_gray * small_gray) - mean_g**2
    mean_lab = _box(lab)
    a = (_box(small_gray * lab) - mean_g * mean_lab) / (var_g + EPS)
    b = mean_lab - a * mean_g
    a, b = _box(a), _box(b)
    rows = _interpolation(gray.shape[-2], a.shape[-2]).to(gray)
    cols = _interpolation(gray.shape[-1], a.shape[-1]).to(gray)
    a_cols, b_cols = a @ cols.T, b @ cols.T  # (N, 3, h, W)
    out = np.empty((gray.shape[0], *gray.shape[-2:], 3), dtype=np.uint8)
    for start in range(0, gray.shape[-2], STRIP):
        part = rows[start : start + STRIP]
        full = (part @ a_cols) * gray[:, :, start : start + STRIP] + part @ b_cols
        full = torch.cat([full[:, :1].clamp(0, 100), full[:, 1:]], 1)
        out[:, start : start + STRIP] = _to_uint8(lab_to_rgb(full, clip=True))
    return out


def _to_uint8(rgb: torch.Tensor) -> np.ndarray:
    return rgb.mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def colorize(
    checkpoint: str | Path | Colorizer, image: images.Source | np.ndarray, colour: str | int | None = None, cutout: bool = True,
) -> Colorized:
    """One image (a path, bytes, a file object, or grey (H, W)) coloured by ``checkpoint`` in ``colour``."""
    model = checkpoint if isinstance(checkpoint, Colorizer) else load_colorizer(checkpoint)
    return model(image if isinstance(image, np.ndarray) else read_image(image), colour, cutout)


def image_files(folder: str | Path) -> list[Path]:
    """The PNG and JPEG files of a folder (not its subfolders), sorted; an empty folder is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FashionGANError(f"{folder} is not a folder")
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise FashionGANError(f"{folder} holds no PNG or JPEG images")
    return found


def write_image(image: Image.Image, path: str | Path) -> Path:
    """An image to PNG (or JPEG by the suffix, which keeps no alpha), atomically."""
    fmt = "JPEG" if Path(path).suffix.lower() in (".jpg", ".jpeg") else "PNG"
    return atomic_write(path, lambda tmp: (image.convert("RGB") if fmt == "JPEG" else image).save(tmp, format=fmt))


def colorize_files(
    model: Colorizer, inputs: Sequence[Path], outputs: Sequence[Path], colour: str | int | None = None,
    on_item: Callable[[int], None] | None = None, cutout: bool = True,
) -> list[Colorized]:
    """Colour ``inputs`` into ``outputs`` (one each). Every input is read and checked before anything is
    written, so a bad file stops the run with nothing half-done; each output is written atomically.
    ``on_item(done)`` is called with 0 once the inputs passed, then after each image written."""
    if len(inputs) != len(outputs):
        raise ValueError("one output path per input")
    model.colour_index(colour)
    for path in inputs:
        read_image(path)
    if on_item is not None:
        on_item(0)
    results = []
    for i, (source, target) in enumerate(zip(inputs, outputs)):
        result = model(read_image(source), colour, cutout)
        write_image(result.image(), target)
        results.append(result)
        if on_item is not None:
            on_item(i + 1)
    return results
