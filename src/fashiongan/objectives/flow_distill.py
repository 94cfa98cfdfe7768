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
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from fashiongan.objectives import adversarial as adv
from fashiongan.objectives.base import Batch, Context, Losses, Nets, Objective, Phase


def loss(nets: Nets, batch: Batch, ctx: Context) -> Losses:
    student, teacher, target = nets["generator"], nets["teacher"], batch["image"]
    conditions = {"labels": batch["label"] if student.num_classes else None,
                  "colours": batch["colour"] if student.num_colours else None,
                  "attributes": batch["attributes"] if student.num_attributes else None}
    noise = torch.randn_like(target)
    n = student.steps
    k = teacher.steps // n  # the config check makes it whole
    t = torch.randint(0, n, (len(target),), device=target.device).to(target.dtype) / n
    path = (1 - t)[:, None, None, None] * noise + t[:, None, None, None] * target
    with torch.no_grad():
        walked = path
        for j in range(k):
            walked = teacher.step(walked, t + j / (n * k), 1 / (n * k), **conditions)
    return {"loss": F.mse_loss(student.velocity(path, t, **conditions), (walked - path) * n)}


def _phases(hp: Mapping[str, Any]) -> list[Phase]:
    return [Phase("S", "generator", loss)]


OBJECTIVE = Objective(
    name="flow-distill",
    description="progressive distillation of a flow model: a student lands in one step where its teacher lands in several",
    phases=_phases,
    roles=("generator", "teacher"),
    main="generator",
    conditional=True,
    report=adv.report,
    ode=True,
)
