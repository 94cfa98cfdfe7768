"""The fast conditional recipe: a projection discriminator with spectral norm, hinge loss, an optional
auxiliary classifier, lazy R1 and DiffAugment (configs/projgan.yaml; BENCHMARKS.md's ablation says which
of them pay at a few CPU minutes).

Hyperparameters (``objective``):
- ``loss``: ``hinge`` (D: relu(1 - real) + relu(1 + fake), G: -fake; Lim & Ye 2017, as BigGAN) or
  ``ns`` (the non-saturating cross-entropy of the other GANs here);
- ``aux_weight``: weight of the class cross-entropy through D's auxiliary head (0: off). D learns it on
  real images only and G is pushed to make items D's head classifies as asked; ACGAN also trains the
  head on fakes, which rewards G for easy-to-classify items and costs diversity;
- ``r1``: gamma of the R1 penalty gamma/2 ||grad_x D(real)||^2 (Mescheder et al. 2018; 0: off), applied
  every ``r1_every`` steps with its weight scaled up to match (StyleGAN2's lazy regularisation);
- ``diffaugment``: a policy such as ``translation,cutout`` (objectives/diffaugment.py; empty: off).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.errors import FashionGANError
from fashiongan.objectives import adversarial as adv
from fashiongan.objectives import diffaugment
from fashiongan.objectives.base import Batch, Context, Losses, Nets

LOSSES = ("hinge", "ns")


def _scores(nets: Nets, images: torch.Tensor, labels: torch.Tensor, ctx: Context) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(adversarial logits (N,), class logits or None): D on the augmented images."""
    D = nets["discriminator"]
    out = D(diffaugment.augment(images, diffaugment.policy(ctx.hp["diffaugment"])), labels)
    aux_weight = float(ctx.hp["aux_weight"])
    if aux_weight and out.shape[1] == 1:
        raise FashionGANError("objective.aux_weight needs a discriminator with a class head (nets.discriminator.kwargs.aux_classes: 10)")
    return out[:, 0], (out[:, 1:] if aux_weight else None)


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, labels, _ = adv.fake(nets, batch, ctx, grad=False)
    gamma, every = float(ctx.hp["r1"]), int(ctx.hp["r1_every"])
    penalise = gamma > 0 and ctx.step % every == 0
    real = batch["image"].detach().requires_grad_(penalise)
    adversarial, aux = _scores(nets, torch.cat([real, fake]), torch.cat([labels, labels]), ctx)  # one pass: one weight normalisation
    (real_adv, fake_adv), real_aux = adversarial.chunk(2), None if aux is None else aux[: len(real)]
    if ctx.hp["loss"] == "hinge":
        loss = F.relu(1 - real_adv).mean() + F.relu(1 + fake_adv).mean()
    else:
        loss = adv.real_loss(real_adv) + adv.fake_loss(fake_adv)
    logs = {"adversarial": loss.detach()}
    if real_aux is not None:
        loss = loss + float(ctx.hp["aux_weight"]) * F.cross_entropy(real_aux, labels)
        logs["real_accuracy"] = (real_aux.detach().argmax(1) == labels).float().mean()
    if penalise:
        (grad,) = torch.autograd.grad(real_adv.sum(), real, create_graph=True)
        r1 = grad.flatten(1).pow(2).sum(1).mean()
        loss = loss + gamma / 2 * every * r1
        logs["r1"] = r1.detach()
    return {"loss": loss, **logs}


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, labels, _ = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]):
        fake_adv, fake_aux = _scores(nets, fake, labels, ctx)
    loss = -fake_adv.mean() if ctx.hp["loss"] == "hinge" else adv.real_loss(fake_adv)
    if fake_aux is not None:
        loss = loss + float(ctx.hp["aux_weight"]) * F.cross_entropy(fake_aux, labels)
    return {"loss": loss}


def _check(hp: Mapping[str, Any]) -> None:
    if hp["loss"] not in LOSSES:
        raise FashionGANError(f"objective.loss must be one of {', '.join(LOSSES)}, got {hp['loss']!r}")
    adv.positive(hp, "aux_weight", zero=True)
    adv.positive(hp, "r1", zero=True)
    adv.positive(hp, "r1_every", whole=True)
    diffaugment.policy(hp["diffaugment"])


OBJECTIVE = adv.objective(
    "projgan", "projection discriminator, spectral norm, hinge loss; optional class head, R1 and DiffAugment",
    d_loss, g_loss, conditional=True, check=_check, settings={"loss": "hinge", "aux_weight": 0.0, "r1": 0.0, "r1_every": 16, "diffaugment": None},
)
