"""Adversarial noise against a classifier: FGSM and PGD, for robustness curves (metrics.robustness), adversarial
training (objectives.classifier) and the web app.

Conventions shared by both attacks:

- ``eps`` is in units of the [0, 1] pixel scale (0.1 = a tenth of the grey range), the way papers
  quote it; nets see images in [-1, 1], so there a perturbation of ``eps`` is ``2 * eps``.
- With ``mask=True`` (the default) only the garment is perturbed: pixels that are not pure black
  in the clean image (uint8 > 0). Fashion-MNIST's black background stays black, so the noise
  cannot be "seen" off the item. ``mask=False`` perturbs every pixel.
- Adversarial images are clamped to the valid range [-1, 1].
- The attacks differentiate with respect to the input only (``torch.autograd.grad``): parameter
  gradients are left untouched, so they can run inside a training loss. They do not change the
  model's mode; callers put it in eval mode (``metrics.robustness.robustness_curve`` does).
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.errors import FashionGANError

ATTACKS = ["fgsm", "pgd"]
# uint8 0 maps to exactly -1.0; uint8 1 to -0.992. Half a grey level above black separates them.
_BLACK = -1.0 + 0.5 / 127.5


def check_eps(eps: float) -> float:
    """``eps`` as a float in [0, 1] (the [0, 1] pixel scale), else a one-line error."""
    eps = float(eps)
    if not 0.0 <= eps <= 1.0:
        raise FashionGANError(f"epsilon {eps} is outside [0, 1] (it is in units of the [0, 1] pixel scale)")
    return eps


def foreground(images: torch.Tensor) -> torch.Tensor:
    """1 where the clean pixel is not black (uint8 > 0), else 0; the attacks' default mask."""
    return (images > _BLACK).to(images.dtype)


def _input_gradient(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    with torch.enable_grad():
        x = images.detach().requires_grad_(True)
        loss = F.cross_entropy(model(x), labels)
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def fgsm(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float, mask: bool = True) -> torch.Tensor:
    """Fast gradient sign method: one step of ``eps`` along the sign of the loss's input gradient."""
    if eps == 0:
        return images.detach().clone()
    where = foreground(images) if mask else torch.ones_like(images)
    step = 2 * eps * _input_gradient(model, images, labels).sign() * where
    return (images.detach() + step).clamp(-1, 1)


def pgd(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    eps: float,
    steps: int = 10,
    alpha: float | None = None,
    random_start: bool = True,
    mask: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient descent (Madry et al.): ``steps`` signed steps of ``alpha`` (default
    2.5 * eps / steps, in [0, 1] units), each projected back to the L-inf ``eps`` ball around the
    clean image and to [-1, 1]; a uniform random start inside the ball when ``random_start``."""
    if steps < 1:
        raise FashionGANError(f"PGD needs at least one step, got {steps}")
    clean = images.detach()
    if eps == 0:
        return clean.clone()
    where = foreground(clean) if mask else torch.ones_like(clean)
    radius, step = 2 * eps, 2 * (alpha if alpha is not None else 2.5 * eps / steps)
    delta = torch.zeros_like(clean)
    if random_start:
        noise = torch.rand(clean.shape, generator=generator, dtype=clean.dtype).to(clean.device)
        delta = (noise * 2 - 1) * radius * where
    x = (clean + delta).clamp(-1, 1)
    for _ in range(steps):
        x = x + step * _input_gradient(model, x, labels).sign() * where
        x = torch.min(torch.max(x, clean - radius), clean + radius).clamp(-1, 1)
    return x


def attack(
    name: str,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    eps: float,
    mask: bool = True,
    steps: int = 10,
    alpha: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Adversarial versions of ``images`` by attack name (``ATTACKS``)."""
    if name == "fgsm":
        return fgsm(model, images, labels, eps, mask=mask)
    if name == "pgd":
        return pgd(model, images, labels, eps, steps=steps, alpha=alpha, mask=mask, generator=generator)
    raise FashionGANError(f"unknown attack {name!r}; choose one of: {', '.join(ATTACKS)}")
