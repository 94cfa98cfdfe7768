"""Energy-based GAN (Zhao et al. 2017): D is an autoencoder whose mean squared reconstruction error
is the energy; D lowers it on real data and pushes fakes up to ``margin``; G lowers it on its
fakes plus ``pt_weight`` times the pull-away term, which spreads D's codes of a batch apart."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def pull_away(codes: torch.Tensor) -> torch.Tensor:
    """Mean squared cosine similarity between distinct codes of the batch (the paper's PT term)."""
    unit = F.normalize(codes.flatten(1), dim=1)
    n = len(unit)
    return ((unit @ unit.T).pow(2).sum() - n) / max(n * (n - 1), 1)


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D, real = nets["discriminator"], batch["image"]
    fake, _, _ = adv.fake(nets, batch, ctx, grad=False)
    real_energy, fake_energy = F.mse_loss(D(real)[0], real), F.mse_loss(D(fake)[0], fake)
    return {"loss": real_energy + F.relu(float(ctx.hp["margin"]) - fake_energy), "fake_energy": fake_energy.detach()}


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, _, _ = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]) as D:
        reconstruction, codes = D(fake)
    pt = pull_away(codes)
    energy = F.mse_loss(reconstruction, fake)  # both sides depend on G: the energy's whole gradient
    return {"loss": energy + float(ctx.hp["pt_weight"]) * pt, "pull_away": pt.detach()}


def _check(hp: Mapping[str, Any]) -> None:
    adv.positive(hp, "margin")
    adv.positive(hp, "pt_weight", zero=True)


OBJECTIVE = adv.objective("ebgan", "energy-based GAN: autoencoder D, margin, pull-away term", d_loss, g_loss, check=_check,
                          settings={"margin": 1.0, "pt_weight": 0.1})
