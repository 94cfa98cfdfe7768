"""Least-squares GAN (Mao et al. 2017): D regresses real to 1 and fake to 0; G pulls fakes to 1."""

from __future__ import annotations

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D = nets["discriminator"]
    fake, labels, _ = adv.fake(nets, batch, ctx, grad=False)
    return {"loss": (D(batch["image"], labels) - 1).pow(2).mean() + D(fake, labels).pow(2).mean()}


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, labels, _ = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]) as D:
        return {"loss": (D(fake, labels) - 1).pow(2).mean()}


OBJECTIVE = adv.objective("lsgan", "least-squares GAN (a=0, b=c=1)", d_loss, g_loss)
