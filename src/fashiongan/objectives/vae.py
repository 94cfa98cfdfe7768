"""Variational autoencoder, one phase: reconstruction + beta x KL, with KL warm-up and free bits as options.

    loss = -log p(x | z, a) + beta * ramp(step) * sum_d max(KL_d, free_bits)

with z ~ q(z | x, a) by reparameterisation from the global RNG (the engine saves it: resume is exact),
-log p the decoder's own likelihood (``bernoulli``: the source's binary cross-entropy; ``logistic``: a
discretised logistic, see nets/vae.py), KL_d the batch mean of dimension d's KL to the net's prior
p(z | a) (N(0, I), or learned: nets/vae.py), ramp going
linearly from 0 to 1 over ``warmup`` steps (0: off), and ``free_bits`` nats per dimension left
unpenalised (0: off; Kingma et al. 2016), so that the decoder cannot learn to ignore z early on.

The report shows reconstructions of test items and samples by attribute (a row per category, a column
per colour, one z per row), and scores the plain ELBO (weights 1, no free bits) on ``report_n`` test
items: ``neg_elbo``, -ELBO in nats per image (lower is better; under ``logistic`` an upper bound on
-log p(x) of the 8-bit image), with its reconstruction and KL parts and bits per dimension.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from fashiongan.data.transforms import to_uint8
from fashiongan.errors import FashionGANError
from fashiongan.objectives.adversarial import positive
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase, Report, attribute_rows

REPORT_N = 2000        # test items whose ELBO the report scores
SETTINGS = {"beta": 1.0, "warmup": 0, "free_bits": 0.0, "report_n": REPORT_N}
RECONSTRUCTED = 12     # test items shown with their reconstructions
BIN = 2 / 255          # width of one 8-bit level on the [-1, 1] scale
MIN_LOG_SCALE = -7.0


def _discretised_logistic(mean: torch.Tensor, log_scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log P(x) per sub-pixel of 8-bit images ``x`` in [-1, 1] under a logistic(mean, exp(log_scale))
    integrated over x's bin; the edge bins take the tails (PixelCNN++'s likelihood, one component)."""
    inv_scale = torch.exp(-log_scale)
    centred = x - mean
    upper, lower = inv_scale * (centred + BIN / 2), inv_scale * (centred - BIN / 2)
    mass = torch.sigmoid(upper) - torch.sigmoid(lower)
    middle = inv_scale * centred
    density = middle - log_scale - 2 * F.softplus(middle) + math.log(BIN)  # where the bin's mass underflows
    inner = torch.where(mass > 1e-5, torch.log(mass.clamp_min(1e-12)), density)
    bottom, top = upper - F.softplus(upper), -F.softplus(lower)
    return torch.where(x < -1 + BIN / 2, bottom, torch.where(x > 1 - BIN / 2, top, inner))


