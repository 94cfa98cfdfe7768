"""Coloured Fashion-MNIST: every real item painted in a garment colour, deterministic from a seed.

Painting happens in CIE Lab (kornia): the garment takes the colour's own lightness and chroma, and
the item's shading survives as its *normalised* deviation from the item's mean grey, added in logit
space around the colour's lightness. So a navy item is dark and a white one light whatever grey it
started from, folds and prints stay visible, and no pixel leaves [0, 100] (a plain multiplicative
tint would instead keep the source's lightness: a light grey T-shirt could never become navy).
The background (grey 0) stays as in the source; anti-aliased edges blend into it.

Two modes (colours and their tables in ``colours.yaml``): ``palette``, the first source's set, one
fixed colour per class; ``catalogue``, every item draws a colour name from its class's prior, and
that name is a label. Images are stored at 28x28 (resize per batch where a model wants more).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import yaml
from kornia.color import lab_to_rgb, rgb_to_lab

from fashiongan.data import fashion_mnist as fm
from fashiongan.errors import FashionGANError

MODES = ("palette", "catalogue")
AUTO = "auto"  # a colour request meaning "whatever suits the item", for conditional models
UNKNOWN_COLOUR = -100  # the colour index of items with no catalogue colour (fabric renders): cross-entropy's ignore_index
FOREGROUND = 0.05  # grey (0-1) from which a pixel counts fully as garment; below it blends into the background
SHADING = 0.45  # logit-lightness per standard deviation of the item's own shading
LIGHTNESS_RANGE = (0.08, 0.92)  # the centre lightness is kept inside this, so shading shows on black and white too


@dataclass(frozen=True)
class Colour:
    name: str
    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#" + "".join(f"{c:02x}" for c in self.rgb)


@dataclass(frozen=True)
class ColoredSplit:
    """One split of the coloured set: ``images`` uint8 (N, 3, 28, 28), ``gray`` (N, 28, 28) the source
    items, ``labels`` their classes, ``colours`` their colour indices into :func:`catalogue`."""

    name: str
    mode: str
    seed: int
    images: np.ndarray
    gray: np.ndarray
    labels: np.ndarray
    colours: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@lru_cache(maxsize=1)
def _tables() -> dict:
    text = (resources.files("fashiongan") / "data" / "colours.yaml").read_text()
    return yaml.safe_load(text)


@lru_cache(maxsize=1)
def catalogue() -> tuple[Colour, ...]:
    """The named garment colours, in label order."""
    return tuple(Colour(name, _hex_rgb(value)) for name, value in _tables()["catalogue"].items())


def _hex_rgb(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def colour_names() -> list[str]:
    return [c.name for c in catalogue()]


def colour_index(name: str | int, allow_auto: bool = False) -> int:
    """The label of a colour name (case and '-'/'_' insensitive) or index; ``auto`` is len(catalogue())
    when allowed. Unknown names are a one-line error listing the known ones."""
    names = colour_names()
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        if 0 <= name < len(names) + allow_auto:
            return int(name)
        raise FashionGANError(f"colour index {name} is outside 0..{len(names) - 1 + allow_auto}")
    key = str(name).strip().lower().replace("-", " ").replace("_", " ")
    if allow_auto and key == AUTO:
        return len(names)
    if key in names:
        return names.index(key)
    known = names + ([AUTO] if allow_auto else [])
    raise FashionGANError(f"unknown colour {name!r}; choose one of: {', '.join(known)}")


def colour_name(index: int) -> str:
    names = colour_names()
    return names[index] if index < len(names) else AUTO


def palette_colours() -> np.ndarray:
    """``palette`` mode: the colour index of every class (int64, 10)."""
    table = _tables()["palette"]
    return np.array([colour_index(table[name]) for name in fm.CLASSES], dtype=np.int64)


def class_priors() -> np.ndarray:
    """``catalogue`` mode: P(colour | class) as a (10, colours) float64 array whose rows sum to 1."""
    tables = _tables()
    weights = np.full((len(fm.CLASSES), len(catalogue())), float(tables["other"]))
    for row, name in enumerate(fm.CLASSES):
        for colour, weight in tables["priors"][name].items():
            weights[row, colour_index(colour)] = float(weight)
    return weights / weights.sum(1, keepdims=True)


def assign_colours(labels: np.ndarray, mode: str, seed: int) -> np.ndarray:
    """A colour index per item: the class's colour (``palette``) or a draw from its prior (``catalogue``)."""
    check_mode(mode)
    labels = np.asarray(labels, dtype=np.int64)
    if mode == "palette":
        return palette_colours()[labels]
    cumulative = class_priors().cumsum(1)
    draws = np.random.default_rng(seed).random(len(labels))
    return np.minimum((draws[:, None] > cumulative[labels]).sum(1), len(catalogue()) - 1).astype(np.int64)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise FashionGANError(f"unknown colour mode {mode!r}; choose one of: {', '.join(MODES)}")
    return mode


