"""Fashion-MNIST classifiers: the two source architectures and the evaluator, our fixed judge.

All take images as float (N, 1, 28, 28) in [-1, 1] and return logits (N, 10).
"""

from __future__ import annotations

import torch
from torch import nn

from fashiongan.nets.registry import register

NUM_CLASSES = 10


@register("mlp")
class MLP(nn.Module):
    """The first source's dense net: flatten 784 -> 128 (ReLU) -> 10."""

    def __init__(self, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, NUM_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register("cnn")
class CNN(nn.Module):
    """The first source's conv net: 5x5 conv 64 -> 5x5 conv 128 -> 10, with 2x2 max-pooling to stay cheap on CPU."""

    def __init__(self, width: int = 64, dropout: float = 0.3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 5), nn.ReLU(), nn.MaxPool2d(2),            # 28 -> 24 -> 12
            nn.Conv2d(width, 2 * width, 5), nn.ReLU(), nn.MaxPool2d(2),    # 12 -> 8 -> 4
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * 16, NUM_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


@register("evaluator")
class Evaluator(nn.Module):
    """A VGG-style judge; ``features`` (the penultimate layer) feeds FID/KID, the logits give label accuracy."""

    def __init__(self, width: int = 32, feature_dim: int = 256, dropout: float = 0.4) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.body = nn.Sequential(
            _conv_block(1, width), _conv_block(width, 2 * width), _conv_block(2 * width, 4 * width),  # 28->14->7->3
            nn.Flatten(),
            nn.Linear(4 * width * 9, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, NUM_CLASSES))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
