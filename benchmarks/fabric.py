"""Regenerate the '## Fabric restyling (CycleGAN)' section of BENCHMARKS.md: throughput of the translation
nets at 64 and 256 px, and ResNet-6 vs ResNet-9 generators and PatchGAN vs the fourth source's
discriminator at equal CPU minutes on the built-in leather <-> denim domains, judged by the metrics of
`fashiongan evaluate` (the source compared them by the loss alone).

Throughput: the engine's training step (both phases, its own phase function) of each arm's packaged
config on batches of the built-in fabrics, and the generator's inference, in images/s (the median of
timed windows after a warm-up); at 256 px the fourth source's config (ResNet-9 width 64, its
discriminator) with batch 1. Quality: each arm gets the same CPU minutes, turned into a step budget from
its measured training throughput, so that the learning rate's linear decay ends with the budget; then
`fashiongan.metrics.fabric.evaluate_translation` on n test items a direction (the identity mapping's
SSIM is the floor to beat). The shipped model, when there is one, is scored the same way.

    python benchmarks/fabric.py --throughput-only --threads 1        # a few minutes
    python benchmarks/fabric.py --minutes 30 --threads 1             # + 30 CPU minutes of training per arm
    python benchmarks/fabric.py --skip-train --minutes 30             # re-score runs/bench-ARM-30min
    python benchmarks/fabric.py --shipped-only --threads 1             # throughput + the shipped model's rows
    python benchmarks/fabric.py --arms cyclegan --minutes 0.5 --n-eval 20 --no-write   # a smoke run
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from fashiongan import hub, objectives, restyle
from fashiongan import nets as net_registry
from fashiongan.data import fabrics
from fashiongan.data.datasets import load_training_data
from fashiongan.metrics.fabric import evaluate_translation
from fashiongan.objectives.base import Context
from fashiongan.train import engine, fit, load_config
from fashiongan.train.distributed import Distributed
from fashiongan.viz import save_grid

from machine import describe  # benchmarks/machine.py and runs.py, beside this script
from runs import ROOT, rel, run_dir, trained

BENCHMARKS = ROOT / "BENCHMARKS.md"
FIGURE = ROOT / "benchmarks" / "figures" / "fabric-arms.png"
START, END = "<!-- fabric:start -->", "<!-- fabric:end -->"
TITLE = "## Fabric restyling (CycleGAN)"
ARMS = ("cyclegan", "cyclegan-resnet9", "cyclegan-source-d")
SOURCE = "cyclegan-source"
SHIPPED = "pretrained:fabric-cyclegan"
INTRO = """Regenerate with `python benchmarks/fabric.py` (see its docstring). Arms: `cyclegan` (ResNet-6 width 32,
PatchGAN width 32), `cyclegan-resnet9` (9 blocks), `cyclegan-source-d` (the fourth source's 5-layer
discriminator, width 64); each trained for the same CPU minutes (a step budget from its measured throughput,
so the linear decay completes), then scored per direction by `fashiongan evaluate`'s metrics: fabric accuracy
(the fabric judge), garment kept (the colour judge gives the output the true class) and agreed (the class it
gives the input), foreground mask IoU, KID to the target test
items (colour judge features), cycle L1, and SSIM to the paired ground truth with the identity mapping's
SSIM as the floor."""
THROUGHPUT_HEADER = ("| config | px | batch | train images/s | inference images/s | G parameters | D parameters | threads | "
                     "command | machine | date |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
QUALITY_HEADER = ("| arm | CPU min | steps | direction | fabric acc. | garment kept | garment agreed | mask IoU | KID | "
                  "cycle L1 | SSIM (identity) | command | machine | date |\n|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")


# ---------------------------------------------------------------- throughput

def _parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def throughput(name: str, size: int | None, batch: int | None, windows: int, window_steps: int) -> dict:
    """Median training and inference images/s of a packaged config (at ``size`` px when given)."""
    overrides: dict = {"data": {"limit": 64, "test_limit": 2}}
    if size is not None:
        overrides["data"].update(size=size, augment={"flip": True})
    if batch is not None:
        overrides["train"] = {"batch_size": batch}
    config = load_config(name, overrides=overrides)
    torch.manual_seed(config.seed)
    data = load_training_data(config.data)
    nets = {role: net_registry.build(s["arch"], **s.get("kwargs", {})) for role, s in config.nets.items()}
    optimizers = engine._optimizers(config, nets)
    objective = objectives.get(config.model)
    phases = objective.phases(config.objective)
    ctx = Context(step=0, hp=config.objective, state={}, seed=config.seed, device=torch.device("cpu"))
    dist, batch_size = Distributed(), config.train["batch_size"]
    batches = data.batches(config.seed, 0, max(len(data) // batch_size, 1), batch_size)

    def step(i: int) -> None:
        prepared = data.prepare(next(batches), torch.Generator().manual_seed(i))
        ctx.step = i
        for phase in phases:
            engine._run_phase(phase, nets, optimizers[phase.optimizer], prepared, ctx, dist)

    def timed(run, count: int) -> float:
        times = []
        for _ in range(windows):
            start = time.perf_counter()
            run(count)
            times.append((time.perf_counter() - start) / count)
        return statistics.median(times)

    step(0)
    train_s = timed(lambda count: [step(i) for i in range(count)], window_steps)
    generator = nets["generator_ab"].eval()
    side = size or int(generator.image_size)
    images = torch.rand(batch_size, generator.in_channels, side, side) * 2 - 1
    with torch.inference_mode():
        generator(images)
        infer_s = timed(lambda count: [generator(images) for _ in range(count)], window_steps)
    return {
        "config": name, "px": side, "batch": batch_size, "train_images_per_s": batch_size / train_s,
        "inference_images_per_s": batch_size / infer_s, "g_parameters": _parameters(generator),
        "d_parameters": _parameters(nets["discriminator_a"]), "threads": torch.get_num_threads(),
    }


def throughput_row(r: dict, command: str, where: str, date: str) -> str:
    return (f"| {r['config']} | {r['px']} | {r['batch']} | {r['train_images_per_s']:.2f} | {r['inference_images_per_s']:.1f} | "
            f"{r['g_parameters'] / 1e6:.2f}M | {r['d_parameters'] / 1e6:.2f}M | {r['threads']} | `{command}` | {where} | {date} |")


# ---------------------------------------------------------------- quality at equal CPU minutes


def arm_run(name: str, minutes: float) -> str:
    """The run of an arm at a budget (runs/bench-ARM-10min): budgets are compared, not replaced."""
    return f"{name}-{minutes:g}min"


def train(name: str, minutes: float, images_per_s: float, seed: int, runs: Path) -> dict:
    out = run_dir(runs, arm_run(name, minutes))
    if out.exists():  # the benchmark owns runs/bench-*: a new budget is a new run
        shutil.rmtree(out)
    steps = max(int(minutes * 60 * images_per_s), 1)  # batch 1: a step is an image a domain
    config = load_config(name, overrides={"seed": seed, "train": {"steps": steps, "epochs": None, "minutes": None}})
    print(f"training {name} for {steps} steps (~{minutes:g} CPU min) -> {rel(out)}", flush=True)
    result = fit(config, out, progress=sys.stderr.isatty())
    record = {"arm": name, "minutes": minutes, "seed": seed, "steps": result.steps, "seconds": round(result.seconds, 1),
              "command": f"fashiongan train --model {name} --steps {steps} --seed {seed} --out {rel(out)}"}
    (out / "bench.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def shipped_record() -> dict:
    training = hub.read_config(SHIPPED)["training"]
    return {"arm": SHIPPED, "minutes": round(training["seconds"] / 60, 1), "steps": training["step"],
            "command": f"fashiongan evaluate --checkpoint {SHIPPED}"}


def quality_rows(record: dict, scores: dict, where: str, date: str) -> dict[str, str]:
    rows = {}
    for direction, s in ((k, v) for k, v in scores.items() if isinstance(v, dict)):
        m, floor = s["model"], s["identity"]
        fabric = "—" if m["fabric_accuracy"] is None else f"{m['fabric_accuracy']:.1%}"
        rows[f"{record['arm']} {record['minutes']:g} {direction}"] = (
            f"| {record['arm']} | {record['minutes']:g} | {record['steps']} | {direction} | {fabric} | "
            f"{m['garment_kept']:.1%} | {m['garment_agreed']:.1%} | {m['mask_iou']:.3f} | {m['kid_mean']:.4f} | {m['cycle_l1']:.4f} | "
            f"{m['truth_ssim']:.3f} ({floor['truth_ssim']:.3f}) | `{record['command']}` | {where} | {date} |")
    return rows


def figure(checkpoints: dict[str, Path | str], path: Path, n: int = 8) -> Path:
    """A row of the same leather test items, then each arm's denim translation of them."""
    items = fabrics.load("test", "leather", 0, n).images
    rows, labels = [items.transpose(0, 2, 3, 1)], ["leather"]
    for name, checkpoint in checkpoints.items():
        moved, _ = restyle.load(checkpoint).translate(torch.from_numpy(items.copy()).float() / 127.5 - 1, "denim")
        rows.append(((moved.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
        labels.append(f"{name} -> denim")
    return save_grid(np.concatenate(rows), path, nrow=n, row_labels=labels)


# ---------------------------------------------------------------- BENCHMARKS.md

def _block(text: str, name: str) -> str:
    found = re.search(rf"<!-- fabric-{name}:start -->\n(.*?)<!-- fabric-{name}:end -->", text, re.S)
    return found.group(1) if found else ""


def _rows(block: str, keys: tuple[int, ...]) -> dict[str, str]:
    """Rows of a table block by their cells at ``keys`` (1 is the first cell)."""
    rows = {}
    for line in block.splitlines():
        if line.startswith("| ") and not line.startswith(("| config ", "| arm ")):
            cells = line.split("|")
            rows[" ".join(cells[k].strip() for k in keys)] = line
    return rows


def update_markdown(text: str, updates: dict[str, tuple[str, dict[str, str], tuple[int, ...]]]) -> str:
    """Replace the measured rows of the section's tables; other rows and other sections stay."""
    section = text[text.index(START): text.index(END) + len(END)] if START in text and END in text else ""
    parts = {}
    for name in ("throughput", "quality"):
        old = _block(section, name)
        header, rows, keys = updates.get(name, ("", {}, (1,)))
        merged = {**_rows(old, keys), **rows}
        if not merged:
            parts[name] = old or "_not measured yet_\n"
            continue
        header = header or "\n".join(line for line in old.splitlines() if line.startswith(("| config ", "| arm ", "|---")))
        parts[name] = header + "\n" + "\n".join(merged.values()) + "\n"
    new = (f"{START}\n{INTRO}\n\n### Throughput\n\n<!-- fabric-throughput:start -->\n{parts['throughput']}"
           "<!-- fabric-throughput:end -->\n\n### Generators and discriminators at equal CPU minutes\n\n"
           f"![leather test items and each arm's denim](benchmarks/figures/{FIGURE.name})\n\n"
           f"<!-- fabric-quality:start -->\n{parts['quality']}<!-- fabric-quality:end -->\n{END}")
    if section:
        return text.replace(section, new)
    return f"{text.rstrip()}\n\n{TITLE}\n\n{new}\n"


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated packaged configs")
    parser.add_argument("--minutes", type=float, default=30.0, help="CPU minutes of training per arm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-train", action="store_true", help="reuse runs/bench-ARM-MINUTESmin instead of training")
    parser.add_argument("--shipped-only", action="store_true", help="score only the shipped model (no arm trained or scored)")
    parser.add_argument("--throughput-only", action="store_true")
    parser.add_argument("--no-256", action="store_true", help="skip the (slow) 256 px throughput of the source's config")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--window-steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--n-eval", type=int, default=500, help="test items scored per direction")
    parser.add_argument("--judge", default=None, help="colour judge checkpoint (default pretrained:colour-judge)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--no-write", action="store_true", help="print the rows instead of updating BENCHMARKS.md")
    args = parser.parse_args()
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if args.threads:
        torch.set_num_threads(args.threads)
    where, date = describe(), datetime.date.today().isoformat()
    prefix = f"--threads {args.threads} " if args.threads else ""
    updates: dict[str, tuple] = {}

    measured, rows = {}, {}
    settings = [(arm, None, None) for arm in arms] + ([] if args.no_256 else [(SOURCE, 256, 1)])
    for name, size, batch in settings:
        r = throughput(name, size, batch, args.windows, args.window_steps)
        measured[name] = r
        command = f"python benchmarks/fabric.py --throughput-only {prefix}--arms {name}"
        rows[f"{name} {r['px']}"] = throughput_row(r, command, where, date)
        print(rows[f"{name} {r['px']}"], flush=True)
    updates["throughput"] = (THROUGHPUT_HEADER, rows, (1, 2))

    if not args.throughput_only:
        scored = [] if args.shipped_only else arms
        records = {arm: trained(arm_run(arm, args.minutes), args.runs) if args.skip_train
                   else train(arm, args.minutes, measured[arm]["train_images_per_s"], args.seed, args.runs) for arm in scored}
        checkpoints: dict[str, Path | str] = {arm: run_dir(args.runs, arm_run(arm, args.minutes)) for arm in scored}
        if SHIPPED.split(":", 1)[1] in hub.shipped():
            records[SHIPPED], checkpoints[SHIPPED] = shipped_record(), SHIPPED
        rows = {}
        for name, checkpoint in checkpoints.items():
            scores = evaluate_translation(checkpoint, n=args.n_eval, judge=args.judge, seed=args.seed)
            rows.update(quality_rows(records[name], scores, where, date))
            print("\n".join(quality_rows(records[name], scores, where, date).values()), flush=True)
        updates["quality"] = (QUALITY_HEADER, rows, (1, 2, 4))  # arm, CPU minutes, direction
        path = args.runs / FIGURE.name if args.no_write else FIGURE
        print(f"wrote {rel(figure(checkpoints, path))}")

    if args.no_write:
        return
    BENCHMARKS.write_text(update_markdown(BENCHMARKS.read_text() if BENCHMARKS.is_file() else "", updates))
    print(f"updated the '{TITLE}' section of {rel(BENCHMARKS)}")


if __name__ == "__main__":
    main()
