"""Classifiers: the two source architectures (Fashion-MNIST's, 1 x 28 x 28 -> 10) and the evaluator, our
fixed judge, which also takes a user's catalogue at its own channels, size and classes.

All take images as float (N, C, H, W) in [-1, 1] and return logits (N, classes).
"""

from __future__ import annotations

from typing import Callable

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
    """A VGG-style judge; ``features`` (the penultimate layer) feeds FID/KID, the logits give label accuracy.

    Fashion-MNIST's by default (1 channel, 28 px, ten classes); a judge of a user's catalogue takes its
    ``channels``, ``size`` and ``classes`` (training fits them to the data). Above 28 px the last stage is
    average-pooled to 3x3, so the feature layer keeps its size."""

    def __init__(
        self, width: int = 32, feature_dim: int = 256, dropout: float = 0.4, classes: int = NUM_CLASSES,
        channels: int = 1, size: int = 28,
    ) -> None:
        super().__init__()
        if size < 24:
            raise ValueError(f"the evaluator needs images of at least 24 px, got {size}")
        self.feature_dim, self.in_channels = feature_dim, channels
        blocks = [_conv_block(channels, width), _conv_block(width, 2 * width), _conv_block(2 * width, 4 * width)]  # 28->14->7->3
        pool = [] if size == 28 else [nn.AdaptiveAvgPool2d(3)]
        self.body = nn.Sequential(
            *blocks, *pool, nn.Flatten(),
            nn.Linear(4 * width * 9, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@register("colour_judge")
class ColourJudge(nn.Module):
    """The colour judge: one trunk, two heads, so one pass scores an RGB item's class and colour name.

    Laid out like :class:`Evaluator` (``features`` -> (N, feature_dim) for FID/KID, ``head`` -> class
    logits) plus ``colour_head`` -> (N, num_colours) colour logits; ``forward`` gives the class logits,
    so it also works as a plain classifier. Takes float (N, in_channels, 28, 28) in [-1, 1]. Stages of
    ``convs`` 3x3 convolutions (batch norm, ReLU) each halve the image, 28 -> 14 -> 7 -> 3.

    With ``shading`` the trunk also sees each item's luminance standardised over its garment (pixels
    brighter than the black background): the folds and outline whatever the colour's lightness, since a
    navy and a white coat differ in brightness but not in shape. It spares the net learning that invariance.
    """

    def __init__(
        self, in_channels: int = 3, width: int = 32, feature_dim: int = 256, num_colours: int = 12,
        convs: int = 1, dropout: float = 0.3, shading: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.feature_dim = feature_dim
        self.shading = shading
        stages, c_in = [], in_channels + shading
        for c_out in (width, 2 * width, 4 * width):
            layers: list[nn.Module] = []
            for i in range(convs):
                layers += [
                    nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                ]
            stages.append(nn.Sequential(*layers, nn.MaxPool2d(2)))
            c_in = c_out
        self.body = nn.Sequential(
            *stages, nn.Flatten(),
            nn.Linear(4 * width * 9, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, NUM_CLASSES))
        self.colour_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_colours))

    def standardised_shading(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W): luminance minus its garment mean, over its garment spread; 0 on the background."""
        luma = x.mean(1, keepdim=True)
        garment = (luma > -0.9).to(x.dtype)
        count = garment.sum((2, 3), keepdim=True).clamp_min(1)
        mean = (garment * luma).sum((2, 3), keepdim=True) / count
        spread = ((garment * (luma - mean) ** 2).sum((2, 3), keepdim=True) / count).sqrt()
        return garment * (luma - mean) / (spread + 0.05)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.shading:
            x = torch.cat([x, self.standardised_shading(x)], 1)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@torch.no_grad()
def predict(
    model: torch.nn.Module, images: torch.Tensor, batch_size: int = 1000, on_batch: Callable[[int], None] | None = None
) -> torch.Tensor:
    """Predicted class of every image, in batches (``on_batch(count)`` after each, for progress bars)."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        chunk = images[i : i + batch_size]
        out.append(model(chunk).argmax(1))
        if on_batch is not None:
            on_batch(len(chunk))
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)
