"""Flow matching (rectified flow; Lipman et al. 2023, Liu et al. 2023): the straight path x_t = (1 - t) x_0 + t x_1
from Gaussian noise x_0 to an item x_1, and a net trained to predict its velocity x_1 - x_0 by squared error.

Times are logit-normal (sigmoid of a standard normal: the middle of the path, where the velocity is hardest,
is sampled most; SD3's choice). ``drop`` of the batch's conditions (class, colour, attribute vector) are replaced
by the null condition, so one net learns both the conditional and the unconditional velocity that
classifier-free guidance combines at sampling (nets/flow.py). One phase, one net; no adversary, so nothing to balance and no mode for a discriminator to chase.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.errors import FashionGANError
from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase


def _dropped(values: torch.Tensor, null: int, drop: float) -> torch.Tensor:
    """``values`` (indices (N,) or attribute rows (N, A)) with a ``drop`` share of the items replaced by the null
    value (the global RNG: a resumed run repeats it)."""
    if drop == 0:
        return values
    chosen = (torch.rand(len(values), device=values.device) < drop).view(-1, *[1] * (values.dim() - 1))
    return torch.where(chosen, torch.full_like(values, null), values)


def loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    net, target = nets["generator"], batch["image"]
    noise = torch.randn_like(target)
    t = torch.sigmoid(torch.randn(len(target), device=target.device))  # logit-normal times
    path = (1 - t)[:, None, None, None] * noise + t[:, None, None, None] * target
    drop = float(ctx.hp["drop"])
    labels = _dropped(batch["label"], net.num_classes, drop) if net.num_classes else None
    colours = _dropped(batch["colour"], net.num_colours, drop) if net.num_colours else None
    attributes = _dropped(batch["attributes"], 0, drop) if net.num_attributes else None
    return {"loss": F.mse_loss(net.velocity(path, t, labels, colours, attributes), target - noise)}


def _phases(hp: Mapping[str, Any]) -> list[Phase]:
    if not 0 <= adv.positive(hp, "drop", zero=True) < 1:
        raise FashionGANError(f"objective.drop must lie in [0, 1), got {hp['drop']!r}")
    return [Phase("F", "generator", loss)]


OBJECTIVE = Objective(
    name="flow",
    description="flow matching (rectified flow): a U-Net learns the velocity from noise to items; few-step ODE sampling, guidance",
    phases=_phases,
    roles=("generator",),
    main="generator",
    conditional=True,
    report=adv.report,
    settings={"drop": 0.1},
    ode=True,
)
