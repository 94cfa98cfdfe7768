"""The one pair of helpers that converts images at the boundary: uint8 on disk, floats in [-1, 1] in nets."""

from __future__ import annotations

import numpy as np
import torch


def to_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 images (N, H, W) or (N, C, H, W) -> float32 (N, C, H, W) in [-1, 1]."""
    x = images.float() if isinstance(images, torch.Tensor) else torch.from_numpy(np.asarray(images, np.float32))
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x.div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float (N, C, H, W) in [-1, 1] -> uint8 (N, H, W) for one channel, (N, H, W, C) for colour."""
    x = images.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    x = x.squeeze(1) if x.shape[1] == 1 else x.permute(0, 2, 3, 1)
    return x.numpy()
