"""pix2pix's PatchGAN discriminator, its depth fitted to the image size.

Layout (Isola et al. 2017): 4x4 stride-2 convs (the first without norm), width doubling up to 8x,
then a 4x4 stride-1 conv with norm and a 4x4 stride-1 conv to one logit per patch; LeakyReLU 0.2.
Three stride-2 layers (the 70x70 PatchGAN) leave 1x1 patches of a 28 px image, so ``n_layers`` defaults
to the most, up to three, that leave at least ``MIN_PATCHES`` patches a side: 2 at 28 and 32 px
(34x34 receptive fields), 3 from 48 px on.

Conditional, as pix2pix's D: ``forward(source, target)`` judges the pair (the grey item and its
colouring), concatenated along channels; ``in_channels`` counts both. ``forward(image)`` alone judges one
image (CycleGAN's D, with ``norm: instance`` as Zhu et al.).
"""

from __future__ import annotations

import torch
from torch import nn

from fashiongan.nets.gan import init_normal
from fashiongan.nets.registry import register

MIN_PATCHES = 4
MAX_LAYERS = 3


def patch_side(image_size: int, n_layers: int) -> int:
    """Patches per side the discriminator's output has for an image_size x image_size input."""
    side = image_size
    for _ in range(n_layers):
        side //= 2
    return side - 2


def fitted_layers(image_size: int) -> int:
    """The most stride-2 layers (1..3) that leave at least MIN_PATCHES patches a side."""
    fitting = [n for n in range(1, MAX_LAYERS + 1) if patch_side(image_size, n) >= MIN_PATCHES]
    if not fitting:
        raise ValueError(f"image_size {image_size} is too small for a PatchGAN (at least 12 px)")
    return max(fitting)


@register("patchgan")
class PatchGAN(nn.Module):
    """Logits (N, 1, P, P), one per overlapping patch of the (source, target) pair."""

    def __init__(
        self, in_channels: int = 4, width: int = 64, n_layers: int | None = None, image_size: int = 28, norm: str = "batch",
    ) -> None:
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")
        norm_layer = nn.BatchNorm2d if norm == "batch" else nn.InstanceNorm2d
        n_layers = fitted_layers(image_size) if n_layers is None else n_layers
        if n_layers < 1 or patch_side(image_size, n_layers) < 1:
            raise ValueError(f"n_layers {n_layers} does not fit image_size {image_size}")
        self.n_layers = n_layers
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        channels = width
        for i in range(1, n_layers):
            out = width * min(2**i, 8)
            layers += [nn.Conv2d(channels, out, 4, 2, 1, bias=False), norm_layer(out), nn.LeakyReLU(0.2)]
            channels = out
        out = width * min(2**n_layers, 8)
        layers += [
            nn.Conv2d(channels, out, 4, 1, 1, bias=False), norm_layer(out), nn.LeakyReLU(0.2),
            nn.Conv2d(out, 1, 4, 1, 1),
        ]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, source: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(source if target is None else torch.cat([source, target], 1))
