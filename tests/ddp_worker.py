"""The body of one process in test_ddp's two-process gloo test: a module of its own, so that the
spawned processes import only torch and the engine's Distributed, not pytest and the test suite."""

from __future__ import annotations

import os

import torch
from safetensors.torch import save_file

from fashiongan.train.distributed import Distributed


def inputs(rank: int) -> torch.Tensor:
    return torch.randn(8, 4, generator=torch.Generator().manual_seed(100 + rank))


@torch.no_grad()
def sgd_step(net: torch.nn.Module, lr: float = 0.5) -> None:
    """Plain SGD by hand: torch.optim's first use imports torch._dynamo, seconds per process."""
    for p in net.parameters():
        p -= lr * p.grad


def worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    dist = Distributed.from_env("cpu")
    # Different gradients on each rank, plus a flag riding in the same buffer.
    p = torch.nn.Parameter(torch.zeros(3))
    q = torch.nn.Parameter(torch.zeros(2, 2))
    p.grad, q.grad = torch.full((3,), float(rank + 1)), torch.full((2, 2), 10.0 * rank)
    flag = torch.tensor([1.0 - rank])
    dist.average_gradients([p, q], flag)
    # One SGD step from the same init on different data: the ranks must end identical.
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    net(inputs(rank)).pow(2).mean().backward()
    dist.average_gradients(net.parameters())
    sgd_step(net)
    result = {"p": p.grad, "q": q.grad, "flag": flag, "weight": net.weight.detach(), "bias": net.bias.detach(),
              "any_one": torch.tensor(dist.any(rank == 1)), "any_none": torch.tensor(dist.any(False))}
    dist.barrier()
    dist.close()
    save_file({k: v.contiguous() for k, v in result.items()}, f"{out}/rank{rank}.safetensors")
