"""Attribute classifiers as library calls: train one through the engine, score a checkpoint, and name the
attributes of a user's images. The CLI (`fashiongan attributes ...`) calls these; nothing here prints.

The vocabulary (which column and value each output stands for) is fixed before training from the data
and pinned in the config, so the checkpoint's config.json names its outputs and a styles.csv that
changes later is still encoded the way the model learnt it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from fashiongan import hub
from fashiongan.data.datasets import USER_IMAGE_SIZE, attribute_vocabulary, load_training_data, with_source
from fashiongan.data.folders import AttributeVocabulary, decode, images_in, pixels
from fashiongan.data.transforms import to_float
from fashiongan.declaration import declaration
from fashiongan.errors import CheckpointError, DataError, FashionGANError
from fashiongan.images import convert
from fashiongan.objectives.attributes import probabilities, score, vocabulary_of
from fashiongan.train import FitResult, TrainConfig, fit, load_config
from fashiongan.train.config import merge, validate

MODELS = ("attributes", "attributes-source")  # packaged configs: the small CNN, the source's MobileNetV2
NATIVE_SIZE = 28  # the offline set's images
USER_DATA = ("folder", "styles")


def train_config(
    model: str = "attributes",
    data: str = "attributes",
    columns: Sequence[str] | None = None,
    top: int | None = None,
    other: bool | None = None,
    size: int | None = None,
    pretrained: bool = False,
    limit: int | None = None,
    seed: int | None = None,
    data_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """The packaged config ``model`` trained on ``data`` ('attributes', 'folder:DIR' or 'styles:DIR'),
    with the vocabulary pinned: the net's output count, the objective's names and styles' encoding.
    ``columns``, ``top`` and ``other`` choose the attributes of a styles.csv (default: subCategory, gender; top 20)."""
    if model not in MODELS:
        raise FashionGANError(f"unknown attribute model {model!r}; choose one of: {', '.join(MODELS)}")
    layer: dict[str, Any] = {"train": {}} if seed is None else {"train": {}, "seed": seed}
    config = load_config(model, overrides=merge(layer, overrides or {}, closed=False))
    asked = {k: v for k, v in (overrides or {}).get("data", {}).items() if k not in ("name", "path")}
    spec = {**with_source(config.data, data), **asked}
    name = spec["name"]
    if name == "styles":
        spec.update({k: v for k, v in (("attributes", list(columns) if columns else None), ("top", top), ("other", other))
                     if v is not None})
    elif columns or top is not None or other:
        raise FashionGANError("--attributes, --top and --other choose the columns of styles:DIR data, not of "
                              f"{name!r} data")
    if size is not None:
        spec["size"] = size
    if limit is not None:
        if limit < 1:
            raise FashionGANError(f"--limit must be at least 1, got {limit}")
        spec["limit"] = limit
    if data_dir is not None and name not in USER_DATA:
        spec["data_dir"] = str(data_dir)
    vocab = attribute_vocabulary(spec)
    if vocab is None:
        raise FashionGANError(f"dataset {name!r} has no attributes; use attributes, folder:DIR or styles:DIR")
    if name == "styles":
        spec["vocabulary"] = vocab.to_dict()
    config.data = spec
    net = config.nets["classifier"]
    if pretrained and net["arch"] != "mobilenet_attributes":
        raise FashionGANError(f"--pretrained loads ImageNet weights into MobileNetV2 (--model attributes-source), not {net['arch']!r}")
    net["kwargs"] = {**net.get("kwargs", {}), "outputs": len(vocab.names), **({"pretrained": True} if pretrained else {})}
    image_size = spec.get("size") or (USER_IMAGE_SIZE if name in USER_DATA else NATIVE_SIZE)
    config.objective = {**config.objective, "vocabulary": vocab.to_dict(), "image_size": image_size}
    validate(config)
    return config


def train(config: TrainConfig, out: str | Path, progress: bool = True) -> FitResult:
    """Train an attribute config (from ``train_config``) into the checkpoint directory ``out``."""
    if config.model != "attributes":
        raise FashionGANError(f"config trains {config.model!r}, not an attribute classifier")
    return fit(config, out, progress=progress)


@dataclass
class AttributeModel:
    """A loaded attribute classifier: the net (eval mode), what its outputs mean, the size it reads."""

    net: nn.Module
    vocabulary: AttributeVocabulary
    image_size: int
    config: dict[str, Any]


def load(source: str | Path) -> AttributeModel:
    """The attribute classifier of a checkpoint directory or ``pretrained:NAME``."""
    checkpoint = hub.load_checkpoint(source)
    found = declaration(checkpoint.config, checkpoint.path)
    if found.kind != "attribute classifier":
        raise CheckpointError(f"{checkpoint.path} holds a {found.kind} ({found.model!r}), not an attribute classifier")
    hp = checkpoint.config.get("train_config", {}).get("objective", {})
    if hp.get("vocabulary") is None:
        raise CheckpointError(f"{checkpoint.path} does not name its outputs (no objective.vocabulary in its config.json)")
    size = int(hp.get("image_size", NATIVE_SIZE))
    with torch.no_grad():
        outputs = checkpoint.main(torch.zeros(1, 3, size, size)).shape[1]
    return AttributeModel(checkpoint.main, vocabulary_of(hp, outputs), size, checkpoint.config)


@dataclass
class Evaluation:
    """Scores on a held-out split (see ``objectives.attributes.score``) and how many images they cover."""

    metrics: dict[str, float]
    count: int
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "data": self.data, **self.metrics}


def evaluate(
    model: AttributeModel, data: str | None = None, limit: int | None = None, on_batch: Callable[[int], None] | None = None,
) -> Evaluation:
    """Score ``model`` on the held-out split of its training data (the offline set's test split, or the
    seeded 10% of a folder or styles.csv), or of ``data`` given as for training, encoded in the model's vocabulary."""
    spec = dict(model.config["train_config"]["data"])
    if data is not None:
        spec = with_source(spec, data)
        if spec["name"] == "styles":
            spec["vocabulary"] = model.vocabulary.to_dict()
        found = attribute_vocabulary(spec)
        if found is None or found.names != model.vocabulary.names:
            raise FashionGANError(
                f"{data} does not have the attributes this model predicts ({', '.join(model.vocabulary.columns)}"
                f"{'' if found is None else '; it has ' + ', '.join(found.names[:8]) + ('...' if len(found.names) > 8 else '')})"
            )
    if limit is not None:
        spec["limit"] = limit
    held = load_training_data(spec).eval
    if not held or "attributes" not in held:
        raise FashionGANError("the data has no held-out split to score (data.eval_fraction is 0)")
    probs = probabilities(model.net, held["image"], model.image_size, on_batch=on_batch)
    return Evaluation(score(probs, held["attributes"], model.vocabulary), len(probs), spec)


