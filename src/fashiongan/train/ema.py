"""An exponential moving average of a net's weights, for sampling (Karras et al.'s generator EMA).

Two details decide whether the average is usable early in a run, both as StyleGAN2-ADA does them:
- the decay ramps up, ``min(decay, (1 + n) / (10 + n))`` after n updates, so the random initial
  weights are forgotten within the first steps instead of weighing 37% after 1,000 steps at 0.999;
- buffers (BatchNorm's running statistics) are copied from the live net (``use_buffers=False``): they are
  already running averages, and averaging them again mixed in the initial statistics, so a
  0.999 EMA generator drew flat grey images after 1,000 steps.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def ramped_decay(decay: float, updates: int) -> float:
    """The decay used for the update after ``updates`` earlier ones."""
    return min(decay, (1 + updates) / (10 + updates))


def ema_model(net: nn.Module, decay: float) -> AveragedModel:
    """A copy of ``net``; each ``update_parameters(net)`` averages in its weights and copies its buffers."""

    def average(ema_params: list[torch.Tensor], params: list[torch.Tensor], updates: torch.Tensor) -> None:
        weight = 1 - ramped_decay(decay, int(updates))
        for ema_param, param in zip(ema_params, params):
            ema_param.lerp_(param, weight)

    return AveragedModel(net, multi_avg_fn=average, use_buffers=False)

