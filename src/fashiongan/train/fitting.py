"""Nets fitted to their data: a packaged recipe trains on any dataset with no config editing.

A config names architectures with settings chosen for Fashion-MNIST (1 channel, 28 px, ten classes). Before
anything is built, the data's :class:`~fashiongan.data.conditions.Conditions` (read without decoding an image)
set what the data decides, in every net that takes the setting: ``channels``; ``size`` (or ``image_size``);
``num_classes`` and ``num_colours`` where the recipe conditions on them (> 0); a classifier's ``classes``;
a discriminator's extra ``outputs`` (ACGAN's and infoGAN's heads follow the classes and colours); a
conditional VAE's attribute ``vocabulary`` and ``prior``. A setting is written only where it changes, so
a built-in config trained on its own data stays as it was. What a model then takes (its declared
conditions) follows from the same settings.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Mapping

import torch

from fashiongan import nets as net_registry
from fashiongan import objectives
from fashiongan.data.conditions import Conditions
from fashiongan.data.datasets import attribute_prior
from fashiongan.errors import FashionGANError

if TYPE_CHECKING:  # config.py imports this module
    from fashiongan.train.config import TrainConfig


def settings(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A net spec's effective settings: its architecture's defaults under the config's kwargs."""
    return {**net_registry.defaults(spec["arch"]), **spec.get("kwargs", {})}


def fit_nets(config: "TrainConfig", found: Conditions) -> "TrainConfig":
    """``config`` (a TrainConfig) with its nets' data-decided settings taken from ``found``; one line naming
    what to use instead when the recipe cannot take the data."""
    objective = objectives.get(config.model)
    specs = copy.deepcopy(config.nets)
    main = settings(specs[objective.main])
    changes = {key: _count(getattr(found, name), key, config) - int(main[key])
               for key, name in (("num_classes", "classes"), ("num_colours", "colours")) if int(main.get(key) or 0) > 0}
    for role, spec in specs.items():
        current = settings(spec)
        update: dict[str, Any] = {}
        if "channels" in current:
            update["channels"] = found.channels
        for key in ("size", "image_size"):
            if key in current:
                update[key] = found.size
        for key, name in (("num_classes", "classes"), ("num_colours", "colours"), ("aux_classes", "classes")):
            if int(current.get(key) or 0) > 0:
                update[key] = _count(getattr(found, name), key, config)
        if "classes" in current and objective.kind == "classifier" and role == objective.main:
            update["classes"] = _count(found.classes, "classes", config)
        if "outputs" in current and role == objective.main and objective.kind == "attribute classifier" and found.attributes:
            update["outputs"] = len(found.attributes.names)
        elif int(current.get("outputs") or 0) > 1 and role != objective.main:
            update["outputs"] = int(current["outputs"]) + sum(changes.values())
        if current.get("attribute_set") is not None and found.attributes is not None and config.data.get("name") != "attributes":
            update.update(attribute_set=None, vocabulary=found.attributes.to_dict(), prior=attribute_prior(config.data))
        elif current.get("attribute_set") is not None and found.attributes is None:
            raise FashionGANError(f"model {config.model!r} draws from attributes, and data {_named(config)} has none: "
                                  "give it styles:DIR, folder:DIR or attributes")
        changed = {k: v for k, v in update.items() if current.get(k) != v}
        if changed:
            spec["kwargs"] = {**spec.get("kwargs", {}), **changed}
    fitted = replace(config, nets=specs)
    _check_shape(fitted, found)
    return fitted


def takes(config: "TrainConfig", found: Conditions) -> Conditions:
    """The conditions a model trained by ``config`` on data ``found`` takes (or, a classifier, tells): what its
    checkpoint declares."""
    objective = objectives.get(config.model)
    main = settings(config.nets[objective.main])
    tells = objective.kind == "classifier"
    return found.taking(
        classes=int(main.get("num_classes") or 0) > 0 or tells,
        colours=int(main.get("num_colours") or 0) > 0,
        attributes=main.get("attribute_set") is not None or main.get("vocabulary") is not None
        or objective.kind == "attribute classifier",
    )


def _count(names: tuple[str, ...] | None, key: str, config: "TrainConfig") -> int:
    if names is None:
        what = "classes" if "class" in key else "colours"
        raise FashionGANError(
            f"model {config.model!r} is conditioned on {what}, and data {_named(config)} has none: "
            + ("use an unconditional model (dcgan, wgan-gp, ...) or folder:DIR with one sub-folder per class"
               if what == "classes" else "use a class-conditional model (acgan-narrow) or the colored data")
        )
    if len(names) < 2 and "class" in key:
        raise FashionGANError(f"data {_named(config)} has one class only; a conditional model needs at least two")
    return len(names)


def _named(config: "TrainConfig") -> str:
    spec = config.data
    return f"{spec.get('name')}:{spec['path']}" if spec.get("path") else repr(spec.get("name", "fashion_mnist"))


ANY_SIZE = "use a model that takes any size and channels (dcgan, acgan-narrow, cgan, wgan-gp, cvae)"


def _check_shape(config: "TrainConfig", found: Conditions) -> None:
    """Every net must take (or, a generator, make) the data's images: one line saying what can, before any data
    loads. Nets are passed images of the data's shape on the meta device (shapes only, no work)."""
    objective = objectives.get(config.model)
    if objective.kind not in ("generator", "vae", "classifier"):
        return
    c, s = found.channels, found.size
    main_arch = config.nets[objective.main]["arch"]  # its nets (a distillation teacher too) make the data's images
    for role, spec in config.nets.items():
        try:
            with torch.device("meta"):
                net = net_registry.build(spec["arch"], **spec.get("kwargs", {})).eval()
                made = found.image_shape
                if spec["arch"] != main_arch:  # a discriminator (labels for those that take them)
                    net(torch.empty(2, *made), torch.zeros(2, dtype=torch.long))
                elif objective.kind == "classifier":
                    net(torch.empty(2, *made))
                else:
                    made = tuple(net.image_shape)
        except FashionGANError:
            return  # a setting the net refuses: validation names it and its role
        except (RuntimeError, TypeError):
            advice = "use --arch evaluator" if objective.kind == "classifier" else ANY_SIZE
            raise FashionGANError(f"the {role} of model {config.model!r} ({spec['arch']}) cannot take the {c}x{s}x{s} "
                                  f"images of data {_named(config)}; {advice}") from None
        if made != found.image_shape:
            resize = f" or --size {made[1]}" if made[0] == c else ""
            raise FashionGANError(
                f"model {config.model!r} draws {made[0]}x{made[1]}x{made[2]} images and cannot be fitted to data "
                f"{_named(config)} ({c}x{s}x{s}); {ANY_SIZE}{resize}"
            )
