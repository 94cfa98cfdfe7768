"""CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B with four nets.

generator_ab maps A to B and generator_ba B to A (one optimiser, ``generator``); discriminator_a and
discriminator_b tell real from translated images of their domain (one optimiser, ``discriminator``).
Phase G: least-squares adversarial loss of both translations, plus ``cycle`` x L1(A -> B -> A, A) and
the same for B, plus ``identity`` x ``cycle`` x L1(G_ab(b), b) and L1(G_ba(a), a) (0 switches it off).
Phase D: each discriminator regresses real images to 1 and translated ones to 0 (halved), the
translated ones drawn from a pool of ``pool_size`` earlier fakes (Shrivastava et al.), which the
discriminators see in place of the newest half of the time once it is full.

The pools are objective state (``ctx.state``): the engine saves them in training_state.safetensors and
the pool's coin flips use the global RNG it saves too, so a resumed run continues exactly. Phase D
reuses the fakes phase G made this step (as the reference does), passed on in ``ctx.state`` and
removed again within the step. Batches hold ``image_a`` and ``image_b``; ``objective.domains`` names
them (``restyle --to`` takes those names). Both generators are saved for inference (main: generator_ab).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.data.transforms import to_float, to_uint8
from fashiongan.errors import FashionGANError
from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase, Report

ROLES = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
DEFAULT_DOMAINS = ("A", "B")
SHOWN = 8  # eval items per domain in the epoch grid
SCORED = 32  # eval items per domain the epoch's L1 numbers are measured on
_FRESH = "fresh_fake_"  # ctx.state keys of this step's fakes, from phase G to phase D


def domains(hp: Mapping[str, Any]) -> tuple[str, str]:
    """The two domain names (A first), checked: two different non-empty names."""
    names = hp["domains"]
    if (not isinstance(names, (list, tuple)) or len(names) != 2 or not all(isinstance(n, str) and n.strip() for n in names)
            or names[0].strip().lower() == names[1].strip().lower()):
        raise FashionGANError(f"objective.domains must name the two domains, A first (e.g. [leather, denim]); got {names!r}")
    return names[0].strip(), names[1].strip()


def _check(hp: Mapping[str, Any]) -> None:
    domains(hp)
    adv.positive(hp, "cycle")
    adv.positive(hp, "identity", zero=True)
    adv.positive(hp, "pool_size", whole=True, zero=True)


def check_channels(nets: Nets, batch: Batch, identity: bool) -> None:
    """One line naming the net whose channel count does not fit the data, before any shape error deep in a conv."""
    channels = {"a": batch["image_a"].shape[1], "b": batch["image_b"].shape[1]}
    wants = (("generator_ab", "in_channels", "a"), ("generator_ab", "out_channels", "b"), ("generator_ba", "in_channels", "b"),
             ("generator_ba", "out_channels", "a"), ("discriminator_a", "in_channels", "a"), ("discriminator_b", "in_channels", "b"))
    for role, attribute, domain in wants:
        expected = getattr(nets[role], attribute, None)
        if expected is not None and expected != channels[domain]:
            raise FashionGANError(
                f"domain {domain.upper()}'s images have {channels[domain]} channels but nets.{role} has {attribute} "
                f"{expected}; make the nets' channels match the data (or set data.channels)"
            )
    if identity and channels["a"] != channels["b"]:
        raise FashionGANError(
            f"the identity loss needs both domains to have the same channels ({channels['a']} vs {channels['b']}); "
            "set objective.identity: 0"
        )


def _lsgan(scores: torch.Tensor, target: float) -> torch.Tensor:
    return (scores - target).pow(2).mean()


def g_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    hp = ctx.hp
    cycle, identity = float(hp["cycle"]), float(hp["identity"])
    check_channels(nets, batch, identity > 0)
    real_a, real_b = batch["image_a"], batch["image_b"]
    g_ab, g_ba = nets["generator_ab"], nets["generator_ba"]
    fake_b, fake_a = g_ab(real_a), g_ba(real_b)
    with adv.frozen(nets["discriminator_b"]) as d_b, adv.frozen(nets["discriminator_a"]) as d_a:
        adv_ab, adv_ba = _lsgan(d_b(fake_b), 1.0), _lsgan(d_a(fake_a), 1.0)
    cycle_a, cycle_b = F.l1_loss(g_ba(fake_b), real_a), F.l1_loss(g_ab(fake_a), real_b)
    loss = adv_ab + adv_ba + cycle * (cycle_a + cycle_b)
    logs = {"adv_ab": adv_ab.detach(), "adv_ba": adv_ba.detach(), "cycle_a": cycle_a.detach(), "cycle_b": cycle_b.detach()}
    if identity > 0:
        same_b, same_a = F.l1_loss(g_ab(real_b), real_b), F.l1_loss(g_ba(real_a), real_a)
        loss = loss + identity * cycle * (same_a + same_b)
        logs.update(identity_a=same_a.detach(), identity_b=same_b.detach())
    ctx.state[_FRESH + "a"], ctx.state[_FRESH + "b"] = fake_a.detach(), fake_b.detach()
    return {"loss": loss, **logs}


def query_pool(ctx: Context, domain: str, fakes: torch.Tensor) -> torch.Tensor:
    """The fakes a discriminator sees: while the pool of ``pool_size`` fills, the new ones (kept);
    then each new fake is, with probability 1/2, swapped for a random pooled one, which it replaces."""
    size = int(ctx.hp["pool_size"])
    if size == 0:
        return fakes
    key = f"pool_{domain}"
    pool = ctx.state.get(key)
    pool = None if pool is None else pool.to(fakes.device)  # a resumed pool is read onto the CPU
    shown = []
    for image in fakes.detach():
        if pool is None or len(pool) < size:
            pool = image[None].clone() if pool is None else torch.cat([pool, image[None]])
            shown.append(image)
        elif torch.rand((), device=fakes.device) < 0.5:  # the global RNG: the engine saves its state
            slot = int(torch.randint(size, (), device=fakes.device))
            shown.append(pool[slot].clone())
            pool[slot] = image
        else:
            shown.append(image)
    ctx.state[key] = pool
    return torch.stack(shown)


def d_loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    losses = {}
    for d in "ab":
        judge = nets[f"discriminator_{d}"]
        fakes = query_pool(ctx, d, ctx.state.pop(_FRESH + d))  # phase G's fakes of this step
        losses[f"d_{d}"] = 0.5 * (_lsgan(judge(batch[f"image_{d}"]), 1.0) + _lsgan(judge(fakes), 0.0))
    return {"loss": losses["d_a"] + losses["d_b"], **{k: v.detach() for k, v in losses.items()}}


def _phases(hp: Mapping[str, Any]) -> list[Phase]:
    _check(hp)
    return [Phase("G", "generator", g_loss), Phase("D", "discriminator", d_loss)]


def _float(images: torch.Tensor) -> torch.Tensor:
    return to_float(images) if images.dtype == torch.uint8 else images


def _rgb(images: torch.Tensor) -> torch.Tensor:
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


@torch.no_grad()
def report(nets: Nets, ctx: Context) -> Report:
    """A grid of the first eval items: each domain, its translation and its reconstruction; cycle L1 and,
    where the data has paired ground truth (``truth_b``/``truth_a``), L1 to it (pixels in [0, 1])."""
    if ctx.eval_data is None:
        return Report()
    g_ab, g_ba = nets["generator_ab"], nets["generator_ba"]
    modes = [g_ab.training, g_ba.training]
    g_ab.eval()
    g_ba.eval()
    name_a, name_b = domains(ctx.hp)
    metrics, rows = {}, []
    for d, (forward, back), (source, target) in (("a", (g_ab, g_ba), (name_a, name_b)), ("b", (g_ba, g_ab), (name_b, name_a))):
        other = "b" if d == "a" else "a"
        real = _float(ctx.eval_data[f"image_{d}"][:SCORED])
        moved = forward(real)
        back_again = back(moved)
        metrics[f"cycle_l1_{d}"] = float((back_again - real).abs().mean() / 2)
        if f"truth_{other}" in ctx.eval_data:
            truth = _float(ctx.eval_data[f"truth_{other}"][:SCORED])
            metrics[f"truth_l1_{d}{other}"] = float((moved - truth).abs().mean() / 2)
        rows += [(source, real), (f"-> {target}", moved), (f"-> {source}", back_again)]
    g_ab.train(modes[0])
    g_ba.train(modes[1])
    shown = min(SHOWN, *(len(images) for _, images in rows))
    grid = torch.cat([_rgb(images[:shown]).cpu() for _, images in rows])
    return Report(metrics=metrics, grid=to_uint8(grid), nrow=shown, row_labels=[label for label, _ in rows])


OBJECTIVE = Objective(
    name="cyclegan",
    description="CycleGAN: unpaired translation between two domains (LSGAN, cycle and identity losses, pool of fakes)",
    phases=_phases,
    roles=ROLES,
    main="generator_ab",
    report=report,
    inference_roles=("generator_ba",),
    settings={"cycle": 10.0, "identity": 0.5, "pool_size": 50, "domains": DEFAULT_DOMAINS},
    kind="translation",
)
