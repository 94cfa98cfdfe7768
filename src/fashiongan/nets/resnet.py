"""CycleGAN's ResNet generator (Johnson et al. 2016 as used by Zhu et al. 2017).

c7s1-w, d2w, d4w, ``blocks`` x R4w, u2w, uw, c7s1-out: a 7x7 reflection-padded stem, two 3x3 stride-2
downsamplings, residual blocks (two reflection-padded 3x3 convs each), two 3x3 stride-2 transposed
convs, a 7x7 conv and tanh. Instance norm without affine parameters, ReLU, N(0, 0.02) init, as the
reference. Zhu et al. use 9 blocks at 256 px and 6 below; ``width`` is their ngf (64).

Fully convolutional: sides that are not multiples of 4 are padded (edge replication) and the output
cropped back, so any size runs. ``image_size`` is the side the net was trained at, what a caller
resizes a user's image to so the fabric's texture keeps its scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.nets.gan import init_normal
from fashiongan.nets.registry import register

DOWNSAMPLINGS = 2


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """x + (pad-conv3x3-IN-ReLU-pad-conv3x3-IN)(x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register("resnet_generator")
class ResnetGenerator(nn.Module):
    """float (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1]."""

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, width: int = 64, blocks: int = 9, image_size: int = 256,
    ) -> None:
        super().__init__()
        if blocks < 1 or width < 1:
            raise ValueError(f"blocks and width must be positive, got {blocks} and {width}")
        if image_size < 2**DOWNSAMPLINGS * 2:
            raise ValueError(f"image_size {image_size} is too small for a ResNet generator (at least 8 px)")
        self.in_channels, self.out_channels, self.image_size = in_channels, out_channels, image_size
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7), _norm(width), nn.ReLU(inplace=True),
        ]
        channels = width
        for _ in range(DOWNSAMPLINGS):
            layers += [nn.Conv2d(channels, 2 * channels, 3, 2, 1), _norm(2 * channels), nn.ReLU(inplace=True)]
            channels *= 2
        layers += [ResidualBlock(channels) for _ in range(blocks)]
        for _ in range(DOWNSAMPLINGS):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 3, 2, 1, output_padding=1), _norm(channels // 2),
                nn.ReLU(inplace=True),
            ]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        step = 2**DOWNSAMPLINGS
        pad_h, pad_w = -height % step, -width % step
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        return self.net(x)[..., :height, :width]
