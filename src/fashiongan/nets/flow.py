"""A velocity net for flow matching (rectified flow): a small U-Net that, given an image on the straight path
from noise to data at time t, predicts the path's velocity, conditioned on a class and a colour, or on an
attribute vector (as the cVAE takes, nets/attributed.py: a partial request is completed from the data's prior).

As a :class:`~fashiongan.nets.gan.Generator` it draws: ``latent`` is Gaussian noise the size of an image
(flattened), and ``forward(z, labels, colours)`` integrates the learned ODE from t = 0 (noise) to t = 1 (an
item) in ``steps`` steps of ``solver`` (euler, or heun: two evaluations a step, second order) with classifier-free
``guidance`` (1: the conditional velocity alone; w > 1: v_uncond + w (v_cond - v_uncond), both passes batched
as one). Steps, solver and guidance are sampling settings stored with the checkpoint; sampling may override them.

The net: a 3x3 stem, two stages that halve the size (28 -> 14 -> 7), a middle, two stages back up with skip
connections; each stage a residual block of GroupNorm, SiLU and 3x3 convolutions, shifted by an embedding of
t (sinusoidal) plus the class and colour embeddings (or a linear map of the attribute vector). Each condition
has a "null" value, the dropped condition that classifier-free guidance needs: one extra class or colour entry;
the all-zero attribute vector.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.nets.attributed import Attributed
from fashiongan.nets.gan import Generator
from fashiongan.nets.registry import register

SOLVERS = ("euler", "heun")
SAMPLING = ("steps", "solver", "guidance")  # settings of how it samples, not of the net: sampling may override them


class _Block(nn.Module):
    """Residual: GroupNorm - SiLU - conv3x3, plus the embedding, GroupNorm - SiLU - conv3x3; a 1x1 skip."""

    def __init__(self, c_in: int, c_out: int, emb: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(min(8, c_in), c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.shift = nn.Linear(emb, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(min(8, c_out), c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.shift(emb)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


@register("flow_unet")
class FlowUNet(Attributed, Generator):
    def __init__(
        self, channels: int = 1, size: int = 28, num_classes: int = 0, num_colours: int = 0, width: int = 32,
        steps: int = 8, solver: str = "heun", guidance: float = 1.0, attribute_set: str | None = None,
        vocabulary: dict | None = None, prior: dict | None = None,
    ) -> None:
        super().__init__(channels * size * size, num_classes, "normal", 0, num_colours)
        self.init_attributes(attribute_set, vocabulary, prior)
        if self.num_attributes and (num_classes or num_colours):
            raise ValueError("give attributes or a class and colour, not both (the attributes name the class and colour)")
        if size % 4:
            raise ValueError(f"size must be a multiple of 4 (two halvings), got {size}")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"steps must be a whole number of at least 1, got {steps!r}")
        if guidance < 0:
            raise ValueError(f"guidance must be 0 or more, got {guidance}")
        self.image_shape = (channels, size, size)
        self.steps, self.solver, self.guidance = steps, solver, float(guidance)
        emb = 4 * width
        self.time = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.labels = nn.Embedding(num_classes + 1, emb) if num_classes else None  # index num_classes: dropped
        self.colours = nn.Embedding(num_colours + 1, emb) if num_colours else None
        self.attribute_embedding = nn.Linear(self.num_attributes, emb) if self.num_attributes else None  # zeros: dropped
        self.stem = nn.Conv2d(channels, width, 3, padding=1)
        self.down1, self.down2 = _Block(width, width, emb), _Block(width, 2 * width, emb)
        self.middle = _Block(2 * width, 2 * width, emb)
        self.up2, self.up1 = _Block(4 * width, width, emb), _Block(2 * width, width, emb)
        self.out = nn.Sequential(nn.GroupNorm(min(8, width), width), nn.SiLU(), nn.Conv2d(width, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def _embedding(self, t: torch.Tensor, labels: torch.Tensor | None, colours: torch.Tensor | None,
                   attributes: torch.Tensor | None) -> torch.Tensor:
        half = self.stem.out_channels // 2
        frequencies = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
        angles = 1000.0 * t.float()[:, None] * frequencies[None]
        emb = self.time(torch.cat([angles.sin(), angles.cos()], 1))
        if self.labels is not None:
            emb = emb + self.labels(labels)
        if self.colours is not None:
            emb = emb + self.colours(colours)
        if self.attribute_embedding is not None:
            emb = emb + self.attribute_embedding(attributes.to(emb.dtype))
        return emb

    def velocity(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None,
                 colours: torch.Tensor | None = None, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """The predicted velocity at images ``x`` (N, C, H, W) and times ``t`` (N,) in [0, 1]; a label of
        ``num_classes`` (a colour of ``num_colours``, an all-zero attribute row) is the dropped condition."""
        emb = self._embedding(t, labels, colours, attributes)
        h0 = self.stem(x)
        h1 = self.down1(h0, emb)
        h2 = self.down2(F.avg_pool2d(h1, 2), emb)
        h = self.middle(F.avg_pool2d(h2, 2), emb)
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0), h2], 1), emb)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2.0), h1], 1), emb)
        return self.out(h)

    def guided(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None,
                colours: torch.Tensor | None, attributes: torch.Tensor | None) -> torch.Tensor:
        asked = {"labels": labels, "colours": colours, "attributes": attributes}
        if all(v is None for v in asked.values()) or self.guidance == 1.0:
            return self.velocity(x, t, **asked)
        nulls = {"labels": self.num_classes, "colours": self.num_colours, "attributes": 0}
        paired = {k: None if v is None else torch.cat([v, torch.full_like(v, nulls[k])]) for k, v in asked.items()}
        both = self.velocity(torch.cat([x, x]), torch.cat([t, t]), **paired)
        given, free = both.chunk(2)
        return free + self.guidance * (given - free)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, colours: torch.Tensor | None = None,
                attributes: torch.Tensor | None = None) -> torch.Tensor:
        """Items in [-1, 1] from noise ``z`` (N, C*H*W): the ODE integrated from t = 0 to 1."""
        self.condition(z[:, :0], labels, colours)  # labels and colours given exactly when the net takes them
        self.checked_attributes(attributes, len(z))
        x = z.view(len(z), *self.image_shape)
        dt = 1.0 / self.steps
        for i in range(self.steps):
            x = self.step(x, torch.full((len(x),), i * dt, device=x.device, dtype=x.dtype), dt, labels, colours, attributes)
        return x.clamp(-1, 1)

    def step(self, x: torch.Tensor, t: torch.Tensor, dt: float, labels: torch.Tensor | None = None,
             colours: torch.Tensor | None = None, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``x`` at times ``t`` (N,) moved to ``t + dt`` by one step of the net's solver at its guidance
        (what a distilled student learns to match in fewer steps: objectives/flow_distill.py)."""
        v = self.guided(x, t, labels, colours, attributes)
        if self.solver == "heun":
            v = (v + self.guided(x + dt * v, t + dt, labels, colours, attributes)) / 2
        return x + dt * v

    @torch.no_grad()
    def sample(
        self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
        colours: torch.Tensor | None = None, attributes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``n`` images (n, *image_shape) in [-1, 1]; a net of attributes takes them complete or partial (see
        ``complete``; None draws every column from the prior) instead of labels and colours."""
        if not self.num_attributes:
            if attributes is not None:
                raise ValueError("this net takes no attributes")
            return super().sample(n, labels, generator, colours)
        if labels is not None or colours is not None:
            raise ValueError("this net takes attributes (category=..., colour=...), not labels or colours")
        chosen = self.complete(attributes, n, generator)
        return self(self.latent(n, generator=generator, device=self._device()), attributes=chosen)
