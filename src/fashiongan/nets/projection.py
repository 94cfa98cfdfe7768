"""A discriminator for the fast conditional recipe (configs/projgan.yaml), shaped like DCGAN's for 28 px.

  D: (64)4c2s_L - (128)4c2s_L - FC1024_L = features h
     logit = w . h + embed(label) . h          (projection, Miyato & Koyama 2018)
     [class logits = V h]                      (an auxiliary classifier, as ACGAN's, when ``aux_classes``)

No batch norm: with ``spectral_norm`` every layer's weight is divided by its largest singular value
(one power iteration per forward), which keeps D smooth without batch statistics that couple real and
fake batches. The projection term lets D judge "is this a real *coat*" instead of only "is this real";
the auxiliary head pushes G towards items a classifier recognises (label accuracy).
Outputs (N, 1 + aux_classes): column 0 the adversarial logit, then class logits, as ``adversarial.heads`` reads.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as sn

from fashiongan.nets.gan import init_normal
from fashiongan.nets.registry import register


@register("projection_discriminator")
class ProjectionDiscriminator(nn.Module):
    def __init__(
        self, num_classes: int = 10, aux_classes: int = 0, projection: bool = True, spectral_norm: bool = True,
        width: int = 64, hidden: int = 1024, channels: int = 1,
    ) -> None:
        super().__init__()
        if projection and num_classes < 1:
            raise ValueError("a projection discriminator needs num_classes >= 1")
        convs = [nn.Conv2d(channels, width, 4, 2, 1), nn.Conv2d(width, 2 * width, 4, 2, 1)]  # 28 -> 14 -> 7
        fc, logit = nn.Linear(2 * width * 7 * 7, hidden), nn.Linear(hidden, 1)
        embed = nn.Embedding(num_classes, hidden) if projection else None
        self.aux = nn.Linear(hidden, aux_classes) if aux_classes else None
        init_normal(nn.ModuleList([*convs, fc, logit, *([self.aux] if self.aux is not None else [])]))
        if embed is not None:
            nn.init.normal_(embed.weight, 0.0, 0.02)
        wrap = sn if spectral_norm else (lambda layer: layer)  # after init: spectral norm reparametrises the weights
        self.body = nn.Sequential(wrap(convs[0]), nn.LeakyReLU(0.2), wrap(convs[1]), nn.LeakyReLU(0.2), nn.Flatten(),
                                  wrap(fc), nn.LeakyReLU(0.2))
        self.logit = wrap(logit)
        self.embed = wrap(embed) if embed is not None else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        out = self.logit(h)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator projects labels: pass labels")
            out = out + (self.embed(labels) * h).sum(1, keepdim=True)
        return out if self.aux is None else torch.cat([out, self.aux(h)], 1)
