"""A VAE's latent space, shown: test items beside their reconstructions, and walks between two draws.

Both take a VAE checkpoint (a directory or ``pretrained:NAME``) and give uint8 images, the package's
boundary convention, the same for the same seed. `fashiongan sample --reconstruct / --interpolate` call them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from fashiongan import hub
from fashiongan.data.transforms import to_uint8
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.metrics.elbo import is_vae, split_of
from fashiongan.sampling import check_count

MAX_STEPS = 32
POOL = 1000  # reconstructions pick their items among the first POOL test items


def load_vae(checkpoint: str | Path | hub.Checkpoint) -> hub.Checkpoint:
    """The checkpoint with its VAE loaded (eval mode); anything else is a CheckpointError saying what it is."""
    loaded = checkpoint if isinstance(checkpoint, hub.Checkpoint) else hub.load_checkpoint(checkpoint)
    if not is_vae(loaded.config):
        raise CheckpointError(
            f"{loaded.path} holds a {loaded.config.get('model', 'unknown')!r} model, not a VAE: reconstructions and "
            "interpolations need an encoder (train one with `fashiongan train --model cvae`)"
        )
    loaded.main.eval()
    return loaded


@torch.inference_mode()
def reconstructions(checkpoint: str | Path | hub.Checkpoint, n: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random items among the first POOL test items of the data the VAE was trained on, and its
    reconstructions of them (the decoder's mean at the posterior mean), each uint8 (n, H, W) or (n, H, W, 3)."""
    n = check_count(n)
    loaded = load_vae(checkpoint)
    net = loaded.main
    images, attributes = split_of(loaded.config.get("train_config", {}).get("data", {}), "test", POOL)
    chosen = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(images), min(n, len(images)), replace=False)))
    items = images[chosen]
    asked = attributes[chosen] if net.num_attributes else None
    return to_uint8(items), to_uint8(net.reconstruct(items, asked))


def _slerp(start: torch.Tensor, end: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latents (n, d) at fractions t (steps,) -> (n, steps, d): the norm stays
    typical of N(0, I) all the way, where a straight line would pass through unusually short codes."""
    cos = torch.nn.functional.cosine_similarity(start, end, dim=1).clamp(-1 + 1e-6, 1 - 1e-6)
    angle = torch.acos(cos)[:, None, None]
    t = t[None, :, None]
    return (torch.sin((1 - t) * angle) * start[:, None] + torch.sin(t * angle) * end[:, None]) / torch.sin(angle)


@torch.inference_mode()
def interpolations(
    checkpoint: str | Path | hub.Checkpoint | nn.Module, n: int = 4, steps: int = 8,
    attributes: Sequence[str] = (), seed: int = 0,
) -> np.ndarray:
    """``n`` walks of ``steps`` images, row after row, uint8 (n * steps, H, W[, 3]): each from one draw (z, a)
    to another, z along a great circle and the attribute vector blended linearly. ``attributes`` (NAME=VALUE)
    hold at both ends; the columns not named are drawn at each end from the data's prior, so a walk may go
    from a navy coat to a red dress."""
    n = check_count(n)
    if not 2 <= steps <= MAX_STEPS:
        raise FashionGANError(f"an interpolation needs 2 to {MAX_STEPS} steps, got {steps}")
    net = checkpoint if isinstance(checkpoint, nn.Module) else load_vae(checkpoint).main
    rng = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, steps)
    if net.num_attributes:
        try:
            asked = net.request(list(attributes))
            ends = [net.complete(asked, n, rng) for _ in range(2)]
        except ValueError as exc:
            raise FashionGANError(str(exc)) from None
        blended = (ends[0][:, None] * (1 - t[None, :, None]) + ends[1][:, None] * t[None, :, None]).flatten(0, 1)
    elif attributes:
        raise FashionGANError("this VAE is unconditional: it takes no attributes")
    else:
        blended = None
    z = _slerp(net.latent(n, generator=rng), net.latent(n, generator=rng), t).flatten(0, 1)
    device = next(net.parameters()).device
    return to_uint8(net(z.to(device), None if blended is None else blended.to(device)))
