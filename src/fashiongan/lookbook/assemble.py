"""Outfits from rules: draw each outfit's plan (template, slots, classes, fabrics, harmony colours), then fill it.

Everything random comes from the lookbook's seed: outfit k's plan from ``rng([seed, k])``, each class's
candidate seeds from ``rng([seed, class])``, so the same seed and rules give the same lookbook.
``lock`` keeps one item of an earlier lookbook (its manifest) and its outfit's plan, and makes every
other item anew around it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from fashiongan.data import colored
from fashiongan.errors import FashionGANError
from fashiongan.lookbook import harmony as colour_harmony
from fashiongan.lookbook import tasks
from fashiongan.lookbook.capabilities import Capabilities, Models, detect
from fashiongan.lookbook.rules import Rules
from fashiongan.lookbook.select import MAX_CANDIDATES, Item, Recipe, Studio, Unmet, regenerate

MAX_OUTFITS = 48
PLANS = 8          # plans drawn for an outfit before giving up: one whose item cannot be made is drawn anew
PLAN_BUDGET = 64   # candidates per item of a plan that may be drawn anew


@dataclass
class Piece:
    """One slot of an outfit's plan."""

    slot: str
    label: int
    colour: str | None = None
    fabric: str | None = None


@dataclass
class Outfit:
    id: str
    template: str
    harmony: str | None
    pieces: list[Piece]
    classes: tuple[str, ...]  # the generator's class names, which the pieces' labels index
    items: list[Item] = field(default_factory=list)

    @property
    def caption(self) -> str:
        """What rule made this outfit, in words."""
        colours = [p.colour for p in self.pieces if p.colour]
        text = f"{self.template}"
        if self.harmony:
            text += f" · {self.harmony.replace('-', ' + ')}: {', '.join(colours)}"
        fabrics = [f"{p.fabric} {self.classes[p.label].lower()}" for p in self.pieces if p.fabric]
        if fabrics:
            text += f" · {', '.join(fabrics)}"
        return text

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id, "template": self.template, "harmony": self.harmony, "rule": self.caption,
            "pieces": [p.__dict__ for p in self.pieces], "items": [item.id for item in self.items],
        }


@dataclass
class Lookbook:
    seed: int
    rules: Rules
    capabilities: Capabilities
    outfits: list[Outfit]
    seconds: float
    candidates: int
    locked: str | None = None

    @property
    def items(self) -> list[Item]:
        return [item for outfit in self.outfits for item in outfit.items]


def check_outfits(count: int) -> tuple[int, str | None]:
    """The number of outfits to build and, when it was capped, a line that says so."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise FashionGANError(f"a lookbook needs at least 1 outfit, got {count!r}")
    if count > MAX_OUTFITS:
        return MAX_OUTFITS, f"capped at {MAX_OUTFITS} outfits (asked for {count})"
    return int(count), None


def _weighted(rng: np.random.Generator, options: list[Any], weights: list[float]) -> Any:
    p = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def plan(rules: Rules, rng: np.random.Generator, colour: bool, fabrics: tuple[str, ...]) -> tuple[str, str | None, list[Piece]]:
    """One outfit's template, harmony and pieces."""
    template = _weighted(rng, list(rules.templates), [t.weight for t in rules.templates])
    slots = list(template.required) + [s for s, chance in template.optional if rng.random() < chance]
    pieces = [Piece(slot, int(rng.choice(rules.slots[slot]))) for slot in slots]
    for piece in pieces:
        for fabric in rules.fabrics:
            if fabric.name in fabrics and piece.label in fabric.classes and rng.random() < fabric.chance:
                piece.fabric = fabric.name
                break
    harmony = None
    if colour:
        live = [h for h in rules.harmonies if h.weight > 0]
        chosen = _weighted(rng, live, [h.weight for h in live])
        harmony = chosen.name
        plain = [p for p in pieces if p.fabric is None]
        for piece, index in zip(plain, colour_harmony.choose(chosen, rules.palette, len(plain), rng)):
            piece.colour = colored.colour_name(index)
    return template.name, harmony, pieces


def _fabrics(capabilities: Capabilities, models: Models, rules: Rules) -> tuple[str, ...]:
    """The rules' fabrics the shipped restyle model knows (none without one)."""
    if not capabilities.restyler or not rules.fabrics:
        return ()
    known = tasks.fabrics(models.task("restyle", capabilities.restyler))
    return tuple(f.name for f in rules.fabrics if f.name in known)


