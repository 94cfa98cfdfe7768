"""Progressive distillation of a flow model (Salimans & Ho 2022, in velocity form): a student that samples in
N Euler steps learns to land where its teacher lands in k = (the teacher's steps) / N of its own steps, guidance
included, so one student step costs one net evaluation where the guided teacher's k steps took 2k.

A training point is an item's path point x_t = (1 - t) x_0 + t x_1 at one of the student's grid times
t = i / N (the data's path, as flow matching samples it). The teacher (frozen: no optimiser updates it, its
weights from ``nets.teacher.init``) walks from x_t to t + 1/N in its own k steps, solver and guidance scale; the
student's target velocity is that walk's displacement times N, and its loss the squared error. The student
starts from the teacher's weights (``nets.generator.init``), samples with guidance 1 (the teacher's guidance is in
its targets) and never drops a condition. Halving a round at a time (k = 2: 8 -> 4 -> 2 -> 1, each round's
student the next round's teacher) is the paper's schedule; one round with a larger k is the direct path.

The teacher's walk costs about as much as the student's update (a one-step 32-wide teacher and a 16-wide student:
half the step each), so ``objective.reuse: R`` walks the teacher for only 1/R of each batch and keeps the pairs
(path point, time, conditions, target) in a bank of the last R batches' worth, from which the student draws its
batch: each pair teaches R times on average and a step costs the student's update plus 1/R of a walk. The bank is
objective state, so it travels in checkpoints and a resumed run draws what an unbroken one would.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase


CONDITIONS = ("labels", "colours", "attributes")


def _pairs(nets: Nets, batch: Batch, count: int) -> dict[str, torch.Tensor]:
    """Training pairs from the first ``count`` items of ``batch``: the path point, its time, the conditions the
    student takes, and the target velocity (the teacher's walk from the point, times the student's steps)."""
    student, teacher, target = nets["generator"], nets["teacher"], batch["image"][:count]
    taken = (student.num_classes, student.num_colours, student.num_attributes)
    conditions = {name: batch[key][:count] for name, key, n in zip(CONDITIONS, ("label", "colour", "attributes"), taken) if n}
    noise = torch.randn_like(target)
    n = student.steps
    k = teacher.steps // n  # the config check makes it whole
    t = torch.randint(0, n, (len(target),), device=target.device).to(target.dtype) / n
    path = (1 - t)[:, None, None, None] * noise + t[:, None, None, None] * target
    with torch.no_grad():
        walked = path
        for j in range(k):
            walked = teacher.step(walked, t + j / (n * k), 1 / (n * k), **conditions)
    return {"path": path, "t": t, **conditions, "goal": (walked - path) * n}


def _banked(fresh: dict[str, torch.Tensor], bank: dict[str, torch.Tensor], capacity: int, size: int) -> dict[str, torch.Tensor]:
    """Add ``fresh`` pairs to ``bank`` (in place; the oldest beyond ``capacity`` go) and draw ``size`` of the bank's."""
    for key, value in fresh.items():
        bank[key] = torch.cat([value, bank[key]])[:capacity] if key in bank else value
    drawn = torch.randint(0, len(bank["goal"]), (size,), device=bank["goal"].device)
    return {key: value[drawn] for key, value in bank.items()}


def loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    size, reuse = len(batch["image"]), int(ctx.hp["reuse"])
    if reuse == 1:
        pairs = _pairs(nets, batch, size)
    else:
        pairs = _banked(_pairs(nets, batch, max(1, size // reuse)), ctx.state, reuse * size, size)
    conditions = {name: pairs[name] for name in CONDITIONS if name in pairs}
    return {"loss": F.mse_loss(nets["generator"].velocity(pairs["path"], pairs["t"], **conditions), pairs["goal"])}


def _phases(hp: Mapping[str, Any]) -> list[Phase]:
    adv.positive(hp, "reuse", whole=True)
    return [Phase("S", "generator", loss)]


OBJECTIVE = Objective(
    name="flow-distill",
    description="progressive distillation of a flow model: a student lands in one step where its teacher lands in several",
    phases=_phases,
    roles=("generator", "teacher"),
    main="generator",
    conditional=True,
    report=adv.report,
    settings={"reuse": 1},
    ode=True,
)
