"""WGAN-GP (Gulrajani et al. 2017): the Wasserstein critic with a penalty pulling the gradient
norm to 1 at random points between real and fake images, weight ``gp_weight`` (lambda)."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets
from fashiongan.objectives.wgan import g_loss


def critic_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D, real = nets["discriminator"], batch["image"]
    fake, labels, _ = adv.fake(nets, batch, ctx, grad=False)
    distance = D(real, labels).mean() - D(fake, labels).mean()
    alpha = torch.rand(len(real), 1, 1, 1, device=real.device)
    penalty = adv.gradient_penalty(lambda x: D(x, labels), alpha * real + (1 - alpha) * fake)
    return {"loss": -distance + float(ctx.hp["gp_weight"]) * penalty, "wasserstein": distance.detach(), "penalty": penalty.detach()}


def _check(hp: Mapping[str, Any]) -> None:
    adv.positive(hp, "gp_weight")


OBJECTIVE = adv.objective("wgan-gp", "Wasserstein GAN with a gradient penalty", critic_loss, g_loss, n_critic=5, check=_check,
                          settings={"gp_weight": 10.0})