def _locked(manifest: Mapping[str, Any], item_id: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The outfit index, outfit record and item record of ``item_id`` in an earlier lookbook's manifest."""
    items = {i.get("id"): i for i in manifest.get("items", []) if isinstance(i, Mapping)}
    if item_id not in items:
        known = ", ".join(list(items)[:8]) + (", ..." if len(items) > 8 else "")
        raise FashionGANError(f"lock: {item_id!r} names no item of the lookbook; its items: {known or 'none'}")
    for index, outfit in enumerate(manifest.get("outfits", [])):
        if item_id in outfit.get("items", []):
            return index, outfit, items[item_id]
    raise FashionGANError(f"the manifest lists item {item_id!r} in no outfit; rebuild the lookbook without --lock")


def _pieces(outfit: Mapping[str, Any], record: Mapping[str, Any], classes: tuple[str, ...]) -> list[Piece]:
    """The plan of a locked item's outfit, as the manifest stored it."""
    pieces = []
    for p in outfit.get("pieces", []):
        label = p.get("label") if isinstance(p, Mapping) else None
        if not isinstance(label, int) or not 0 <= label < len(classes) or not isinstance(p.get("slot"), str):
            raise FashionGANError(f"the manifest's outfit of {record.get('id')!r} is malformed; rebuild without --lock")
        pieces.append(Piece(p["slot"], label, p.get("colour"), p.get("fabric")))
    return pieces


def _restore(record: Mapping[str, Any], studio: Studio, models: Models, capabilities: Capabilities) -> Item:
    recipe = Recipe.from_dict(record.get("recipe", {}))
    offered = {g.source for g in capabilities.generators} | set(capabilities.tasks.values())
    for source in filter(None, (recipe.generator, recipe.colorizer, recipe.restyler)):
        if source not in offered:
            raise FashionGANError(f"locked item {record.get('id')!r} was made by {source}, which this lookbook does not offer")
    if not isinstance(recipe.label, int) or not 0 <= recipe.label < len(studio.classes):
        raise FashionGANError(f"locked item {record.get('id')!r} has no valid class in the manifest")
    item = studio.judge([recipe], regenerate([recipe], models), str(record.get("slot", "item")))[0]
    return studio.keep(item)


def _fill(name: str, drawn: tuple[str, str | None, list[Piece]], studio: Studio, budget: int = MAX_CANDIDATES,
          locked: tuple[Any, Item] | None = None) -> Outfit:
    """An outfit with an item made for every piece of its plan (the locked item in its slot)."""
    template, harmony, pieces = drawn
    outfit = Outfit(name, template, harmony, pieces, studio.classes)
    try:
        for piece in pieces:
            if locked and piece.slot == locked[0]:
                outfit.items.append(locked[1])
                locked = None
            else:
                outfit.items.append(studio.make(piece.slot, piece.label, piece.colour, piece.fabric, budget))
    except Unmet:
        for item in outfit.items:
            studio.release(item)
        raise
    if locked:
        raise FashionGANError(f"the manifest's outfit has no slot {locked[0]!r} for the locked item")
    return outfit


def _first_that_fills(name: str, rules: Rules, rng: np.random.Generator, studio: Studio, fabrics: tuple[str, ...]) -> Outfit:
    """The first of up to PLANS plans drawn from ``rng`` whose every item can be made; the later half without
    fabrics (a restyled item the judge does not recognise should cost the outfit its fabric, not the outfit)."""
    for attempt in range(PLANS):
        drawn = plan(rules, rng, studio.colour_by is not None, fabrics if attempt < PLANS // 2 else ())
        try:
            return _fill(name, drawn, studio, PLAN_BUDGET if attempt < PLANS - 1 else MAX_CANDIDATES)
        except Unmet:
            if attempt == PLANS - 1:
                raise
    raise AssertionError("unreachable")


def build(
    outfits: int = 6,
    seed: int | None = None,
    rules: Rules | None = None,
    lock: tuple[Mapping[str, Any], str] | None = None,
    capabilities: Capabilities | None = None,
    models: Models | None = None,
    on_outfit: Callable[[int], None] | None = None,
) -> Lookbook:
    """A lookbook of ``outfits`` outfits; ``lock`` = (an earlier manifest, the id of the item to keep).

    Without ``seed`` a fresh build uses 0 and a locked one the earlier lookbook's seed + 1, so every
    other item changes. ``on_outfit(1)`` is called after each outfit (progress bars).
    """
    from fashiongan.lookbook.rules import load

    started = time.perf_counter()
    count, _ = check_outfits(outfits)
    count = min(count, MAX_OUTFITS)
    capabilities = capabilities or detect()
    rules = rules or load(classes=capabilities.generator.conditions.classes)
    models = models or Models()
    locked = _locked(*lock) if lock else None
    if seed is None:
        seed = int(lock[0].get("seed", -1)) + 1 if lock else 0
    studio = Studio(rules, capabilities, models, seed)
    fabrics = _fabrics(capabilities, models, rules)
    keep = None
    if locked:
        index, outfit, record = locked
        keep = (min(index, count - 1), (str(outfit.get("template")), outfit.get("harmony"), _pieces(outfit, record, studio.classes)),
                record.get("slot"), _restore(record, studio, models, capabilities))
    built = []
    for k in range(count):
        if keep and keep[0] == k:
            built.append(_fill(f"look-{k + 1}", keep[1], studio, locked=(keep[2], keep[3])))
        else:
            rng = np.random.default_rng([seed, 1_000_000 + k])
            built.append(_first_that_fills(f"look-{k + 1}", rules, rng, studio, fabrics))
        if on_outfit is not None:
            on_outfit(1)
    return Lookbook(seed, rules, capabilities, built, time.perf_counter() - started, studio.candidates,
                    lock[1] if lock else None)
