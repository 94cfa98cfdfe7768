"""Per-batch augmentation on in-memory tensors: random horizontal flips, small shifts and random crops.

Set in a config's ``data`` section, for any dataset: ``augment: {flip: true, shift: 2}``; ``crop: 256``
after ``size: 286`` is CycleGAN's resize-and-crop (a random 256 x 256 window of each example).
Every image tensor of a batch (4-D) gets the same flip and shift per example, so paired
images (pix2pix, colorization) stay aligned. Randomness comes from a generator the engine
seeds per step, so a resumed run sees the same augmented batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.errors import FashionGANError

TensorDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Augment:
    """``flip``: mirror half of the examples left-right; ``shift``: translate by up to this many
    pixels each way, filling with ``fill`` (-1 is the black background of images in [-1, 1]);
    ``crop``: keep a random crop x crop window (0: the whole image)."""

    flip: bool = False
    shift: int = 0
    fill: float = -1.0
    crop: int = 0

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> "Augment | None":
        """An Augment from a config mapping, or None when it asks for nothing; unknown keys are errors."""
        if not spec:
            return None
        if not isinstance(spec, Mapping):
            raise FashionGANError("data.augment must be a mapping such as {flip: true, shift: 2}")
        unknown = set(spec) - {"flip", "shift", "fill", "crop"}
        if unknown:
            raise FashionGANError(f"unknown data.augment setting {sorted(unknown)[0]!r}; known: flip, shift, fill, crop")
        crop = spec.get("crop", 0)
        if not isinstance(crop, int) or isinstance(crop, bool) or crop < 0:
            raise FashionGANError(f"data.augment.crop must be a whole number of pixels >= 0, got {crop!r}")
        shift = spec.get("shift", 0)
        if not isinstance(shift, int) or shift < 0:
            raise FashionGANError(f"data.augment.shift must be a whole number >= 0, got {shift!r}")
        made = cls(bool(spec.get("flip", False)), shift, float(spec.get("fill", -1.0)), crop)
        return made if made.flip or made.shift or made.crop else None

    def __call__(self, batch: TensorDict, generator: torch.Generator) -> TensorDict:
        images = [k for k, v in batch.items() if v.dim() == 4 and v.is_floating_point()]
        if not images:
            return batch
        n = len(batch[images[0]])
        flips = torch.rand(n, generator=generator) < 0.5 if self.flip else None
        offsets = torch.randint(0, 2 * self.shift + 1, (2, n), generator=generator) if self.shift else None
        corners = self._corners(batch[images[0]].shape[-2:], n, generator) if self.crop else None
        out = dict(batch)
        for key in images:
            x = batch[key]
            if flips is not None:
                x = torch.where(flips.to(x.device).view(-1, 1, 1, 1), x.flip(-1), x)
            if offsets is not None:
                x = translate(x, offsets.to(x.device), self.shift, self.fill)
            if corners is not None:
                x = _window(x, corners.to(x.device), self.crop, self.crop)
            out[key] = x
        return out

    def _corners(self, shape: torch.Size, n: int, generator: torch.Generator) -> torch.Tensor:
        """(2, n) top-left corners of the crop windows."""
        height, width = shape
        if self.crop > min(height, width):
            raise FashionGANError(f"data.augment.crop {self.crop} is larger than the {height}x{width} images; set data.size above it")
        return torch.stack([torch.randint(0, height - self.crop + 1, (n,), generator=generator),
                            torch.randint(0, width - self.crop + 1, (n,), generator=generator)])


def translate(x: torch.Tensor, offsets: torch.Tensor, pad: int, fill: float) -> torch.Tensor:
    """Crop each padded example at its own (row, column) offset: a translation by offset - pad."""
    padded = F.pad(x, (pad, pad, pad, pad), value=fill)
    return _window(padded, offsets, *x.shape[-2:])


def _window(x: torch.Tensor, corners: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Each example's h x w window whose top-left corner is its column of ``corners`` (2, n)."""
    n = x.shape[0]
    rows = (corners[0].view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (corners[1].view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    index = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channels = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    return x[index, channels, rows, cols]
