"""Training recipes found by name: each module defines ``OBJECTIVE``; adding one is a line in ``_MODULES``."""

from __future__ import annotations

from importlib import import_module

from fashiongan.errors import FashionGANError
from fashiongan.objectives.base import Objective

_MODULES = {
    "classifier": "classifier",
    "attributes": "attributes",
    "gan": "gan",
    "dcgan": "dcgan",
    "cgan": "cgan",
    "acgan": "acgan",
    "projgan": "projgan",
    "infogan": "infogan",
    "wgan": "wgan",
    "wgan-gp": "wgan_gp",
    "lsgan": "lsgan",
    "dragan": "dragan",
    "began": "began",
    "ebgan": "ebgan",
    "colour-judge": "colour_judge",
    "pix2pix": "pix2pix",
    "cyclegan": "cyclegan",
    "vae": "vae",
    "flow": "flow",
    "flow-distill": "flow_distill",
}


def names() -> list[str]:
    return list(_MODULES)


def get(name: str) -> Objective:
    """The objective registered as ``name`` (one-line error listing the known ones otherwise)."""
    if name not in _MODULES:
        raise FashionGANError(f"unknown model {name!r}; choose one of: {', '.join(names())}")
    return import_module(f"fashiongan.objectives.{_MODULES[name]}").OBJECTIVE
