"""The one training engine: every model, from a classifier to CycleGAN, runs through ``fit``.

Read top to bottom: build nets and optimisers from the config, maybe resume, then loop over
steps; each step runs the objective's phases (loss -> backward -> all-reduce -> optimiser step),
and the loop saves checkpoints (every ``checkpoint_every`` steps and ``checkpoint_minutes``),
sample grids, scalars and, for generators, the judge's scores (tracking.py). Nothing here knows
any specific model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn

from fashiongan import hub, nets as net_registry, objectives
from fashiongan.data.datasets import TensorDict, load_training_data
from fashiongan.errors import FashionGANError
from fashiongan.objectives.base import Context, Phase
from fashiongan.train import state as train_state, tracking
from fashiongan.train.optimizers import build as build_optimizers, lr_factor
from fashiongan.train.artifacts import Artifacts
from fashiongan.train.config import TrainConfig, validate
from fashiongan.train.distributed import Distributed
from fashiongan.train.ema import ema_model

UNBOUNDED = 10**12  # steps, when only a time budget is given


class TrainingDiverged(FashionGANError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class FitResult:
    out: Path
    steps: int
    seconds: float
    metrics: dict[str, float]


def _run_phase(phase: Phase, nets, optimizer: torch.optim.Optimizer, batch, ctx: Context, dist: Distributed) -> dict[str, float]:
    optimizer.zero_grad(set_to_none=True)
    losses = phase.loss(nets, batch, ctx)
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
        phase.after(nets, ctx)
    return {f"{phase.name}/{key}": value.item() for key, value in losses.items()}


def _channels_last(batch: TensorDict) -> TensorDict:
    return {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in batch.items()}


def fit(config: TrainConfig, out: str | Path, resume: str | Path | None = None, progress: bool = True) -> FitResult:
    """Train ``config`` into the checkpoint directory ``out`` (continuing ``resume`` if given).

    A NaN or infinite loss raises TrainingDiverged naming the phase, the step and the checkpoint
    left on disk (a checkpoint is never written from non-finite weights).
    """
    try:
        return _fit(config, Path(out), resume, progress)
    except TrainingDiverged as exc:
        raise TrainingDiverged(f"{exc}; {_last_checkpoint(Path(out), resume)}") from None


def _last_checkpoint(out: Path, resume: str | Path | None) -> str:
    for directory in (out, resume):
        if directory is not None and (Path(directory) / hub.CONFIG_FILE).is_file():
            try:
                step = hub.read_config(directory).get("training", {}).get("step")
            except FashionGANError:
                continue
            return f"the last good checkpoint (step {step}) is in {directory}: lower the learning rate and --resume it"
    return "no checkpoint was written"


def _fit(config: TrainConfig, out: Path, resume: str | Path | None, progress: bool) -> FitResult:
    validate(config)
    saved = _check_resumable(Path(resume), config) if resume is not None else None  # before any work
    settings = config.train
    dist = Distributed.from_env(settings.get("device", "auto"))
    out = Path(out)
    objective = objectives.get(config.model)
    torch.manual_seed(config.seed)

    data = load_training_data(config.data)
    data.to(dist.device)
    nets = {
        role: net_registry.build(spec["arch"], **spec.get("kwargs", {})).to(dist.device)
        for role, spec in config.nets.items()
    }
    if settings.get("channels_last"):
        nets = {role: net.to(memory_format=torch.channels_last) for role, net in nets.items()}
    optimizers = build_optimizers(config.optim, nets)
    phases = objective.phases(config.objective)
    sampling_roles = (objective.main, *objective.inference_roles)
    emas = {role: ema_model(nets[role], settings["ema_decay"]) for role in sampling_roles} if settings.get("ema_decay") else {}
    saved_nets = {**nets, **{_ema_state(role, objective.main): average for role, average in emas.items()}}
    torch.manual_seed(config.seed + dist.rank)  # same init on every rank, different noise per rank

    start, objective_state, history = 0, objective.initial_state(config.objective), {}
    if resume is not None:
        start, objective_state, history = _resume(Path(resume), saved, saved_nets, optimizers)
        if dist.rank:
            torch.manual_seed(config.seed + 7919 * dist.rank + start)

    batch_size = settings["batch_size"]
    per_epoch = max(len(data) // (batch_size * dist.world), 1)
    total = settings["steps"] or (settings["epochs"] * per_epoch if settings["epochs"] else UNBOUNDED)
    deadline = time.monotonic() + 60 * float(settings["minutes"]) if settings.get("minutes") else None
    artifacts = Artifacts(out, enabled=dist.is_main, samples=settings.get("samples", True))
    ctx = Context(step=start, hp=config.objective, state=objective_state, seed=config.seed, device=dist.device, eval_data=data.eval)
    metrics: dict[str, float] = {}
    began = time.monotonic()
    seconds_before = float(saved["training"].get("seconds", 0.0)) if saved else 0.0  # earlier runs' training time

    playing = {role: role + hub.EMA_SUFFIX if emas else role for role in sampling_roles}  # the net each role samples with
    tracked: dict[str, float] = {}  # the judge's latest scores

    def describe(next_step: int) -> dict[str, Any]:
        """config.json of a checkpoint at ``next_step`` (the checkpoint adds the optimiser layout)."""
        return {
            "model": config.model,
            "conditional": objective.conditional,
            "roles": playing,
            "train_config": config.to_dict(),
            "training": {
                "step": next_step, "epoch": next_step / per_epoch, "world_size": dist.world,
                "seconds": round(seconds_before + time.monotonic() - began, 1),
            },
            "metrics": {**metrics, **tracked},
        }

    def save(next_step: int) -> None:
        if not dist.is_main:
            return
        for role, net in saved_nets.items():
            if not all(torch.isfinite(t).all() for t in net.state_dict().values() if t.is_floating_point()):
                raise TrainingDiverged(f"the weights of {role!r} became NaN or infinite by step {next_step}")
        inference = {**{role: nets[role] for role in sampling_roles},
                     **{playing[role]: average.module for role, average in emas.items()}}
        tensors, meta = train_state.pack(saved_nets, optimizers, ctx.state, history)
        description = describe(next_step)
        description["training"] = {**meta, **description["training"]}
        hub.save_pretrained(out, inference, description, main=playing[objective.main], training_state=tensors)

    console = Console(stderr=True)
    tracker = tracking.start(
        settings.get("track_fid"), nets[objective.main], config.data.get("name", "fashion_mnist"), out, config.seed,
        lambda text: console.print(f"note: {text}", highlight=False, soft_wrap=True), time.monotonic,
    ) if dist.is_main else None
    checkpoint_seconds = 60 * float(settings["checkpoint_minutes"]) if settings.get("checkpoint_minutes") else None
    last_save = began

    bar = Progress(
        TextColumn(f"[bold]{config.model}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[losses]}"),
        disable=not (progress and dist.is_main),
    )
    step = start - 1  # a resumed run that has already reached its budget trains no step
    with bar:
        task = bar.add_task("train", total=None if total == UNBOUNDED else total, completed=start, rate="", losses="")
        batches = data.batches(config.seed, start, per_epoch, batch_size, dist.rank, dist.world)
        for step in range(start, total):
            batch = {k: v.to(dist.device, non_blocking=True) for k, v in next(batches).items()}
            batch = data.prepare(batch, torch.Generator().manual_seed((config.seed * 1_000_003 + step) * 1024 + dist.rank))
            if settings.get("channels_last"):
                batch = _channels_last(batch)
            ctx.step = step
            for name, optimizer in optimizers.items():
                factor = lr_factor(config.optim[name].get("schedule", "constant"), step, total)
                for group in optimizer.param_groups:
                    group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor
            for net in nets.values():
                net.train()
            logs: dict[str, float] = {}
            for phase in phases:
                if step % phase.every == 0:
                    logs.update(_run_phase(phase, nets, optimizers[phase.optimizer], batch, ctx, dist))
            for role, average in emas.items():
                average.update_parameters(nets[role])
            for key, value in logs.items():
                steps, values = history.setdefault(key, ([], []))
                steps.append(step)
                values.append(value)
            if step % (settings["log_every"] or 1) == 0:
                artifacts.scalars(logs, step)
            done = step + 1 == total or (deadline is not None and dist.any(time.monotonic() >= deadline))
            epoch_end = (step + 1) % per_epoch == 0
            if epoch_end or done:
                metrics = _report(objective, nets, emas, ctx, artifacts, step + 1)
                for key, value in metrics.items():
                    steps, values = history.setdefault(f"eval/{key}", ([], []))
                    steps.append(step + 1)
                    values.append(value)
            if tracker is not None:
                main = emas[objective.main].module if emas else nets[objective.main]
                scores = tracker.maybe_score(main, step + 1, epoch_end or done, playing[objective.main],
                                             lambda: describe(step + 1))
                if scores is not None:
                    tracked = scores
                    artifacts.scalars({f"{tracking.PREFIX}{k}": v for k, v in scores.items()}, step + 1)
                    for key, value in scores.items():
                        steps, values = history.setdefault(f"{tracking.PREFIX}{key}", ([], []))
                        steps.append(step + 1)
                        values.append(value)
            # Only the main process writes, so the others need not agree on when (unlike `done`).
            now = time.monotonic()
            on_time = checkpoint_seconds is not None and now - last_save >= checkpoint_seconds
            by_steps = bool(settings["checkpoint_every"]) and (step + 1) % settings["checkpoint_every"] == 0
            if epoch_end or done or on_time or by_steps:
                last_save = now  # from the start of the write: a kill loses at most checkpoint_minutes and a step
                save(step + 1)
            elapsed = time.monotonic() - began
            bar.update(
                task, completed=step + 1, rate=f"{(step + 1 - start) / max(elapsed, 1e-9):.1f} it/s",
                losses=" ".join(f"{k}={v:.3g}" for k, v in logs.items() if k.endswith("loss")),
            )
            if done:
                break
    artifacts.finish(history)
    if tracker is not None and settings.get("samples", True):
        tracker.finish(history)
    dist.barrier()
    dist.close()
    return FitResult(out, step + 1, time.monotonic() - began, {**metrics, **tracked})


def _ema_state(role: str, main: str) -> str:
    """The training-state name of a role's EMA (``ema`` for the main net's, as before other roles had one)."""
    return "ema" if role == main else role + hub.EMA_SUFFIX


def _report(objective, nets, emas, ctx: Context, artifacts: Artifacts, step: int) -> dict[str, float]:
    if objective.report is None:
        return {}
    shown = {**nets, **{role: average.module for role, average in emas.items()}}
    report = objective.report(shown, ctx)
    artifacts.report(report, step)
    return report.metrics


def _check_resumable(directory: Path, config: TrainConfig) -> dict[str, Any]:
    """The checkpoint's config.json, after checking it was made by a config compatible with ``config``."""
    saved = hub.read_config(directory)
    if "training" not in saved or "train_config" not in saved:
        raise FashionGANError(f"cannot resume {directory}: it holds no training state (was it written by `fashiongan train`?)")
    before = saved["train_config"]
    for key in ("model", "nets", "optim", "objective", "data"):
        if before.get(key) != getattr(config, key):
            raise FashionGANError(
                f"cannot resume {directory}: its `{key}` differs from this config "
                f"({before.get(key)!r} vs {getattr(config, key)!r})"
            )
    if before.get("train", {}).get("batch_size") != config.train["batch_size"]:
        raise FashionGANError(f"cannot resume {directory}: it was trained with another batch_size")
    if bool(before.get("train", {}).get("ema_decay")) != bool(config.train.get("ema_decay")):
        raise FashionGANError(f"cannot resume {directory}: EMA was {'on' if before['train'].get('ema_decay') else 'off'} there")
    return saved


def _resume(directory: Path, saved: dict[str, Any], nets, optimizers) -> tuple[int, dict[str, torch.Tensor], dict]:
    """Load a checkpoint's training state (nets, optimisers, RNG, objective state, history) in place."""
    tensors = hub.load_tensors(directory / hub.TRAINING_FILE)
    objective_state, history = train_state.unpack(tensors, saved["training"], nets, optimizers)
    return int(saved["training"]["step"]), objective_state, history
