"""The original GAN (Goodfellow et al. 2014) with the non-saturating generator loss, as binary
cross-entropy on logits. Labels pass through when the nets are conditional (see cgan)."""

from __future__ import annotations

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D = nets["discriminator"]
    fake, labels, _ = adv.fake(nets, batch, ctx, grad=False)
    real_logits, fake_logits = D(batch["image"], labels), D(fake, labels)
    return {
        "loss": adv.real_loss(real_logits) + adv.fake_loss(fake_logits),
        "real_score": real_logits.detach().sigmoid().mean(),
        "fake_score": fake_logits.detach().sigmoid().mean(),
    }


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, labels, _ = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]) as D:
        return {"loss": adv.real_loss(D(fake, labels))}


OBJECTIVE = adv.objective("gan", "GAN with the non-saturating BCE loss (fully connected nets in configs/gan.yaml)", d_loss, g_loss)
