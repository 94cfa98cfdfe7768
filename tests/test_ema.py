"""The generator EMA: a ramped decay, so early averages forget the random init, and live BatchNorm statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fashiongan.train.ema import ema_model, ramped_decay


def test_decay_ramps_up_to_the_configured_value() -> None:
    assert ramped_decay(0.999, 0) == pytest.approx(0.1)
    assert ramped_decay(0.999, 90) == pytest.approx(0.91)
    assert ramped_decay(0.999, 10**6) == 0.999
    assert ramped_decay(0.5, 3) == pytest.approx(4 / 13) and ramped_decay(0.5, 30) == 0.5


def test_weights_follow_the_ramped_recursion_and_buffers_are_the_live_ones() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = ema_model(net, decay=0.99)
    expected = None
    for update in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net(torch.randn(8, 3))  # train mode: moves BatchNorm's running statistics
        current = net[0].weight.detach().clone()
        if expected is None:
            expected = current  # the first update copies
        else:
            decay = ramped_decay(0.99, update)
            expected = decay * expected + (1 - decay) * current
        ema.update_parameters(net)
        assert torch.allclose(ema.module[0].weight, expected, atol=1e-6)
        assert torch.equal(ema.module[1].running_mean, net[1].running_mean)
        assert torch.equal(ema.module[1].running_var, net[1].running_var)
    assert not torch.allclose(ema.module[0].weight, net[0].weight)
