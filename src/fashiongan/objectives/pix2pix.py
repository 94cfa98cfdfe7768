"""pix2pix (Isola et al. 2017) as a colorizer: a U-Net maps the grey item (batch ``gray``) to its
colouring (``image``), judged by a PatchGAN on the (grey, colour) pair, plus L1 to the ground truth.

Losses (hyperparameters under ``objective``): D, binary cross-entropy on real and fake pairs, halved
as in pix2pix; G, ``adversarial`` (1) x the non-saturating GAN loss + ``l1`` (100, pix2pix's weight) x
L1 in the generator's output space (CIE Lab, normalised, unless its ``space`` is rgb).

A conditional generator paints every item in its own colour (batch ``colour``), and its ``auto``
colour picker (see nets/unet.py) learns by cross-entropy (weight ``picker``, 1) to name that colour
from the grey item alone: it learns P(colour | item), and ``auto`` paints the most likely colour.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.data import lab
from fashiongan.data.train_data import resize
from fashiongan.data.transforms import to_uint8
from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase, Report

DEFAULTS = {"adversarial": 1.0, "l1": 100.0, "picker": 1.0}
REPORT_ITEMS = 8  # rows of the report grid: the first test items of distinct classes
REPORT_EVAL = 500  # test items the report scores (asked their true colour)


def _asked(generator: nn.Module, batch: Batch) -> torch.Tensor | None:
    return batch["colour"] if generator.num_colours else None


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    generator, D, gray = nets["generator"], nets["discriminator"], batch["gray"]
    with torch.no_grad():
        fake = generator(gray, _asked(generator, batch))
    real_logits, fake_logits = D(gray, generator.from_rgb(batch["image"])), D(gray, fake)
    loss = 0.5 * (adv.real_loss(real_logits) + adv.fake_loss(fake_logits))
    return {"loss": loss, "real_score": torch.sigmoid(real_logits.detach()).mean()}


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    generator, gray, hp = nets["generator"], batch["gray"], ctx.hp
    fake = generator(gray, _asked(generator, batch))
    with adv.frozen(nets["discriminator"]) as D:
        gan = adv.real_loss(D(gray, fake))
    l1 = (fake - generator.from_rgb(batch["image"])).abs().mean()
    loss = _weight(hp, "adversarial") * gan + _weight(hp, "l1") * l1
    losses = {"gan": gan.detach(), "l1": l1.detach()}
    if generator.num_colours:
        picker = F.cross_entropy(generator.colour_logits(gray), batch["colour"])
        loss = loss + _weight(hp, "picker") * picker
        losses["picker"] = picker.detach()
    return {"loss": loss, **losses}


def _weight(hp: Mapping[str, Any], key: str) -> float:
    return adv.positive(hp, key, zero=True)


def _check(hp: Mapping[str, Any]) -> None:
    for key in DEFAULTS:
        _weight(hp, key)


def phases(hp: Mapping[str, Any]) -> list[Phase]:
    _check(hp)
    return [Phase("D", "discriminator", d_loss), Phase("G", "generator", g_loss)]


def _report_rows(labels: torch.Tensor) -> torch.Tensor:
    """Indices of the first test item of each of the first REPORT_ITEMS classes present."""
    rows = []
    for k in range(int(labels.max()) + 1 if len(labels) else 0):
        found = (labels == k).nonzero()
        if len(found):
            rows.append(int(found[0]))
    return torch.tensor(rows[:REPORT_ITEMS], dtype=torch.long)


def _unit(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] as float in [0, 1] on the CPU, as the Lab helpers take them."""
    return images.detach().float().cpu().add(1).div(2).clamp(0, 1)


@torch.no_grad()
def report(nets: Nets, ctx: Context) -> Report:
    """Test items as rows: grey, ground truth, then the colorizer's output (asked ``auto`` and every
    colour in turn when conditional). Scores on REPORT_EVAL test items asked their true colour: L1,
    CIEDE2000 between the dominant garment colours of output and truth, how often the output's
    dominant colour is nearest the colour asked (fashiongan.data.lab), and how often the true
    colour is the one ``auto`` would pick (its ceiling is the catalogue's most likely colour per item)."""
    data = ctx.eval_data
    if data is None or "gray" not in data:
        return Report()
    generator = nets["generator"]
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    size = generator.image_size
    gray = resize(data["gray"][:REPORT_EVAL].to(device), size)
    truth = resize(data["image"][:REPORT_EVAL].to(device), size)
    colour = data["colour"][:REPORT_EVAL].to(device)
    out = generator(gray, colour if generator.num_colours else None)
    rgb = generator.to_rgb(out)
    mask = lab.garment(_unit(gray))
    painted = lab.dominant(_unit(rgb), mask)
    metrics = {
        "l1": (out - generator.from_rgb(truth)).abs().mean().item(),
        "delta_e": lab.ciede2000(painted, lab.dominant(_unit(truth), mask)).mean().item(),
        "colour_accuracy": (lab.nearest_colour(painted) == colour.cpu()).float().mean().item(),
    }
    if generator.num_colours:
        metrics["picker_accuracy"] = (generator.pick_colour(gray) == colour).float().mean().item()
    rows = _report_rows(data["label"][:REPORT_EVAL]).to(device)
    columns = [gray[rows].expand(-1, 3, -1, -1), truth[rows]]
    asks = [generator.num_colours, *range(generator.num_colours)] if generator.num_colours else [None]
    for ask in asks:
        asked = None if ask is None else torch.full((len(rows),), ask, device=device, dtype=torch.long)
        columns.append(generator.to_rgb(generator(gray[rows], asked)))
    generator.train(was_training)
    grid = np.stack([to_uint8(column) for column in columns], 1).reshape(-1, size, size, 3)
    classes = ctx.data.classes if ctx.data is not None else None
    names = [classes[int(data["label"][i])] if classes else str(int(data["label"][i])) for i in rows]
    return Report(metrics=metrics, grid=grid, nrow=len(columns), row_labels=names)


OBJECTIVE = Objective(
    name="pix2pix",
    description="pix2pix colorizer: U-Net + PatchGAN, L1 x 100; conditional on the colour asked (or auto)",
    phases=phases,
    roles=("generator", "discriminator"),
    main="generator",
    report=report,
    settings=DEFAULTS,
    kind="colorizer",
)
