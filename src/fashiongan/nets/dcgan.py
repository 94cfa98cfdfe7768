"""The conv backbone every GAN of pytorch-generative-model-collections shares (the infoGAN paper's MNIST
nets), at 28x28, so the variants differ only in their objective:

  G: FC1024_BR - FC7x7x128_BR - (64)4dc2s_BR - (1)4dc2s_Tanh
  D: (64)4c2s_L - (128)4c2s_BL - FC1024_BL - FC(outputs)        (logits; L = LeakyReLU 0.2)
  autoencoder D (BEGAN, EBGAN): (64)4c2s_R - FC(code) - FC64x14x14[_BR] - (1)4dc2s

``width`` scales the channels (64 -> 128) and ``hidden`` the fully connected layer; ``channels`` is the
image's (1 grey, 3 RGB), and a generator's ``num_colours`` > 0 conditions it on a colour as well. ``size``
other than 28 adds stride-2 stages (nets/sizing.py: 64 px starts at 4x4 and has four), channels doubling
towards the small end up to 8x ``width``.
"""

from __future__ import annotations

import torch
from torch import nn

from fashiongan.nets.gan import Generator, init_normal, label_planes
from fashiongan.nets.registry import register
from fashiongan.nets.sizing import plan, widths

NORMS = ("batch", "layer", "none")


def _norm(kind: str, channels: int, spatial: bool) -> nn.Module:
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")
    if kind == "batch":
        return nn.BatchNorm2d(channels) if spatial else nn.BatchNorm1d(channels)
    if kind == "layer":  # per-sample statistics: what a gradient penalty needs (Gulrajani et al. 2017)
        return nn.GroupNorm(1, channels) if spatial else nn.LayerNorm(channels)
    return nn.Identity()


@register("dcgan_generator")
class DCGANGenerator(Generator):
    def __init__(
        self, z_dim: int = 62, num_classes: int = 0, noise: str = "uniform", continuous_codes: int = 0,
        width: int = 64, hidden: int = 1024, channels: int = 1, num_colours: int = 0, size: int = 28,
    ) -> None:
        super().__init__(z_dim, num_classes, noise, continuous_codes, num_colours)
        self.start, stages = plan(size)
        self.top = widths(width, stages)[::-1]  # channels from the start (7x7 at 28 px: 2w) up to the last stage (w)
        self.image_shape = (channels, size, size)
        cells = self.top[0] * self.start**2
        self.fc = nn.Sequential(
            nn.Linear(z_dim + num_classes + num_colours, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, cells), nn.BatchNorm1d(cells), nn.ReLU(),
        )
        layers: list[nn.Module] = []
        for c_in, c_out in zip(self.top, self.top[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]  # each doubles the size
        self.deconv = nn.Sequential(*layers, nn.ConvTranspose2d(self.top[-1], channels, 4, 2, 1), nn.Tanh())
        init_normal(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, colours: torch.Tensor | None = None) -> torch.Tensor:
        return self.deconv(self.fc(self.condition(z, labels, colours)).view(-1, self.top[0], self.start, self.start))


class MinibatchStd(nn.Module):
    """Feature maps (N, C, H, W) -> (N, C + 1, H, W): the last plane is the batch's standard deviation of each
    feature, averaged (0 for a batch of one)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        spread = h.std(0, unbiased=False).mean() if len(h) > 1 else h.new_zeros(())
        return torch.cat([h, spread.expand(len(h), 1, *h.shape[2:])], 1)


@register("dcgan_discriminator")
class DCGANDiscriminator(nn.Module):
    """Logits (N, outputs): column 0 real/fake, further columns for ACGAN's classes or infoGAN's codes.
    ``num_classes`` > 0 appends one-hot label planes to the input (CGAN); otherwise labels are ignored.
    ``minibatch_std`` appends, before the fully connected layers, the batch's mean standard deviation per
    feature as one more plane (ProGAN, Karras et al. 2018): a generator that makes one item whatever its noise
    gives D a batch with no spread, so D can tell it, where per-item features cannot."""

    def __init__(
        self, outputs: int = 1, num_classes: int = 0, width: int = 64, hidden: int = 1024, norm: str = "batch", channels: int = 1,
        size: int = 28, minibatch_std: bool = False,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        start, stages = plan(size)
        chans = widths(width, stages)
        layers: list[nn.Module] = [nn.Conv2d(channels + num_classes, chans[0], 4, 2, 1), nn.LeakyReLU(0.2)]  # 28 -> 14
        for c_in, c_out in zip(chans, chans[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), _norm(norm, c_out, True), nn.LeakyReLU(0.2)]     # 14 -> 7
        self.net = nn.Sequential(
            *layers, *([MinibatchStd()] if minibatch_std else []), nn.Flatten(),
            nn.Linear((chans[-1] + minibatch_std) * start**2, hidden), _norm(norm, hidden, False), nn.LeakyReLU(0.2),
            nn.Linear(hidden, outputs),
        )
        init_normal(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            if labels is None:
                raise ValueError("this discriminator is conditional: pass labels")
            x = label_planes(x, labels, self.num_classes)
        return self.net(x)


@register("autoencoder_discriminator")
class AutoencoderDiscriminator(nn.Module):
    """Energy as reconstruction: returns (reconstruction (N, 1, 28, 28), code (N, code_dim)).
    ``decoder_norm`` adds BatchNorm + ReLU after the decoding layer (the collection's EBGAN; its BEGAN has none)."""

    def __init__(self, code_dim: int = 32, width: int = 64, decoder_norm: bool = True) -> None:
        super().__init__()
        self.width = width
        self.encode = nn.Sequential(nn.Conv2d(1, width, 4, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(width * 14 * 14, code_dim))
        layers: list[nn.Module] = [nn.Linear(code_dim, width * 14 * 14)]
        if decoder_norm:
            layers += [nn.BatchNorm1d(width * 14 * 14), nn.ReLU()]
        self.decode_fc = nn.Sequential(*layers)
        self.decode = nn.ConvTranspose2d(width, 1, 4, 2, 1)
        init_normal(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.encode(x)
        return self.decode(self.decode_fc(code).view(-1, self.width, 14, 14)), code
