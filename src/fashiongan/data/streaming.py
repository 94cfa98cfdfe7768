"""Batches in the engine's seeded order, from tensors in memory or from image files decoded on the fly.

Both sources follow one order: epoch ``e`` is a permutation drawn from ``seed`` and ``e``, and step ``s``
takes batch ``s % per_epoch`` of epoch ``s // per_epoch`` (each torchrun rank its own slice). So a
resumed run, which starts the stream at its saved step, sees exactly the batches it would have seen.
Small sets are indexed in memory (at 28 px that beats any DataLoader); sets too large for memory are
decoded in DataLoader worker processes, a batch ahead of the training step.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from fashiongan.data.folders import decode
from fashiongan.data.transforms import to_float
from fashiongan.errors import DataError

TensorDict = dict[str, torch.Tensor]


def epoch_order(count: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def batch_indices(count: int, seed: int, step: int, per_epoch: int, size: int, rank: int = 0, world: int = 1) -> torch.Tensor:
    """Which items training step ``step`` takes on ``rank``."""
    epoch, index = divmod(step, per_epoch)
    start = (index * world + rank) * size
    return epoch_order(count, seed, epoch)[start : start + size]


def memory_batches(
    data: TensorDict, seed: int, start: int, per_epoch: int, size: int, rank: int = 0, world: int = 1
) -> Iterator[TensorDict]:
    """Batches of in-memory tensors for steps ``start``, ``start + 1``, ... (forever)."""
    count = len(next(iter(data.values())))
    device = next(iter(data.values())).device
    step = start
    while True:
        chosen = batch_indices(count, seed, step, per_epoch, size, rank, world).to(device)
        yield {key: value[chosen] for key, value in data.items()}
        step += 1


class ImageFiles(Dataset):
    """Image files decoded (RGB, resized to ``size``) in the worker that loads them, with per-item targets."""

    def __init__(self, files: Sequence[Path], targets: Mapping[str, np.ndarray], size: int) -> None:
        self.files, self.targets, self.size = list(files), dict(targets), size
        self._reported: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> TensorDict:
        """Item ``index``; an unreadable file is replaced by the next readable one (the same one every
        time, so the batch order and resume stay exact) and reported once per worker."""
        for offset in range(len(self.files)):
            item = (index + offset) % len(self.files)
            try:
                pixels = decode(self.files[item], self.size)
            except DataError as exc:
                if item not in self._reported:
                    self._reported.add(item)
                    print(f"note: {exc}; using the next readable image in its place", file=sys.stderr)
                continue
            image = to_float(pixels.transpose(2, 0, 1)[None])[0]
            return {"image": image, **{k: torch.as_tensor(v[item]) for k, v in self.targets.items()}}
        raise DataError(f"none of the {len(self.files)} images to stream could be decoded")


class _Steps:
    """The batch sampler of a stream: the index lists of steps ``start``, ``start + 1``, ..."""

    def __init__(self, count: int, seed: int, start: int, per_epoch: int, size: int, rank: int, world: int) -> None:
        self.args = (count, seed, start, per_epoch, size, rank, world)

    def __iter__(self) -> Iterator[list[int]]:
        count, seed, step, per_epoch, size, rank, world = self.args
        while True:
            yield batch_indices(count, seed, step, per_epoch, size, rank, world).tolist()
            step += 1


def stream_batches(
    dataset: Dataset, seed: int, start: int, per_epoch: int, size: int, rank: int = 0, world: int = 1, workers: int = 2
) -> Iterator[TensorDict]:
    """Batches of ``dataset`` in the same order as :func:`memory_batches`, decoded by ``workers`` processes."""
    sampler = _Steps(len(dataset), seed, start, per_epoch, size, rank, world)
    # Its own generator: workers' seeds must not draw from the global RNG, whose state resume restores.
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=workers, prefetch_factor=4 if workers else None,
                        generator=torch.Generator().manual_seed(seed))
    return iter(loader)
