"""What the shipped weights (and a user's own models) can do in this install, found once, and the nets loaded once.

The lookbook and the web app grow as models land: a task (colorize, restyle) is offered when its module
imports and a checkpoint of its kind is shipped (``pretrained:NAME`` whose config.json declares it); the
best generator is the colour-conditional one when shipped, else a conditional grayscale one. A user's
generators join the shipped ones by name (:meth:`Capabilities.with_generators`), and a lookbook can be made
of one of them, judged by a classifier of its classes (:meth:`Capabilities.for_outfits`). Everything is read
from checkpoints' declarations, never from nets. Adding a task is one :data:`TASKS` entry and one adapter
function in :mod:`fashiongan.lookbook.tasks`.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

from torch import nn

from fashiongan import hub, judges
from fashiongan.data.conditions import Conditions
from fashiongan.data.datasets import conditions
from fashiongan.declaration import Declaration, declared, shipped
from fashiongan.errors import FashionGANError

GRAY_JUDGE = judges.EVALUATOR
COLOUR_JUDGE = judges.COLOUR_JUDGE
GARMENTS: Conditions = conditions({"name": "fashion_mnist"})  # the built-in data: what shipped classifiers, colour and fabric models know
# task -> (module that implements it, the kind of checkpoint that does it)
TASKS: dict[str, tuple[str, str]] = {
    "colorize": ("fashiongan.colorize", "colorizer"),
    "restyle": ("fashiongan.restyle", "translation"),
}


@dataclass(frozen=True)
class Generator:
    """A generator on offer: its ``name`` (``pretrained:NAME``, or the name a user gave their model), its
    checkpoint ``source``, its objective and the conditions it declares (classes, colours, attributes)."""

    name: str
    source: str
    model: str
    conditions: Conditions

    @property
    def conditional(self) -> bool:
        return self.conditions.classes is not None

    @property
    def colour(self) -> bool:
        return self.conditions.colours is not None

    @property
    def channels(self) -> int:
        return self.conditions.channels

    @property
    def attributes(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Column -> values of the attributes it takes instead of a class (the cVAEs)."""
        found = self.conditions.attributes
        return tuple(zip(found.columns, found.values)) if found else ()

    @property
    def built_in(self) -> bool:
        """Whether it draws Fashion-MNIST's classes at 28 px: what the shipped colour and fabric models know."""
        return self.conditions.size == GARMENTS.size and (self.conditions.classes or GARMENTS.classes) == GARMENTS.classes

    def to_dict(self) -> dict[str, Any]:
        shape = self.conditions
        return {"name": self.name, "source": self.source, "model": self.model, "conditional": self.conditional,
                "colour": self.colour, "channels": self.channels, "size": shape.size,
                "classes": list(shape.classes or ()), "colours": list(shape.colours or ()),
                "attributes": [[column, list(values)] for column, values in self.attributes]}


