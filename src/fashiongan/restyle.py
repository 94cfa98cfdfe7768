"""Restyle a garment's fabric with a translation (CycleGAN) checkpoint: the library behind `fashiongan restyle`.

A translation checkpoint holds both generators (``generator_ab``: domain A -> B, ``generator_ba``: B -> A)
and names its domains (``objective.domains``: leather and denim for the built-in model); ``to`` picks the
direction. A user's image comes as it is: any size and mode (L, RGB, RGBA, LA, P, 16-bit, ...), PNG, JPEG
or whatever Pillow reads, through :mod:`fashiongan.images`: the EXIF orientation is applied and
transparent pixels become black (the background the built-in domains have). A garment photographed on a plain backdrop (white, cream, grey)
is cut out of it first (:mod:`fashiongan.background`) and its result put back on that backdrop, since
the built-in model knows garments on black only. The generator runs at the size it was trained at: the
image is fitted into that square (black bands around it), translated, and the result cropped and resized
back to the input's size, alpha included. The reconstruction (translated back) shows what the cycle kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import nn

from fashiongan import hub, images
from fashiongan.background import garment_mask, onto
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.images import UserImage, luminance
from fashiongan.objectives.cyclegan import DEFAULT_DOMAINS
from fashiongan.viz import save_grid

MIN_SIDE = 8
MAX_SIDE = 4096
MAX_PIXELS = 64_000_000  # larger files are refused before decoding (a decompression-bomb guard)
LIMITS = images.Limits(MAX_PIXELS, MIN_SIDE, MAX_SIDE, advice=f"; scale it down to at most {MAX_SIDE} px a side")
CHUNK = 16  # images translated per forward pass
TILE = 128  # pixels a side of each image in a triplet figure


@dataclass
class Restyled:
    """One result at the input's size: uint8 ``original``, ``translated`` and ``reconstructed`` (H, W, 3),
    ``alpha`` uint8 (H, W) when the input had one; ``cut_out`` when the garment was cut out of its backdrop."""

    name: str
    original: np.ndarray
    translated: np.ndarray
    reconstructed: np.ndarray
    alpha: np.ndarray | None = None
    cut_out: bool = False
    notes: list[str] = field(default_factory=list)

    def image(self, which: str = "translated") -> Image.Image:
        """``translated`` (or ``reconstructed``/``original``) as a Pillow image, RGBA when the input had alpha."""
        return images.with_alpha(getattr(self, which), self.alpha)


def read_image(path: str | Path) -> UserImage:
    """Any image file Pillow reads (through :mod:`fashiongan.images`: on black where transparent, with its alpha);
    one-line errors otherwise."""
    return images.read(path, LIMITS)


class Translator:
    """A loaded translation checkpoint: both generators and the domain names. Load once, call per batch."""

    def __init__(self, generators: dict[str, nn.Module], domains: tuple[str, str], source: str, data: dict | None = None) -> None:
        self.generators = {k: g.eval() for k, g in generators.items()}
        self.domains, self.source, self.data = domains, source, data or {}

    def direction(self, to: str) -> tuple[str, nn.Module, nn.Module]:
        """(source domain name, the generator into ``to``, the one back) for a domain name (case-insensitive)."""
        names = [d.lower() for d in self.domains]
        key = str(to).strip().lower()
        if key not in names:
            raise FashionGANError(f"{self.source} translates between {' and '.join(self.domains)}; --to must name one of them, got {to!r}")
        if names.index(key) == 1:
            return self.domains[0], self.generators["ab"], self.generators["ba"]
        return self.domains[1], self.generators["ba"], self.generators["ab"]

    @torch.inference_mode()
    def translate(self, images: torch.Tensor, to: str) -> tuple[torch.Tensor, torch.Tensor]:
        """float (N, C, H, W) in [-1, 1] already at a size the nets take -> (translated, reconstructed)."""
        _, forward, back = self.direction(to)
        if not len(images):
            return images, images
        device = next(forward.parameters()).device
        moved, again = [], []
        for chunk in images.split(CHUNK):
            out = forward(_channels(chunk.to(device), forward))
            moved.append(out.cpu())
            again.append(back(_channels(out, back)).cpu())
        return torch.cat(moved), torch.cat(again)

    def __call__(self, items: Sequence[UserImage], to: str, cutout: bool = True) -> list[Restyled]:
        """Each image translated into domain ``to`` and back, at its own size; with ``cutout`` a garment on a
        plain backdrop is translated on black and put back on its backdrop."""
        self.direction(to)  # a bad name fails before any work
        side = int(getattr(self.generators["ab"], "image_size", 64))
        colours = [image.rgb.astype(np.float32) / 255 for image in items]
        masks = [garment_mask(rgb) if cutout and image.alpha is None else None for rgb, image in zip(colours, items)]
        garments = [rgb if mask is None else rgb * mask[..., None] for rgb, mask in zip(colours, masks)]
        fitted = torch.stack([_fit(rgb, side) for rgb in garments]) if items else torch.empty(0, 3, side, side)
        moved, again = self.translate(fitted * 2 - 1, to)
        results = []
        for image, rgb, mask, out, back in zip(items, colours, masks, moved, again):
            height, width = rgb.shape[:2]
            translated, reconstructed = _unfit(out, height, width), _unfit(back, height, width)
            notes = list(image.notes)
            if mask is not None:
                translated, reconstructed = onto(translated, rgb, mask), onto(reconstructed, rgb, mask)
                notes.append(f"{image.name}: the garment was cut out of its plain backdrop and put back on it")
            results.append(Restyled(image.name, image.rgb, translated, reconstructed, image.alpha, mask is not None, notes))
        return results


def _channels(x: torch.Tensor, net: nn.Module) -> torch.Tensor:
    """Images with the channel count ``net`` takes: luminance for a grey net, grey repeated for an RGB one."""
    wanted = int(getattr(net, "in_channels", x.shape[1]))
    if wanted == x.shape[1]:
        return x
    if wanted == 1:
        return luminance(x)
    return x.expand(-1, wanted, -1, -1)


def _fit(rgb: np.ndarray, side: int) -> torch.Tensor:
    """(3, side, side) in [0, 1]: the image scaled to fit the square, centred, black around it."""
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0].clamp(0, 1)
    top, left = (side - h) // 2, (side - w) // 2
    out = torch.zeros(3, side, side)
    out[:, top : top + h, left : left + w] = x
    return out


def _unfit(image: torch.Tensor, height: int, width: int) -> np.ndarray:
    """A net's output (C, side, side) in [-1, 1] -> uint8 (height, width, 3): the fitted region, resized back."""
    side = image.shape[-1]
    scale = side / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    top, left = (side - h) // 2, (side - w) // 2
    region = ((image[:, top : top + h, left : left + w] + 1) / 2).clamp(0, 1).expand(3, -1, -1)
    out = F.interpolate(region[None].float(), size=(height, width), mode="bicubic", align_corners=False)[0]
    return _uint8(out.clamp(0, 1).permute(1, 2, 0).numpy())


