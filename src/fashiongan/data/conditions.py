"""What a dataset's items are, and so what a model trained on it draws and can be asked for.

A checkpoint stores this (config.json ``conditions``), taken from its data when it trains: the image shape,
and each condition it takes with its vocabulary: class names (Fashion-MNIST's ten, or a folder's sub-folder
names), colour names, attribute columns and values. Sampling, evaluation, the lookbook and the web app read
names and counts here, never from a net or from Fashion-MNIST's table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from fashiongan.data.folders import AttributeVocabulary
from fashiongan.errors import FashionGANError


@dataclass(frozen=True)
class Conditions:
    """Image shape (``channels``, ``size`` x ``size``) and the conditions with their names (None: not taken)."""

    channels: int
    size: int
    classes: tuple[str, ...] | None = None
    colours: tuple[str, ...] | None = None
    attributes: AttributeVocabulary | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.channels, self.size, self.size

    def taking(self, classes: bool, colours: bool, attributes: bool) -> "Conditions":
        """These conditions less the ones a model does not take (a DCGAN trained on labelled data takes none)."""
        return replace(self, classes=self.classes if classes else None, colours=self.colours if colours else None,
                       attributes=self.attributes if attributes else None)

    def class_index(self, label: int | str) -> int:
        """A class by name (any case) or index, as this model declares its classes; one line listing them when unknown."""
        return index_of(label, self.classes, "class", "classes")

    def colour_index(self, colour: int | str) -> int:
        return index_of(colour, self.colours, "colour", "colours")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as config.json stores it."""
        return {
            "image_shape": list(self.image_shape),
            "classes": None if self.classes is None else list(self.classes),
            "colours": None if self.colours is None else list(self.colours),
            "attributes": None if self.attributes is None else self.attributes.to_dict(),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> "Conditions":
        try:
            channels, height, width = (int(v) for v in stored["image_shape"])
            names = {key: None if stored.get(key) is None else tuple(map(str, stored[key])) for key in ("classes", "colours")}
        except (KeyError, TypeError, ValueError) as exc:
            raise FashionGANError(f"conditions should be {{image_shape: [C, H, W], classes, colours, attributes}}, got {stored!r}") from exc
        attributes = stored.get("attributes")
        return cls(channels, height, **names, attributes=None if attributes is None else AttributeVocabulary.from_dict(attributes))


def index_of(value: int | str, names: tuple[str, ...] | None, what: str, plural: str) -> int:
    """The index of ``value`` (a name, compared without case or punctuation, or an index) among ``names``; one
    line listing the names when it is not one of them."""
    if names is None:
        raise FashionGANError(f"this model takes no {what}")
    if isinstance(value, bool):
        raise FashionGANError(f"{what} should be a name or an index, got {value!r}")
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(names):
            raise FashionGANError(f"{what} index {index} is outside this model's {len(names)} {plural} (0..{len(names) - 1})")
        return index
    key = _normal(text)
    exact = [i for i, name in enumerate(names) if _normal(name) == key]
    partial = [i for i, name in enumerate(names) if key in map(_normal, re.split(r"[/\s]+", name))]  # "top", "boot"
    found = exact or partial
    if len(found) != 1:
        raise FashionGANError(f"this model has no {what} {text!r}; its {plural}: {', '.join(names)}")
    return found[0]


def _normal(name: str) -> str:
    """A name compared without case, spaces or punctuation: "t-shirt" is "T-shirt"."""
    return re.sub(r"[^0-9a-z]", "", name.lower())
