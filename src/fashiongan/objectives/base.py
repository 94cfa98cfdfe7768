"""The contract between a training recipe and the engine.

An objective says *what* one training step computes, as phases: each phase is a loss
function of (nets, batch, ctx) that the engine differentiates and hands to one optimiser.
The engine owns everything else (loop, backward, step, checkpoints, logging), so a new
variant is a few loss functions and a phase list; no loops, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from fashiongan.data.conditions import Conditions

Nets = Mapping[str, nn.Module]
Batch = Mapping[str, torch.Tensor]
Losses = dict[str, torch.Tensor]


@dataclass
class Context:
    """What a loss function may read besides nets and batch."""

    step: int
    hp: Mapping[str, Any]
    state: dict[str, torch.Tensor]
    seed: int
    device: torch.device
    eval_data: Batch | None = None
    data: Conditions | None = None  # what the data's items are: image shape, class and colour names (for reports)


@dataclass(frozen=True)
class Phase:
    """One optimiser update: ``loss`` returns {"loss": tensor to minimise, other names: logged values}."""

    name: str
    optimizer: str
    loss: Callable[[Nets, Batch, Context], Losses]
    every: int = 1
    after: Callable[[Nets, Context], None] | None = None


@dataclass
class Report:
    """What an objective shows at the end of an epoch: numbers, and optionally a grid of images."""

    metrics: dict[str, float] = field(default_factory=dict)
    grid: np.ndarray | None = None
    nrow: int = 8
    row_labels: list[str] | None = None


@dataclass(frozen=True)
class Objective:
    """A training recipe, found by name from the config's ``model``."""

    name: str
    description: str
    phases: Callable[[Mapping[str, Any]], list[Phase]]
    roles: tuple[str, ...]
    main: str
    conditional: bool = False
    initial_state: Callable[[Mapping[str, Any]], dict[str, torch.Tensor]] = lambda hp: {}
    report: Callable[[Nets, Context], Report] | None = None
    inference_roles: tuple[str, ...] = ()  # nets besides ``main`` that using the model needs (saved beside it)
    settings: Mapping[str, Any] = field(default_factory=dict)  # the hyperparameters (``objective.NAME``) it reads, with
    # their defaults: any other name is a typo, rejected
    kind: str = "generator"  # what its checkpoints are: generator, vae, translation, colorizer, classifier, attribute classifier
    ode: bool = False  # samples by integrating an ODE (flow models): takes sampling steps and guidance

    def hyperparameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """A config's ``objective`` section with every setting it leaves out at its declared default: what the
        phases, the initial state and the losses (``ctx.hp``) read."""
        return {**self.settings, **given}


GRID_COLUMNS = 8  # a report's grid of plain samples is 8 x 8


def attribute_rows(net: nn.Module, rng: torch.Generator, device: torch.device) -> tuple[list[torch.Tensor], list[str], int]:
    """A report's samples from a net of attributes (nets/attributed.py): with category and colour columns, a row
    per category in every colour from one noise per row; else an 8 x 8 grid of draws from the prior. Returns
    (rows of images in [-1, 1], their labels, images per row)."""
    vocabulary = net.vocabulary
    if vocabulary is None or not {"category", "colour"} <= set(vocabulary.columns):
        samples = net.sample(GRID_COLUMNS * GRID_COLUMNS, generator=rng)
        return list(samples.split(GRID_COLUMNS)), [""] * GRID_COLUMNS, GRID_COLUMNS
    categories, colours = (vocabulary.values[vocabulary.columns.index(c)] for c in ("category", "colour"))
    rows = []
    for category in categories:
        asked = net.request([f"category={category}"]).expand(len(colours), -1).clone()
        for column, colour in enumerate(colours):
            asked[column] += net.request([f"colour={colour}"])
        z = net.latent(1, generator=rng, device=device).expand(len(colours), -1)
        rows.append(net(z, attributes=net.complete(asked, len(colours), rng)))
    return rows, list(categories), len(colours)
