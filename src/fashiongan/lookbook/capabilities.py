"""What the shipped weights can do in this install, found once at start-up, and the nets loaded once.

The lookbook and the web app grow as models land: a task (colorize, restyle) is offered when its module
imports and a checkpoint of its model is shipped (``pretrained:NAME`` whose config.json names that
model); the best generator is the colour-conditional one when shipped, else a conditional grayscale one.
Adding a task is one :data:`TASKS` entry and one adapter function in :mod:`fashiongan.lookbook.tasks`.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from torch import nn

from fashiongan import hub
from fashiongan.errors import CheckpointError, FashionGANError

GRAY_JUDGE = "pretrained:evaluator"
COLOUR_JUDGE = "pretrained:colour-judge"
# task -> (module that implements it, config.json "model" of the checkpoints that do it)
TASKS: dict[str, tuple[str, str]] = {
    "colorize": ("fashiongan.colorize", "pix2pix"),
    "restyle": ("fashiongan.restyle", "cyclegan"),
}


@dataclass(frozen=True)
class Generator:
    """A shipped generator: its source, whether it takes a class and a colour, its channel count, and the
    attributes it takes instead (column -> values; the cVAEs)."""

    source: str
    model: str
    conditional: bool
    colour: bool
    channels: int
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Capabilities:
    generators: tuple[Generator, ...]
    classifiers: tuple[str, ...]  # grayscale classifiers of the ten Fashion-MNIST classes
    colour_judge: str | None
    tasks: dict[str, str] = field(default_factory=dict)  # task -> pretrained:NAME

    @property
    def generator(self) -> Generator:
        """The best generator for outfits: conditional, the colour one when shipped."""
        conditional = [g for g in self.generators if g.conditional]
        if not conditional:
            raise FashionGANError("no conditional generator is shipped in this install; reinstall fashiongan")
        return max(conditional, key=lambda g: (g.colour, g.channels))

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
        """The colour judge for RGB items when shipped, else the evaluator (which sees their luminance)."""
        return self.colour_judge if channels == 3 and self.colour_judge else GRAY_JUDGE

    def to_dict(self) -> dict[str, Any]:
        return {
            "generators": [g.__dict__ for g in self.generators],
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


def _generator(source: str, config: dict[str, Any]) -> Generator | None:
    """The shipped checkpoint as a generator, judged by its main net built untrained (no weights read);
    classifiers and task models are passed over unbuilt."""
    from fashiongan import nets
    from fashiongan.nets.gan import is_generator

    if config.get("model") == "classifier" or config.get("model") in {model for _, model in TASKS.values()}:
        return None
    spec = config["nets"].get(config["main"], {})
    try:
        net = nets.build(spec["arch"], **spec.get("kwargs", {}))
    except (CheckpointError, KeyError, TypeError):
        return None
    if not is_generator(net):
        return None
    vocabulary = getattr(net, "vocabulary", None)
    return Generator(source, str(config.get("model", "?")), int(getattr(net, "num_classes", 0)) > 0,
                     int(getattr(net, "num_colours", 0)) > 0, int(getattr(net, "image_shape", (1,))[0]),
                     tuple(zip(vocabulary.columns, vocabulary.values)) if vocabulary else ())


@lru_cache(maxsize=1)
def detect() -> Capabilities:
    """Read every shipped checkpoint's config.json once (no weights) and sort them into capabilities."""
    models = {}
    for name in hub.shipped():
        try:
            models[f"{hub.PRETRAINED_PREFIX}{name}"] = hub.read_config(f"{hub.PRETRAINED_PREFIX}{name}")
        except CheckpointError:
            continue
    generators = tuple(filter(None, (_generator(source, config) for source, config in models.items())))
    classifiers = tuple(s for s, c in models.items() if c.get("model") == "classifier"  # of the ten garment classes
                        and c.get("train_config", {}).get("data", {}).get("name") == "fashion_mnist")
    tasks = {}
    for task, (module, model) in TASKS.items():
        shipped = sorted(s for s, c in models.items() if c.get("model") == model)
        if shipped and _importable(module):
            tasks[task] = shipped[0]
    return Capabilities(generators, classifiers, COLOUR_JUDGE if COLOUR_JUDGE in models else None, tasks)


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
