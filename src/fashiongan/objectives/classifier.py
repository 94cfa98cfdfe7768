"""Supervised classification: cross-entropy on (image, label) batches, test accuracy each epoch.

Adversarial training (``objective: {adversarial: fgsm|pgd, eps: 0.1}``) mixes the loss on clean
images with the loss on attacked ones, ``(1 - adv_weight) * clean + adv_weight * adversarial``
(Goodfellow et al.'s mix; ``adv_weight: 1`` is Madry et al.'s adversarial-only training).
The attack is crafted against the current weights in eval mode (dropout off, batch-norm
statistics untouched), then the net trains on it in train mode.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.attacks import ATTACKS, attack, check_eps
from fashiongan.errors import FashionGANError
from fashiongan.nets.classifiers import predict
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase, Report


def classification_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    logits = nets["classifier"](batch["image"])
    loss = F.cross_entropy(logits, batch["label"], label_smoothing=ctx.hp["label_smoothing"])
    accuracy = (logits.argmax(1) == batch["label"]).float().mean()
    return {"loss": loss, "accuracy": accuracy}


def adversarial_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    """Clean and adversarial cross-entropy, mixed by ``adv_weight``; both accuracies logged."""
    model, hp = nets["classifier"], ctx.hp
    model.eval()
    generator = torch.Generator().manual_seed(ctx.seed * 1_000_003 + ctx.step)
    adversarial = attack(
        hp["adversarial"], model, batch["image"], batch["label"], float(hp["eps"]),
        mask=bool(hp["mask"]), steps=int(hp["steps"]), generator=generator,
    )
    model.train()
    weight = float(hp["adv_weight"])
    clean = classification_loss(nets, batch, ctx) if weight < 1 else None
    attacked = classification_loss(nets, {**batch, "image": adversarial}, ctx)
    loss = attacked["loss"] if clean is None else (1 - weight) * clean["loss"] + weight * attacked["loss"]
    logs = {"loss": loss, "adv_accuracy": attacked["accuracy"]}
    if clean is not None:
        logs["accuracy"] = clean["accuracy"]
    return logs


def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Share of ``images`` that ``model`` classifies as ``labels`` (model put in eval mode)."""
    return (predict(model, images, batch_size) == labels).sum().item() / max(len(images), 1)


def _report(nets: Nets, ctx: Context) -> Report:
    if ctx.eval_data is None:
        return Report()
    model = nets["classifier"]
    was_training = model.training
    result = accuracy(model, ctx.eval_data["image"], ctx.eval_data["label"])
    model.train(was_training)
    return Report(metrics={"test_accuracy": result})


def _phases(hp: Mapping[str, Any]) -> list[Phase]:
    """Plain or adversarial training; bad adversarial settings are rejected here, before training."""
    name = hp["adversarial"]
    if name is None:
        return [Phase("C", "classifier", classification_loss)]
    if name not in ATTACKS:
        raise FashionGANError(f"objective.adversarial must be one of: {', '.join(ATTACKS)}; got {name!r}")
    check_eps(hp["eps"])
    if not 0 < float(hp["adv_weight"]) <= 1:
        raise FashionGANError("objective.adv_weight must lie in (0, 1]")
    if not isinstance(hp["steps"], int) or hp["steps"] < 1:
        raise FashionGANError("objective.steps (PGD steps) must be a positive whole number")
    return [Phase("C", "classifier", adversarial_loss)]


OBJECTIVE = Objective(
    name="classifier",
    description="Fashion-MNIST classifier trained with cross-entropy (optionally on FGSM/PGD examples)",
    phases=_phases,
    roles=("classifier",),
    main="classifier",
    report=_report,
    settings={"label_smoothing": 0.0, "adversarial": None, "eps": 0.1, "mask": True, "steps": 7, "adv_weight": 0.5},
    kind="classifier",
)
