"""Multi-label attribute classification: binary cross-entropy on one logit per attribute value.

The report scores the held-out split: each value's AUC (torchmetrics' multilabel AUROC) and F1 at a
0.5 threshold, their mean AUC, the exact-match ratio (every value right at 0.5), and per column the
accuracy of its most probable value. ``objective.vocabulary`` ({columns, values}, pinned by
``fashiongan.attributes``) names the outputs there and, from the checkpoint's config.json, in predictions;
``objective.image_size`` is the size the net trained at, which eval images are resized to.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F

from fashiongan.data.train_data import resize
from fashiongan.data.folders import AttributeVocabulary
from fashiongan.errors import FashionGANError
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase, Report

THRESHOLD = 0.5


def attribute_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    logits = nets["classifier"](batch["image"])
    target = batch["attributes"]
    if logits.shape[1] != target.shape[1]:
        raise FashionGANError(
            f"the net has {logits.shape[1]} outputs but the data has {target.shape[1]} attribute values; "
            "`fashiongan attributes train` sizes the net to the data"
        )
    loss = F.binary_cross_entropy_with_logits(logits, target)
    exact = ((logits > 0) == (target > THRESHOLD)).all(1).float().mean()
    return {"loss": loss, "exact_match": exact}


@torch.no_grad()
def probabilities(
    model: torch.nn.Module, images: torch.Tensor, size: int | None = None, batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Sigmoid outputs (N, values) of ``model`` (put in eval mode) on float images, resized to ``size`` if given."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        chunk = images[i : i + batch_size]
        out.append(torch.sigmoid(model(chunk if size is None else resize(chunk, size))).float().cpu())
        if on_batch is not None:
            on_batch(len(chunk))
    return torch.cat(out) if out else torch.empty(0)


def vocabulary_of(hp: Mapping[str, Any], outputs: int) -> AttributeVocabulary:
    """The objective's pinned vocabulary, or one column ``output`` of values 0..outputs-1 when none was pinned."""
    if hp["vocabulary"] is None:
        return AttributeVocabulary(("output",), (tuple(str(i) for i in range(outputs)),))
    vocab = AttributeVocabulary.from_dict(hp["vocabulary"])
    if len(vocab.names) != outputs:
        raise FashionGANError(f"objective.vocabulary names {len(vocab.names)} values but the net has {outputs} outputs")
    return vocab


def score(probs: torch.Tensor, targets: torch.Tensor, vocab: AttributeVocabulary) -> dict[str, float]:
    """Mean and lowest AUC, exact match, per-column accuracy, per-value AUC and F1. A value with no
    positive or no negative example in ``targets`` has no AUC or F1 and is left out."""
    from torchmetrics.functional.classification import multilabel_auroc, multilabel_f1_score  # slow to import: on use

    truth = (targets > THRESHOLD).int()
    scored = ((truth.sum(0) > 0) & (truth.sum(0) < len(truth))).nonzero().flatten()
    names = vocab.names
    metrics: dict[str, float] = {}
    auc = f1 = torch.empty(0)
    if len(scored):
        auc = multilabel_auroc(probs[:, scored], truth[:, scored], num_labels=len(scored), average=None).reshape(-1)
        auc = auc.clamp(0, 1)  # float32 rounding can give 1.0000001
        f1 = multilabel_f1_score(probs[:, scored], truth[:, scored], num_labels=len(scored), threshold=THRESHOLD,
                                 average=None).reshape(-1)
        metrics.update(mean_auc=auc.mean().item(), min_auc=auc.min().item())
    metrics["exact_match"] = ((probs > THRESHOLD).int() == truth).all(1).float().mean().item()
    offset = 0
    for column, values in zip(vocab.columns, vocab.values):
        block = slice(offset, offset + len(values))
        labelled = truth[:, block].sum(1) == 1
        if labelled.any():
            right = probs[labelled, block].argmax(1) == truth[labelled, block].argmax(1)
            metrics[f"accuracy/{column}"] = right.float().mean().item()
        offset += len(values)
    metrics.update({f"auc/{names[i]}": a.item() for i, a in zip(scored.tolist(), auc)})
    metrics.update({f"f1/{names[i]}": v.item() for i, v in zip(scored.tolist(), f1)})
    return metrics


def _report(nets: Nets, ctx: Context) -> Report:
    if ctx.eval_data is None or "attributes" not in ctx.eval_data:
        return Report()
    model = nets["classifier"]
    was_training = model.training
    probs = probabilities(model, ctx.eval_data["image"], ctx.hp["image_size"])
    model.train(was_training)
    return Report(metrics=score(probs, ctx.eval_data["attributes"].cpu(), vocabulary_of(ctx.hp, probs.shape[1])))


OBJECTIVE = Objective(
    name="attributes",
    description="multi-label attribute classifier (one sigmoid per attribute value, binary cross-entropy, AUC)",
    phases=lambda hp: [Phase("C", "classifier", attribute_loss)],
    roles=("classifier",),
    main="classifier",
    report=_report,
    settings={"vocabulary": None, "image_size": None},
    kind="attribute classifier",
)
