"""BEGAN (Berthelot et al. 2017): D is an autoencoder and L(x) = |x - D(x)| its energy; D lowers
L(real) - k L(fake), G lowers L(fake), and k (in ``ctx.state``, so it is checkpointed) follows
k += lambda_k (gamma L(real) - L(fake)), clipped to [0, 1]. ``convergence`` is the paper's M."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.distributed as dist

from fashiongan.errors import FashionGANError
from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets


def energy(D, images: torch.Tensor) -> torch.Tensor:
    return (D(images)[0] - images).abs().mean()


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    D, k = nets["discriminator"], ctx.state["k"]
    fake, _, _ = adv.fake(nets, batch, ctx, grad=False)
    real_energy, fake_energy = energy(D, batch["image"]), energy(D, fake)
    loss = real_energy - k.clone() * fake_energy
    with torch.no_grad():
        balance = float(ctx.hp["gamma"]) * real_energy - fake_energy
        if dist.is_available() and dist.is_initialized():  # under torchrun every rank keeps the same k
            dist.all_reduce(balance)
            balance /= dist.get_world_size()
        k.add_(float(ctx.hp["lambda_k"]) * balance.to(k.device)).clamp_(0.0, 1.0)  # k stays where the state is
    return {"loss": loss, "k": k.clone(), "convergence": real_energy.detach() + balance.abs()}


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    fake, _, _ = adv.fake(nets, batch, ctx)
    with adv.frozen(nets["discriminator"]) as D:
        return {"loss": energy(D, fake)}


def _check(hp: Mapping[str, Any]) -> None:
    adv.positive(hp, "gamma", upto=1.0)
    adv.positive(hp, "lambda_k")
    k0 = hp["k0"]
    if not (isinstance(k0, (int, float)) and 0 <= k0 <= 1):
        raise FashionGANError(f"objective.k0 must lie in [0, 1], got {hp['k0']!r}")


OBJECTIVE = adv.objective(
    "began", "boundary-equilibrium GAN: autoencoder D, balance k", d_loss, g_loss, check=_check,
    initial_state=lambda hp: {"k": torch.tensor(float(hp["k0"]))}, settings={"gamma": 0.75, "lambda_k": 0.001, "k0": 0.0},
)
