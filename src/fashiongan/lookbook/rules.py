"""Outfit rules: the shipped rules.yaml, a user's file laid over it, checked once before any work.

Every mistake a person can make in the file (an unknown class or colour, a slot with no classes, a
template naming no slot, a harmony the colours cannot meet) is a one-line :class:`FashionGANError`
naming the key, so ``fashiongan lookbook --rules`` fails before it generates anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from fashiongan.data import colored
from fashiongan.data.conditions import index_of
from fashiongan.data.datasets import conditions
from fashiongan.errors import FashionGANError
from fashiongan.lookbook import harmony as colour_harmony

DEFAULT = "package rules.yaml"
SHIPPED_CLASSES: tuple[str, ...] = conditions({"name": "fashion_mnist"}).classes  # what rules.yaml's slots name
KEYS = ("confidence", "duplicate_distance", "slots", "outfits", "colours", "harmonies", "fabrics")


@dataclass(frozen=True)
class Template:
    """An outfit shape: slots always filled, and optional slots each filled with its chance."""

    name: str
    required: tuple[str, ...]
    optional: tuple[tuple[str, float], ...]
    weight: float


@dataclass(frozen=True)
class Fabric:
    name: str
    classes: tuple[int, ...]
    chance: float


@dataclass(frozen=True)
class Rules:
    confidence: float
    duplicate_distance: float
    slots: dict[str, tuple[int, ...]]
    templates: tuple[Template, ...]
    palette: colour_harmony.Palette
    harmonies: tuple[colour_harmony.Harmony, ...]
    fabrics: tuple[Fabric, ...]
    source: str = DEFAULT
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def default_text() -> str:
    return (resources.files("fashiongan") / "lookbook" / "rules.yaml").read_text()


def load(path: str | Path | None = None, classes: tuple[str, ...] = SHIPPED_CLASSES) -> Rules:
    """The shipped rules, with the top-level keys of ``path`` (a YAML file) replacing theirs, for a generator of
    ``classes``. The shipped slots, outfits and fabrics name Fashion-MNIST's classes: for a generator of other
    classes the file must give its own slots and outfits (and fabrics, if any)."""
    raw = yaml.safe_load(default_text())
    source, user = DEFAULT, {}
    if path is not None:
        path = Path(path).expanduser()
        try:
            user = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise FashionGANError(f"rules file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise FashionGANError(f"cannot read rules file {path} ({exc})") from None
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 1}" if where is not None else ""
            raise FashionGANError(f"rules file {path} is not valid YAML{line}") from None
        if user is None:
            user = {}
        if not isinstance(user, dict):
            raise FashionGANError(f"rules file {path} should hold a mapping of {', '.join(KEYS)}")
        raw.update(user)
        source = str(path)
    if tuple(classes) != SHIPPED_CLASSES:
        if not {"slots", "outfits"} <= set(user):
            raise FashionGANError(
                f"the shipped rules name Fashion-MNIST's classes; give a rules file (--rules) whose slots and outfits "
                f"name the generator's: {', '.join(classes)}"
            )
        if "fabrics" not in user:
            raw["fabrics"] = {}  # the shipped fabrics name Fashion-MNIST's classes
    return parse(raw, source, tuple(classes))


def parse(raw: Mapping[str, Any], source: str = DEFAULT, classes: tuple[str, ...] = SHIPPED_CLASSES) -> Rules:
    """Check a rules mapping (as in rules.yaml) and build :class:`Rules`; class names are those of ``classes``
    (the generator's, in its order)."""
    where = f"rules ({source})"
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise FashionGANError(f"{where}: unknown key {unknown[0]!r}; the keys are {', '.join(KEYS)}")
    missing = [key for key in KEYS if key not in raw]
    if missing:
        raise FashionGANError(f"{where}: {missing[0]!r} is missing")
    confidence = _number(raw["confidence"], "confidence", where, 0.0, 1.0, low_open=True)
    distance = _number(raw["duplicate_distance"], "duplicate_distance", where, 0.0, 2.0)
    slots = _slots(raw["slots"], where, classes)
    templates = _templates(raw["outfits"], slots, where)
    palette = _palette(raw["colours"], where)
    harmonies = _harmonies(raw["harmonies"], palette, max(len(t.required) + len(t.optional) for t in templates), where)
    fabrics = _fabrics(raw["fabrics"], where, classes)
    return Rules(confidence, distance, slots, templates, palette, harmonies, fabrics, source, dict(raw))


def _mapping(value: Any, key: str, where: str, allow_empty: bool = False) -> Mapping[str, Any]:
    if value is None and allow_empty:
        return {}
    if not isinstance(value, Mapping) or (not value and not allow_empty):
        raise FashionGANError(f"{where}: {key} should be a non-empty mapping")
    return value


def _number(value: Any, key: str, where: str, low: float, high: float, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FashionGANError(f"{where}: {key} should be a number, got {value!r}")
    if not (low < value <= high if low_open else low <= value <= high):
        interval = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise FashionGANError(f"{where}: {key} is {value}, outside {interval}")
    return float(value)


def _class_list(value: Any, key: str, where: str, classes: tuple[str, ...]) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise FashionGANError(f"{where}: {key} lists no classes; give at least one of: {', '.join(classes)}")
    out = []
    for name in value:
        try:
            out.append(index_of(str(name), classes, "class", "classes"))
        except FashionGANError:
            raise FashionGANError(f"{where}: {key}: {name!r} is not a class of the generator; use one of: {', '.join(classes)}") from None
    return tuple(dict.fromkeys(out))


def _slots(value: Any, where: str, classes: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    return {str(name): _class_list(listed, f"slot {name!r}", where, classes)
            for name, listed in _mapping(value, "slots", where).items()}


def _slot_name(name: Any, slots: Mapping[str, Any], key: str, where: str) -> str:
    if name not in slots:
        raise FashionGANError(f"{where}: {key} names slot {name!r}, which is not under slots ({', '.join(slots)})")
    return str(name)


def _templates(value: Any, slots: Mapping[str, Any], where: str) -> tuple[Template, ...]:
    templates = []
    for name, spec in _mapping(value, "outfits", where).items():
        key = f"outfit {name!r}"
        spec = _mapping(spec, key, where)
        extra = sorted(set(spec) - {"required", "optional", "weight"})
        if extra:
            raise FashionGANError(f"{where}: {key} has unknown key {extra[0]!r} (required, optional, weight)")
        required = spec.get("required")
        if isinstance(required, str):
            required = [required]
        if not isinstance(required, list) or not required:
            raise FashionGANError(f"{where}: {key} requires no slot; list at least one under required")
        required = tuple(_slot_name(s, slots, key, where) for s in required)
        optional = tuple(
            (_slot_name(s, slots, key, where), _number(chance, f"{key} optional {s!r}", where, 0.0, 1.0))
            for s, chance in _mapping(spec.get("optional"), f"{key} optional", where, allow_empty=True).items()
        )
        names = list(required) + [s for s, _ in optional]
        if len(set(names)) != len(names):
            raise FashionGANError(f"{where}: {key} uses a slot twice")
        weight = _number(spec.get("weight", 1), f"{key} weight", where, 0.0, 1e6)
        templates.append(Template(str(name), required, optional, weight))
    if not any(t.weight > 0 for t in templates):
        raise FashionGANError(f"{where}: every outfit has weight 0; give one a positive weight")
    return tuple(templates)


def _colour_list(value: Any, key: str, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FashionGANError(f"{where}: colours.{key} should be a list of colour names")
    out = []
    for name in value:
        try:
            out.append(colored.colour_index(name))
        except FashionGANError:
            raise FashionGANError(
                f"{where}: colours.{key}: {name!r} is not a catalogue colour; use one of: {', '.join(colored.colour_names())}"
            ) from None
    return tuple(dict.fromkeys(out))


def _palette(value: Any, where: str) -> colour_harmony.Palette:
    spec = _mapping(value, "colours", where)
    extra = sorted(set(spec) - {"neutrals", "accents"})
    if extra:
        raise FashionGANError(f"{where}: colours has unknown key {extra[0]!r} (neutrals, accents)")
    neutrals = _colour_list(spec.get("neutrals"), "neutrals", where)
    accents = _colour_list(spec.get("accents"), "accents", where)
    both = set(neutrals) & set(accents)
    if both:
        raise FashionGANError(f"{where}: {colored.colour_name(min(both))!r} is both a neutral and an accent")
    return colour_harmony.Palette(neutrals, accents)


def _harmonies(value: Any, palette: colour_harmony.Palette, max_items: int, where: str) -> tuple[colour_harmony.Harmony, ...]:
    found = []
    for name, spec in _mapping(value, "harmonies", where).items():
        if name not in colour_harmony.KINDS:
            raise FashionGANError(f"{where}: unknown harmony {name!r}; choose from {', '.join(colour_harmony.KINDS)}")
        spec = _mapping(spec if spec is not None else {"weight": 1}, f"harmony {name!r}", where)
        allowed = {"weight"} | set(colour_harmony.PARAMETERS[name])
        extra = sorted(set(spec) - allowed)
        if extra:
            raise FashionGANError(f"{where}: harmony {name!r} has unknown key {extra[0]!r} ({', '.join(sorted(allowed))})")
        weight = _number(spec.get("weight", 1), f"harmony {name!r} weight", where, 0.0, 1e6)
        params = {
            key: _number(spec.get(key, default), f"harmony {name!r} {key}", where, 0.0, 180.0)
            for key, default in colour_harmony.PARAMETERS[name].items()
        }
        harmony = colour_harmony.Harmony(name, weight, params)
        if weight > 0:
            problem = colour_harmony.impossible(harmony, palette, max_items)
            if problem:
                raise FashionGANError(f"{where}: harmony {name!r} cannot be met: {problem}")
        found.append(harmony)
    if not any(h.weight > 0 for h in found):
        raise FashionGANError(f"{where}: every harmony has weight 0; give one a positive weight")
    return tuple(found)


def _fabrics(value: Any, where: str, classes: tuple[str, ...]) -> tuple[Fabric, ...]:
    fabrics = []
    for name, spec in _mapping(value, "fabrics", where, allow_empty=True).items():
        key = f"fabric {name!r}"
        spec = _mapping(spec, key, where)
        extra = sorted(set(spec) - {"classes", "chance"})
        if extra:
            raise FashionGANError(f"{where}: {key} has unknown key {extra[0]!r} (classes, chance)")
        fabrics.append(Fabric(str(name), _class_list(spec.get("classes"), f"{key} classes", where, classes),
                              _number(spec.get("chance", 1), f"{key} chance", where, 0.0, 1.0)))
    return tuple(fabrics)
