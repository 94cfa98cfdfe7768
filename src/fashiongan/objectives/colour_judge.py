"""The colour judge: one trunk learns the class and the colour name of coloured items (two cross-entropies).

The loss is ``class + colour_weight * colour`` on the batch keys ``label`` and ``colour`` (items whose
colour is ``UNKNOWN_COLOUR``, such as fabric renders, teach the class head only); both heads read the
same features, so those features know garment shape and colour, which is what FID and
precision/recall of RGB images need. Each epoch reports class and colour accuracy on the eval split.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.data.colored import UNKNOWN_COLOUR
from fashiongan.errors import FashionGANError
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase, Report


def two_head_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    judge, smoothing = nets["classifier"], float(ctx.hp["label_smoothing"])
    features = judge.features(batch["image"])
    logits, colour_logits = judge.head(features), judge.colour_head(features)
    class_loss = F.cross_entropy(logits, batch["label"], label_smoothing=smoothing)
    known = batch["colour"] != UNKNOWN_COLOUR
    colour_loss = F.cross_entropy(colour_logits, batch["colour"], label_smoothing=smoothing, reduction="sum")
    colour_loss = colour_loss / known.sum().clamp_min(1)  # a mean over the items with a colour
    return {
        "loss": class_loss + float(ctx.hp["colour_weight"]) * colour_loss,
        "class_loss": class_loss,
        "colour_loss": colour_loss,
        "accuracy": (logits.argmax(1) == batch["label"]).float().mean(),
        "colour_accuracy": (colour_logits.argmax(1) == batch["colour"])[known].float().mean(),
    }


@torch.no_grad()
def accuracies(judge: torch.nn.Module, data: Batch, batch_size: int = 1000) -> dict[str, float]:
    """Class and colour accuracy of ``judge`` on a tensor dict with ``image``, ``label``, ``colour`` (eval mode)."""
    was_training = judge.training
    judge.eval()
    right_class = right_colour = 0
    for start in range(0, len(data["label"]), batch_size):
        part = slice(start, start + batch_size)
        features = judge.features(data["image"][part])
        right_class += (judge.head(features).argmax(1) == data["label"][part]).sum().item()
        right_colour += (judge.colour_head(features).argmax(1) == data["colour"][part]).sum().item()
    judge.train(was_training)
    n = max(len(data["label"]), 1)
    return {"test_accuracy": right_class / n, "test_colour_accuracy": right_colour / n}


def _report(nets: Nets, ctx: Context) -> Report:
    if ctx.eval_data is None:
        return Report()
    return Report(metrics=accuracies(nets["classifier"], ctx.eval_data))


def _phases(hp: Mapping[str, Any]) -> list[Phase]:
    if float(hp["colour_weight"]) <= 0:
        raise FashionGANError("objective.colour_weight must be positive (the colour head must learn something)")
    return [Phase("C", "classifier", two_head_loss)]


OBJECTIVE = Objective(
    name="colour-judge",
    description="Colour judge: class and colour name of coloured items, two cross-entropy heads on one trunk",
    phases=_phases,
    roles=("classifier",),
    main="classifier",
    report=_report,
    settings={"colour_weight": 1.0, "label_smoothing": 0.0},
    kind="classifier",
)
