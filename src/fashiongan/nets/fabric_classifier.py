"""The fabric judge's net: which fabric a garment is made of, from its texture and colour.

Three 3x3 conv blocks (BatchNorm, ReLU, 2x2 max-pool) keep the fine weave and grain visible, then global
average and max pooling over the image, so the verdict is about the surface and not about where the
garment sits. Images are seen at ``image_size`` (64: the built-in fabrics' scale; other sizes are
resized to it), float in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.nets.registry import register


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True), nn.MaxPool2d(2),
    )


@register("fabric_classifier")
class FabricClassifier(nn.Module):
    """float (N, in_channels, H, W) -> fabric logits (N, num_fabrics)."""

    def __init__(self, in_channels: int = 3, num_fabrics: int = 2, width: int = 16, image_size: int = 64) -> None:
        super().__init__()
        self.in_channels, self.image_size = in_channels, image_size
        self.body = nn.Sequential(_block(in_channels, width), _block(width, 2 * width), _block(2 * width, 4 * width))
        self.head = nn.Linear(8 * width, num_fabrics)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False, antialias=True)
        h = self.body(x)
        return self.head(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1))
