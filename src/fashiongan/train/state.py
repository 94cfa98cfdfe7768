"""Everything resume needs, flattened to named tensors for safetensors plus a little JSON."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

History = dict[str, tuple[list[int], list[float]]]


def pack(
    nets: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    state: Mapping[str, torch.Tensor],
    history: History,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors for training_state.safetensors, JSON-able metadata for config.json)."""
    tensors: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # noise drawn on a GPU uses its own generator
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    for role, module in nets.items():
        tensors.update({f"net.{role}.{k}": v for k, v in module.state_dict().items()})
    groups = {}
    for name, opt in optimizers.items():
        saved = opt.state_dict()
        for index, slots in saved["state"].items():
            for slot, value in slots.items():
                tensors[f"optim.{name}.{index}.{slot}"] = torch.as_tensor(value)
        groups[name] = saved["param_groups"]
    tensors.update({f"state.{k}": v for k, v in state.items()})
    for name, (steps, values) in history.items():
        tensors[f"history.{name}.step"] = torch.tensor(steps, dtype=torch.int64)
        tensors[f"history.{name}.value"] = torch.tensor(values, dtype=torch.float64)
    return tensors, {"param_groups": groups}


def _section(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def unpack(
    tensors: Mapping[str, torch.Tensor],
    meta: Mapping[str, Any],
    nets: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
) -> tuple[dict[str, torch.Tensor], History]:
    """Load nets and optimisers in place, restore the RNG; return (objective state, history)."""
    for role, module in nets.items():
        module.load_state_dict(_section(tensors, f"net.{role}."))
    for name, opt in optimizers.items():
        params = [p for group in opt.param_groups for p in group["params"]]
        slots: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in _section(tensors, f"optim.{name}.").items():
            index, slot = key.split(".", 1)
            param = params[int(index)]
            if value.shape == param.shape:  # moments in the parameter's memory layout (channels_last):
                value = torch.empty_like(param, dtype=value.dtype).copy_(value)  # fused kernels assume it
            slots.setdefault(int(index), {})[slot] = value
        opt.load_state_dict({"state": slots, "param_groups": meta["param_groups"][name]})
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    history: History = {}
    for key, value in _section(tensors, "history.").items():
        name, part = key.rsplit(".", 1)
        steps, values = history.setdefault(name, ([], []))
        (steps if part == "step" else values).extend(value.tolist())
    return _section(tensors, "state."), history
