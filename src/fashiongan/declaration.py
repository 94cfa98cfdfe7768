"""What a checkpoint says it is, read from its config.json: the one answer every consumer asks.

Training writes ``kind`` (generator, vae, translation, colorizer, classifier, attribute classifier, as its
objective declares), ``roles`` (the stored net that plays each inference role: the EMA copy where one was
kept) and ``conditions`` (image shape; class, colour and attribute vocabularies, from its data). Sampling,
evaluation, tracking, export, `models`, the lookbook and the web app read this, never a net's attributes.
A checkpoint written before declarations existed has them worked out once from its training config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from fashiongan import hub, objectives
from fashiongan.data.conditions import Conditions
from fashiongan.data.datasets import conditions
from fashiongan.data.fashion_mnist import SIZE
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.train.fitting import settings, takes

DRAWS = ("generator", "vae")  # kinds that draw new images from noise (and conditions)


@dataclass(frozen=True)
class Declaration:
    """A checkpoint's ``model`` (its objective), ``kind``, inference ``roles`` and ``conditions``, and the
    objective's ``hyperparameters`` it was trained with (what sampling may depend on: flow's condition dropout)."""

    model: str
    kind: str
    roles: dict[str, str]
    conditions: Conditions
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def draws(self) -> bool:
        """Whether it makes new images (a generator or VAE): what `sample` and the lookbook need."""
        return self.kind in DRAWS

    @property
    def integrates(self) -> bool:
        """Whether it samples by integrating an ODE (flow models): what takes sampling steps and guidance."""
        return objectives.get(self.model).ode


def declaration(config: Mapping[str, Any], where: str | Path = "the checkpoint") -> Declaration:
    """The declaration in a checkpoint's config.json (``config``), or one worked out from its training config."""
    model = str(config.get("model", ""))
    if model not in objectives.names():
        raise CheckpointError(f"{where} holds a {model or 'nameless'} model, which this version of fashiongan does not know")
    kind = str(config.get("kind") or objectives.get(model).kind)
    stored = config.get("conditions")
    try:
        conditions = Conditions.from_dict(stored) if isinstance(stored, Mapping) else _from_training(config, where)
    except FashionGANError as exc:
        raise CheckpointError(f"{where}: {exc}") from None
    trained = config.get("train_config", {}).get("objective") or {}
    return Declaration(model, kind, hub.role_nets(config), conditions, objectives.get(model).hyperparameters(trained))


def declared(source: str | Path) -> Declaration:
    """The declaration of a checkpoint directory or ``pretrained:NAME``."""
    return declaration(hub.read_config(source), source)


@lru_cache(maxsize=1)
def shipped() -> dict[str, Declaration]:
    """Every checkpoint shipped in the package that this version reads, by ``pretrained:NAME``: the one catalogue
    of shipped weights (sampling, `models`, the lookbook and the web app sort it by kind)."""
    found = {}
    for name in hub.shipped():
        try:
            found[f"{hub.PRETRAINED_PREFIX}{name}"] = declared(f"{hub.PRETRAINED_PREFIX}{name}")
        except CheckpointError:
            continue
    return found


def _from_training(config: Mapping[str, Any], where: str | Path) -> Conditions:
    from fashiongan.train.config import TrainConfig  # the config module imports tracking, which samples

    saved = config.get("train_config")
    if isinstance(saved, Mapping) and all(k in saved for k in ("model", "nets", "data")):
        train_config = TrainConfig(**{k: saved[k] for k in TrainConfig.__dataclass_fields__ if k in saved})
        return takes(train_config, conditions(train_config.data))
    return _from_nets(config, where)


def _from_nets(config: Mapping[str, Any], where: str | Path) -> Conditions:
    """A checkpoint saved by hand (no training config): its main net's settings, its conditions named by index."""
    spec = config["nets"].get(str(config["main"]))
    if not isinstance(spec, Mapping) or not isinstance(spec.get("arch"), str):
        raise CheckpointError(f"{where} declares no conditions; re-export it with this version of fashiongan")
    found = settings(spec)
    channels = int(found.get("channels", found.get("in_channels", 1)))
    size = int(found.get("size", found.get("image_size", SIZE)))
    named = {key: tuple(str(i) for i in range(int(found.get(key) or 0))) or None for key in ("num_classes", "num_colours")}
    return Conditions(channels, size, named["num_classes"], named["num_colours"])
