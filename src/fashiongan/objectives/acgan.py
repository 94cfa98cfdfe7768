"""Auxiliary-classifier GAN (Odena et al. 2017): a conditional G; D says real/fake and classifies
both real and fake images (its outputs: 1 + classes), each loss plus the class cross-entropy."""

from __future__ import annotations

import torch.nn.functional as F

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D, k = nets["discriminator"], nets["generator"].num_classes
    fake, labels, _ = adv.fake(nets, batch, ctx, grad=False)
    real_adv, real_cls = adv.heads(D(batch["image"]), k)
    fake_adv, fake_cls = adv.heads(D(fake), k)
    loss = adv.real_loss(real_adv) + adv.fake_loss(fake_adv) + F.cross_entropy(real_cls, labels) + F.cross_entropy(fake_cls, labels)
    return {"loss": loss, "real_accuracy": (real_cls.detach().argmax(1) == labels).float().mean()}


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, labels, _ = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]) as D:
        fake_adv, fake_cls = adv.heads(D(fake), nets["generator"].num_classes)
    return {"loss": adv.real_loss(fake_adv) + F.cross_entropy(fake_cls, labels)}


OBJECTIVE = adv.objective("acgan", "auxiliary-classifier GAN: D also classifies", d_loss, g_loss, conditional=True)
