"""Adapters from the lookbook and the web app to the image-to-image tasks (colorize, restyle).

Each task module is imported only when called, so an install without it still runs everything else
(:func:`fashiongan.lookbook.capabilities.detect` offers a task only when its module imports).
Images in and out are uint8: grayscale (N, H, W), RGB (N, H, W, 3).
"""

from __future__ import annotations

import importlib
from typing import Any, Sequence

import numpy as np


def _module(name: str) -> Any:
    return importlib.import_module(f"fashiongan.{name}")


def _load_colorizer(source: str) -> Any:
    return _module("colorize").load_colorizer(source)


def _load_restyler(source: str) -> Any:
    return _module("restyle").load(source)


LOADERS = {"colorize": _load_colorizer, "restyle": _load_restyler}


def colorize(model: Any, images: np.ndarray, colours: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Grayscale items (N, H, W) painted one colour name (or auto) each by a loaded colorizer -> (N, H, W, 3),
    and bool (N,): which garments were cut out of a plain backdrop (a product photo) and put back on it."""
    results = [model(np.ascontiguousarray(image), colour) for image, colour in zip(images, colours)]
    return np.stack([np.asarray(r.rgb) for r in results]), np.array([r.cut_out for r in results])


def restyle(model: Any, images: np.ndarray, fabric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items (N, H, W[, 3]) translated into ``fabric`` (one of the model's domains) and back:
    (translated, reconstructed), each (N, H, W, 3), and bool (N,): which garments were cut out of a plain
    backdrop (a product photo) for the model and put back on it."""
    module = _module("restyle")
    rgb = images if images.ndim == 4 else np.repeat(images[..., None], 3, axis=-1)
    inputs = [module.UserImage(np.ascontiguousarray(image, dtype=np.uint8), None, f"item {i}") for i, image in enumerate(rgb)]
    results = model(inputs, fabric)
    return (np.stack([r.translated for r in results]), np.stack([r.reconstructed for r in results]),
            np.array([r.cut_out for r in results]))


def fabrics(model: Any) -> tuple[str, ...]:
    """The domain names a loaded restyle model translates between."""
    return tuple(model.domains)
