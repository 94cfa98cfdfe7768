"""Attributes we can honestly derive for Fashion-MNIST's items, so attribute models train offline.

Four columns, multi-hot encoded like a product catalogue's (``data.folders.AttributeVocabulary``):
``category`` (the ten classes), ``group`` (top, bottom, one-piece, outerwear, shoes, bag), ``colour``
(the colour name of the coloured set, catalogue mode) and ``tone`` (light or dark, from the colour's
CIE lightness: the garment's tone, not the source's grey, which the painter discards).
"""

from __future__ import annotations

import numpy as np

from fashiongan.data import colored
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.folders import AttributeVocabulary
from fashiongan.errors import FashionGANError

GROUPS = ("top", "bottom", "one-piece", "outerwear", "shoes", "bag")
GROUP_OF_CLASS = ("top", "bottom", "top", "one-piece", "outerwear", "shoes", "top", "shoes", "bag", "shoes")
TONES = ("light", "dark")
LIGHT_FROM = 50.0  # CIE L* at which a colour counts as light


def category_name(index: int) -> str:
    return fm.CLASSES[index].lower()


def vocabulary() -> AttributeVocabulary:
    return AttributeVocabulary(
        ("category", "group", "colour", "tone"),
        (tuple(category_name(i) for i in range(len(fm.CLASSES))), GROUPS, tuple(colored.colour_names()), TONES),
    )


def tone_of_colours() -> np.ndarray:
    """0 (light) or 1 (dark) for every catalogue colour."""
    return (colored.colour_lab(np.arange(len(colored.catalogue())))[:, 0].numpy() < LIGHT_FROM).astype(np.int64)


def columns(labels: np.ndarray, colours: np.ndarray) -> dict[str, list[str]]:
    """Raw attribute values of items of the given classes and colour indices, column by column."""
    tones = tone_of_colours()[colours]
    return {
        "category": [category_name(int(c)) for c in labels],
        "group": [GROUP_OF_CLASS[int(c)] for c in labels],
        "colour": [colored.colour_name(int(c)) for c in colours],
        "tone": [TONES[int(t)] for t in tones],
    }


def encode(labels: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Multi-hot (N, 30) float32 attributes of the items."""
    return vocabulary().encode(columns(labels, colours))


def prior() -> tuple[np.ndarray, np.ndarray]:
    """Every (category, colour) pair as its multi-hot vector (K, 30) with its share of the items (K,),
    what a generator asked for "any" draws from: categories equally often (Fashion-MNIST is balanced),
    colours by their class's prior, as the catalogue set paints them."""
    count = len(colored.catalogue())
    labels, colours = np.divmod(np.arange(len(fm.CLASSES) * count), count)
    return encode(labels, colours), colored.class_priors().reshape(-1) / len(fm.CLASSES)


def parse_request(pairs: list[str], vocab: AttributeVocabulary) -> np.ndarray:
    """``["category=dress", "colour=navy"]`` -> a multi-hot (outputs,) vector; unknown names or values are
    one-line errors listing what exists. A column not named stays all zero (the model's "any")."""
    vector = np.zeros(len(vocab.names), dtype=np.float32)
    for pair in pairs:
        column, sep, value = pair.partition("=")
        column, value = column.strip(), value.strip().lower()
        if not sep or column not in vocab.columns:
            raise FashionGANError(f"attribute {pair!r} should be NAME=VALUE with NAME one of: {', '.join(vocab.columns)}")
        values = vocab.values[vocab.columns.index(column)]
        lowered = [v.lower() for v in values]
        if value not in lowered:
            raise FashionGANError(f"unknown {column} {value!r}; choose one of: {', '.join(values)}")
        vector[vocab.names.index(f"{column}={values[lowered.index(value)]}")] = 1
    return vector
