"""Wasserstein GAN (Arjovsky et al. 2017): a critic kept Lipschitz by clipping its weights to
[-clip, clip] after every step, ``n_critic`` critic steps per generator step."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def critic_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D = nets["discriminator"]
    fake, labels, _ = adv.fake(nets, batch, ctx, grad=False)
    distance = D(batch["image"], labels).mean() - D(fake, labels).mean()
    return {"loss": -distance, "wasserstein": distance.detach()}


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, labels, _ = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]) as D:
        return {"loss": -D(fake, labels).mean()}


@torch.no_grad()
def clip(nets: Nets, ctx: Context) -> None:
    bound = float(ctx.hp["clip"])
    for p in nets["discriminator"].parameters():
        p.clamp_(-bound, bound)


def _check(hp: Mapping[str, Any]) -> None:
    adv.positive(hp, "clip")


OBJECTIVE = adv.objective(
    "wgan", "Wasserstein GAN with weight clipping", critic_loss, g_loss, n_critic=5, d_after=clip, check=_check,
    settings={"clip": 0.01},
)
