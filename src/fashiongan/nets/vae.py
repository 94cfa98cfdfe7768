"""Variational autoencoders whose decoder is a generator: encoder q(z | x[, a]), decoder p(x | z, a).

One net holds both halves, so a checkpoint reconstructs and interpolates as well as samples. As a
:class:`~fashiongan.nets.gan.Generator` it decodes: ``forward(z, attributes)`` gives images in [-1, 1]
(the decoder's mean) and ``sample(n, generator=..., attributes=...)`` draws z ~ N(0, I).

``attribute_set`` (a built-in set), or ``vocabulary`` and ``prior`` (a catalogue's), name what the net is
conditioned on and how a partial request is completed (nets/attributed.py). ``size`` other than 28 adds
stride-2 stages (nets/sizing.py).

``likelihood`` is the decoder's distribution over pixels: ``bernoulli`` (the third source's binary
cross-entropy on [0, 1] intensities) or ``logistic`` (a discretised logistic per sub-pixel with a learned
scale per channel: a likelihood of 8-bit images, so its ELBO bounds -log p(x) in nats).

  vae_source: the third source's net at 28x28: 4 x [BatchNorm - 3x3 conv (8, 16, 32, 64 filters) SELU -
      3x3 max-pool], the pools at stride 2 so they fit 28 px (28 -> 14 -> 7 -> 4 -> 2; the source's
      stride 3 would leave nothing), Dense 150 - 100 SELU, latent 100; decoder [z, a] -> Dense 100 - 150
      SELU -> Dense 28x28xC, sigmoid. Its encoder sees the image only: the source joined the attributes
      to the latent.
  cvae: ours: strided convolutions down and transposed convolutions up, the attributes joined after the
      encoder's convolutions and to z in the decoder; with ``conditional_prior`` the prior is learned too,
      p(z | a) = N(m(a), s(a)) from a small MLP (Sohn et al. 2015), so a draw for "sandal" lands where
      the encoder puts sandals instead of wherever N(0, I) happens to fall.

The Generator's latent is the prior's noise: ``forward(noise, a)`` decodes z = m(a) + s(a) * noise
(m = 0, s = 1 without a learned prior), while ``decode(z, a)`` takes a code itself (an encoder's).
``temperature`` scales the noise ``latent`` draws (Glow's and BigGAN's trade): 1 samples the model as
trained; below 1, draws nearer the prior's centre are sharper and follow their attributes more often,
at some cost in variety (recall). Training and the ELBO never see it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from fashiongan.nets.attributed import Attributed
from fashiongan.nets.gan import Generator
from fashiongan.nets.registry import register
from fashiongan.nets.sizing import plan, widths

SOURCE_SIZE = 28  # the third source's net is for 28 px only
LIKELIHOODS = ("bernoulli", "logistic")
LOG_VAR_BOUND = 10.0  # posterior log-variances are softly kept in (-10, 10): an encoder that blows up at a
                      # high learning rate (log-variance 100, codes of 1e20) can then not make the loss infinite
class VAE(Attributed, Generator):
    """What both VAEs share: conditions, the prior over attribute vectors, sampling; subclasses build
    ``_encode(images, attributes) -> (N, 2 z_dim)`` and ``decode(z, attributes) -> logits (N, C, 28, 28)``."""

    def __init__(
        self, z_dim: int, channels: int, attribute_set: str | None, likelihood: str, conditional_prior: bool = False,
        prior_hidden: int = 128, temperature: float = 1.0, size: int = 28, vocabulary: dict | None = None,
        prior: dict | None = None,
    ) -> None:
        super().__init__(z_dim)
        if not 0 < temperature <= 1:
            raise ValueError(f"temperature must lie in (0, 1], got {temperature!r}")
        self.temperature = float(temperature)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
        self.image_shape = (channels, size, size)
        self.likelihood = likelihood
        self.init_attributes(attribute_set, vocabulary, prior)
        self.log_scale = nn.Parameter(torch.zeros(channels)) if likelihood == "logistic" else None
        if conditional_prior and not self.num_attributes:
            raise ValueError("a conditional prior needs an attribute_set to condition on")
        self.prior_net = None
        if conditional_prior:
            self.prior_net = nn.Sequential(
                nn.Linear(self.num_attributes, prior_hidden), nn.SiLU(), nn.Linear(prior_hidden, 2 * z_dim)
            )
            nn.init.zeros_(self.prior_net[-1].weight)  # training starts from N(0, I)
            nn.init.zeros_(self.prior_net[-1].bias)

    def latent(
        self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """The prior's noise (n, z_dim) for ``forward``, scaled by ``temperature``."""
        return super().latent(n, labels, generator, device) * self.temperature

    def _join(self, h: torch.Tensor, attributes: torch.Tensor | None) -> torch.Tensor:
        """``h`` with the attribute vector appended (conditional nets)."""
        attributes = self.checked_attributes(attributes, len(h))
        return h if attributes is None else torch.cat([h, attributes.to(h.dtype)], 1)

    def _encode(self, images: torch.Tensor, attributes: torch.Tensor | None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def decode(self, z: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:  # pragma: no cover
        """The decoder's location per sub-pixel, as logits (N, C, 28, 28): its mean image is ``to_image``."""
        raise NotImplementedError

    def encode(self, images: torch.Tensor, attributes: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z | x, a), each (N, z_dim); ``images`` in [-1, 1]."""
        mean, log_var = self._encode(images, attributes).chunk(2, dim=1)
        return mean, LOG_VAR_BOUND * torch.tanh(log_var / LOG_VAR_BOUND)

    def prior(self, attributes: torch.Tensor | None, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of p(z | a), each (n, z_dim): learned, or N(0, I)."""
        if self.prior_net is None:
            zeros = torch.zeros(n, self.z_dim, device=self._device())
            return zeros, zeros
        return self.prior_net(self.checked_attributes(attributes, n).float()).chunk(2, dim=1)

    @staticmethod
    def to_image(logits: torch.Tensor) -> torch.Tensor:
        """Decoder logits -> its mean image in [-1, 1] (a sigmoid, mapped 2p - 1)."""
        return torch.sigmoid(logits) * 2 - 1

    def forward(self, noise: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """Images from the prior's noise (``latent``): z = m(a) + s(a) * noise, decoded to its mean."""
        if self.prior_net is not None:
            mean, log_var = self.prior(attributes, len(noise))
            noise = mean + torch.exp(0.5 * log_var) * noise
        return self.to_image(self.decode(noise, attributes))

    def reconstruct(self, images: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's mean at the posterior mean: what the net makes of ``images``."""
        mean, _ = self.encode(images, attributes)
        return self.to_image(self.decode(mean, attributes))

    @torch.no_grad()
    def sample(
        self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
        colours: torch.Tensor | None = None, attributes: torch.Tensor | np.ndarray | None = None,
    ) -> torch.Tensor:
        """``n`` images (n, *image_shape) in [-1, 1]: ``attributes`` complete or partial (see ``complete``),
        None drawing every column from the prior. A VAE takes no labels or colours: ask for
        ``category=`` and ``colour=`` attributes instead."""
        if labels is not None or colours is not None:
            raise ValueError("this VAE takes attributes (category=..., colour=...), not labels or colours")
        if not self.num_attributes and attributes is not None:
            raise ValueError("this VAE is unconditional: it takes no attributes")
        chosen = self.complete(attributes, n, generator) if self.num_attributes else None
        return self(self.latent(n, generator=generator, device=self._device()), chosen)


@register("vae_source")
class SourceVAE(VAE):
    def __init__(
        self, z_dim: int = 100, channels: int = 3, attribute_set: str | None = "offline", likelihood: str = "bernoulli",
        filters: Sequence[int] = (8, 16, 32, 64), hidden: Sequence[int] = (150, 100), conditional_prior: bool = False,
        temperature: float = 1.0,
    ) -> None:
        super().__init__(z_dim, channels, attribute_set, likelihood, conditional_prior, temperature=temperature)
        blocks: list[nn.Module] = []
        side, c_in = SOURCE_SIZE, channels
        for c_out in filters:
            blocks += [nn.BatchNorm2d(c_in), nn.Conv2d(c_in, c_out, 3, padding=1), nn.SELU(), nn.MaxPool2d(3, 2, 1)]
            side, c_in = (side - 1) // 2 + 1, c_out
        wide, narrow = hidden
        self.encoder = nn.Sequential(
            *blocks, nn.Flatten(), nn.Linear(c_in * side * side, wide), nn.SELU(), nn.Linear(wide, narrow), nn.SELU(),
            nn.Linear(narrow, 2 * z_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(z_dim + self.num_attributes, narrow), nn.SELU(), nn.Linear(narrow, wide), nn.SELU(),
            nn.Linear(wide, channels * SOURCE_SIZE * SOURCE_SIZE),
        )

    def _encode(self, images: torch.Tensor, attributes: torch.Tensor | None) -> torch.Tensor:
        return self.encoder(images)

    def decode(self, z: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(self._join(z, attributes)).view(-1, *self.image_shape)


@register("cvae")
class ConvVAE(VAE):
    def __init__(
        self, z_dim: int = 32, channels: int = 3, attribute_set: str | None = "offline", likelihood: str = "logistic",
        width: int = 32, hidden: int = 256, conditional_prior: bool = True, temperature: float = 1.0, size: int = 28,
        vocabulary: dict | None = None, prior: dict | None = None,
    ) -> None:
        super().__init__(z_dim, channels, attribute_set, likelihood, conditional_prior, hidden, temperature, size,
                         vocabulary, prior)
        self.start, stages = plan(size)
        down = widths(width, stages, cap=4)  # [w, 2w] at 28 px: 28 -> 14 -> 7
        self.top = down[-1]
        a = self.num_attributes
        layers: list[nn.Module] = []
        for c_in, c_out in zip([channels, *down], down):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.SiLU()]
        self.features = nn.Sequential(*layers, nn.Flatten())
        cells = self.top * self.start**2
        self.encoder_head = nn.Sequential(nn.Linear(cells + a, hidden), nn.SiLU(), nn.Linear(hidden, 2 * z_dim))
        self.decoder_fc = nn.Sequential(nn.Linear(z_dim + a, hidden), nn.SiLU(), nn.Linear(hidden, cells), nn.SiLU())
        up = [*down[::-1], width]  # 7 -> 14 -> 28, ending at ``width`` channels
        layers = []
        for c_in, c_out in zip(up, up[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.SiLU()]
        self.decoder_conv = nn.Sequential(*layers, nn.Conv2d(width, channels, 3, 1, 1))

    def _encode(self, images: torch.Tensor, attributes: torch.Tensor | None) -> torch.Tensor:
        return self.encoder_head(self._join(self.features(images), attributes))

    def decode(self, z: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        h = self.decoder_fc(self._join(z, attributes))
        return self.decoder_conv(h.view(-1, self.top, self.start, self.start))
