"""The shipped judges, one registry: which judge scores which model, and what to do when none does.

A judge is a classifier checkpoint whose features define FID/KID and precision/recall and whose logits
read the class (and colour) of generated images. We ship two, trained on our built-in data: the evaluator
(grayscale Fashion-MNIST) and the colour judge (the coloured set). They fit a model only when it draws
their data's image shape and trained on the data their real statistics stand for; a model of a user's
catalogue is judged by a classifier trained on that catalogue (`fashiongan classify train --data ...`).
Light to import: training asks it before any scoring code loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from fashiongan.data.conditions import Conditions
from fashiongan.errors import FashionGANError


@dataclass(frozen=True)
class ShippedJudge:
    """A shipped judge's ``source``, its ``shape`` (the images it takes), its real ``data`` and the training
    datasets (``stands_for``) whose models it scores."""

    source: str
    shape: tuple[int, int, int]
    data: Mapping[str, Any]
    stands_for: tuple[str, ...]


SHIPPED = (
    ShippedJudge("pretrained:evaluator", (1, 28, 28), {"name": "fashion_mnist"}, ("fashion_mnist",)),
    ShippedJudge("pretrained:colour-judge", (3, 28, 28), {"name": "colored", "mode": "catalogue", "seed": 0},
                 ("colored", "attributes")),  # against the catalogue-mode test set
)
EVALUATOR, COLOUR_JUDGE = (judge.source for judge in SHIPPED)


def for_channels(channels: int) -> ShippedJudge:
    """The shipped judge for images of ``channels`` channels with no model behind them (a folder of PNGs)."""
    for judge in SHIPPED:
        if judge.shape[0] == channels:
            return judge
    raise FashionGANError(f"no judge scores {channels}-channel images; give grayscale (1) or RGB (3) images")


def for_model(shape: Conditions, data: Mapping[str, Any] | None) -> ShippedJudge | None:
    """The shipped judge of a model that draws ``shape`` and trained on ``data`` (None: a checkpoint that does not
    say; its shape decides), or None when none fits."""
    for judge in SHIPPED:
        if judge.shape == shape.image_shape and (data is None or data.get("name", "fashion_mnist") in judge.stands_for):
            return judge
    return None


def shipped_for(shape: Conditions, data: Mapping[str, Any] | None) -> str:
    """The source of the shipped judge that fits a model (see :func:`for_model`), or one line saying that none
    does and how to train one: a 64 px catalogue model is never scored by the Fashion-MNIST evaluator."""
    found = for_model(shape, data)
    if found is None:
        c, s = shape.channels, shape.size
        raise FashionGANError(f"no shipped judge scores {c}x{s}x{s} images of {(data or {}).get('name', 'its')!r} data; "
                              f"{train_one(data or {})}")
    return found.source


def train_one(data: Mapping[str, Any]) -> str:
    """How to get a judge for a model trained on ``data``: the command that trains one on it."""
    source = f"{data['name']}:{data['path']}" if data.get("path") else str(data.get("name", "DATA"))
    return f"fashiongan classify train --data {source} --out JUDGE, then pass --judge JUDGE"


def check_fits(judge: Conditions, model: Conditions, judge_name: str) -> None:
    """A judge reads a model's classes only when it was trained on the same ones, and sees its channels."""
    if model.classes is not None and judge.classes != model.classes:
        raise FashionGANError(
            f"judge {judge_name} knows the classes {', '.join(judge.classes or ('none',))}, but the model draws "
            f"{', '.join(model.classes)}; train a judge on the model's data (fashiongan classify train --data ...)"
        )
    if judge.channels != model.channels and not (judge.channels == 1 and model.channels == 3):
        raise FashionGANError(f"judge {judge_name} takes {judge.channels}-channel images; the model draws {model.channels}")
