"""Differentiable augmentation for the discriminator (DiffAugment, Zhao et al. 2020).

The same random transform family is applied to real and fake images every time D sees them (in D's
step and in G's), so D cannot tell them apart by the augmentation and G gets gradients through it.
Ops, named in ``objective.diffaugment`` (a comma-separated policy, applied in order):

- ``translation``: shift by up to 1/8 of the side, the background (-1) filling in;
- ``cutout``: blank a square of half the side to the background;
- ``brightness``: add a per-image offset in [-0.5, 0.5] (grey or RGB alike), ``contrast``: scale each
  image around its mean by [0.5, 1.5].

Randomness comes from the global RNG on the images' device, so a resumed run draws the same transforms.
"""

from __future__ import annotations

from typing import Callable

import torch

from fashiongan.data.augment import translate
from fashiongan.errors import FashionGANError

BACKGROUND = -1.0


def _translation(x: torch.Tensor) -> torch.Tensor:
    pad = max(1, round(x.shape[-1] / 8))
    offsets = torch.randint(0, 2 * pad + 1, (2, len(x)), device=x.device)
    return translate(x, offsets, pad, BACKGROUND)


def _cutout(x: torch.Tensor) -> torch.Tensor:
    n, _, h, w = x.shape
    size_h, size_w = h // 2, w // 2
    top = torch.randint(0, h - size_h + 1, (n, 1, 1, 1), device=x.device)
    left = torch.randint(0, w - size_w + 1, (n, 1, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, 1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, 1, w)
    hole = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x.masked_fill(hole, BACKGROUND)


def _brightness(x: torch.Tensor) -> torch.Tensor:
    return x + torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5


def _contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


OPS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "translation": _translation, "cutout": _cutout, "brightness": _brightness, "contrast": _contrast,
}


def policy(spec: str | None) -> tuple[str, ...]:
    """The op names of a policy string ('' or None: none), rejected before training if one is unknown."""
    if not spec:
        return ()
    names = tuple(name.strip() for name in str(spec).split(",") if name.strip())
    unknown = [name for name in names if name not in OPS]
    if unknown:
        raise FashionGANError(f"objective.diffaugment: unknown op {unknown[0]!r}; known: {', '.join(OPS)}")
    return names


def augment(x: torch.Tensor, ops: tuple[str, ...]) -> torch.Tensor:
    """``x`` through each op of the policy in turn (differentiable in ``x``)."""
    for name in ops:
        x = OPS[name](x)
    return x
