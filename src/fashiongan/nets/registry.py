"""Architectures by name, so a checkpoint's config.json can rebuild its nets with no code changes."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from torch import nn

from fashiongan.errors import CheckpointError

_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}


def register(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class decorator: make an architecture buildable by name."""

    def add(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _ARCHITECTURES:
            raise ValueError(f"architecture {name!r} registered twice")
        _ARCHITECTURES[name] = factory
        return factory

    return add


def architectures() -> list[str]:
    return sorted(_ARCHITECTURES)


def defaults(arch: str) -> dict[str, Any]:
    """An architecture's keyword defaults: what a config that leaves a setting out gets."""
    if arch not in _ARCHITECTURES:
        raise CheckpointError(f"unknown architecture {arch!r}; known: {', '.join(architectures())}")
    parameters = inspect.signature(_ARCHITECTURES[arch]).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def build(arch: str, **kwargs: Any) -> nn.Module:
    """Instantiate a registered architecture and remember how, for save_pretrained."""
    if arch not in _ARCHITECTURES:
        raise CheckpointError(f"unknown architecture {arch!r}; known: {', '.join(architectures())}")
    try:
        module = _ARCHITECTURES[arch](**kwargs)
    except TypeError as exc:
        raise CheckpointError(f"architecture {arch!r} does not take these settings: {exc}") from exc
    except ValueError as exc:  # a setting it takes, at a value it refuses: the net's own one-line reason
        raise CheckpointError(f"architecture {arch!r}: {exc}") from exc
    module.spec = {"arch": arch, "kwargs": dict(kwargs)}
    return module


def spec(module: nn.Module) -> dict[str, Any]:
    """How to rebuild ``module``: {"arch": name, "kwargs": {...}}."""
    try:
        return dict(module.spec)
    except AttributeError:
        raise ValueError(f"{type(module).__name__} was not made by fashiongan.nets.build") from None