def colour_lab(indices: np.ndarray | torch.Tensor) -> torch.Tensor:
    """CIE Lab (N, 3) of catalogue colours given by index."""
    table = torch.tensor([c.rgb for c in catalogue()], dtype=torch.float32) / 255
    return rgb_to_lab(table[torch.as_tensor(np.asarray(indices), dtype=torch.long)][:, :, None, None])[:, :, 0, 0]


def paint(gray: torch.Tensor, lab: torch.Tensor) -> torch.Tensor:
    """Grey items float (N, 1, H, W) in [0, 1] painted in colours Lab (N, 3) -> RGB float (N, 3, H, W) in [0, 1]."""
    weight = (gray / FOREGROUND).clamp(0, 1)
    total = weight.sum((2, 3), keepdim=True).clamp_min(1e-6)
    mean = (weight * gray).sum((2, 3), keepdim=True) / total
    std = ((weight * (gray - mean) ** 2).sum((2, 3), keepdim=True) / total).sqrt()
    shading = ((gray - mean) / (std + 0.05)).clamp(-3, 3)
    centre = torch.logit((lab[:, :1, None, None] / 100).clamp(*LIGHTNESS_RANGE))
    lightness = 100 * torch.sigmoid(centre + SHADING * shading)
    chroma = lab[:, 1:, None, None].expand(-1, -1, *gray.shape[2:])
    rgb = lab_to_rgb(torch.cat([lightness, chroma], 1), clip=True)
    return weight * rgb + (1 - weight) * gray


def paint_items(gray: np.ndarray, colours: np.ndarray, batch: int = 10_000) -> np.ndarray:
    """uint8 grey items (N, H, W) painted in catalogue colours (N,) -> uint8 (N, 3, H, W)."""
    out = np.empty((len(gray), 3, *gray.shape[1:]), dtype=np.uint8)
    for start in range(0, len(gray), batch):
        g = torch.tensor(gray[start : start + batch]).float().div(255).unsqueeze(1)
        rgb = paint(g, colour_lab(colours[start : start + batch]))
        out[start : start + batch] = rgb.mul(255).round().to(torch.uint8).numpy()
    return out


def load(
    split: str = "train", mode: str = "catalogue", seed: int = 0, data_dir: str | Path | None = None,
    limit: int | None = None,
) -> ColoredSplit:
    """The coloured version of a Fashion-MNIST split (its first ``limit`` items), the same for the same seed."""
    check_mode(mode)
    return _load(split, mode, int(seed), None if data_dir is None else str(data_dir), limit)


@lru_cache(maxsize=4)
def _load(split: str, mode: str, seed: int, data_dir: str | None, limit: int | None) -> ColoredSplit:
    source = fm.load(split, data_dir)
    gray, labels = source.images[:limit], source.labels[:limit]
    # Each split has its own stream, so the test set's colours do not depend on the training set's size.
    colours = assign_colours(labels, mode, seed * 2 + fm.SPLITS.index(split))
    images = paint_items(gray, colours)
    for array in (images, colours):
        array.setflags(write=False)
    return ColoredSplit(split, mode, seed, images, gray, labels, colours)
