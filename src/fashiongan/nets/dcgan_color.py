"""The first source's colour DCGAN at 64x64x3 (Keras, in the style of Atienza's MNIST DCGAN), layer for layer:

  G: Dense(8x8x256)_BR - Dropout - 3 x [UpSample x2 - (128, 128, 64)5c1s_BR] - (32)5c1s_BR - (3)5c1s_Tanh
  D: 4 x [(64, 128, 256, 512)5c2s_L - Dropout] - Dense(outputs)      (logits; L = LeakyReLU 0.2)

Keras' defaults carried over: BatchNormalization(momentum=0.9) is PyTorch's momentum=0.1 (they weigh
opposite sides of the update) with Keras' eps 1e-3; Glorot-uniform weights and zero biases; nearest
upsampling; 'same' padding. ``width`` scales every layer (64 is the source; tests use less).
"""

from __future__ import annotations

import torch
from torch import nn

from fashiongan.nets.gan import Generator
from fashiongan.nets.registry import register

SIZE = 64
KERAS_BN = {"momentum": 0.1, "eps": 1e-3}


def _glorot(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 5, 1, 2), nn.BatchNorm2d(c_out, **KERAS_BN), nn.ReLU()]


@register("dcgan_color_generator")
class DCGANColorGenerator(Generator):
    def __init__(
        self, z_dim: int = 100, num_classes: int = 0, noise: str = "normal", width: int = 64, dropout: float = 0.4,
        channels: int = 3, num_colours: int = 0,
    ) -> None:
        super().__init__(z_dim, num_classes, noise, num_colours=num_colours)
        self.image_shape = (channels, SIZE, SIZE)
        self.base = 4 * width
        self.fc = nn.Sequential(
            nn.Linear(z_dim + num_classes + num_colours, self.base * 8 * 8),
            nn.BatchNorm1d(self.base * 8 * 8, **KERAS_BN), nn.ReLU(),
        )
        self.conv = nn.Sequential(
            nn.Dropout(dropout),
            nn.Upsample(scale_factor=2), *_conv_bn_relu(self.base, 2 * width),   # 8 -> 16
            nn.Upsample(scale_factor=2), *_conv_bn_relu(2 * width, 2 * width),   # 16 -> 32
            nn.Upsample(scale_factor=2), *_conv_bn_relu(2 * width, width),       # 32 -> 64
            *_conv_bn_relu(width, width // 2),
            nn.Conv2d(width // 2, channels, 5, 1, 2), nn.Tanh(),
        )
        _glorot(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, colours: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(self.fc(self.condition(z, labels, colours)).view(-1, self.base, 8, 8))


@register("dcgan_color_discriminator")
class DCGANColorDiscriminator(nn.Module):
    """Logits (N, outputs) of 64x64 images; labels are accepted and ignored (an unconditional D)."""

    def __init__(self, outputs: int = 1, width: int = 64, dropout: float = 0.4, channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in zip((channels, width, 2 * width, 4 * width), (width, 2 * width, 4 * width, 8 * width)):
            layers += [nn.Conv2d(c_in, c_out, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(dropout)]   # 64 -> 32 -> 16 -> 8 -> 4
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(8 * width * 4 * 4, outputs))
        _glorot(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x)
