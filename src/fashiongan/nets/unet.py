"""A U-Net image-to-image generator (pix2pix's), sized for small images and conditional on a colour.

Encoder: a 3x3 stem, then ``depth`` 4x4 stride-2 convs (BatchNorm, LeakyReLU 0.2); decoder: 4x4
transposed convs (BatchNorm, ReLU) fed the matching encoder features, then two 3x3 convs and tanh at
full resolution, where each pixel's step from background to garment is decided (pix2pix has one;
with two, a 1500-step run's garment CIEDE2000 per pixel fell from 2.2 to 1.8). Between those two, the
bottleneck's global vector scales and shifts the features (FiLM, Perez et al. 2018): a garment's
shading is its grey relative to its own mean and spread, a product of a per-item gain and the pixel,
which ReLU convs alone approximate poorly. Bilinear upsampling + 3x3 conv instead of the transposed
convs (no checkerboard) scored no better in short runs, at twice the decoder's cost.
Inputs whose sides are not multiples of 2**depth (28 px at depth 3) are padded by edge replication
inside and the output is cropped back, so 28, 32 and 64 px all fit.

Conditioning (``num_colours`` > 0): the asked colour, an index in 0..num_colours-1, enters twice:
as one-hot planes beside the input (every skip connection carries it) and as an embedding added at
the bottleneck together with the bottleneck's global average (Iizuka et al.'s global features:
painting a garment needs its mean and spread of grey, which no 3x3 receptive field at 4x4 sees).
Index ``num_colours`` is ``auto``: a small picker CNN on the grey item gives each colour's logit
(``colour_logits``, trained to name the catalogue colour of real items, so it learns P(colour | item)),
and ``auto`` paints its most likely colour. Learning ``auto`` as one more colour instead made L1 (the
median of a random colour) and the GAN loss paint plaid mixtures of colours; a picker sharing the
encoder shifted the encoder's BatchNorm statistics and cost the named colours accuracy.
``num_colours=0`` is plain pix2pix.

``space``: what the tanh outputs mean. ``lab``: CIE L/50-1, a/110, b/110 (lightness and chroma kept
apart, as pix2pix's colorization does, so a constant garment colour is a constant target);
``rgb``: RGB in [-1, 1]. ``to_rgb``/``from_rgb`` convert (kornia), so the net's output space is
part of its checkpoint rather than something a caller must remember.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb, rgb_to_lab
from torch import nn

from fashiongan.nets.gan import init_normal, label_planes
from fashiongan.nets.registry import register

SPACES = ("lab", "rgb")
LAB_SCALE = (50.0, 110.0, 110.0)  # L in [0, 100] -> [-1, 1] around 50; a, b (sRGB gamut within about +-110) -> [-1, 1]
MAX_WIDTH_FACTOR = 8  # channels stop doubling at 8 x width (pix2pix's 512 at width 64)


def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def _picker(in_channels: int, width: int, num_colours: int) -> nn.Sequential:
    """Grey item -> colour logits: three 3x3 stride-2 convs, global average, linear (no norm: nothing to drift)."""
    layers: list[nn.Module] = []
    for c_in, c_out in ((in_channels, width), (width, 2 * width), (2 * width, 4 * width)):
        layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, num_colours))


@register("unet")
class UNet(nn.Module):
    """``forward(x, colour=None)``: x float (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W)
    in [-1, 1] in ``space``; ``colour`` (N,) indices in 0..num_colours, num_colours meaning ``auto``
    (conditional nets only).
    ``image_size`` is the side the net was trained at: what callers resize a user's image to."""

    def __init__(
        self, in_channels: int = 1, out_channels: int = 3, num_colours: int = 0, width: int = 32, depth: int = 3,
        image_size: int = 28, space: str = "lab",
    ) -> None:
        super().__init__()
        if space not in SPACES:
            raise ValueError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
        if space == "lab" and out_channels != 3:
            raise ValueError("space 'lab' needs out_channels=3")
        if depth < 1 or image_size < 2**depth:
            raise ValueError(f"depth {depth} does not fit image_size {image_size}")
        self.in_channels, self.out_channels, self.num_colours = in_channels, out_channels, num_colours
        self.depth, self.image_size, self.space = depth, image_size, space
        widths = [width * min(2**i, MAX_WIDTH_FACTOR) for i in range(depth + 1)]
        self.stem = nn.Sequential(nn.Conv2d(in_channels + num_colours, widths[0], 3, 1, 1), nn.LeakyReLU(0.2))
        self.downs = nn.ModuleList(_down(widths[i], widths[i + 1]) for i in range(depth))
        bottom = widths[-1]
        self.middle = nn.Sequential(nn.Conv2d(bottom, bottom, 3, 1, 1, bias=False), nn.BatchNorm2d(bottom), nn.ReLU())
        self.embed = nn.Embedding(num_colours, bottom) if num_colours else None
        self.context = nn.Sequential(nn.Linear(bottom, bottom), nn.ReLU(), nn.Linear(bottom, bottom))
        # up i turns level i+1 (concatenated with its skip, except at the bottom) into level i
        self.ups = nn.ModuleList(
            _up(widths[i + 1] * (1 if i == depth - 1 else 2), widths[i]) for i in reversed(range(depth))
        )
        self.head_in = nn.Conv2d(2 * widths[0], widths[0], 3, 1, 1)
        self.film = nn.Linear(bottom, 2 * widths[0])
        self.head_out = nn.Sequential(nn.Conv2d(widths[0], out_channels, 3, 1, 1), nn.Tanh())
        init_normal(self)
        # PyTorch's default init: N(0, 0.02) starves a stack of convs without norm of signal, and the
        # picker learned only the overall most common colour.
        self.picker = _picker(in_channels, width, num_colours) if num_colours else None

    def forward(self, x: torch.Tensor, colour: torch.Tensor | None = None) -> torch.Tensor:
        height, width = x.shape[-2:]
        if self.num_colours:
            if colour is None:
                raise ValueError(f"this net is conditional: pass a colour index in 0..{self.num_colours} per image")
            auto = colour == self.num_colours
            if bool(auto.any()):
                colour = torch.where(auto, self.pick_colour(x), colour)
        elif colour is not None:
            raise ValueError("this net is unconditional: it takes no colour")
        step = 2**self.depth
        pad_h, pad_w = -height % step, -width % step
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        if colour is not None:
            x = label_planes(x, colour, self.num_colours)
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        h = self.middle(skips.pop())
        glob = h.mean((2, 3))
        if colour is not None:
            glob = glob + self.embed(colour)
        h = h + self.context(glob)[:, :, None, None]
        for i, up in enumerate(self.ups):
            h = up(h if i == 0 else torch.cat([h, skips.pop()], 1))
        scale, shift = self.film(glob)[:, :, None, None].chunk(2, 1)
        h = torch.relu(self.head_in(torch.cat([h, skips.pop()], 1)) * (1 + scale) + shift)
        return self.head_out(h)[..., :height, :width]

    def colour_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The picker's logits (N, num_colours): how likely each colour is for each grey item."""
        if self.picker is None:
            raise ValueError("this net is unconditional: it has no colour picker")
        return self.picker(x)

    def pick_colour(self, x: torch.Tensor) -> torch.Tensor:
        """The most likely colour (N,) of each grey item: what ``auto`` paints."""
        return self.colour_logits(x).argmax(1)

    def _scale(self, like: torch.Tensor) -> torch.Tensor:
        return torch.tensor(LAB_SCALE, dtype=like.dtype, device=like.device)[None, :, None, None]

    def to_rgb(self, out: torch.Tensor) -> torch.Tensor:
        """This net's output -> RGB in [-1, 1]."""
        if self.space == "rgb":
            return out
        lab = out * self._scale(out) + torch.tensor([50.0, 0, 0], dtype=out.dtype, device=out.device)[None, :, None, None]
        return lab_to_rgb(lab, clip=True) * 2 - 1

    def from_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB in [-1, 1] -> this net's output space (a training target)."""
        if self.space == "rgb":
            return rgb
        lab = rgb_to_lab(((rgb + 1) / 2).clamp(0, 1))
        lab = lab - torch.tensor([50.0, 0, 0], dtype=rgb.dtype, device=rgb.device)[None, :, None, None]
        return lab / self._scale(rgb)
