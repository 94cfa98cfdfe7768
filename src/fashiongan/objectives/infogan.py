"""infoGAN (Chen et al. 2016), supervised: the categorical code is the class label (so the generator
is conditional and label accuracy can be measured); ``continuous_codes`` uniform codes in [-1, 1] end
G's latent. Q shares D's body (D's outputs: 1 + classes + codes) and is trained to recover the codes:
cross-entropy for the label, squared error for the continuous codes, weight ``info_weight`` in both
phases (D's on detached fakes trains Q; G's trains G to make its codes recoverable).

Q also learns the class of real images from their labels (``real_label_weight``). Without that term
(the collection's supervised mode) nothing ties code k to class k: G and Q agree on some permutation
of the classes, and the judge's label accuracy came out at 3%."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def info_loss(logits: torch.Tensor, generator, labels: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial logits, mutual-information loss) from D's outputs on fakes made from (z, labels)."""
    c = generator.continuous_codes
    adv_logits, classes, codes = adv.heads(logits, generator.num_classes, c)
    return adv_logits, F.cross_entropy(classes, labels) + F.mse_loss(codes, z[:, z.shape[1] - c:])


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D, G = nets["discriminator"], nets["generator"]
    fake, labels, z = adv.fake(nets, batch, ctx, grad=False)
    real_adv, real_classes = adv.heads(D(batch["image"]), G.num_classes, G.continuous_codes)[:2]
    fake_adv, info = info_loss(D(fake), G, labels, z)
    real_info = F.cross_entropy(real_classes, batch["label"])
    loss = (adv.real_loss(real_adv) + adv.fake_loss(fake_adv) + float(ctx.hp["info_weight"]) * info
            + float(ctx.hp["real_label_weight"]) * real_info)
    return {"loss": loss, "info_loss": info.detach(), "real_label_loss": real_info.detach()}


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, labels, z = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]) as D:
        fake_adv, info = info_loss(D(fake), nets["generator"], labels, z)
    return {"loss": adv.real_loss(fake_adv) + float(ctx.hp["info_weight"]) * info, "info_loss": info.detach()}


def _check(hp: Mapping[str, Any]) -> None:
    adv.positive(hp, "info_weight", zero=True)
    adv.positive(hp, "real_label_weight", zero=True)


OBJECTIVE = adv.objective(
    "infogan", "infoGAN, supervised: the categorical code is the label, plus continuous codes",
    d_loss, g_loss, conditional=True, check=_check, settings={"info_weight": 1.0, "real_label_weight": 1.0},
)
