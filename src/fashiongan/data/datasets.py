"""Training data by name, as in-memory tensor dicts (small images: indexing beats a DataLoader).

Every dataset takes two per-batch options in the config's ``data`` section: ``size`` (resize every
image tensor of a batch to size x size; data is stored at its native size) and ``augment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import torch

import torch.nn.functional as F
from torch.utils.data import Dataset

from fashiongan.data import attributes, colored, fashion_mnist, streaming
from fashiongan.data.augment import Augment
from fashiongan.data.transforms import to_float
from fashiongan.errors import FashionGANError

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
        """A training batch as the model sees it: resized to ``size``, then augmented."""
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


def _fashion_mnist(data_dir: str | None = None, limit: int | None = None, eval_split: str | None = "test") -> TrainData:
    def tensors(split: str) -> TensorDict:
        images, labels = fashion_mnist.load(split, data_dir).tensors(limit)
        return {"image": images, "label": labels}

    return TrainData(tensors("train"), tensors(eval_split) if eval_split else None)


def _colored(
    mode: str = "catalogue", seed: int = 0, data_dir: str | None = None, limit: int | None = None,
    eval_split: str | None = "test",
) -> TrainData:
    """Coloured Fashion-MNIST: ``image`` RGB, ``gray`` its source item, ``label`` the class, ``colour`` the colour index."""

    def tensors(split: str) -> TensorDict:
        data = colored.load(split, mode, seed, data_dir, limit)
        return {
            "image": to_float(data.images), "gray": to_float(data.gray),
            "label": torch.tensor(data.labels, dtype=torch.long), "colour": torch.tensor(data.colours),
        }

    return TrainData(tensors("train"), tensors(eval_split) if eval_split else None)


def _attributes(seed: int = 0, data_dir: str | None = None, limit: int | None = None, eval_split: str | None = "test") -> TrainData:
    """The offline attribute set: coloured items (catalogue mode) plus ``attributes``, multi-hot (N, 30)."""
    data = _colored("catalogue", seed, data_dir, limit, eval_split)
    for split in (data.train, data.eval):
        if split is not None:
            split["attributes"] = torch.from_numpy(attributes.encode(split["label"].numpy(), split["colour"].numpy()))
    return data


_DATASETS: dict[str, Callable[..., TrainData]] = {
    "fashion_mnist": _fashion_mnist, "colored": _colored, "attributes": _attributes,
}


def dataset_names() -> list[str]:
    return sorted(_DATASETS)


def load_training_data(spec: Mapping[str, Any]) -> TrainData:
    """``spec`` is the config's ``data`` section: {"name": ..., "augment": {...}, other keys passed to the loader}."""
    options = dict(spec)
    name = options.pop("name", "fashion_mnist")
    augment = Augment.from_spec(options.pop("augment", None))
    size = options.pop("size", None)
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 8 <= size <= 1024):
        raise FashionGANError(f"data.size must be a whole number of pixels in 8..1024, got {size!r}")
    if name not in _DATASETS:
        raise FashionGANError(f"unknown dataset {name!r}; choose one of: {', '.join(dataset_names())}")
    try:
        data = _DATASETS[name](**options)
    except TypeError as exc:
        raise FashionGANError(f"dataset {name!r} does not take these options: {exc}") from exc
    data.augment, data.size = augment, size
    return data
