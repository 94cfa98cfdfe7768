"""Optimisers and learning-rate schedules by name: one registry that config validation and the engine share.

A schedule is a pure function of (step, total steps) giving the learning-rate multiplier, so resume
needs no scheduler state.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import torch
from torch import nn

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop,
}
SETTINGS = ("nets", "type", "lr", "betas", "weight_decay", "momentum", "fused", "schedule")  # of each optim.NAME
ONECYCLE_WARM = 0.15


def _onecycle(progress: float) -> float:
    if progress < ONECYCLE_WARM:
        return 0.04 + 0.96 * progress / ONECYCLE_WARM
    return 0.5 * (1 + math.cos(math.pi * (progress - ONECYCLE_WARM) / (1 - ONECYCLE_WARM))) * 0.999 + 0.001


SCHEDULES: dict[str, Callable[[float], float]] = {  # the multiplier at a share of training done
    "constant": lambda progress: 1.0,
    "cosine": lambda progress: 0.5 * (1 + math.cos(math.pi * progress)),
    "onecycle": _onecycle,
    "linear_decay": lambda progress: min(1.0, 2 * (1 - progress)),  # CycleGAN's: constant for half, then down to zero
}


def lr_factor(schedule: str, step: int, total: int) -> float:
    """The learning-rate multiplier of ``schedule`` at ``step`` of ``total``."""
    return SCHEDULES[schedule](min(step / max(total, 1), 1.0))


def build(optim: Mapping[str, Mapping[str, Any]], nets: Mapping[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """The config's ``optim`` section as optimisers, each over the parameters of its ``nets`` (default: its name)."""
    made = {}
    for name, spec in optim.items():
        params = [p for role in spec.get("nets", [name]) for p in nets[role].parameters()]
        kind = spec.get("type", "adam")
        options: dict[str, Any] = {"lr": float(spec.get("lr", 1e-3)), "weight_decay": float(spec.get("weight_decay", 0))}
        if kind in ("adam", "adamw"):
            options["betas"] = tuple(spec.get("betas", (0.9, 0.999)))
        if kind == "sgd":
            options["momentum"] = float(spec.get("momentum", 0.9))
        if kind in ("adam", "adamw", "sgd") and spec.get("fused", True) and _fusable(params):
            options["fused"] = True  # one kernel per tensor: Adam's step about 15x faster on CPU (optim.NAME.fused: false to opt out)
        made[name] = OPTIMIZERS[kind](params, **options)
    return made


def _fusable(params: list[torch.Tensor]) -> bool:
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
