"""Training data by name, as in-memory tensor dicts (small images: indexing beats a DataLoader)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch

from fashiongan.data import fashion_mnist
from fashiongan.data.augment import Augment
from fashiongan.errors import FashionGANError

TensorDict = dict[str, torch.Tensor]


@dataclass
class TrainData:
    """Tensors of equal length per key; ``eval`` is a held-out set an objective may report on;
    ``augment`` (from the spec's ``augment`` key, for every dataset) transforms training batches."""

    train: TensorDict
    eval: TensorDict | None = None
    augment: Augment | None = None

    def __len__(self) -> int:
        return len(next(iter(self.train.values())))


def _fashion_mnist(data_dir: str | None = None, limit: int | None = None, eval_split: str | None = "test") -> TrainData:
    def tensors(split: str) -> TensorDict:
        images, labels = fashion_mnist.load(split, data_dir).tensors(limit)
        return {"image": images, "label": labels}

    return TrainData(tensors("train"), tensors(eval_split) if eval_split else None)


_DATASETS: dict[str, Callable[..., TrainData]] = {"fashion_mnist": _fashion_mnist}


def dataset_names() -> list[str]:
    return sorted(_DATASETS)


def load_training_data(spec: Mapping[str, Any]) -> TrainData:
    """``spec`` is the config's ``data`` section: {"name": ..., "augment": {...}, other keys passed to the loader}."""
    options = dict(spec)
    name = options.pop("name", "fashion_mnist")
    augment = Augment.from_spec(options.pop("augment", None))
    if name not in _DATASETS:
        raise FashionGANError(f"unknown dataset {name!r}; choose one of: {', '.join(dataset_names())}")
    try:
        data = _DATASETS[name](**options)
    except TypeError as exc:
        raise FashionGANError(f"dataset {name!r} does not take these options: {exc}") from exc
    data.augment = augment
    return data
