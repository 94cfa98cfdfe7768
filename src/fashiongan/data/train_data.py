"""What every dataset loader returns: tensors in memory (or a stream from disk) and how a batch is prepared.

A leaf of the data layer: loaders (datasets.py, fabrics.py, pairs.py) build it, the engine consumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from fashiongan.data import streaming
from fashiongan.data.augment import Augment
from fashiongan.data.transforms import to_float

TensorDict = dict[str, torch.Tensor]


@dataclass
class TrainData:
    """Tensors of equal length per key; ``eval`` is a held-out set an objective may report on;
    ``size`` and ``augment`` (from the spec, for every dataset) transform training batches."""

    train: TensorDict
    eval: TensorDict | None = None
    augment: Augment | None = None
    size: int | None = None
    stream: Dataset | None = None  # items decoded from disk in worker processes, when too large for memory
    workers: int = 2

    def __len__(self) -> int:
        return len(self.stream) if self.stream is not None else len(next(iter(self.train.values())))

    def to(self, device: torch.device) -> "TrainData":
        """In-memory tensors moved to ``device`` once (a stream moves each batch as it comes)."""
        self.train = {k: v.to(device) for k, v in self.train.items()}
        self.eval = {k: v.to(device) for k, v in self.eval.items()} if self.eval else None
        return self

    def batches(self, seed: int, start: int, per_epoch: int, size: int, rank: int = 0, world: int = 1) -> Iterator[TensorDict]:
        """Training batches for steps ``start``, ``start + 1``, ...: the same seeded order from memory or stream."""
        if self.stream is not None:
            return streaming.stream_batches(self.stream, seed, start, per_epoch, size, rank, world, self.workers)
        return streaming.memory_batches(self.train, seed, start, per_epoch, size, rank, world)

    def prepare(self, batch: TensorDict, generator: torch.Generator) -> TensorDict:
        """A training batch as the model sees it: images stored as uint8 made float in [-1, 1], resized to
        ``size``, then augmented."""
        batch = {k: to_float(v) if v.dim() == 4 and v.dtype == torch.uint8 else v for k, v in batch.items()}
        if self.size is not None:
            batch = {k: resize(v, self.size) if _is_image(v) else v for k, v in batch.items()}
        return batch if self.augment is None else self.augment(batch, generator)


def _is_image(value: torch.Tensor) -> bool:
    return value.dim() == 4 and value.is_floating_point()


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Float images (N, C, H, W) at size x size: bilinear up, area-averaged down."""
    if images.shape[-2:] == (size, size):
        return images
    if size > images.shape[-1]:
        return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    return F.interpolate(images, size=(size, size), mode="area")
