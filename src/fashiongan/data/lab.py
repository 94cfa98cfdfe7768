"""Garment colour in CIE Lab (D65, from kornia; L* in [0, 100]): CIEDE2000, a garment's dominant colour and
the nearest catalogue colour, on well-formed tensors (N, 3, H, W) in [0, 1].

What the coloured set, a colorizer's training report and the colour metrics (metrics/colour.py, which checks a
user's images and hands them here) share. The garment is where the grayscale source item is not black
background: grey of at least ``colored.FOREGROUND`` on the [0, 1] scale.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from kornia.color import rgb_to_lab

from fashiongan.data import colored

_POW25_7 = 25.0**7


def ciede2000(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005, k_L = k_C = k_H = 1) between Lab colours
    (..., 3), broadcast against each other; computed in float64, returned in ``lab1``'s float dtype.

    About 1 is a just-noticeable difference; 2-10 is visible at a glance; above ~20 they are different colours.
    A metric, not a loss: its gradient is undefined at zero chroma and zero difference.
    """
    dtype = lab1.dtype if lab1.is_floating_point() else torch.float32
    lab1, lab2 = torch.broadcast_tensors(lab1.double(), lab2.double())
    l1, a1, b1 = lab1.unbind(-1)
    l2, a2, b2 = lab2.unbind(-1)
    c_mean = (torch.hypot(a1, b1) + torch.hypot(a2, b2)) / 2
    g = 0.5 * (1 - torch.sqrt(c_mean**7 / (c_mean**7 + _POW25_7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p = torch.remainder(torch.atan2(b1, a1p), 2 * math.pi)
    h2p = torch.remainder(torch.atan2(b2, a2p), 2 * math.pi)
    chromatic = c1p * c2p != 0

    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - 2 * math.pi, torch.where(dh < -math.pi, dh + 2 * math.pi, dh))
    dh = torch.where(chromatic, dh, torch.zeros_like(dh))
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2 * torch.sqrt(c1p * c2p) * torch.sin(dh / 2)

    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = torch.where(
        (h1p - h2p).abs() <= math.pi, h_sum / 2,
        torch.where(h_sum < 2 * math.pi, (h_sum + 2 * math.pi) / 2, (h_sum - 2 * math.pi) / 2),
    )
    h_mean = torch.where(chromatic, h_mean, h_sum)
    deg = math.pi / 180
    t = (1 - 0.17 * torch.cos(h_mean - 30 * deg) + 0.24 * torch.cos(2 * h_mean)
         + 0.32 * torch.cos(3 * h_mean + 6 * deg) - 0.20 * torch.cos(4 * h_mean - 63 * deg))
    d_theta = 30 * deg * torch.exp(-(((h_mean / deg - 275) / 25) ** 2))
    r_c = 2 * torch.sqrt(cp_mean**7 / (cp_mean**7 + _POW25_7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / torch.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -torch.sin(2 * d_theta) * r_c
    lightness, chroma, hue = d_l / s_l, d_c / s_c, d_h / s_h
    return torch.sqrt((lightness**2 + chroma**2 + hue**2 + r_t * chroma * hue).clamp_min(0)).to(dtype)


def garment(gray: torch.Tensor) -> torch.Tensor:
    """Bool (N, H, W): where grey items (N, 1, H, W) in [0, 1] are garment, not background."""
    return gray[:, 0] >= colored.FOREGROUND


def dominant(rgb: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """The colour of the pixels ``where`` (bool (N, H, W)) of RGB images (N, 3, H, W) in [0, 1], Lab (N, 3): the
    per-channel median, which ignores shading, highlights and anti-aliased edges. An image with no such pixel
    takes the median of all its pixels."""
    where = where | ~where.flatten(1).any(1)[:, None, None]
    lab = rgb_to_lab(rgb).flatten(2)  # (N, 3, H*W)
    lab = torch.where(where.flatten(1)[:, None, :], lab, torch.full_like(lab, float("nan")))
    return lab.nanmedian(dim=2).values


def nearest_colour(lab: torch.Tensor) -> torch.Tensor:
    """Index (N,) of the catalogue colour nearest to each Lab colour (N, 3) by CIEDE2000."""
    palette = colored.colour_lab(np.arange(len(colored.catalogue())))
    return ciede2000(lab[:, None, :], palette[None, :, :].to(lab)).argmin(dim=1)
