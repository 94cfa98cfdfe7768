"""Data-parallel training under torchrun: one process per device, gradients averaged per phase.

Gradients are all-reduced explicitly after each phase's backward (what DistributedDataParallel
does inside its hooks) so that objectives see plain modules: GAN phases run nets in several
roles per step, which DDP wrappers handle badly (a D forward inside the G phase, attribute access).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from fashiongan.errors import FashionGANError


@dataclass
class Distributed:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str = "auto") -> "Distributed":
        """Join the process group torchrun describes in the environment, or run alone."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "auto":
            device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        chosen = torch.device(device)
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise FashionGANError(f"device {device!r} was asked for, but PyTorch sees no CUDA device; use cpu or auto")
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)
        if world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
        return cls(rank=int(os.environ.get("RANK", "0")), world=world, device=chosen)

    def average_gradients(self, params: Iterable[torch.nn.Parameter], *also: torch.Tensor) -> None:
        """All-reduce the gradients of ``params`` in one flat buffer and divide by the world size.

        Tensors in ``also`` (e.g. a loss or a flag) ride in the same buffer and are averaged in place.
        """
        if self.world == 1:
            return
        grads = [p.grad for p in params if p.grad is not None] + list(also)
        if not grads:
            return
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat /= self.world
        for grad, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
            grad.copy_(synced)

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any rank: ranks that decide alone (a time budget) must agree."""
        if self.world == 1:
            return flag
        value = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