def _uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values * 255), 0, 255).astype(np.uint8)


def load(checkpoint: str | Path, device: str | torch.device = "cpu") -> Translator:
    """The translator in a checkpoint directory or ``pretrained:NAME``."""
    config = hub.read_config(checkpoint)
    playing = hub.role_nets(config)
    if not {"generator_ab", "generator_ba"} <= set(playing) or not set(playing.values()) <= set(config.get("nets", {})):
        raise CheckpointError(
            f"{checkpoint} holds a {config.get('model', 'unknown')!r} model, not a translation model (it lacks "
            "generator_ab and generator_ba); use a CycleGAN checkpoint such as pretrained:fabric-cyclegan"
        )
    loaded = hub.load_checkpoint(checkpoint, roles=list(playing.values()))
    train_config = config.get("train_config", {})
    names = train_config.get("objective", {}).get("domains", DEFAULT_DOMAINS)
    generators = {"ab": loaded.role("generator_ab").to(device), "ba": loaded.role("generator_ba").to(device)}
    return Translator(generators, (str(names[0]), str(names[1])), str(checkpoint), train_config.get("data"))


def restyle(
    checkpoint: str | Path, paths: Sequence[str | Path], to: str, device: str | torch.device = "cpu", cutout: bool = True,
) -> list[Restyled]:
    """Read ``paths`` (every one checked before any work) and restyle each into domain ``to``."""
    translator = load(checkpoint, device)
    translator.direction(to)
    return translator([read_image(p) for p in paths], to, cutout)


def triplet_figure(results: Sequence[Restyled], path: str | Path, to: str) -> Path:
    """The source's figure: a row per image, original / translated / reconstructed, each fitted into a square tile."""
    if not results:
        raise FashionGANError("no images to show in a triplet figure")
    tiles, captions = [], []
    for result in results:
        for which, caption in (("original", "original"), ("translated", f"to {to}"), ("reconstructed", "reconstructed")):
            tiles.append(np.asarray(ImageOps.pad(Image.fromarray(getattr(result, which)), (TILE, TILE), color=(255, 255, 255))))
            captions.append(caption)
    return save_grid(np.stack(tiles), path, nrow=3, scale=1, captions=captions)
