"""Classifiers as library calls: train one through the engine, evaluate a checkpoint on a split.

The CLI (`fashiongan classify ...`) and benchmarks call these; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from fashiongan import hub
from fashiongan.data import fashion_mnist
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.attacks import ATTACKS, check_eps
from fashiongan.nets.classifiers import predict
from fashiongan.train import FitResult, TrainConfig, fit, load_config
from fashiongan.train.config import merge

ARCHS = ["mlp", "cnn", "evaluator"]


def train_config(
    arch: str,
    epochs: int | None = None,
    adversarial: str | None = None,
    eps: float = 0.1,
    seed: int | None = None,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """The packaged config of ``arch`` with the flags laid over it, checked before any work."""
    if arch not in ARCHS:
        raise FashionGANError(f"unknown arch {arch!r}; choose one of: {', '.join(ARCHS)}")
    layer: dict[str, Any] = {"train": {}, "objective": {}, "data": {}}
    if epochs is not None:
        layer["train"]["epochs"] = epochs
    if adversarial is not None:
        if adversarial not in ATTACKS:
            raise FashionGANError(f"unknown attack {adversarial!r}; choose one of: {', '.join(ATTACKS)}")
        layer["objective"].update(adversarial=adversarial, eps=check_eps(eps))
    if seed is not None:
        layer["seed"] = seed
    if data_dir is not None:
        layer["data"]["data_dir"] = str(data_dir)
    if limit is not None:
        layer["data"]["limit"] = limit
    return load_config(arch, overrides=merge(layer, overrides or {}, closed=False))


def train(config: TrainConfig, out: str | Path, progress: bool = True) -> FitResult:
    """Train a classifier config (from ``train_config``) into the checkpoint directory ``out``."""
    if config.model != "classifier":
        raise FashionGANError(f"config trains {config.model!r}, not a classifier")
    return fit(config, out, progress=progress)


def load_classifier(source: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """The classifier of a checkpoint directory or ``pretrained:NAME`` (eval mode) and its config."""
    checkpoint = hub.load_checkpoint(source)
    if checkpoint.config.get("model") != "classifier":
        raise CheckpointError(
            f"{checkpoint.path} holds a {checkpoint.config.get('model')!r} model, not a classifier"
        )
    return checkpoint.main, checkpoint.config


def labelled_images(data_dir: str | Path | None = None, n: int | None = None, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images (float in [-1, 1]) and labels of a Fashion-MNIST split."""
    images, labels = fashion_mnist.load(split, data_dir).tensors()
    if n is not None:
        if n < 1:
            raise FashionGANError(f"n must be at least 1, got {n}")
        images, labels = images[:n], labels[:n]
    return images, labels


@dataclass
class Evaluation:
    """Accuracy overall and per class, and the confusion matrix (rows: true, columns: predicted)."""

    accuracy: float
    per_class: dict[str, float]
    confusion: np.ndarray
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "per_class": self.per_class,
            "confusion": self.confusion.tolist(),
            "count": self.count,
            "classes": list(fashion_mnist.CLASSES),
        }


def evaluate_predictions(predictions: torch.Tensor, labels: torch.Tensor) -> Evaluation:
    """Accuracy, per-class accuracy and confusion matrix from predictions and true labels."""
    k = len(fashion_mnist.CLASSES)
    confusion = torch.bincount(labels * k + predictions, minlength=k * k).view(k, k).numpy()
    support = confusion.sum(1)
    per_class = {
        name: float(confusion[i, i] / support[i]) if support[i] else float("nan")
        for i, name in enumerate(fashion_mnist.CLASSES)
    }
    count = int(len(labels))
    return Evaluation(float(np.trace(confusion) / max(count, 1)), per_class, confusion, count)


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> Evaluation:
    """Score ``model`` on (images, labels)."""
    return evaluate_predictions(predict(model, images, batch_size, on_batch), labels)
