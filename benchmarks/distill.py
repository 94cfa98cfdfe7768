"""Few-step flow sampling by progressive distillation, for BENCHMARKS.md: rounds that each halve a flow teacher's
steps (8 -> 4 -> 2 -> 1), every student scored beside the teacher sampled at the same steps without distillation.

Each round is `fashiongan train --model flow-distill --teacher PREVIOUS --steps S` (S training steps, one thread;
`--model` another packaged distillation config, `--minutes` a budget in minutes) with the student's sampling steps
set by a config layer. Every student is scored on --n samples by the evaluator
at its own steps (benchmarks/flow.py's `point`: one thread, images/s of that sampling); the undistilled teacher at
each student's steps (at its own guidance) is the baseline a round must beat. A colour or attribute teacher's
students are scored by the colour judge, colour accuracy included, and learn on the teacher's data. Two-thread speed is
benchmarks/sampling.py's, measured on a quiet machine.

    python benchmarks/distill.py --teacher pretrained:flow --rounds 4,2,1 --train-steps 400
    python benchmarks/distill.py --model flow-fast-narrow --teacher pretrained:flow-fast --rounds 1 --minutes 87 \
        --out runs/bench/distill-narrow16 --block flow-fast-narrow --no-baselines   # a fresh 16-wide student
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from fashiongan import hub
from fashiongan.cli.evaluate import judge_of
from fashiongan.metrics.features import COLOUR_JUDGE
from flow import point  # benchmarks/flow.py, sampling.py, machine.py and runs.py, beside this script
from machine import describe
from runs import ROOT, fill_block


def distil(model: str, teacher: str, steps: int, budget: tuple[str, float], out: Path,
           guidance: float | None = None, reuse: int | None = None, seed: int = 0) -> Path:
    """One round of the packaged distillation config ``model``: a student of ``steps`` Euler steps from ``teacher``
    (sampled at ``guidance``, if given, for the targets), trained on one thread from ``seed`` for ``budget`` (steps
    or minutes), each teacher pair teaching ``reuse`` times on average (objective.reuse; None: the config's)."""
    if (out / "config.json").is_file():
        training = hub.read_config(out)["training"]
        if (training["step"], training["seconds"] / 60)[budget[0] == "minutes"] < 0.99 * budget[1]:
            raise SystemExit(f"{out} holds an unfinished round: resume it (fashiongan train --resume {out}) or remove it")
        print(f"{out} exists: kept", flush=True)
        return out
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as layer:
        nets = {"generator": {"kwargs": {"steps": steps}}, **({"teacher": {"kwargs": {"guidance": guidance}}} if guidance else {})}
        objective = {} if reuse is None else {"objective": {"reuse": reuse}}
        yaml.safe_dump({"nets": nets, **objective, "train": {"track_fid": None}}, layer)
    command = [sys.executable, "-m", "fashiongan", "train", "--model", model, "--teacher", teacher, "--config",
               layer.name, f"--{budget[0]}", f"{budget[1]:g}", "--threads", "1", "--seed", str(seed), "--out", str(out), "--quiet"]
    print(" ".join(command[2:]), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)
    return out


def row(arm: str, minutes: str, steps: int, guidance: float, r: dict) -> str:
    """A table row of ``point``'s scores ``r`` for a sampler of ``steps`` at ``guidance``."""
    lowest = r["lowest"]
    evaluations = steps * (1 if guidance == 1.0 else 2)
    colour = "" if r["colour"] is None else (f" {r['colour']:.1%} | {r['lowest_colour'].get('name')} "
                                              f"{r['lowest_colour'].get('accuracy', 0):.1%} |")
    line = (f"| {arm} | {minutes} | {steps} | {guidance:g} | {evaluations} | {r['fid']:.2f} | {r['kid']:.4f} | "
            f"{r['precision']:.3f} | {r['recall']:.3f} | {r['label']:.1%} | {lowest.get('name')} "
            f"{lowest.get('accuracy', 0):.1%} |{colour} {r['rate']:,.0f} |")
    print(line, flush=True)
    return line


def median(results: list[dict]) -> dict:
    """Each score's median over ``results`` (seeds of one arm); a lowest condition's, whichever condition it was."""
    def mid(values: list[float]) -> float:
        return float(statistics.median(values))

    lowest = {key: {"name": "median", "accuracy": mid([r[key].get("accuracy", 0) for r in results])}
              for key in ("lowest", "lowest_colour")}
    numbers = {key: mid([r[key] for r in results]) for key in ("fid", "kid", "precision", "recall", "label", "rate")}
    colour = None if results[0]["colour"] is None else mid([r["colour"] for r in results])
    return {**numbers, **lowest, "colour": colour}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", required=True, help="the flow checkpoint to distil")
    parser.add_argument("--rounds", default="4,2,1", help="the student's steps after each round")
    parser.add_argument("--model", default="flow-distill", help="the packaged distillation config (flow-fast-narrow: a "
                        "fresh 16-wide student)")
    parser.add_argument("--train-steps", type=int, default=600, help="training steps per round")
    parser.add_argument("--minutes", type=float, help="training minutes per round, instead of --train-steps")
    parser.add_argument("--reuse", type=int, help="how many times each teacher pair teaches, on average "
                        "(objective.reuse: the teacher walks 1/R of each batch) [default: the config's]")
    parser.add_argument("--seeds", default="0", help="training seeds, comma-separated: a row each and their median")
    parser.add_argument("--guidance", type=float, help="the first teacher's guidance scale [default: its own]; later "
                        "teachers are students, whose guidance is baked in")
    parser.add_argument("--n", type=int, default=10_000, help="samples scored per row")
    parser.add_argument("--out", default="runs/bench/distill", help="where the students are kept (a kept one is reused)")
    parser.add_argument("--no-baselines", action="store_true", help="score the students only, not the teacher at their steps")
    parser.add_argument("--block", default="flow-distill", help="the BENCHMARKS.md block to write")
    parser.add_argument("--no-write", action="store_true", help="print the block instead of writing BENCHMARKS.md")
    args = parser.parse_args()
    out, rounds = ROOT / args.out, [int(s) for s in args.rounds.split(",")]
    saved = hub.read_config(args.teacher)
    guided = args.guidance or float(saved["nets"][saved["main"]]["kwargs"]["guidance"])
    budget = ("minutes", args.minutes) if args.minutes else ("steps", args.train_steps)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    students: dict[int, list[str]] = {}
    for seed in seeds:  # train every round first: scoring is the slow part
        teacher = args.teacher
        for steps in rounds:
            where = out / (f"progressive-{steps}" + (f"-seed{seed}" if seed else ""))
            teacher = str(distil(args.model, teacher, steps, budget, where, None if seed in students else args.guidance,
                                 args.reuse, seed))
            students.setdefault(seed, []).append(teacher)
    rows = []
    for i, steps in enumerate(rounds, 1):
        results = []
        for seed in seeds:
            minutes = sum(hub.read_config(student)["training"]["seconds"] / 60 for student in students[seed][:i])
            results.append(point(students[seed][i - 1], args.n, steps, 1.0))
            rows.append(row(f"distilled, round {i}" + (f", seed {seed}" if len(seeds) > 1 else ""), f"{minutes:.0f}",
                            steps, 1.0, results[-1]))
        if len(seeds) > 1:
            rows.append(row(f"distilled, round {i}, median of {len(seeds)} seeds", f"{minutes:.0f}", steps, 1.0, median(results)))
    rows += [] if args.no_baselines else [row("teacher, undistilled", "—", steps, guided, point(args.teacher, args.n, steps, guided))
                                          for steps in rounds]
    command = " ".join(["python benchmarks/distill.py", *(shlex.quote(a) for a in sys.argv[1:])])
    colours = judge_of(args.teacher) == COLOUR_JUDGE  # a colour or attribute teacher: its judge reads colours too
    body = "\n".join([
        f"Command: `{command}`; machine: {describe()}; date: {datetime.date.today().isoformat()}. {args.n:,} samples "
        f"per row, {'the colour judge' if colours else 'the evaluator'}; images/s on 1 thread while scoring.\n",
        "| sampler | distillation CPU minutes (cumulative) | Euler steps | guidance | net evaluations per image | FID | KID | "
        f"precision | recall | label accuracy | lowest class |{' colour accuracy | lowest colour |' if colours else ''} "
        "images/s, 1 thread |",
        f"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|{'---:|---|' if colours else ''}---:|",
        *rows,
    ])
    if args.no_write:
        print(body)
    else:
        fill_block(args.block, body)


if __name__ == "__main__":
    main()
