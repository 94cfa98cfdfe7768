"""What every generator offers, whatever its architecture: draw a latent, map it to images.

A generator maps ``z`` (from ``latent``) and, when conditional, class ``labels`` to images
float (N, 1, 28, 28) in [-1, 1]. Training code draws ``latent(n, device=...)`` from the global
RNG (so a resumed run repeats the same noise); ``sample`` is for people: fixed seeds, label checks.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

NOISES = ("normal", "uniform")


class Generator(nn.Module):
    """Base class of generators.

    ``z_dim``: width of the tensor ``latent`` returns; its last ``continuous_codes`` entries are
    infoGAN's continuous codes (uniform in [-1, 1]), the rest noise (``noise``: standard normal, or
    uniform in [0, 1) as in pytorch-generative-model-collections). ``num_classes`` > 0 makes the
    generator conditional: ``forward`` and ``sample`` then need one label per image.
    """

    image_shape: tuple[int, int, int] = (1, 28, 28)

    def __init__(self, z_dim: int, num_classes: int = 0, noise: str = "normal", continuous_codes: int = 0) -> None:
        super().__init__()
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {', '.join(NOISES)}, got {noise!r}")
        if not 0 <= continuous_codes < z_dim:
            raise ValueError(f"continuous_codes must lie in [0, z_dim={z_dim}), got {continuous_codes}")
        self.z_dim, self.num_classes, self.noise, self.continuous_codes = z_dim, num_classes, noise, continuous_codes

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def latent(
        self,
        n: int,
        labels: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """``z`` (n, z_dim) for ``forward``, drawn from ``generator`` (else the global RNG) on its
        device and moved to ``device`` (default: this net's). ``labels`` are checked when given."""
        if labels is not None:
            self.check_labels(labels, n)
        device = torch.device(device) if device is not None else self._device()
        where = generator.device if generator is not None else device
        codes = self.continuous_codes
        draw = torch.randn if self.noise == "normal" else torch.rand
        z = draw(n, self.z_dim - codes, generator=generator, device=where)
        if codes:
            z = torch.cat([z, torch.rand(n, codes, generator=generator, device=where) * 2 - 1], 1)
        return z.to(device)

    def check_labels(self, labels: torch.Tensor | Sequence[int] | int | None, n: int) -> torch.Tensor | None:
        """Labels as a LongTensor (n,), or ValueError saying what is wrong (an int is repeated n times)."""
        if not self.conditional:
            if labels is not None:
                raise ValueError("this generator is unconditional: it takes no labels")
            return None
        if labels is None:
            raise ValueError(f"this generator is conditional: pass labels, one class index in 0..{self.num_classes - 1} per image")
        labels = torch.as_tensor(labels)
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be whole class indices, got dtype {labels.dtype}")
        labels = labels.long()
        if labels.dim() == 0:
            labels = labels.expand(n)
        if labels.shape != (n,):
            raise ValueError(f"expected {n} labels, got shape {tuple(labels.shape)}")
        if n and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}")
        return labels

    def condition(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """``z`` with the one-hot labels appended (conditional nets), checked cheaply for training."""
        if not self.conditional:
            if labels is not None:
                raise ValueError("this generator is unconditional: it takes no labels")
            return z
        if labels is None:
            raise ValueError(f"this generator is conditional: pass labels, one class index in 0..{self.num_classes - 1} per image")
        return torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], 1)

    @torch.no_grad()
    def sample(
        self, n: int, labels: torch.Tensor | Sequence[int] | int | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` images (n, 1, 28, 28) in [-1, 1]; the caller chooses train/eval mode."""
        labels = self.check_labels(labels, n)
        device = self._device()
        z = self.latent(n, generator=generator, device=device)
        return self(z, None if labels is None else labels.to(device))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


def label_planes(images: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Images with one constant plane per class appended (one-hot labels as channels: CGAN's D)."""
    planes = F.one_hot(labels, num_classes).to(images.dtype)[:, :, None, None]
    return torch.cat([images, planes.expand(-1, -1, *images.shape[2:])], 1)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """Weights N(0, std), biases 0 for conv and linear layers (pytorch-generative-model-collections' init)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
