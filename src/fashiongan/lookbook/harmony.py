"""Colour harmony for an outfit: neutral + one accent, analogous, complementary, on the catalogue's colours.

Hues are CIE LCh angles (kornia's Lab of each catalogue sRGB value), so "analogous" and "complementary"
are judged on a perceptual wheel rather than on RGB; neutrals carry no hue in the rules, whatever theirs is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import Mapping

import numpy as np

from fashiongan.data import colored

KINDS = ("neutral-accent", "analogous", "complementary")
PARAMETERS: dict[str, dict[str, float]] = {
    "neutral-accent": {},
    "analogous": {"max_hue_gap": 50.0},
    "complementary": {"min_hue_gap": 120.0},
}


@dataclass(frozen=True)
class Palette:
    """Catalogue colour indices: neutrals go with anything; accents carry the harmony."""

    neutrals: tuple[int, ...]
    accents: tuple[int, ...]


@dataclass(frozen=True)
class Harmony:
    name: str
    weight: float
    params: Mapping[str, float]

    def __hash__(self) -> int:
        return hash((self.name, self.weight, tuple(sorted(self.params.items()))))


@lru_cache(maxsize=1)
def hues() -> tuple[float, ...]:
    """The LCh hue angle (degrees) of every catalogue colour."""
    lab = colored.colour_lab(np.arange(len(colored.catalogue()))).tolist()
    return tuple(math.degrees(math.atan2(b, a)) % 360 for _, a, b in lab)


def hue_gap(a: int, b: int) -> float:
    """Angle between two catalogue colours' hues on the wheel, 0-180 degrees."""
    gap = abs(hues()[a] - hues()[b]) % 360
    return min(gap, 360 - gap)


def analogous_pairs(palette: Palette, max_gap: float) -> list[tuple[int, int]]:
    return [(a, b) for a, b in combinations(palette.accents, 2) if hue_gap(a, b) <= max_gap]


def complementary_pairs(palette: Palette, min_gap: float) -> list[tuple[int, int]]:
    return [(a, b) for a, b in combinations(palette.accents, 2) if hue_gap(a, b) >= min_gap]


def impossible(harmony: Harmony, palette: Palette, max_items: int) -> str | None:
    """Why ``harmony`` cannot colour an outfit of up to ``max_items`` items from ``palette``, or None."""
    if not palette.accents:
        return "colours.accents is empty"
    if harmony.name == "neutral-accent":
        return None if palette.neutrals or max_items <= 1 else "colours.neutrals is empty"
    if harmony.name == "analogous":
        gap = harmony.params["max_hue_gap"]
        return None if analogous_pairs(palette, gap) else f"no two accents lie within {gap:g} degrees of hue"
    gap = harmony.params["min_hue_gap"]
    if not complementary_pairs(palette, gap):
        return f"no two accents lie {gap:g} or more degrees of hue apart"
    return None if palette.neutrals or max_items <= 2 else "colours.neutrals is empty"


def choose(harmony: Harmony, palette: Palette, count: int, rng: np.random.Generator) -> list[int]:
    """``count`` catalogue colour indices that meet ``harmony``, in slot order (drawn from ``rng``)."""
    if count == 0:
        return []
    if harmony.name == "neutral-accent":
        accents = [int(rng.choice(palette.accents))]
        colours = accents + _neutrals(palette, count - 1, rng)
    elif harmony.name == "analogous":
        gap = harmony.params["max_hue_gap"]
        pool = list(_pick(analogous_pairs(palette, gap), rng))
        for c in rng.permutation(palette.accents):  # grown so every two colours stay within the gap
            if c not in pool and all(hue_gap(int(c), p) <= gap for p in pool):
                pool.append(int(c))
        colours = [pool[i % len(pool)] for i in range(count)]  # every pool colour once before any repeats
    else:
        pair = list(_pick(complementary_pairs(palette, harmony.params["min_hue_gap"]), rng))
        colours = pair[:count] + _neutrals(palette, count - 2, rng)
    return [int(c) for c in rng.permutation(colours)]


def _pick(pairs: list[tuple[int, int]], rng: np.random.Generator) -> tuple[int, int]:
    a, b = pairs[int(rng.integers(len(pairs)))]
    return (a, b) if rng.random() < 0.5 else (b, a)


def _neutrals(palette: Palette, count: int, rng: np.random.Generator) -> list[int]:
    """``count`` neutrals, all different while the palette has enough."""
    if count <= 0:
        return []
    order = list(rng.permutation(palette.neutrals))
    return [int(order[i % len(order)]) for i in range(count)]


def describe(harmony: Harmony | None, colours: list[int]) -> str:
    """A caption such as "neutral + accent: black, white, red"."""
    if harmony is None:
        return "no colour model shipped: grayscale"
    names = ", ".join(colored.colour_name(c) for c in colours)
    return f"{harmony.name.replace('-', ' + ')}: {names}" if names else harmony.name
