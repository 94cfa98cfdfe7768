"""How easily adversarial noise fools a classifier: accuracy per epsilon under an attack (fashiongan.attacks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from fashiongan.attacks import ATTACKS, attack, check_eps
from fashiongan.errors import FashionGANError


@dataclass
class RobustnessCurve:
    """Accuracy at each epsilon under one attack."""

    attack: str
    epsilons: list[float]
    accuracy: list[float]
    count: int
    mask: bool
    steps: int | None = None

    def to_dict(self) -> dict:
        return {
            "attack": self.attack,
            "mask": self.mask,
            "steps": self.steps,
            "count": self.count,
            "curve": [{"eps": e, "accuracy": a} for e, a in zip(self.epsilons, self.accuracy)],
        }


def robustness_curve(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilons: Sequence[float],
    attack_name: str = "fgsm",
    mask: bool = True,
    steps: int = 10,
    batch_size: int = 500,
    seed: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> RobustnessCurve:
    """Accuracy of ``model`` on attacked ``images`` at each epsilon; the model is put in eval mode.
    Bad epsilons or attack names are rejected before any work; ``on_batch(count)`` drives progress bars."""
    if attack_name not in ATTACKS:
        raise FashionGANError(f"unknown attack {attack_name!r}; choose one of: {', '.join(ATTACKS)}")
    epsilons = [check_eps(e) for e in epsilons]
    if attack_name == "pgd" and steps < 1:
        raise FashionGANError(f"PGD needs at least one step, got {steps}")
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    accuracies = []
    for eps in epsilons:
        correct = 0
        for i in range(0, len(images), batch_size):
            x, y = images[i : i + batch_size], labels[i : i + batch_size]
            adv = attack(attack_name, model, x, y, eps, mask=mask, steps=steps, generator=generator)
            with torch.no_grad():
                correct += (model(adv).argmax(1) == y).sum().item()
            if on_batch is not None:
                on_batch(len(x))
        accuracies.append(correct / max(len(images), 1))
    return RobustnessCurve(attack_name, epsilons, accuracies, len(images), mask, steps if attack_name == "pgd" else None)
