"""DRAGAN (Kodali et al. 2017): the GAN losses plus a gradient penalty at points perturbed around
the real data, x + alpha * perturb * std(x) * U[0, 1) noise, as pytorch-generative-model-collections does."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives import gan
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    losses = gan.d_loss(nets, batch, ctx)
    real, labels = batch["image"], batch["label"] if nets["generator"].num_classes else None
    alpha = torch.rand(len(real), 1, 1, 1, device=real.device)
    noise = float(ctx.hp["perturb"]) * real.std() * torch.rand_like(real)
    penalty = adv.gradient_penalty(lambda x: nets["discriminator"](x, labels), real + alpha * noise)
    weight = float(ctx.hp["gp_weight"])
    return {**losses, "loss": losses["loss"] + weight * penalty, "penalty": penalty.detach()}


def _check(hp: Mapping[str, Any]) -> None:
    adv.positive(hp, "gp_weight")
    adv.positive(hp, "perturb")


OBJECTIVE = adv.objective("dragan", "DRAGAN: GAN losses with a gradient penalty around the data", d_loss, gan.g_loss, check=_check,
                          settings={"gp_weight": 0.25, "perturb": 0.5})