@dataclass(frozen=True)
class Capabilities:
    generators: tuple[Generator, ...]
    classifiers: tuple[str, ...]  # grayscale classifiers of the ten Fashion-MNIST classes
    colour_judge: str | None
    tasks: dict[str, str] = field(default_factory=dict)  # task -> pretrained:NAME
    default: str | None = None  # the generator outfits are made of (by name): the best shipped one when None
    judge: str | None = None  # the judge of that generator's items: the shipped ones when None
    notes: tuple[str, ...] = ()  # what was left out for that generator, and why

    @property
    def generator(self) -> Generator:
        """The generator for outfits: the one chosen, else the best shipped conditional one, the colour one when shipped."""
        if self.default is not None:
            return self.named(self.default)
        conditional = [g for g in self.generators if g.conditional and g.source.startswith(hub.PRETRAINED_PREFIX)]
        if not conditional:
            raise FashionGANError("no conditional generator is shipped in this install; reinstall fashiongan")
        return max(conditional, key=lambda g: (g.colour, g.channels))

    def named(self, name: str) -> Generator:
        for generator in self.generators:
            if generator.name == name:
                return generator
        raise FashionGANError(f"no generator {name!r}; offered: {', '.join(g.name for g in self.generators)}")

    @property
    def colour_by(self) -> str | None:
        """What paints outfit colours: the colour generator itself, else the colorizer, else nothing (grayscale)."""
        if self.generator.colour:
            return "generator"
        return "colorizer" if self.colorizer else None

    @property
    def colorizer(self) -> str | None:
        return self.tasks.get("colorize")

    @property
    def restyler(self) -> str | None:
        return self.tasks.get("restyle")

    def judge_for(self, channels: int) -> str:
        """The chosen judge, else the colour judge for RGB items when shipped, else the evaluator (which sees
        their luminance)."""
        if self.judge is not None:
            return self.judge
        return self.colour_judge if channels == 3 and self.colour_judge else GRAY_JUDGE

    @property
    def shape_judge(self) -> str:
        """The judge whose features tell near-duplicate items apart: the chosen judge, else the evaluator."""
        return self.judge or GRAY_JUDGE

    def with_generators(self, extra: Mapping[str, str]) -> "Capabilities":
        """These capabilities with a user's generators beside the shipped ones: name -> checkpoint directory."""
        added = []
        for name, source in extra.items():
            if name in {g.name for g in self.generators}:
                raise FashionGANError(f"two generators are named {name!r}; name yours with --model NAME=RUN")
            found = _generator(name, source, declared(source))
            if found is None:
                raise FashionGANError(f"{source} holds a {declared(source).kind}, not a generator (see `fashiongan models`)")
            added.append(found)
        return replace(self, generators=self.generators + tuple(added))

    def for_outfits(self, source: str, judge: str | None = None) -> "Capabilities":
        """Capabilities whose outfits are made by the generator at ``source`` and judged by ``judge`` (a classifier
        of its classes; the shipped judge when one fits). The shipped colour and fabric models apply only to items
        they know (Fashion-MNIST's classes at 28 px); otherwise they are left out, with a note."""
        offered = next((g for g in self.generators if g.source == source), None)  # already on offer (serve --model)
        name = offered.name if offered else source if source.startswith(hub.PRETRAINED_PREFIX) else Path(source).name
        caps = self if offered else self.with_generators({name: source})
        chosen = caps.named(name)
        if not chosen.conditional:
            raise FashionGANError(f"{source} draws no class on request; outfits need a class-conditional generator")
        data = hub.read_config(source).get("train_config", {}).get("data", {"name": "fashion_mnist"})
        if judge is None:
            try:
                judges.shipped_for(chosen.conditions, data)
            except FashionGANError as exc:
                raise FashionGANError(f"{source}: {exc}") from None
        else:
            found = declared(judge)
            if found.kind != "classifier":
                raise FashionGANError(f"--judge {judge} holds a {found.kind}, not a judge (fashiongan classify train --data ...)")
            judges.check_fits(found.conditions, chosen.conditions, judge)
        tasks, notes = dict(caps.tasks), []
        if not chosen.built_in:
            notes = [f"{task} ({source}) is left out: it knows Fashion-MNIST's items, not those of {name}"
                     for task, source in sorted(tasks.items())]
            tasks = {}
        return replace(caps, default=name, judge=judge, tasks=tasks, notes=tuple(notes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "generators": [g.to_dict() for g in self.generators],
            "classifiers": list(self.classifiers),
            "colour_judge": self.colour_judge,
            "tasks": dict(self.tasks),
        }


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _generator(name: str, source: str, found: Declaration) -> Generator | None:
    """A checkpoint as a generator on offer, from its declaration alone (no weights read); None when it draws nothing."""
    return Generator(name, source, found.model, found.conditions) if found.draws else None


@lru_cache(maxsize=1)
def detect() -> Capabilities:
    """Sort the shipped checkpoints' declarations (no weights read) into capabilities."""
    found = shipped()
    generators = tuple(filter(None, (_generator(source, source, d) for source, d in found.items())))
    classifiers = tuple(s for s, d in found.items() if d.kind == "classifier" and d.conditions == GARMENTS)
    tasks = {}
    for task, (module, kind) in TASKS.items():
        of_kind = sorted(s for s, d in found.items() if d.kind == kind)
        if of_kind and _importable(module):
            tasks[task] = of_kind[0]
    return Capabilities(generators, classifiers, COLOUR_JUDGE if COLOUR_JUDGE in found else None, tasks)


class Models:
    """Nets loaded once per process and shared by every request; loading is serialised by a lock."""

    def __init__(self) -> None:
        self._nets: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, source: str, load: Callable[[str], Any]) -> Any:
        key = (kind, source)
        with self._lock:
            if key not in self._nets:
                self._nets[key] = load(source)
            return self._nets[key]

    def generator(self, source: str) -> nn.Module:
        from fashiongan.sampling import load_generator

        return self.get("generator", source, load_generator)

    def judge(self, source: str) -> nn.Module:
        from fashiongan.metrics.features import load_judge

        return self.get("judge", source, load_judge)

    def classifier(self, source: str) -> nn.Module:
        from fashiongan.classify import load_classifier

        return self.get("classifier", source, lambda s: load_classifier(s)[0])

    def task(self, task: str, source: str) -> Any:
        from fashiongan.lookbook import tasks

        return self.get(task, source, tasks.LOADERS[task])
