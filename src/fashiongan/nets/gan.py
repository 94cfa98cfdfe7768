"""What every generator offers, whatever its architecture: draw a latent, map it to images.

A generator maps ``z`` (from ``latent``) and, when conditional, class ``labels`` (and, when it
takes colours, colour indices ``colours``) to images float (N, *image_shape) in [-1, 1]: (1, 28, 28)
unless the architecture says otherwise. Training code draws ``latent(n, device=...)`` from the global
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
    generator conditional: ``forward`` and ``sample`` then need one label per image. ``num_colours`` > 0
    makes it take a colour too (an index into the coloured set's catalogue), one-hot after the labels.
    ``image_shape`` (channels, height, width) is what ``forward`` returns; architectures that make
    another shape set it per instance.
    """

    image_shape: tuple[int, int, int] = (1, 28, 28)
    num_attributes: int = 0  # > 0: it takes an attribute vector instead (nets/attributed.py)

    def __init__(
        self, z_dim: int, num_classes: int = 0, noise: str = "normal", continuous_codes: int = 0, num_colours: int = 0
    ) -> None:
        super().__init__()
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {', '.join(NOISES)}, got {noise!r}")
        if not 0 <= continuous_codes < z_dim:
            raise ValueError(f"continuous_codes must lie in [0, z_dim={z_dim}), got {continuous_codes}")
        if num_colours < 0:
            raise ValueError(f"num_colours must be 0 or more, got {num_colours}")
        self.z_dim, self.num_classes, self.noise, self.continuous_codes = z_dim, num_classes, noise, continuous_codes
        self.num_colours = num_colours

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
        return _check_indices(labels, n, _LABELS, self.num_classes)

    def check_colours(self, colours: torch.Tensor | Sequence[int] | int | None, n: int) -> torch.Tensor | None:
        """Colours as a LongTensor (n,), or ValueError saying what is wrong (an int is repeated n times)."""
        return _check_indices(colours, n, _COLOURS, self.num_colours)

    def condition(self, z: torch.Tensor, labels: torch.Tensor | None, colours: torch.Tensor | None = None) -> torch.Tensor:
        """``z`` with the one-hot labels, then the one-hot colours appended where the net takes them,
        checked cheaply for training."""
        parts = [z]
        for values, words, size in ((labels, _LABELS, self.num_classes), (colours, _COLOURS, self.num_colours)):
            if _present(values, words, size):
                parts.append(F.one_hot(values, size).to(z.dtype))
        return torch.cat(parts, 1) if len(parts) > 1 else z

    @torch.no_grad()
    def sample(
        self, n: int, labels: torch.Tensor | Sequence[int] | int | None = None, generator: torch.Generator | None = None,
        colours: torch.Tensor | Sequence[int] | int | None = None,
    ) -> torch.Tensor:
        """``n`` images (n, *image_shape) in [-1, 1]; the caller chooses train/eval mode."""
        labels = self.check_labels(labels, n)
        colours = self.check_colours(colours, n)
        device = self._device()
        z = self.latent(n, generator=generator, device=device)
        labels = None if labels is None else labels.to(device)
        return self(z, labels) if colours is None else self(z, labels, colours.to(device))

    def forward(  # pragma: no cover
        self, z: torch.Tensor, labels: torch.Tensor | None = None, colours: torch.Tensor | None = None
    ) -> torch.Tensor:
        raise NotImplementedError


_LABELS = ("labels", "class", "unconditional", "conditional")
_COLOURS = ("colours", "colour", "grayscale-only", "colour-conditional")


def _present(values, words: tuple[str, str, str, str], size: int) -> bool:
    """Whether indices are given, after checking that they are given exactly when the net takes them."""
    what, kind, without, with_ = words
    if not size and values is not None:
        raise ValueError(f"this generator is {without}: it takes no {what}")
    if size and values is None:
        raise ValueError(f"this generator is {with_}: pass {what}, one {kind} index in 0..{size - 1} per image")
    return values is not None


def _check_indices(values, n: int, words: tuple[str, str, str, str], size: int) -> torch.Tensor | None:
    """Class or colour indices as a LongTensor (n,) in 0..size-1 (``size`` 0: none may be given)."""
    what, kind = words[:2]
    if not _present(values, words, size):
        return None
    values = torch.as_tensor(values)
    if values.is_floating_point() or values.is_complex() or values.dtype == torch.bool:
        raise ValueError(f"{what} must be whole {kind} indices, got dtype {values.dtype}")
    values = values.long()
    if values.dim() == 0:
        values = values.expand(n)
    if values.shape != (n,):
        raise ValueError(f"expected {n} {what}, got shape {tuple(values.shape)}")
    if n and (values.min() < 0 or values.max() >= size):
        raise ValueError(f"{what} must lie in 0..{size - 1}")
    return values


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
