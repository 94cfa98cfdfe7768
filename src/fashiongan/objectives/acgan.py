"""Auxiliary-classifier GAN (Odena et al. 2017): a conditional G; D says real/fake and classifies
both real and fake images (its outputs: 1 + classes), each loss plus the class cross-entropy.

A generator that also takes a colour (``num_colours`` > 0, configs/acgan-colour.yaml) gets a second
auxiliary head the same way: D's outputs are then 1 + classes + colours, and both losses add the
colour cross-entropy against the batch's ``colour`` (the colours the fakes were asked for).

``objective.fake_aux`` weighs D's auxiliary loss on fakes (Odena: 1). Trained on fakes, D's heads learn
whatever labelling G happens to draw, and the two can settle in a permuted one that no loss corrects:
pretrained:acgan-colour drew pink when asked for red and red when asked for pink, since D had learned
that red-asked fakes look pink. At 0, D's heads learn from real items alone, so they mean what the data
means and G is pulled towards it (the colour configs use 0). ``objective.mode_seeking`` (0: off) weighs
MSGAN's term (objectives/adversarial.py) against G ignoring its noise."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def _split(logits: torch.Tensor, nets: Nets) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(adversarial logit, [class logits, colour logits where G takes colours])."""
    G = nets["generator"]
    sizes = [G.num_classes] + ([G.num_colours] if getattr(G, "num_colours", 0) else [])
    adversarial, *aux = adv.heads(logits, *sizes)
    return adversarial, aux


def _targets(nets: Nets, batch: Batch, labels: torch.Tensor) -> list[torch.Tensor]:
    return [labels] + ([batch["colour"]] if getattr(nets["generator"], "num_colours", 0) else [])


def _cross_entropy(aux: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
    return sum(F.cross_entropy(logits, target) for logits, target in zip(aux, targets))


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D = nets["discriminator"]
    fake, labels, _ = adv.fake(nets, batch, ctx, grad=False)
    targets = _targets(nets, batch, labels)
    real_adv, real_aux = _split(D(batch["image"]), nets)
    fake_adv, fake_aux = _split(D(fake), nets)
    loss = adv.real_loss(real_adv) + adv.fake_loss(fake_adv) + _cross_entropy(real_aux, targets)
    weight = float(ctx.hp["fake_aux"])
    if weight:
        loss = loss + weight * _cross_entropy(fake_aux, targets)
    logs = {"loss": loss}
    for name, logits, target in zip(("real_accuracy", "real_colour_accuracy"), real_aux, targets):
        logs[name] = (logits.detach().argmax(1) == target).float().mean()
    return logs


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, labels, z = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]) as D:
        fake_adv, fake_aux = _split(D(fake), nets)
    loss = adv.real_loss(fake_adv) + _cross_entropy(fake_aux, _targets(nets, batch, labels))
    weight = float(ctx.hp["mode_seeking"])
    if weight:
        loss = loss + weight * adv.mode_seeking(nets, batch, ctx, fake, z)
    return {"loss": loss}


def _check(hp) -> None:
    for key in ("fake_aux", "mode_seeking"):
        adv.positive(hp, key, zero=True)


OBJECTIVE = adv.objective(
    "acgan", "auxiliary-classifier GAN: D also classifies (the colour too, for colour generators)",
    d_loss, g_loss, conditional=True, check=_check, settings={"fake_aux": 1.0, "mode_seeking": 0.0},
)
