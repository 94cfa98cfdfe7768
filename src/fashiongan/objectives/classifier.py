"""Supervised classification: cross-entropy on (image, label) batches, test accuracy each epoch."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase, Report


def classification_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    logits = nets["classifier"](batch["image"])
    loss = F.cross_entropy(logits, batch["label"], label_smoothing=ctx.hp.get("label_smoothing", 0.0))
    accuracy = (logits.argmax(1) == batch["label"]).float().mean()
    return {"loss": loss, "accuracy": accuracy}


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Share of ``images`` that ``model`` classifies as ``labels`` (model put in eval mode)."""
    model.eval()
    correct = sum(
        (model(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum().item()
        for i in range(0, len(images), batch_size)
    )
    return correct / max(len(images), 1)


def _report(nets: Nets, ctx: Context) -> Report:
    if ctx.eval_data is None:
        return Report()
    model = nets["classifier"]
    was_training = model.training
    result = accuracy(model, ctx.eval_data["image"], ctx.eval_data["label"])
    model.train(was_training)
    return Report(metrics={"test_accuracy": result})


def _phases(hp: Mapping[str, Any]) -> list[Phase]:
    return [Phase("C", "classifier", classification_loss)]


OBJECTIVE = Objective(
    name="classifier",
    description="Fashion-MNIST classifier trained with cross-entropy",
    phases=_phases,
    roles=("classifier",),
    main="classifier",
    report=_report,
)
