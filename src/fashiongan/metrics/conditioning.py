"""Whether a generator conditioned on attributes draws what it was asked for, as an attribute classifier
reads it: per column, the share of samples whose most probable value is the one asked for.

The requests are drawn from the generator's prior (every column named, as the data has them), so the
score covers the whole catalogue the way `evaluate` samples it. The classifier must predict exactly the
generator's attributes (the offline set's, for ``pretrained:attributes``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from fashiongan import hub
from fashiongan.data.folders import AttributeVocabulary
from fashiongan.declaration import declaration
from fashiongan.errors import FashionGANError
from fashiongan.metrics.conditions import condition_scores
from fashiongan.objectives.attributes import probabilities, score

CLASSIFIER = "pretrained:attributes"
CHUNK = 500


@torch.inference_mode()
def attribute_accuracy(
    generator: nn.Module, takes: AttributeVocabulary | None, classifier: str | Path = CLASSIFIER, n: int = 2000, seed: int = 0,
) -> dict[str, Any]:
    """``accuracy/COLUMN`` for every column (``accuracy/category``, ``accuracy/colour``...) of ``n`` samples of a
    loaded generator that takes the attributes ``takes`` (its checkpoint's declaration), their
    ``exact_match`` (every value read right at 0.5), the accuracy per asked value (``conditions``: see
    :func:`value_scores`), ``n`` and the ``classifier`` that read them."""
    net = generator
    if takes is None:
        raise FashionGANError("attribute accuracy needs a generator conditioned on attributes (a cVAE)")
    checkpoint = hub.load_checkpoint(classifier)
    reader = declaration(checkpoint.config, classifier)
    vocabulary = reader.conditions.attributes
    if reader.kind != "attribute classifier" or vocabulary is None:
        raise FashionGANError(f"{classifier} holds a {reader.kind}, not an attribute classifier")
    if vocabulary.names != takes.names:
        raise FashionGANError(
            f"the classifier {classifier} reads {', '.join(vocabulary.columns)}, not the generator's attributes "
            f"({', '.join(takes.columns)}); pass one trained on the same attribute set"
        )
    size = checkpoint.config.get("train_config", {}).get("objective", {}).get("image_size") or reader.conditions.size
    net.eval()
    rng = torch.Generator(device=next(net.parameters()).device).manual_seed(seed)
    asked = net.complete(None, n, rng)
    images = torch.cat([net.sample(len(part), generator=rng, attributes=part).cpu() for part in asked.split(CHUNK)])
    probs = probabilities(checkpoint.main, images, size)
    scores = score(probs, asked.cpu(), vocabulary)
    found = {key: value for key, value in scores.items() if key.startswith("accuracy/")}
    return {**found, "exact_match": scores["exact_match"], "conditions": value_scores(probs, asked.cpu(), vocabulary),
            "n": n, "classifier": str(classifier)}


def value_scores(probs: torch.Tensor, asked: torch.Tensor, vocabulary) -> dict[str, Any]:
    """Per column, :func:`condition_scores` of its most probable value against the value asked (items asking
    for one value of the column), and the ``lowest`` value over all columns."""
    found: dict[str, Any] = {}
    offset = 0
    for column, values in zip(vocabulary.columns, vocabulary.values):
        block = slice(offset, offset + len(values))
        offset += len(values)
        labelled = asked[:, block].sum(1) == 1
        if labelled.any():
            found[column] = condition_scores(probs[labelled, block].argmax(1), asked[labelled, block].argmax(1), values)
    worst = min((scores["lowest"]["accuracy"], f"{column}={scores['lowest']['name']}") for column, scores in found.items())
    return {"columns": found, "lowest": {"name": worst[1], "accuracy": worst[0]}}
