"""Regenerate the '## Fabric restyling (CycleGAN)' section of BENCHMARKS.md: throughput of the translation
nets at 64 and 256 px, and ResNet-6 vs ResNet-9 generators and PatchGAN vs the fourth source's
discriminator at equal CPU minutes on the built-in leather <-> denim domains, judged by the metrics of
`fashiongan evaluate` (the source compared them by the loss alone).

Throughput: the engine's training step (both phases, its own phase function) of each arm's packaged
config on batches of the built-in fabrics, and the generator's inference, in images/s (the median of
timed windows after a warm-up); at 256 px the fourth source's config (ResNet-9 width 64, its
discriminator) with batch 1. Quality: each arm gets the same CPU minutes, turned into a step budget from
its measured training throughput, so that the learning rate's linear decay ends with the budget (a
further seed gets the first seed's step budget, so seeds differ in nothing else); then
`fashiongan.metrics.fabric.evaluate_translation` on n test items a direction (the identity mapping's
SSIM is the floor to beat), always with evaluation seed 0. The shipped model is scored the same way.
Scores accumulate in benchmarks/results/fabric.json, one record per arm, budget and seed (the latest
run wins); the table is written from all of them, with medians over seeds where an arm has several.

    python benchmarks/fabric.py --throughput-only --threads 1        # a few minutes
    python benchmarks/fabric.py --minutes 30 --threads 1             # + 30 CPU minutes of training per arm
    python benchmarks/fabric.py --minutes 10 --threads 1 --seed 1    # another seed, runs/bench-ARM-10min-seed1
    python benchmarks/fabric.py --skip-train --minutes 30             # re-score runs/bench-ARM-30min
    python benchmarks/fabric.py --shipped-only                        # re-score the shipped model
    python benchmarks/fabric.py --table-only                          # rewrite the table from the results
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

from fashiongan import hub, restyle
from fashiongan.data import fabrics, fashion_mnist
from fashiongan.data.datasets import load_training_data
from fashiongan.metrics.fabric import evaluate_translation
from fashiongan.metrics.features import JUDGE, judge_outputs, load_judge
from fashiongan.train import Trainer, fit, load_config
from fashiongan.viz import save_grid

from machine import describe  # benchmarks/machine.py and runs.py, beside this script
from runs import ROOT, budget_name, rel, repeated_seeds, run_dir, trained

BENCHMARKS = ROOT / "BENCHMARKS.md"
RESULTS = ROOT / "benchmarks" / "results" / "fabric.json"
FIGURE = ROOT / "benchmarks" / "figures" / "fabric-arms.png"
START, END = "<!-- fabric:start -->", "<!-- fabric:end -->"
TITLE = "## Fabric restyling (CycleGAN)"
ARMS = ("cyclegan", "cyclegan-resnet9", "cyclegan-source-d")
SOURCE = "cyclegan-source"
SHIPPED = "pretrained:fabric-cyclegan"
INTRO = """Regenerate with `python benchmarks/fabric.py` (see its docstring). Arms: `cyclegan` (ResNet-6 width 32,
PatchGAN width 32), `cyclegan-resnet9` (9 blocks), `cyclegan-source-d` (the fourth source's 5-layer
discriminator, width 64); each trained for the same CPU minutes (a step budget from its measured throughput,
so the linear decay completes; further seeds get seed 0's budget), then scored per direction by `fashiongan
evaluate`'s metrics: fabric accuracy (the fabric judge), garment kept (the colour judge gives the output the
true class) and agreed (the class it gives the input), foreground mask IoU, KID to the target test items
(colour judge features), cycle L1, and SSIM to the paired ground truth with the identity mapping's SSIM as
the floor. Scores are recorded in benchmarks/results/fabric.json."""
THROUGHPUT_HEADER = ("| config | px | batch | train images/s | inference images/s | G parameters | D parameters | threads | "
                     "command | machine | date |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
QUALITY_HEADER = ("| arm | CPU min | seed | steps | direction | fabric acc. | garment kept | garment agreed | mask IoU | KID | "
                  "cycle L1 | SSIM (identity) | command | machine | date |\n"
                  "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
MEDIAN_HEADER = ("| arm | CPU min | seeds | direction | garment kept | garment agreed | mask IoU | KID | cycle L1 | SSIM |\n"
                 "|---|---:|---|---|---:|---:|---:|---:|---:|---:|")
SCORES = ("fabric_accuracy", "garment_kept", "garment_agreed", "mask_iou", "kid_mean", "cycle_l1", "truth_ssim")


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
    trainer = Trainer(config, load_training_data(config.data))  # steps exactly as `fashiongan train` does
    nets, batch_size, batches = trainer.nets, config.train["batch_size"], trainer.batches()

    def step(i: int) -> None:
        trainer.step(trainer.batch(next(batches), i), i)

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


def first_seed_steps(name: str, minutes: float, seed: int, records: list[dict]) -> int | None:
    """For a further seed, the step budget seed 0 of the arm was given at these minutes (None: measure one)."""
    if not seed:
        return None
    return next((r["steps"] for r in records if (r["arm"], r["minutes"], r["seed"]) == (name, minutes, 0)), None)


def train(name: str, minutes: float, steps: int, seed: int, runs: Path) -> dict:
    out = run_dir(runs, budget_name(name, minutes, seed))
    if out.exists():  # the benchmark owns runs/bench-*: a new budget is a new run
        shutil.rmtree(out)
    config = load_config(name, overrides={"seed": seed, "train": {"steps": steps, "epochs": None, "minutes": None}})
    print(f"training {name} seed {seed} for {steps} steps (~{minutes:g} CPU min) -> {rel(out)}", flush=True)
    result = fit(config, out, progress=sys.stderr.isatty())
    record = {"arm": name, "minutes": minutes, "seed": seed, "steps": result.steps, "seconds": round(result.seconds, 1),
              "command": f"fashiongan train --model {name} --steps {steps} --seed {seed} --out {rel(out)}"}
    (out / "bench.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def shipped_record() -> dict:
    config = hub.read_config(SHIPPED)
    training = config["training"]
    return {"arm": SHIPPED, "minutes": round(training["seconds"] / 60, 1), "seed": int(config["train_config"].get("seed", 0)),
            "steps": training["step"], "command": f"fashiongan evaluate --checkpoint {SHIPPED}"}


def result(record: dict, scores: dict, where: str, date: str) -> dict:
    """A run's record with its scores per direction: the model's, the identity mapping's SSIM, and the ground
    truth's garment kept and agreed (the judge's ceiling) where there is one."""
    directions = {name: {**{k: s["model"][k] for k in SCORES}, "identity_ssim": s["identity"]["truth_ssim"],
                         **({"truth_kept": s["truth"]["garment_kept"], "truth_agreed": s["truth"]["garment_agreed"]} if "truth" in s else {})}
                  for name, s in scores.items() if isinstance(s, dict)}
    return {**{k: record[k] for k in ("arm", "minutes", "seed", "steps", "command")}, "n": scores[next(iter(directions))]["model"]["n"],
            "machine": where, "date": date, "directions": directions}


def judge_ceiling(records: list[dict]) -> str:
    """A sentence on what no translation can beat on the scored test items: how often the grayscale evaluator
    names them in their original grey, and the colour judge their paired fabric renders (the ground truth)."""
    scored = [r for r in records if all("truth_kept" in m for m in r["directions"].values())]
    if not scored:
        return ""
    r = max(scored, key=lambda r: r["n"])
    grey = fashion_mnist.load("test")
    named = judge_outputs(load_judge(JUDGE), torch.from_numpy(grey.images[: r["n"], None].copy())).logits.argmax(1)
    accuracy = float((named == torch.from_numpy(grey.labels[: r["n"]].astype(np.int64))).float().mean())
    rendered = ", ".join(f"{d.split('->')[1]} {m['truth_kept']:.1%}" for d, m in r["directions"].items())
    return (f"\nWhat garment kept cannot exceed on these {r['n']} test items: the grayscale evaluator names {accuracy:.1%} of them "
            f"in their original grey, the colour judge the ground-truth renders in the target fabric {rendered} "
            f"(and agrees with itself across the pair on {min(m['truth_agreed'] for m in r['directions'].values()):.1%}).\n")


def _order(r: dict) -> tuple:
    return (r["arm"] != SHIPPED, r["minutes"], ARMS.index(r["arm"]) if r["arm"] in ARMS else len(ARMS), r["arm"], r["seed"])


def quality_table(records: list[dict]) -> str:
    """Every recorded run, a row per direction, then medians over seeds of the arms run with several."""
    rows = [QUALITY_HEADER]
    for r in sorted(records, key=_order):
        for direction, m in r["directions"].items():
            fabric = "—" if m["fabric_accuracy"] is None else f"{m['fabric_accuracy']:.1%}"
            rows.append(
                f"| {r['arm']} | {r['minutes']:g} | {r['seed']} | {r['steps']} | {direction} | {fabric} | {m['garment_kept']:.1%} | "
                f"{m['garment_agreed']:.1%} | {m['mask_iou']:.3f} | {m['kid_mean']:.4f} | {m['cycle_l1']:.4f} | "
                f"{m['truth_ssim']:.3f} ({m['identity_ssim']:.3f}) | `{r['command']}` | {r['machine']} | {r['date']} |")
    repeated = repeated_seeds(sorted(records, key=_order))
    if repeated:
        rows += ["", "Medians over seeds (arms run with more than one):", "", MEDIAN_HEADER]
        for (arm, minutes), runs in repeated.items():
            for direction in runs[0]["directions"]:
                med = {k: statistics.median(r["directions"][direction][k] for r in runs)
                       for k in ("garment_kept", "garment_agreed", "mask_iou", "kid_mean", "cycle_l1", "truth_ssim")}
                rows.append(f"| {arm} | {minutes:g} | {', '.join(str(r['seed']) for r in runs)} | {direction} | "
                            f"{med['garment_kept']:.1%} | {med['garment_agreed']:.1%} | {med['mask_iou']:.3f} | "
                            f"{med['kid_mean']:.4f} | {med['cycle_l1']:.4f} | {med['truth_ssim']:.3f} |")
    return "\n".join(rows) + "\n" + judge_ceiling(records)


def figure(checkpoints: dict[str, Path | str], path: Path, minutes: float, n: int = 8) -> Path:
    """A row of the same leather test items, then each arm's denim translation of them (arms at ``minutes``)."""
    items = fabrics.load("test", "leather", 0, n).images
    rows, labels = [items.transpose(0, 2, 3, 1)], ["leather"]
    for name, checkpoint in checkpoints.items():
        moved, _ = restyle.load(checkpoint).translate(torch.from_numpy(items.copy()).float() / 127.5 - 1, "denim")
        rows.append(((moved.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
        labels.append(f"{name} -> denim" if name == SHIPPED else f"{name}, {minutes:g} min -> denim")
    return save_grid(np.concatenate(rows), path, nrow=n, row_labels=labels)


# ---------------------------------------------------------------- BENCHMARKS.md

def _block(text: str, name: str) -> str:
    found = re.search(rf"<!-- fabric-{name}:start -->\n(.*?)<!-- fabric-{name}:end -->", text, re.S)
    return found.group(1) if found else ""


def _throughput_rows(block: str) -> dict[str, str]:
    """The throughput table's rows by config and px."""
    rows = {}
    for line in block.splitlines():
        if line.startswith("| ") and not line.startswith("| config "):
            cells = line.split("|")
            rows[f"{cells[1].strip()} {cells[2].strip()}"] = line
    return rows


def update_markdown(text: str, throughput_rows: dict[str, str], quality: str | None) -> str:
    """The section with the measured throughput rows replaced (others stay) and the quality table, when given."""
    section = text[text.index(START): text.index(END) + len(END)] if START in text and END in text else ""
    old = _block(section, "throughput")
    merged = {**_throughput_rows(old), **throughput_rows}
    throughput = THROUGHPUT_HEADER + "\n" + "\n".join(merged.values()) + "\n" if merged else "_not measured yet_\n"
    quality = quality or _block(section, "quality") or "_not measured yet_\n"
    new = (f"{START}\n{INTRO}\n\n### Throughput\n\n<!-- fabric-throughput:start -->\n{throughput}"
           "<!-- fabric-throughput:end -->\n\n### Generators and discriminators at equal CPU minutes\n\n"
           f"![leather test items and each arm's denim](benchmarks/figures/{FIGURE.name})\n\n"
           f"<!-- fabric-quality:start -->\n{quality}<!-- fabric-quality:end -->\n{END}")
    if section:
        return text.replace(section, new)
    return f"{text.rstrip()}\n\n{TITLE}\n\n{new}\n"


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated packaged configs")
    parser.add_argument("--minutes", type=float, default=30.0, help="CPU minutes of training per arm")
    parser.add_argument("--seed", type=int, default=0, help="training seed (a seed other than 0 takes seed 0's step budget)")
    parser.add_argument("--skip-train", action="store_true", help="re-score runs/bench-ARM-MINUTESmin[-seedN] instead of training")
    parser.add_argument("--shipped-only", action="store_true", help="score only the shipped model (no arm trained or scored)")
    parser.add_argument("--throughput-only", action="store_true")
    parser.add_argument("--table-only", action="store_true", help="rewrite the quality table from the recorded results")
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
    records = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    scoring = not (args.throughput_only or args.table_only)
    training = scoring and not (args.skip_train or args.shipped_only)

    measured, throughput_rows = {}, {}
    inherited = {arm: first_seed_steps(arm, args.minutes, args.seed, records) for arm in arms}
    needs_throughput = args.throughput_only or (training and None in inherited.values())
    settings = [(arm, None, None) for arm in arms] + ([] if args.no_256 else [(SOURCE, 256, 1)])
    for name, size, batch in settings if needs_throughput else []:
        r = throughput(name, size, batch, args.windows, args.window_steps)
        measured[name] = r
        command = f"python benchmarks/fabric.py --throughput-only {prefix}--arms {name}"
        throughput_rows[f"{name} {r['px']}"] = throughput_row(r, command, where, date)
        print(throughput_rows[f"{name} {r['px']}"], flush=True)

    if scoring:
        done, checkpoints = {}, {}
        for arm in [] if args.shipped_only else arms:
            run = budget_name(arm, args.minutes, args.seed)
            if args.skip_train:
                done[arm] = trained(run, args.runs)
            else:
                steps = inherited[arm] or max(int(args.minutes * 60 * measured[arm]["train_images_per_s"]), 1)  # batch 1
                done[arm] = train(arm, args.minutes, steps, args.seed, args.runs)
            checkpoints[arm] = run_dir(args.runs, run)
        if SHIPPED.split(":", 1)[1] in hub.shipped() and (args.shipped_only or args.seed == 0):
            done[SHIPPED], checkpoints[SHIPPED] = shipped_record(), SHIPPED
        for name, checkpoint in checkpoints.items():
            scored = result(done[name], evaluate_translation(restyle.load(checkpoint), n=args.n_eval, judge=args.judge, seed=0), where, date)
            print(json.dumps(scored), flush=True)
            key = (scored["arm"], scored["minutes"], scored["seed"])
            records = [r for r in records if (r["arm"], r["minutes"], r["seed"]) != key] + [scored]
        path = args.runs / FIGURE.name if args.no_write else FIGURE
        print(f"wrote {rel(figure(checkpoints, path, args.minutes))}")

    if args.no_write:
        print(quality_table(records))
        return
    if scoring:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(records, indent=1) + "\n")
    quality = quality_table(records) if records and not args.throughput_only else None
    BENCHMARKS.write_text(update_markdown(BENCHMARKS.read_text() if BENCHMARKS.is_file() else "", throughput_rows, quality))
    print(f"updated the '{TITLE}' section of {rel(BENCHMARKS)}")


if __name__ == "__main__":
    main()