def log_likelihood(net: torch.nn.Module, logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """log p(x | z, a) per image (N,), in nats, under the net's likelihood; ``images`` in [-1, 1]."""
    if net.likelihood == "bernoulli":
        per_pixel = -F.binary_cross_entropy_with_logits(logits, (images + 1) / 2, reduction="none")
    else:
        log_scale = net.log_scale.clamp_min(MIN_LOG_SCALE).view(1, -1, 1, 1)
        per_pixel = _discretised_logistic(net.to_image(logits), log_scale, images)
    return per_pixel.flatten(1).sum(1)


def terms(
    net: torch.nn.Module, images: torch.Tensor, attributes: torch.Tensor | None, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p(x | z, a) per image (N,), KL(q(z | x, a) || p(z | a)) per image and latent dimension (N, z_dim))
    at z = mean + std * noise."""
    mean, log_var = net.encode(images, attributes)
    z = mean + torch.exp(0.5 * log_var) * noise
    prior_mean, prior_log_var = net.prior(attributes, len(images))
    ratio = log_var - prior_log_var  # in log space: no exp of either variance alone can overflow
    kl = 0.5 * (ratio.exp() - ratio + (mean - prior_mean).pow(2) * torch.exp(-prior_log_var) - 1)
    return log_likelihood(net, net.decode(z, attributes), images), kl


def _attributes(net: torch.nn.Module, batch: Batch) -> torch.Tensor | None:
    if not net.num_attributes:
        return None
    if "attributes" not in batch:
        raise FashionGANError("this VAE is conditioned on attributes, but the data has none; train it on data: {name: attributes}")
    return batch["attributes"]


def kl_weight(hp: Mapping[str, Any], step: int) -> float:
    """beta, ramped linearly from 0 over the first ``warmup`` steps: a pure function of the step, so resume needs no state."""
    beta = positive(hp, "beta", zero=True)
    warmup = positive(hp, "warmup", whole=True, zero=True)
    return beta * min(1.0, (step + 1) / warmup) if warmup else beta


def loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    net, images = nets["vae"], batch["image"]
    log_p, kl = terms(net, images, _attributes(net, batch), torch.randn(len(images), net.z_dim, device=images.device))
    reconstruction = -log_p.mean()
    kl_per_dim = kl.mean(0)
    penalised = kl_per_dim.clamp_min(positive(ctx.hp, "free_bits", zero=True)).sum()
    return {
        "loss": reconstruction + kl_weight(ctx.hp, ctx.step) * penalised,
        "reconstruction": reconstruction.detach(),
        "kl": kl_per_dim.sum().detach(),
        "neg_elbo": (reconstruction + kl_per_dim.sum()).detach(),
    }


@torch.no_grad()
def elbo(
    net: torch.nn.Module, images: torch.Tensor, attributes: torch.Tensor | None = None, seed: int = 0, batch_size: int = 500
) -> dict[str, float]:
    """The plain ELBO of ``images`` (float (N, C, 28, 28) in [-1, 1]) under ``net``, one seeded z per image:
    ``neg_elbo`` (nats per image, lower is better), its ``reconstruction`` and ``kl`` parts, ``bits_per_dim``."""
    was_training = net.training
    net.eval()
    rng = torch.Generator().manual_seed(seed)
    device = next(net.parameters()).device
    log_p, kl = [], []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            a = None if attributes is None else attributes[start : start + batch_size].to(device)
            noise = torch.randn(len(x), net.z_dim, generator=rng).to(device)
            part_log_p, part_kl = terms(net, x, a, noise)
            log_p.append(part_log_p.double().cpu())
            kl.append(part_kl.sum(1).double().cpu())
    finally:
        net.train(was_training)
    reconstruction, divergence = -float(torch.cat(log_p).mean()), float(torch.cat(kl).mean())
    dims = math.prod(images.shape[1:])
    return {
        "neg_elbo": reconstruction + divergence,
        "reconstruction": reconstruction,
        "kl": divergence,
        "bits_per_dim": (reconstruction + divergence) / (dims * math.log(2)),
    }


@torch.no_grad()
def report(nets: Nets, ctx: Context) -> Report:
    """Rows of test items and their reconstructions, then (conditional nets) a row per category in every
    colour from one z per row, else an 8 x 8 grid of samples; the eval ELBO. Noise from the seed, so
    every epoch shows the same draws and the global RNG is untouched."""
    net = nets["vae"]
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    metrics: dict[str, float] = {}
    rows: list[torch.Tensor] = []
    names: list[str] = []
    data = ctx.eval_data
    if data is not None:
        n = positive(ctx.hp, "report_n", whole=True)
        attributes = data.get("attributes") if net.num_attributes else None
        metrics = elbo(net, data["image"][:n], None if attributes is None else attributes[:n], seed=ctx.seed)
        shown = data["image"][:RECONSTRUCTED].to(device)
        shown_attributes = None if attributes is None else attributes[:RECONSTRUCTED].to(device)
        rows += [shown, net.reconstruct(shown, shown_attributes)]
        names += ["test items", "reconstructed"]
    rng = torch.Generator(device=device).manual_seed(ctx.seed)
    drawn, drawn_names, columns = attribute_rows(net, rng, device)
    rows += drawn
    names += drawn_names
    net.train(was_training)
    grid = np.concatenate([to_uint8(_pad(row, columns)) for row in rows])
    return Report(metrics=metrics, grid=grid, nrow=columns, row_labels=names)


def _pad(images: torch.Tensor, count: int) -> torch.Tensor:
    """A row of exactly ``count`` images: cut, or filled with black."""
    images = images[:count]
    if len(images) < count:
        images = torch.cat([images, -torch.ones(count - len(images), *images.shape[1:], device=images.device)])
    return images


def phases(hp: Mapping[str, Any]) -> list[Phase]:
    kl_weight(hp, 0)
    positive(hp, "free_bits", zero=True)
    positive(hp, "report_n", whole=True)
    return [Phase("VAE", "vae", loss)]


OBJECTIVE = Objective(
    name="vae",
    description="variational autoencoder: reconstruction + beta x KL (warm-up, free bits); conditional on attributes",
    phases=phases,
    roles=("vae",),
    main="vae",
    conditional=False,
    report=report,
    settings=SETTINGS,
    kind="vae",
)
