"""The one training engine: every model, from a classifier to CycleGAN, runs through ``fit``.

Read top to bottom: load the data, build a Trainer (trainer.py: nets, optimisers, EMAs) from the config,
maybe resume, then loop over steps; each step runs the objective's phases (loss -> backward -> all-reduce
-> optimiser step), and the loop saves checkpoints (every ``checkpoint_every`` steps and ``checkpoint_minutes``),
sample grids, scalars and, for generators, the judge's scores (tracking.py). Nothing here knows
any specific model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from fashiongan import hub
from fashiongan.data.datasets import load_training_data
from fashiongan.errors import FashionGANError
from fashiongan.train import state as train_state, tracking
from fashiongan.train.artifacts import Artifacts
from fashiongan.train.config import TrainConfig, validate
from fashiongan.train.distributed import Distributed
from fashiongan.train.trainer import UNBOUNDED, Trainer, TrainingDiverged


@dataclass
class FitResult:
    out: Path
    steps: int
    seconds: float
    metrics: dict[str, float]


def fit(
    config: TrainConfig, out: str | Path, resume: str | Path | None = None, progress: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> FitResult:
    """Train ``config`` into the checkpoint directory ``out`` (continuing ``resume`` if given). ``clock`` (seconds)
    times the budget, the checkpoints by minutes and FID tracking.

    A NaN or infinite loss raises TrainingDiverged naming the phase, the step and the checkpoint
    left on disk (a checkpoint is never written from non-finite weights).
    """
    try:
        return _fit(config, Path(out), resume, progress, clock)
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


def _fit(config: TrainConfig, out: Path, resume: str | Path | None, progress: bool, clock: Callable[[], float]) -> FitResult:
    validate(config)
    saved = _check_resumable(Path(resume), config) if resume is not None else None  # before any work
    settings = config.train
    dist = Distributed.from_env(settings.get("device", "auto"))
    out = Path(out)
    torch.manual_seed(config.seed)
    data = load_training_data(config.data)
    data.to(dist.device)
    trainer = Trainer(config, data, dist, fresh=resume is None)
    objective, ctx = trainer.objective, trainer.ctx

    start, history = 0, {}
    if resume is not None:
        start, ctx.state, history = _resume(Path(resume), saved, trainer.saved_nets, trainer.optimizers)
        if dist.rank:
            torch.manual_seed(config.seed + 7919 * dist.rank + start)

    per_epoch, total = trainer.per_epoch, trainer.total
    deadline = clock() + 60 * float(settings["minutes"]) if settings.get("minutes") else None
    artifacts = Artifacts(out, enabled=dist.is_main, samples=settings.get("samples", True))
    ctx.step = start
    metrics: dict[str, float] = {}
    began = clock()
    seconds_before = float(saved["training"].get("seconds", 0.0)) if saved else 0.0  # earlier runs' training time
    playing = trainer.playing
    tracked: dict[str, float] = {}  # the judge's latest scores

    def describe(next_step: int) -> dict[str, Any]:
        """config.json of a checkpoint at ``next_step`` (the checkpoint adds the optimiser layout)."""
        return {
            **trainer.describe(),
            "training": {
                "step": next_step, "epoch": next_step / per_epoch, "world_size": dist.world,
                "seconds": round(seconds_before + clock() - began, 1),
            },
            "metrics": {**metrics, **tracked},
        }

    def save(next_step: int) -> None:
        if not dist.is_main:
            return
        broken = trainer.non_finite()
        if broken is not None:
            raise TrainingDiverged(f"the weights of {broken!r} became NaN or infinite by step {next_step}")
        tensors, meta = train_state.pack(trainer.saved_nets, trainer.optimizers, ctx.state, history)
        description = describe(next_step)
        description["training"] = {**meta, **description["training"]}
        hub.save_pretrained(out, trainer.inference_nets(), description, main=playing[objective.main], training_state=tensors)

    console = Console(stderr=True)
    tracker = tracking.start(
        settings.get("track_fid"), objective.kind, trainer.conditions, config.data, out, config.seed,
        lambda text: console.print(f"note: {text}", highlight=False, soft_wrap=True), clock, settings.get("judge"),
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
        batches = trainer.batches(start)
        for step in range(start, total):
            logs = trainer.step(trainer.batch(next(batches), step), step)
            for key, value in logs.items():
                steps, values = history.setdefault(key, ([], []))
                steps.append(step)
                values.append(value)
            if step % (settings["log_every"] or 1) == 0:
                artifacts.scalars(logs, step)
            done = step + 1 == total or (deadline is not None and dist.any(clock() >= deadline))
            epoch_end = (step + 1) % per_epoch == 0
            if epoch_end or done:
                metrics = _report(objective, trainer, artifacts, step + 1)
                for key, value in metrics.items():
                    steps, values = history.setdefault(f"eval/{key}", ([], []))
                    steps.append(step + 1)
                    values.append(value)
            if tracker is not None:
                main = trainer.shown()[objective.main]
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
            now = clock()
            on_time = checkpoint_seconds is not None and now - last_save >= checkpoint_seconds
            by_steps = bool(settings["checkpoint_every"]) and (step + 1) % settings["checkpoint_every"] == 0
            if epoch_end or done or on_time or by_steps:
                last_save = now  # from the start of the write: a kill loses at most checkpoint_minutes and a step
                save(step + 1)
            elapsed = clock() - began
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
    return FitResult(out, step + 1, clock() - began, {**metrics, **tracked})


def _report(objective, trainer: Trainer, artifacts: Artifacts, step: int) -> dict[str, float]:
    if objective.report is None:
        return {}
    report = objective.report(trainer.shown(), trainer.ctx)
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
