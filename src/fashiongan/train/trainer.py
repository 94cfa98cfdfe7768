"""One model's training state and its step: what ``fit`` loops over, and what benchmarks and tests drive.

A Trainer is built from a config: its nets (on the device, channels-last when asked; a net with ``init`` starts from
that checkpoint's weights, and a net no optimiser updates is frozen), optimisers, the
objective's phases, context and state, and an EMA of every role that samples when ``train.ema_decay`` is
set, and the run's budget in steps (``total``, which the learning-rate schedule spans). ``batches`` is the
data's seeded stream, ``batch`` turns a raw batch of it into the one the model sees (moved, resized,
augmented with noise fixed by the step), and ``step`` runs one training step on it: the learning-rate
schedule, the phases (each ``every`` steps), the EMA updates. ``fit`` adds checkpoints, logs and the
judge; a benchmark that steps a Trainer the same way trains exactly as ``fashiongan train`` does.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import nn

from fashiongan import hub, nets as net_registry, objectives
from fashiongan.data.datasets import conditions
from fashiongan.data.train_data import TensorDict, TrainData
from fashiongan.errors import FashionGANError
from fashiongan.objectives.base import Context, Phase
from fashiongan.train.config import TrainConfig
from fashiongan.train.distributed import Distributed
from fashiongan.train.ema import ema_model
from fashiongan.train.fitting import takes
from fashiongan.train.optimizers import build as build_optimizers, lr_factor


UNBOUNDED = 10**12  # steps, when only a time budget is given


class TrainingDiverged(FashionGANError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class Trainer:
    """Nets, optimisers, EMAs and objective state of one run, and the step that trains them (see the module)."""

    def __init__(self, config: TrainConfig, data: TrainData, dist: Distributed | None = None, fresh: bool = True) -> None:
        self.config, self.data, self.dist = config, data, dist or Distributed()
        self.objective = objectives.get(config.model)
        found = conditions(config.data)
        self.conditions = takes(config, found)  # what the model draws and can be asked for
        settings = config.train
        self.per_epoch = max(len(data) // (settings["batch_size"] * self.dist.world), 1)
        self.total = settings["steps"] or (settings["epochs"] * self.per_epoch if settings["epochs"] else UNBOUNDED)
        torch.manual_seed(config.seed)
        device = self.dist.device
        self.nets = {role: net_registry.build(s["arch"], **s.get("kwargs", {})) for role, s in config.nets.items()}
        for role, spec in config.nets.items():
            if spec.get("init") and fresh:  # a resumed run has them in its training state
                self.nets[role].load_state_dict(hub.from_pretrained(spec["init"]).state_dict())
        self.nets = {role: net.to(device) for role, net in self.nets.items()}
        self.channels_last = bool(settings.get("channels_last"))
        if self.channels_last:
            self.nets = {role: net.to(memory_format=torch.channels_last) for role, net in self.nets.items()}
        self.optimizers = build_optimizers(config.optim, self.nets)
        updated = {role for name, spec in config.optim.items() for role in spec.get("nets", [name])}
        for role in self.nets.keys() - updated:
            self.nets[role].requires_grad_(False)  # no optimiser updates it (a distillation teacher): frozen
        hp = self.objective.hyperparameters(config.objective)
        self.phases = self.objective.phases(hp)
        self.sampling_roles = (self.objective.main, *self.objective.inference_roles)
        decay = settings.get("ema_decay")
        self.emas = {role: ema_model(self.nets[role], decay) for role in self.sampling_roles} if decay else {}
        self.ctx = Context(step=0, hp=hp, state=self.objective.initial_state(hp),
                           seed=config.seed, device=device, eval_data=data.eval, data=found)
        torch.manual_seed(config.seed + self.dist.rank)  # same init on every rank, different noise per rank

    @property
    def playing(self) -> dict[str, str]:
        """The stored name of the net each inference role samples with: its EMA where one is kept."""
        return {role: role + hub.EMA_SUFFIX if self.emas else role for role in self.sampling_roles}

    @property
    def saved_nets(self) -> dict[str, nn.Module]:
        """Every net resume needs, by its training-state name (``ema`` for the main net's EMA, as before
        other roles had one)."""
        main = self.objective.main
        return {**self.nets, **{"ema" if role == main else role + hub.EMA_SUFFIX: ema for role, ema in self.emas.items()}}

    def inference_nets(self) -> dict[str, nn.Module]:
        """The nets a checkpoint ships for sampling: each role's live net, and its EMA where one is kept."""
        playing = self.playing
        return {**{role: self.nets[role] for role in self.sampling_roles},
                **{playing[role]: ema.module for role, ema in self.emas.items()}}

    def shown(self) -> dict[str, nn.Module]:
        """The nets an objective's report draws with: each sampling role's EMA in place of the live net."""
        return {**self.nets, **{role: ema.module for role, ema in self.emas.items()}}

    def batch(self, raw: TensorDict, step: int) -> TensorDict:
        """A raw batch of the data's stream as the model sees it at ``step``: moved to the device, resized and
        augmented with noise fixed by (seed, step, rank), channels-last when asked."""
        dist = self.dist
        batch = {k: v.to(dist.device, non_blocking=True) for k, v in raw.items()}
        noise = torch.Generator().manual_seed((self.config.seed * 1_000_003 + step) * 1024 + dist.rank)
        batch = self.data.prepare(batch, noise)
        if self.channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in batch.items()}
        return batch

    def batches(self, start: int = 0) -> Iterator[TensorDict]:
        """The data's raw batches for steps ``start``, ``start + 1``, ... in the run's seeded order (this rank's slice)."""
        size, dist = self.config.train["batch_size"], self.dist
        return self.data.batches(self.config.seed, start, self.per_epoch, size, dist.rank, dist.world)

    def step(self, batch: TensorDict, step: int) -> dict[str, float]:
        """One training step at index ``step`` of ``total``: the schedule, the phases due, the EMA updates.
        Returns the logged values of the phases that ran."""
        self.ctx.step = step
        for name, optimizer in self.optimizers.items():
            factor = lr_factor(self.config.optim[name].get("schedule", "constant"), step, self.total)
            for group in optimizer.param_groups:
                group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor
        for net in self.nets.values():
            net.train()
        logs: dict[str, float] = {}
        for phase in self.phases:
            if step % phase.every == 0:
                logs.update(self.run_phase(phase, batch))
        for role, ema in self.emas.items():
            ema.update_parameters(self.nets[role])
        return logs

    def run_phase(self, phase: Phase, batch: TensorDict) -> dict[str, float]:
        """One optimiser update: loss, backward, all-reduce under torchrun, step. TrainingDiverged on a
        non-finite loss (every rank stops together)."""
        optimizer, ctx, dist = self.optimizers[phase.optimizer], self.ctx, self.dist
        optimizer.zero_grad(set_to_none=True)
        losses = phase.loss(self.nets, batch, ctx)
        loss = losses["loss"]
        if dist.world == 1 and not torch.isfinite(loss):
            raise TrainingDiverged(f"the {phase.name} loss became {loss.item()} at step {ctx.step}")
        loss.backward()
        # Under torchrun the ranks agree on finiteness inside the gradient all-reduce, so that one
        # rank's NaN stops every rank instead of leaving the others waiting in the next all-reduce.
        finite = torch.isfinite(loss.detach()).to(torch.float32).reshape(1)
        dist.average_gradients((p for group in optimizer.param_groups for p in group["params"]), finite)
        if finite.item() < 1:
            raise TrainingDiverged(f"the {phase.name} loss became {loss.item()} (on this or another rank) at step {ctx.step}")
        optimizer.step()
        if phase.after is not None:
            phase.after(self.nets, ctx)
        return {f"{phase.name}/{key}": value.item() for key, value in losses.items()}

    def non_finite(self) -> str | None:
        """The first net (by training-state name) holding a NaN or infinite weight, or None."""
        for role, net in self.saved_nets.items():
            if not all(torch.isfinite(t).all() for t in net.state_dict().values() if t.is_floating_point()):
                return role
        return None

    def describe(self) -> dict[str, Any]:
        """What a checkpoint's config.json says of the model, whatever its step."""
        return {"model": self.config.model, "kind": self.objective.kind, "conditional": self.objective.conditional,
                "roles": self.playing, "conditions": self.conditions.to_dict(), "train_config": self.config.to_dict()}
