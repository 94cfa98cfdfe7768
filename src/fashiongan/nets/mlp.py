"""Fully connected GAN nets (the second source's vanilla GAN): 100-d noise -> 256 -> 512 -> 1024 -> 784.

The generator uses ReLU and a tanh output; the discriminator mirrors it with LeakyReLU(0.2) and
returns logits (N, 1). ``num_classes`` > 0 concatenates one-hot labels to the input of either net.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.nets.gan import Generator
from fashiongan.nets.registry import register

PIXELS = 28 * 28


def _stack(sizes: Sequence[int], activation: nn.Module, dropout: float = 0.0) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), activation]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return layers


@register("mlp_generator")
class MLPGenerator(Generator):
    def __init__(
        self, z_dim: int = 100, num_classes: int = 0, noise: str = "normal", hidden: Sequence[int] = (256, 512, 1024)
    ) -> None:
        super().__init__(z_dim, num_classes, noise)
        self.net = nn.Sequential(*_stack([z_dim + num_classes, *hidden], nn.ReLU()), nn.Linear(hidden[-1], PIXELS), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(self.condition(z, labels)).view(-1, *self.image_shape)


@register("mlp_discriminator")
class MLPDiscriminator(nn.Module):
    def __init__(self, num_classes: int = 0, hidden: Sequence[int] = (1024, 512, 256), dropout: float = 0.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.net = nn.Sequential(*_stack([PIXELS + num_classes, *hidden], nn.LeakyReLU(0.2), dropout), nn.Linear(hidden[-1], 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        if self.num_classes:
            if labels is None:
                raise ValueError("this discriminator is conditional: pass labels")
            x = torch.cat([x, F.one_hot(labels, self.num_classes).to(x.dtype)], 1)
        return self.net(x)
