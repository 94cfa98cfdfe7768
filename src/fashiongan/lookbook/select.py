"""Items made to order: generate candidates, colour and restyle them, keep only what the judge vouches for.

An item is made from its :class:`Recipe` alone (generator, class, seed, colour, fabric and the models
that applied them), one image per seed, so ``regenerate(recipe)`` gives back exactly the item the
manifest describes. A candidate is kept when the judge (a user's judge of their generator's classes, else
the colour judge for RGB items when shipped, else the evaluator) gives it the asked class with at least the
rules' confidence and it lies no closer than ``duplicate_distance`` to any item already in the lookbook:
cosine distance of the shape judge's features (a user's judge, else the evaluator's of the items' luminance),
whichever judge scored the class. So one garment in
two colours is one item, and the threshold is calibrated once (a colour judge's features are dominated by
colour: real items of one class and colour lie closer there than distinct garments do in the evaluator's).
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from fashiongan import hub, sampling
from fashiongan.data import colored
from fashiongan.errors import FashionGANError
from fashiongan.lookbook import tasks
from fashiongan.lookbook.capabilities import Capabilities, Models
from fashiongan.lookbook.rules import Rules
from fashiongan.metrics.features import judge_outputs

BATCH = 8              # candidates judged per forward pass
MAX_CANDIDATES = 400   # per item asked for, before giving up with a message


class Unmet(FashionGANError):
    """No candidate of a class (in a colour, a fabric) passed the judge within the budget asked."""


@dataclass(frozen=True)
class Recipe:
    """Everything that makes one item: ``fashiongan sample --checkpoint GENERATOR --label LABEL --n 1
    --seed SEED [--colour COLOUR]`` gives its first stage; the colorizer and restyler then apply theirs."""

    label: int
    seed: int
    generator: str
    colour: str | None = None
    colour_by: str | None = None  # "generator" or "colorizer"
    colorizer: str | None = None
    fabric: str | None = None
    restyler: str | None = None

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> "Recipe":
        try:
            return cls(**{k: value.get(k) for k in cls.__dataclass_fields__})
        except TypeError as exc:
            raise FashionGANError(f"manifest item recipe is malformed ({exc})") from None


@dataclass
class Item:
    id: str
    slot: str
    recipe: Recipe
    class_name: str  # its class by the generator's name for it
    image: np.ndarray
    judge: str
    confidence: float
    colour_confidence: float | None
    features: torch.Tensor

    def record(self) -> dict[str, Any]:
        """The item as the manifest stores it."""
        scores = {"judge": self.judge, "class_confidence": round(self.confidence, 6)}
        if self.colour_confidence is not None:
            scores["colour_confidence"] = round(self.colour_confidence, 6)
        return {"id": self.id, "slot": self.slot, "class": self.class_name, "recipe": asdict(self.recipe),
                "scores": scores, "size": list(self.image.shape)}


def item_id(recipe: Recipe, class_name: str) -> str:
    parts = [class_name, str(recipe.seed), recipe.colour or "", recipe.fabric or ""]
    return "-".join(re.sub(r"[^a-z0-9]+", "", p.lower()) for p in parts if p)


def regenerate(recipes: list[Recipe], models: Models) -> np.ndarray:
    """The images of ``recipes``, exactly as first made: uint8 (N, H, W) or (N, H, W, 3).

    Each item is made on its own, never in a batch: batched convolutions may round differently, and one
    flipped byte would make a manifest's item differ from the lookbook's."""
    return np.concatenate([_make(r, models) for r in recipes])


def _make(r: Recipe, models: Models) -> np.ndarray:
    image = sampling.sample(models.generator(r.generator), 1, label=r.label, seed=r.seed,
                            colour=r.colour if r.colour_by == "generator" else None).images
    if r.colorizer:
        image = tasks.colorize(models.task("colorize", r.colorizer), image, [r.colour])[0]
    if r.restyler:
        image = tasks.restyle(models.task("restyle", r.restyler), image, r.fabric)[0]
    return image


@lru_cache(maxsize=None)
def label_smoothing(source: str) -> float:
    """The label smoothing a judge was trained with (its checkpoint's config), 0 when none."""
    objective = hub.read_config(source).get("train_config", {}).get("objective", {})
    return float(objective.get("label_smoothing", 0.0) or 0.0)


def unsmooth(probs: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Class probabilities with a judge's label smoothing taken out.

    Trained on targets (1 - e) one-hot + e / K, a judge's softmax tops out at 1 - e + e / K (0.91 for the
    evaluator's e = 0.1), so a 0.9 threshold on it would reject nearly everything. Its softmax q estimates
    (1 - e) p + e / K, hence p = (q - e / K) / (1 - e). On the 10,000 Fashion-MNIST test images the evaluator's
    items with p in [0.9, 0.95) are classified right 93.7% of the time, [0.95, 0.99) 97.7%, >= 0.99 99.7%.
    """
    if smoothing <= 0:
        return probs
    k = probs.shape[1]
    return ((probs - smoothing / k) / (1 - smoothing)).clamp(0, 1)


def _seed_stream(rng: np.random.Generator) -> Iterator[int]:
    while True:
        yield int(rng.integers(0, 2**31 - 1))


class Studio:
    """Makes the items of one lookbook, remembering every kept item's features to refuse near-duplicates."""

    def __init__(self, rules: Rules, capabilities: Capabilities, models: Models, seed: int) -> None:
        self.rules, self.capabilities, self.models, self.seed = rules, capabilities, models, int(seed)
        self.generator = capabilities.generator
        self.classes = self.generator.conditions.classes or ()
        self.colour_by = capabilities.colour_by
        self._streams: dict[int, Iterator[int]] = {}
        self._spare: dict[tuple, list[Item]] = {}
        self._kept: dict[str, torch.Tensor] = {}  # item id -> its features
        self.candidates = 0

    def recipe(self, label: int, seed: int, colour: str | None, fabric: str | None) -> Recipe:
        colour = colour if self.colour_by else None
        if self.colour_by == "generator" and colour is None:
            colour = colored.AUTO  # a colour generator needs one: the class's usual colours (a fabric replaces it)
        return Recipe(
            label, seed, self.generator.source, colour, self.colour_by if colour else None,
            self.capabilities.colorizer if colour and self.colour_by == "colorizer" else None,
            fabric, self.capabilities.restyler if fabric else None,
        )

    def _seeds(self, label: int) -> Iterator[int]:
        """The candidate seeds of one class: a stream fixed by the lookbook's seed."""
        if label not in self._streams:
            self._streams[label] = _seed_stream(np.random.default_rng([self.seed, label]))
        return self._streams[label]

    def judge(self, recipes: list[Recipe], images: np.ndarray, slot: str) -> list[Item]:
        channels = 3 if images.ndim == 4 else 1
        source, shape_judge = self.capabilities.judge_for(channels), self.capabilities.shape_judge
        out = judge_outputs(self.models.judge(source), images)
        shapes = out if source == shape_judge else judge_outputs(self.models.judge(shape_judge), images)
        smoothing = label_smoothing(source)
        probs = unsmooth(out.logits.softmax(1), smoothing)
        colour_probs = unsmooth(out.colour_logits.softmax(1), smoothing) if out.colour_logits is not None else None
        features = torch.nn.functional.normalize(shapes.features, dim=1)
        items = []
        for i, r in enumerate(recipes):
            colour_conf = None
            if colour_probs is not None and r.colour and r.colour != colored.AUTO:
                colour_conf = float(colour_probs[i, colored.colour_index(r.colour)])
            name = self.classes[r.label]
            items.append(Item(item_id(r, name), slot, r, name, images[i], source, float(probs[i, r.label]), colour_conf,
                              features[i]))
        return items

    def _fits(self, item: Item) -> bool:
        if item.confidence < self.rules.confidence or item.id in self._kept:
            return False
        if not self._kept:
            return True
        return float((1 - torch.stack(list(self._kept.values())) @ item.features).min()) >= self.rules.duplicate_distance

    def keep(self, item: Item) -> Item:
        self._kept[item.id] = item.features
        return item

    def release(self, item: Item) -> None:
        """Forget a kept item (its outfit is being planned anew); it may serve a later request."""
        del self._kept[item.id]
        self._spare.setdefault((item.recipe.label, item.recipe.colour, item.recipe.fabric), []).append(item)

    def make(self, slot: str, label: int, colour: str | None = None, fabric: str | None = None,
             budget: int = MAX_CANDIDATES) -> Item:
        """A new item of class ``label`` for ``slot`` that passes the judge and is no near-duplicate, from at
        most ``budget`` new candidates (else :class:`Unmet`)."""
        key = (label, colour if self.colour_by else None, fabric)
        spare = self._spare.setdefault(key, [])
        tried = 0
        while True:
            while spare:
                item = spare.pop(0)
                if self._fits(item):
                    item.slot = slot
                    return self.keep(item)
            if tried >= budget:
                what = " ".join(filter(None, (colour if self.colour_by else None, fabric, self.classes[label])))
                raise Unmet(
                    f"no {what} out of {tried} candidates reached judge confidence {self.rules.confidence:g} "
                    "without duplicating another item; lower confidence or duplicate_distance in the rules"
                )
            stream = self._seeds(label)
            recipes = [self.recipe(label, next(stream), colour, fabric) for _ in range(BATCH)]
            tried += BATCH
            self.candidates += BATCH
            spare.extend(item for item in self.judge(recipes, regenerate(recipes, self.models), slot)
                         if item.confidence >= self.rules.confidence)
