"""The fourth source's CycleGAN discriminator: five convolutions 3 -> 64 -> 128 -> 256 -> 512 -> 1.

The source names the widths and LeakyReLU 0.2 and nothing else; this is the widely copied layout those
words describe (aitorzip/PyTorch-CycleGAN): 4x4 convs, the first three stride 2, instance norm after the
second to fourth (``norm: none`` drops it), and the final map of patch scores averaged to one score per
image. Unlike pix2pix's PatchGAN (nets/patchgan.py) its depth does not follow the image size, and its
loss sees one number per image rather than one per patch.
"""

from __future__ import annotations

import torch
from torch import nn

from fashiongan.nets.gan import init_normal
from fashiongan.nets.registry import register

NORMS = ("instance", "none")
MIN_SIZE = 24  # three stride-2 and two 4x4 stride-1 convs leave at least one score


@register("source_discriminator")
class SourceDiscriminator(nn.Module):
    """float (N, in_channels, H, W), H and W at least 24 -> one score per image (N, 1).
    ``image_size``: the side of the images it will judge, checked here rather than deep in a conv."""

    def __init__(self, in_channels: int = 3, width: int = 64, norm: str = "instance", image_size: int = 256) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        if image_size < MIN_SIZE:
            raise ValueError(f"image_size {image_size} is too small for this discriminator (at least {MIN_SIZE} px)")
        self.in_channels = in_channels

        def normed(channels: int) -> list[nn.Module]:
            return [nn.InstanceNorm2d(channels)] if norm == "instance" else []

        w = width
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w, 2 * w, 4, 2, 1), *normed(2 * w), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1), *normed(4 * w), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * w, 8 * w, 4, 1, 1), *normed(8 * w), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(8 * w, 1, 4, 1, 1),
        )
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).mean((2, 3))