@dataclass
class Prediction:
    """One image's most probable value per column, with its probability, and every value's probability."""

    source: str
    attributes: dict[str, tuple[str, float]]
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.source,
            "attributes": {c: {"value": v, "probability": p} for c, (v, p) in self.attributes.items()},
            "probabilities": self.probabilities,
        }


def image_paths(source: str | Path) -> list[Path]:
    """An image file, or the images of a folder (sorted); one-line errors for a missing path or an empty folder."""
    path = Path(source).expanduser()
    if path.is_dir():
        return images_in(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist")
    return [path]


def _pixels(image: str | Path | Image.Image, size: int) -> np.ndarray:
    return pixels(convert(image), size) if isinstance(image, Image.Image) else decode(Path(image), size)


def predict(
    model: AttributeModel, images: Sequence[str | Path | Image.Image], progress: Callable[[int], None] | None = None,
) -> tuple[list[Prediction], list[tuple[str, str]]]:
    """Attributes of each image (a path or a Pillow image of any size and mode), and the (input, reason)
    of each one that could not be read; an unreadable input among good ones is skipped, never fatal.
    ``progress(1)`` is called per image read."""
    arrays, sources, skipped = [], [], []
    for image in images:
        if progress is not None:
            progress(1)
        name = str(image) if not isinstance(image, Image.Image) else f"image {len(sources) + len(skipped)}"
        try:
            arrays.append(_pixels(image, model.image_size))
            sources.append(name)
        except DataError as exc:
            skipped.append((name, str(exc)))
    if not arrays:
        raise DataError(f"no readable image among {len(skipped)} input(s): {skipped[0][1]}" if skipped else "no images given")
    probs = probabilities(model.net, to_float(np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2))))
    return [_named(source, row, model.vocabulary) for source, row in zip(sources, probs.tolist())], skipped


def _named(source: str, row: list[float], vocab: AttributeVocabulary) -> Prediction:
    best, offset = {}, 0
    for column, values in zip(vocab.columns, vocab.values):
        block = row[offset : offset + len(values)]
        top = int(np.argmax(block))
        best[column] = (values[top], block[top])
        offset += len(values)
    return Prediction(source, best, dict(zip(vocab.names, row)))
