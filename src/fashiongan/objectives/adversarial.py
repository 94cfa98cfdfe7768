"""What the GAN objectives share: fakes, the standard losses, gradient penalties, the sample grid.

Every GAN objective is two phases, "D" (optimiser ``discriminator``) then "G" (optimiser
``generator``, every ``n_critic`` steps where the objective reads one). The D phase draws fakes
without a graph (``fake(..., grad=False)``), so it never backpropagates into G; the G phase runs
D ``frozen`` (no weight gradients), so it never touches D's gradients and costs less.
Noise comes from the global RNG on ``ctx.device``, so the engine's saved RNG state makes resume exact.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.data.transforms import to_uint8
from fashiongan.errors import FashionGANError
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase, Report, attribute_rows

LossFn = Callable[[Nets, Batch, Context], Losses]
GRID = 8  # an unconditional report shows GRID x GRID samples
PER_CLASS = 10  # a conditional one a row per class, PER_CLASS samples each


def fake(nets: Nets, batch: Batch, ctx: Context, grad: bool = True) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(images, labels, z): one fake per real image; a conditional generator gets the batch's labels,
    one that takes colours (``num_colours``) the batch's ``colour`` as well."""
    generator = nets["generator"]
    labels = batch["label"] if generator.num_classes else None
    z = generator.latent(len(batch["image"]), device=ctx.device)
    with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
        if getattr(generator, "num_colours", 0):
            return generator(z, labels, batch["colour"]), labels, z
        return generator(z, labels), labels, z


def mode_seeking(nets: Nets, batch: Batch, ctx: Context, images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Mode seeking (MSGAN, Mao et al. 2019): a second draw of the same conditions from other noise; the loss is
    the inverse of how far the images move per unit of noise moved, so a generator that ignores its noise (one
    item per class whatever z) pays, where D's loss alone lets it settle there."""
    other, _, z_other = fake(nets, batch, ctx)
    moved = (images - other).abs().flatten(1).mean(1) / (z - z_other).abs().mean(1)
    return 1 / (moved.mean() + 1e-5)


@contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Run ``module`` without weight gradients: inputs still get theirs (a G loss through D)."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def real_loss(logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of logits against 'real' (the non-saturating G loss, and D on real data)."""
    return F.softplus(-logits).mean()


def fake_loss(logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of logits against 'fake'."""
    return F.softplus(logits).mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor) -> torch.Tensor:
    """Mean of (||d critic / d x|| - 1)^2 over ``points`` (WGAN-GP, DRAGAN); differentiable in the critic."""
    points = points.detach().requires_grad_(True)
    with torch.enable_grad():
        out = critic(points)
        (grad,) = torch.autograd.grad(out.sum(), points, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def heads(logits: torch.Tensor, *sizes: int) -> tuple[torch.Tensor, ...]:
    """Split D's output columns: adversarial logit, then the given head sizes (classes, codes)."""
    if logits.shape[1] != 1 + sum(sizes):
        raise FashionGANError(
            f"the discriminator gives {logits.shape[1]} outputs; this objective needs {1 + sum(sizes)} "
            f"(set nets.discriminator.kwargs.outputs: {1 + sum(sizes)})"
        )
    return tuple(logits.split([1, *sizes], dim=1))


def positive(hp: Mapping[str, Any], key: str, whole: bool = False, upto: float | None = None, zero: bool = False) -> Any:
    """``hp[key]`` (the hyperparameters with their declared defaults filled in), rejected before training unless
    positive (or zero, when ``zero``), whole when ``whole``, at most ``upto`` when given."""
    value = hp[key]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if zero else value > 0)
    if ok and whole:
        ok = float(value).is_integer()
    if ok and upto is not None:
        ok = value <= upto
    if not ok:
        kind = ("a non-negative" if zero else "a positive") + (" whole number" if whole else " number")
        kind += f" up to {upto}" if upto is not None else ""
        raise FashionGANError(f"objective.{key} must be {kind}, got {value!r}")
    return int(value) if whole else float(value)


@torch.no_grad()
def report(nets: Nets, ctx: Context) -> Report:
    """A grid from noise fixed by the seed (the same every epoch): a row per class when conditional;
    for a generator that takes colours, each row one item (one z) in every colour, in catalogue order; for one
    of attributes, a row per category in every colour."""
    generator = nets["generator"]
    was_training = generator.training
    generator.eval()
    rng = torch.Generator().manual_seed(ctx.seed)
    device = next(generator.parameters()).device
    k, c = generator.num_classes, generator.num_colours
    if generator.num_attributes:
        rows, names, nrow = attribute_rows(generator, rng, device)
        generator.train(was_training)
        return Report(grid=to_uint8(torch.cat(rows)), nrow=nrow, row_labels=names)
    if k and c:
        z = generator.latent(k, generator=rng, device=device).repeat_interleave(c, 0)  # row i: one z in every colour
        labels = torch.arange(k, device=device).repeat_interleave(c)
        images, nrow = generator(z, labels, torch.arange(c, device=device).repeat(k)), c
    elif k:
        z = generator.latent(PER_CLASS, generator=rng, device=device).repeat(k, 1)  # column j: the same z in every row
        labels = torch.arange(k, device=device).repeat_interleave(PER_CLASS)
        images, nrow = generator(z, labels), PER_CLASS
    else:
        z = generator.latent(GRID * GRID, generator=rng, device=device)
        colours = (torch.arange(GRID * GRID, device=device) % c,) if c else ()  # a colour-only generator: colours in turn
        images, nrow = generator(z, None, *colours), GRID
    named = ctx.data.classes if ctx.data is not None else None
    names = None if not k else list(named) if named and len(named) == k else [str(i) for i in range(k)]
    generator.train(was_training)
    return Report(grid=to_uint8(images), nrow=nrow, row_labels=names)


def objective(
    name: str,
    description: str,
    d_loss: LossFn,
    g_loss: LossFn,
    conditional: bool = False,
    n_critic: int | None = None,
    d_after: Callable[[Nets, Context], None] | None = None,
    check: Callable[[Mapping[str, Any]], None] | None = None,
    initial_state: Callable[[Mapping[str, Any]], dict[str, torch.Tensor]] = lambda hp: {},
    settings: Mapping[str, Any] | None = None,
) -> Objective:
    """A two-phase GAN recipe. ``n_critic``: the default of ``objective.n_critic`` (D steps per G step;
    None: one each, and no such setting). ``settings`` declares the hyperparameters its losses read, with their
    defaults; ``check`` rejects bad values of them before training starts."""

    def phases(hp: Mapping[str, Any]) -> list[Phase]:
        if check is not None:
            check(hp)
        every = positive(hp, "n_critic", whole=True) if n_critic is not None else 1
        return [Phase("D", "discriminator", d_loss, after=d_after), Phase("G", "generator", g_loss, every=every)]

    return Objective(
        name=name, description=description, phases=phases, roles=("generator", "discriminator"), main="generator",
        conditional=conditional, initial_state=initial_state, report=report,
        settings={**(settings or {}), **({"n_critic": n_critic} if n_critic is not None else {})},
    )
