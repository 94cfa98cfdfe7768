"""Multi-label attribute classifiers: one logit per attribute value (a sigmoid each, not a softmax).

``mobilenet_attributes`` is the third source's model: a MobileNetV2 backbone, global average pooling,
dense 1024 ReLU, one output per attribute value. Its ImageNet weights are used when asked for and the
machine can fetch them (a short timeout, then a one-line note and random initialisation: never a hang).
``attribute_cnn`` is a small conv net for 28-64 px inputs that trains in minutes on a CPU.
Both take RGB in [-1, 1] (a single channel is repeated) at any size, thanks to the global pooling.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from fashiongan.atomic import atomic_write
from fashiongan.nets.registry import register

IMAGENET_TIMEOUT = 10.0  # seconds without a byte before the download is given up
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _rgb(x: torch.Tensor) -> torch.Tensor:
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def imagenet_state(timeout: float = IMAGENET_TIMEOUT) -> dict[str, torch.Tensor] | None:
    """torchvision's ImageNet MobileNetV2 weights (torch hub's cache, else downloaded and checked against the
    hash in their file name), or None with a note when offline (``FASHIONGAN_OFFLINE=1``) or unreachable."""
    from torchvision.models import MobileNet_V2_Weights

    url = MobileNet_V2_Weights.IMAGENET1K_V1.url
    path = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    expected = path.stem.rsplit("-", 1)[-1]
    if not path.is_file():
        if os.environ.get("FASHIONGAN_OFFLINE", "") not in ("", "0"):
            _note("offline (FASHIONGAN_OFFLINE): MobileNetV2 starts from random weights, not ImageNet's")
            return None
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                payload = response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            _note(f"cannot download the ImageNet weights ({exc}); MobileNetV2 starts from random weights")
            return None
        if not hashlib.sha256(payload).hexdigest().startswith(expected):
            _note("the downloaded ImageNet weights do not match their hash; MobileNetV2 starts from random weights")
            return None
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(payload))
    return torch.load(path, map_location="cpu", weights_only=True)


@register("mobilenet_attributes")
class MobileNetAttributes(nn.Module):
    """MobileNetV2 features -> global average pooling -> dense ``hidden`` ReLU -> ``outputs`` logits.

    ``pretrained`` loads ImageNet weights into the backbone when they can be had (``width_mult`` 1 only);
    a checkpoint records ``pretrained: false``, since its own weights replace ImageNet's on loading.
    """

    def __init__(self, outputs: int = 25, hidden: int = 1024, pretrained: bool = False, width_mult: float = 1.0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        from torchvision.models import mobilenet_v2

        backbone = mobilenet_v2(weights=None, width_mult=width_mult)
        if pretrained:
            if width_mult != 1.0:
                _note(f"ImageNet weights exist for width_mult 1.0 only; width {width_mult} starts from random weights")
            else:
                state = imagenet_state()
                if state is not None:
                    backbone.load_state_dict(state)
        self.features = backbone.features
        self.head = nn.Sequential(
            nn.Linear(backbone.last_channel, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, outputs),
        )
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def spec(self) -> dict[str, Any]:
        return self._spec

    @spec.setter
    def spec(self, value: Mapping[str, Any]) -> None:
        self._spec = {"arch": value["arch"], "kwargs": {**value["kwargs"], "pretrained": False}}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (_rgb(x).add(1).div(2) - self.mean) / self.std  # [-1, 1] -> ImageNet's normalisation
        return self.head(self.features(x).mean((2, 3)))


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


@register("attribute_cnn")
class AttributeCNN(nn.Module):
    """Three conv stages (``width``, 2x, 4x channels; the first two halve the size), global average
    pooling, dense ``hidden`` ReLU, ``outputs`` logits: 0.28 M parameters at width 32."""

    def __init__(self, outputs: int = 30, in_channels: int = 3, width: int = 32, hidden: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.body = nn.Sequential(
            _block(in_channels, width), nn.MaxPool2d(2),
            _block(width, 2 * width), nn.MaxPool2d(2),
            _block(2 * width, 4 * width), _block(4 * width, 4 * width),
        )
        self.head = nn.Sequential(nn.Linear(4 * width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _rgb(x) if self.in_channels == 3 else x
        return self.head(self.body(x).mean((2, 3)))
