"""Classifiers as library calls: train one through the engine (on Fashion-MNIST, or on a user's catalogue
to judge its generators), evaluate a checkpoint on a split, name what it sees in a user's images.

A classifier answers in the class names its checkpoint declares. The CLI (`fashiongan classify ...`) and
benchmarks call these; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from fashiongan import hub
from fashiongan.attacks import ATTACKS, check_eps
from fashiongan.data import fashion_mnist, folders
from fashiongan.data.datasets import conditions, data_layer, load_training_data
from fashiongan.data.transforms import to_float
from fashiongan.declaration import Declaration, declaration
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.images import luminance
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
    data: str | None = None,
    size: int | None = None,
) -> TrainConfig:
    """The packaged config of ``arch`` with the flags laid over it, checked before any work; ``data`` (a dataset
    or folder:DIR / styles:DIR) and ``size`` train it on a user's catalogue, the net fitted to its classes."""
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
    if size is not None:
        layer["data"]["size"] = size
    return load_config(arch, overrides=merge(layer, overrides or {}, closed=False), data=data)


def train(config: TrainConfig, out: str | Path, progress: bool = True) -> FitResult:
    """Train a classifier config (from ``train_config``) into the checkpoint directory ``out``."""
    if config.model != "classifier":
        raise FashionGANError(f"config trains {config.model!r}, not a classifier")
    return fit(config, out, progress=progress)


def load_classifier(source: str | Path) -> tuple[nn.Module, Declaration]:
    """The classifier of a checkpoint directory or ``pretrained:NAME`` (eval mode) and what it declares
    (its classes by name, the image shape it takes)."""
    declared = declaration(hub.read_config(source), source)
    if declared.kind != "classifier":
        raise CheckpointError(f"{hub.resolve(source)} holds a {declared.kind} ({declared.model!r}), not a classifier")
    return hub.load_checkpoint(source).main, declared


def labelled_images(
    data_dir: str | Path | None = None, n: int | None = None, split: str = "test", data: Mapping[str, Any] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images (float in [-1, 1]) and labels of a Fashion-MNIST split, or of the held-out split of
    ``data`` (a dataset spec: a user's folder at the size its classifier takes)."""
    if n is not None and n < 1:
        raise FashionGANError(f"n must be at least 1, got {n}")
    if data is None:
        images, labels = fashion_mnist.load(split, data_dir).tensors()
    else:
        held = load_training_data(data).eval
        if held is None or "label" not in held:
            raise FashionGANError(f"data {data.get('name')} has no labelled held-out images to score a classifier on")
        images, labels = held["image"], held["label"]
    return (images, labels) if n is None else (images[:n], labels[:n])


def held_out_data(checkpoint: str | Path, declared: Declaration, data: str | None) -> dict[str, Any] | None:
    """The data spec whose held-out images score a classifier: ``data`` (a dataset name or KIND:PATH), else its
    own training data when that was a user's catalogue; None for Fashion-MNIST's test split. The images come at
    the size the classifier takes; data of other classes than the classifier's is a one-line error."""
    trained_on = hub.read_config(checkpoint).get("train_config", {}).get("data", {})
    spec = data_layer(data) if data is not None else dict(trained_on) if trained_on.get("path") else None
    if spec is None:
        return None
    spec = {**spec, "size": declared.conditions.size}
    found, knows = conditions(spec).classes, declared.conditions.classes
    if found != knows:
        raise FashionGANError(f"{data} has classes {', '.join(found or ('none',))}; {checkpoint} knows {', '.join(knows or ())}")
    return spec


def image_files(source: Path) -> list[Path]:
    """An image file, or the images of a folder; one line when there is none."""
    if not source.exists():
        raise FashionGANError(f"{source} does not exist; give an image file or a folder of images")
    return folders.images_in(source) if source.is_dir() else [source]


def predict_images(model: nn.Module, declared: Declaration, sources: list[Path]) -> list[dict[str, Any]]:
    """What ``model`` sees in each image file: {file, class, probability, probabilities by class name};
    each image is letterboxed to the classifier's size (luminance for a grayscale one)."""
    shape = declared.conditions
    arrays = [folders.decode(path, shape.size) for path in sources]
    images = to_float(np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2)))
    if shape.channels == 1:
        images = luminance(images)
    with torch.inference_mode():
        probabilities = torch.softmax(model.eval()(images), 1)
    names = shape.classes or tuple(str(i) for i in range(probabilities.shape[1]))
    return [
        {"file": str(path), "class": names[int(row.argmax())], "probability": round(float(row.max()), 6),
         "probabilities": {name: round(float(p), 6) for name, p in zip(names, row)}}
        for path, row in zip(sources, probabilities)
    ]


@dataclass
class Evaluation:
    """Accuracy overall and per class, and the confusion matrix (rows: true, columns: predicted)."""

    accuracy: float
    per_class: dict[str, float]
    confusion: np.ndarray
    count: int

    @property
    def classes(self) -> list[str]:
        return list(self.per_class)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "per_class": self.per_class,
            "confusion": self.confusion.tolist(),
            "count": self.count,
            "classes": self.classes,
        }


def evaluate_predictions(
    predictions: torch.Tensor, labels: torch.Tensor, classes: tuple[str, ...] = fashion_mnist.CLASSES,
) -> Evaluation:
    """Accuracy, per-class accuracy and confusion matrix from predictions and true labels."""
    k = len(classes)
    confusion = torch.bincount(labels * k + predictions, minlength=k * k).view(k, k).numpy()
    support = confusion.sum(1)
    per_class = {name: float(confusion[i, i] / support[i]) if support[i] else float("nan") for i, name in enumerate(classes)}
    count = int(len(labels))
    return Evaluation(float(np.trace(confusion) / max(count, 1)), per_class, confusion, count)


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
    classes: tuple[str, ...] = fashion_mnist.CLASSES,
) -> Evaluation:
    """Score ``model`` on (images, labels); ``classes`` names its outputs (its checkpoint's declaration)."""
    return evaluate_predictions(predict(model, images, batch_size, on_batch), labels, classes)
