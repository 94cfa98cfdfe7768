"""Restyle a garment's fabric with a translation (CycleGAN) checkpoint: the library behind `fashiongan restyle`.

A translation checkpoint holds both generators (``generator_ab``: domain A -> B, ``generator_ba``: B -> A)
and names its domains (``objective.domains``: leather and denim for the built-in model); ``to`` picks the
direction. A user's image comes as it is: any size and mode (L, RGB, RGBA, LA, P, 16-bit, ...), PNG, JPEG
or whatever Pillow reads; the EXIF orientation is applied and transparent pixels become black (the
background the built-in domains have). A garment photographed on a plain backdrop (white, cream, grey)
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

from fashiongan import hub
from fashiongan.background import garment_mask, onto
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.objectives.cyclegan import DEFAULT_DOMAINS
from fashiongan.user_images import reading
from fashiongan.viz import save_grid

MIN_SIDE = 8
MAX_SIDE = 4096
MAX_PIXELS = 64_000_000  # larger files are refused before decoding (a decompression-bomb guard)
CHUNK = 16  # images translated per forward pass
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as Pillow's convert("L")
TILE = 128  # pixels a side of each image in a triplet figure


@dataclass
class UserImage:
    """A user's image: ``rgb`` float32 (H, W, 3) in [0, 1] on black, ``alpha`` (H, W) in [0, 1] or None."""

    rgb: np.ndarray
    name: str
    alpha: np.ndarray | None = None


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
        rgb = Image.fromarray(getattr(self, which))
        if self.alpha is None:
            return rgb
        rgb.putalpha(Image.fromarray(self.alpha))
        return rgb


def read_image(path: str | Path) -> UserImage:
    """Any image file Pillow reads, as RGB on black in [0, 1] plus its alpha; one-line errors otherwise."""
    name = str(path)
    with reading(name):
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise FashionGANError(
                    f"{name} is {img.width}x{img.height} px, over the {MAX_PIXELS // 1_000_000} megapixels restyle "
                    f"decodes; scale it down to at most {MAX_SIDE} px a side"
                )
            img.load()
            img = ImageOps.exif_transpose(img)
            rgb, alpha = _rgb_alpha(img)
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise FashionGANError(f"{name} is {width}x{height} px; restyle needs at least {MIN_SIDE}x{MIN_SIDE}")
    if max(height, width) > MAX_SIDE:
        raise FashionGANError(f"{name} is {width}x{height} px; scale it down to at most {MAX_SIDE} px a side")
    return UserImage(rgb, name, alpha)


def _rgb_alpha(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """float32 RGB (H, W, 3) premultiplied onto black, and alpha (H, W) when the image has one."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):  # 16-bit grey (Pillow opens some as I)
        values = np.asarray(img, dtype=np.float32)
        scale = 65535.0 if img.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        return np.repeat(np.clip(values / scale, 0, 1)[..., None], 3, axis=2), None
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255
    alpha = rgba[..., 3] if has_alpha else None
    rgb = rgba[..., :3] * (rgba[..., 3:] if has_alpha else 1.0)
    return np.ascontiguousarray(rgb), alpha


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

    def __call__(self, images: Sequence[UserImage], to: str, cutout: bool = True) -> list[Restyled]:
        """Each image translated into domain ``to`` and back, at its own size; with ``cutout`` a garment on a
        plain backdrop is translated on black and put back on its backdrop."""
        self.direction(to)  # a bad name fails before any work
        side = int(getattr(self.generators["ab"], "image_size", 64))
        masks = [garment_mask(image.rgb) if cutout and image.alpha is None else None for image in images]
        garments = [image.rgb if mask is None else image.rgb * mask[..., None] for image, mask in zip(images, masks)]
        fitted = torch.stack([_fit(rgb, side) for rgb in garments]) if images else torch.empty(0, 3, side, side)
        moved, again = self.translate(fitted * 2 - 1, to)
        results = []
        for image, mask, out, back in zip(images, masks, moved, again):
            height, width = image.rgb.shape[:2]
            translated, reconstructed = _unfit(out, height, width), _unfit(back, height, width)
            notes = []
            if mask is not None:
                translated, reconstructed = onto(translated, image.rgb, mask), onto(reconstructed, image.rgb, mask)
                notes.append(f"{image.name}: the garment was cut out of its plain backdrop and put back on it")
            results.append(Restyled(image.name, _uint8(image.rgb), translated, reconstructed,
                                    None if image.alpha is None else _uint8(image.alpha), mask is not None, notes))
        return results


def _channels(x: torch.Tensor, net: nn.Module) -> torch.Tensor:
    """Images with the channel count ``net`` takes: luminance for a grey net, grey repeated for an RGB one."""
    wanted = int(getattr(net, "in_channels", x.shape[1]))
    if wanted == x.shape[1]:
        return x
    if wanted == 1:
        return (x * torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
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
