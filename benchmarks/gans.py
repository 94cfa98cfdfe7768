"""Regenerate the '## GANs' section of BENCHMARKS.md: training throughput (with DCGAN's model FLOPs
utilisation) and sample quality after the same training budget for every GAN variant.

Throughput: each variant's training step exactly as the engine runs it (its packaged config, real
Fashion-MNIST batches, the engine's own phase function), images/s as the median of several timed
windows after a warm-up. One train step is one discriminator (critic) update on a batch; variants with
n_critic > 1 update G on every n_critic-th step, and a window always spans whole n_critic cycles.
Model FLOPs per step are counted with torch.utils.flop_counter.FlopCounterMode over real training steps
(D phase + G phase, forward and backward); the peak is a 2048 x 2048 float32 torch.mm timed in the same run,
right before and after each timed window, so that both sides of the ratio see the same machine load.

Quality: every variant trained for the same wall-clock minutes from the same seed (`fashiongan train
--minutes M --seed 0`, into runs/bench-VARIANT), then 10,000 samples scored by fashiongan.metrics
against the test set in the evaluator's feature space (FID, KID, precision/recall; label accuracy for
conditional models), next to the real-data floor. The figure holds one row of samples per variant.
Shipped generators (pretrained:NAME) are scored the same way, beside the budget their training run recorded.

    python benchmarks/gans.py --throughput-only             # a few minutes
    python benchmarks/gans.py --minutes 10                  # + about 10 minutes of training per variant
    python benchmarks/gans.py --skip-train                  # re-score the runs/bench-* checkpoints
    python benchmarks/gans.py --quality-only --variants ""  # re-score the shipped generators and the floor only
    python benchmarks/gans.py --variants dcgan,wgan --minutes 0.2 --n-eval 500   # a smoke run
    python benchmarks/gans.py --explore                     # DCGAN under a few speed settings (printed)
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from fashiongan import hub, sampling
from fashiongan.data.datasets import load_training_data
from fashiongan.train import Trainer, fit, load_config
from fashiongan.viz import save_grid

from machine import describe  # benchmarks/machine.py and runs.py, beside this script
from runs import ROOT, rel, run_dir, trained, widened

BENCHMARKS = ROOT / "BENCHMARKS.md"
FIGURE = ROOT / "benchmarks" / "figures" / "gan-samples.png"
START, END = "<!-- gans:start -->", "<!-- gans:end -->"
BLOCKS = ("throughput", "quality")
TITLE = "## GANs"
MATMUL_N = 2048


# ---------------------------------------------------------------- where and when


# ---------------------------------------------------------------- one training step, as the engine runs it

class Stepper:
    """A variant's packaged config stepped by the engine's own Trainer (fashiongan.train.Trainer) over the
    data's seeded stream, exactly as `fashiongan train` steps it, without checkpoints, grids or logging:
    what a step costs."""

    def __init__(self, name: str, batch_size: int | None = None, channels_last: bool | None = None) -> None:
        overrides: dict = {"train": {"batch_size": batch_size}} if batch_size else {}
        if channels_last is not None:
            overrides.setdefault("train", {})["channels_last"] = channels_last
        self.config = load_config(name, overrides=overrides)
        torch.manual_seed(self.config.seed)
        data = load_training_data(self.config.data)
        self.trainer = Trainer(self.config, data)
        self.channels_last = self.trainer.channels_last
        self.nets = self.trainer.nets
        self.batch_size = self.config.train["batch_size"]
        self.batches = self.trainer.batches()  # one stream, as the engine draws it
        self.cycle = math.lcm(*(phase.every for phase in self.trainer.phases))  # steps until the phase pattern repeats
        self.step_index = 0

    def step(self) -> None:
        i = self.step_index
        self.trainer.step(self.trainer.batch(next(self.batches), i), i)
        self.step_index += 1

    def flops_per_step(self) -> float:
        """Model FLOPs of one whole phase cycle (real steps, forward + backward), per step.

        FlopCounterMode's module tracker cannot follow torch.autograd.grad (gradient penalties: wgan-gp,
        dragan); those variants are counted by a plain dispatch mode with FlopCounterMode's own formulas."""
        try:
            with FlopCounterMode(display=False) as counter:
                for _ in range(self.cycle):
                    self.step()
            return counter.get_total_flops() / self.cycle
        except RuntimeError:
            with _DispatchFlops() as counter:
                for _ in range(self.cycle):
                    self.step()
            return counter.total / self.cycle


class _DispatchFlops(TorchDispatchMode):
    """Sum FlopCounterMode's per-operator FLOP formulas over every aten op run, without module hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.formulas = FlopCounterMode(display=False).flop_registry
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = self.formulas.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def matmul_peak(n: int = MATMUL_N, repeats: int = 9, warmup: int = 2) -> float:
    """Single-precision matmul FLOP/s: the median of ``repeats`` timed n x n torch.mm."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(warmup):
        torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times)


def throughput(name: str, windows: int, window_steps: int, warmup: int, **settings) -> dict:
    """Median images/s over timed windows; MFU per window against the matmul peak timed right before and
    after that window (on a shared machine the load drifts: both sides of the ratio see the same load)."""
    trainer = Stepper(name, **settings)
    flops = trainer.flops_per_step()  # also the first warm-up steps
    steps = max(window_steps // trainer.cycle, 1) * trainer.cycle
    for _ in range(warmup * trainer.cycle):
        trainer.step()
    times, peaks, mfus = [], [], []
    for _ in range(windows):
        before = matmul_peak(repeats=3, warmup=1)
        start = time.perf_counter()
        for _ in range(steps):
            trainer.step()
        times.append((time.perf_counter() - start) / steps)
        peaks.append((before + matmul_peak(repeats=3, warmup=1)) / 2)
        mfus.append(flops / times[-1] / peaks[-1])
    step_time = statistics.median(times)
    return {
        "variant": name, "batch": trainer.batch_size, "images_per_s": trainer.batch_size / step_time,
        "gflop_per_image": flops / trainer.batch_size / 1e9, "gflops": flops / step_time / 1e9,
        "peak_gflops": statistics.median(peaks) / 1e9, "mfu": statistics.median(mfus), "threads": torch.get_num_threads(),
        "channels_last": trainer.channels_last, "windows": windows, "window_steps": steps,
    }


# ---------------------------------------------------------------- quality at a fixed budget


def train_command(name: str, minutes: float, seed: int, runs: Path) -> str:
    return f"fashiongan train --model {name} --minutes {minutes:g} --seed {seed} --out {rel(run_dir(runs, name))}"


def train(name: str, minutes: float, seed: int, runs: Path) -> dict:
    out = run_dir(runs, name)
    if out.exists():  # the benchmark owns runs/bench-*: a new budget is a new run
        shutil.rmtree(out)
    config = load_config(name, overrides={"seed": seed, "train": {"minutes": minutes, "epochs": None, "steps": None}})
    print(f"training {name} for {minutes:g} min -> {rel(out)}", flush=True)
    result = fit(config, out, progress=sys.stderr.isatty())
    record = {"variant": name, "minutes": minutes, "seed": seed, "steps": result.steps, "seconds": round(result.seconds, 1),
              "images_seen": result.steps * config.train["batch_size"], "command": train_command(name, minutes, seed, runs)}
    (out / "bench.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def shipped_record(source: str) -> dict:
    """A shipped generator's budget as its training run recorded it."""
    config = hub.read_config(source)
    training, batch = config["training"], config["train_config"]["train"]["batch_size"]
    return {"variant": source, "minutes": round(training["seconds"] / 60, 1), "steps": training["step"],
            "images_seen": training["step"] * batch}


def score(checkpoint: str | Path, n: int, seed: int, judge) -> dict:
    from fashiongan.metrics import evaluate_images

    images, labels = sampling.sample(checkpoint, n=n, seed=seed)
    return evaluate_images(images, labels, judge=judge, seed=seed)


def figure(names: list[str], runs: Path, seed: int, path: Path = FIGURE) -> Path:
    """One row of 10 samples per variant (conditional ones: a column per class)."""
    rows = [sampling.sample(run_dir(runs, name), n=10, seed=seed).images for name in names]
    return save_grid(np.concatenate(rows), path, nrow=10, scale=2, row_labels=names)


# ---------------------------------------------------------------- BENCHMARKS.md

THROUGHPUT_HEADER = (
    "| variant | batch | images/s | GFLOP/image (train) | GFLOP/s | matmul peak GFLOP/s | MFU | threads | command | machine | date |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
)
QUALITY_HEADER = (
    "| variant | minutes | steps | images seen | FID ↓ | KID ×10³ ↓ | precision ↑ | recall ↑ | label accuracy ↑ | lowest class ↑ | "
    "command | machine | date |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|"
)
LOWEST_CELL = 9  # the lowest-class cell, added after the first rows were measured: earlier rows show "—" there
INTRO = """Regenerate with `python benchmarks/gans.py` (see its docstring for the options).

Throughput: the engine's training step of each variant's packaged config on real batches (one step = one
D/critic update on a batch; G every n_critic steps), the median of several timed windows after a warm-up.
Model FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` over real training steps (D and G
phases, forward and backward); MFU divides the FLOP/s achieved by the float32 2048x2048 `torch.mm` peak
timed right before and after each window (median over windows), so both see the same machine load. The
rows below use torch's default threads (one per core) on an otherwise idle machine. The best thread count
depends on the load: with other jobs on the second core, two OpenMP threads made DCGAN five times slower
than one (26 vs 130 images/s on 2026-11-23), so on a shared machine pass `--threads 1` (to this script
and to `fashiongan train`); the quality runs below were trained that way, two at a time.

Quality: each variant trained for the same wall-clock minutes from seed 0, then 10,000 samples scored with
`fashiongan.metrics` (the evaluator's feature space, against the test set; label accuracy for conditional
models only, and beside it the lowest class: the one the judge read as asked least often). The "real data"
row is the floor: real training images scored the same way. `pretrained:NAME` rows are the shipped generators
(README's model table gives their training command), with the budget their run recorded. The lowest class is
filled for rows scored since 2026-12-02; the 10-minute runs' checkpoints were not kept (re-run a row's command)."""


def throughput_row(r: dict, command: str, where: str, date: str) -> str:
    return (f"| {r['variant']} | {r['batch']} | {r['images_per_s']:.0f} | {r['gflop_per_image']:.3f} | {r['gflops']:.1f} | "
            f"{r['peak_gflops']:.1f} | {100 * r['mfu']:.0f}% | {r['threads']} | `{command}` | {where} | {date} |")


def quality_row(record: dict, s: dict, where: str, date: str, command: str) -> str:
    label = "—" if s.get("label_accuracy") is None else f"{s['label_accuracy']:.3f}"
    lowest = s.get("label_conditions", {}).get("lowest")
    lowest = "—" if not lowest else f"{lowest['name']} {lowest['accuracy']:.3f}"
    budget = (f"{record['minutes']:g} | {record['steps']} | {record['images_seen']:,}" if "steps" in record
              else "— | — | —")
    return (f"| {record['variant']} | {budget} | {s['fid']:.2f} | "
            f"{1e3 * s['kid_mean']:.2f} ± {1e3 * s['kid_std']:.2f} | {s['precision']:.3f} | {s['recall']:.3f} | {label} | "
            f"{lowest} | `{command}` | {where} | {date} |")


def _rows(block: str, header: str = "") -> dict[str, str]:
    """The rows of a table by variant; a quality row measured before the lowest-class column gets "—" there."""
    rows = {}
    for line in block.splitlines():
        if line.startswith("| ") and not line.startswith("| variant ") and not line.startswith("|---"):
            if header == QUALITY_HEADER:
                cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
                line = "| " + " | ".join(widened(cells, len(header.splitlines()[0].split("|")) - 2, (LOWEST_CELL,))) + " |"
            rows[line.split("|")[1].strip()] = line
    return rows


def _block(text: str, name: str) -> str:
    found = re.search(rf"<!-- gans-{name}:start -->\n(.*?)<!-- gans-{name}:end -->", text, re.S)
    return found.group(1) if found else ""


def update_markdown(text: str, updates: dict[str, tuple[str, dict[str, str], list[str]]]) -> str:
    """Replace rows (by variant) of the throughput/quality tables inside the '## GANs' section's markers;
    every other section (the classifier ones) and the rows not measured this time stay as they are."""
    section = text[text.index(START): text.index(END) + len(END)] if START in text and END in text else ""
    parts = {}
    for name in BLOCKS:
        old = _block(section, name)
        header, rows, order = updates.get(name, ("", {}, []))
        merged = {**_rows(old, header), **rows}
        if not merged:
            parts[name] = old or "_not measured yet_\n"
            continue
        header = header or "\n".join(line for line in old.splitlines() if line.startswith(("| variant ", "|---")))
        ordered = [k for k in order if k in merged] + [k for k in merged if k not in order]
        parts[name] = header + "\n" + "\n".join(merged[k] for k in ordered) + "\n"
    new = (f"{START}\n{INTRO}\n\n### Training throughput\n\n<!-- gans-throughput:start -->\n{parts['throughput']}"
           "<!-- gans-throughput:end -->\n\n### Quality at a fixed training budget\n\n"
           "![one row of samples per variant](benchmarks/figures/gan-samples.png)\n\n"
           f"<!-- gans-quality:start -->\n{parts['quality']}<!-- gans-quality:end -->\n{END}")
    if section:
        return text.replace(section, new)
    head = text.rstrip("\n") + "\n\n" if text.strip() else (
        "# Benchmarks\n\nEvery number here is regenerated by a script in `benchmarks/`; each row names its command.\n\n")
    return f"{head}{TITLE}\n\n{new}\n"


# ---------------------------------------------------------------- main

def explore(windows: int, window_steps: int, warmup: int) -> None:
    """DCGAN's throughput under a few cheap knobs (printed, not written): threads, channels_last, batch."""
    print(f"{'threads':>7} {'channels_last':>13} {'batch':>5} {'images/s':>9} {'GFLOP/s':>8} {'peak':>6} {'MFU':>5}")
    default = torch.get_num_threads()
    for threads in sorted({1, default}):
        torch.set_num_threads(threads)
        for channels_last in (False, True):
            for batch in (64, 256):
                r = throughput("dcgan", windows, window_steps, warmup, batch_size=batch, channels_last=channels_last)
                print(f"{threads:>7} {channels_last!s:>13} {batch:>5} {r['images_per_s']:>9.0f} {r['gflops']:>8.1f} "
                      f"{r['peak_gflops']:>6.1f} {100 * r['mfu']:>4.0f}%", flush=True)
    torch.set_num_threads(default)


def main() -> None:
    grey = [m for m in sampling.generator_models() if m.channels == 1]  # the evaluator judges grayscale items only
    all_variants = [m.name for m in grey]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=",".join(all_variants), help="comma-separated (default: every grayscale generator in `fashiongan models`)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per variant for the quality table")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-train", action="store_true", help="reuse runs/bench-VARIANT instead of training")
    parser.add_argument("--throughput-only", action="store_true", help="measure throughput and MFU only")
    parser.add_argument("--quality-only", action="store_true", help="skip the throughput measurement")
    parser.add_argument("--windows", type=int, default=5, help="timed windows per variant (the median is reported)")
    parser.add_argument("--window-steps", type=int, default=10, help="train steps per window (rounded to whole n_critic cycles)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps (phase cycles) before the windows")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's, one per core)")
    parser.add_argument("--n-eval", type=int, default=10_000, help="samples scored per variant")
    parser.add_argument("--judge", default=None, help="evaluator checkpoint for the metrics (default pretrained:evaluator)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs", help="where runs/bench-VARIANT live")
    parser.add_argument("--explore", action="store_true", help="print DCGAN throughput under a few speed settings and exit")
    parser.add_argument("--no-write", action="store_true",
                        help="print the rows instead of updating BENCHMARKS.md (the figure goes into --runs)")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(all_variants))
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(all_variants)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    where, date = describe(), datetime.date.today().isoformat()
    threads_prefix = f"--threads {args.threads} " if args.threads else ""
    updates: dict[str, tuple] = {}

    if args.explore or not args.quality_only:
        print(f"float32 {MATMUL_N}x{MATMUL_N} torch.mm peak: {matmul_peak() / 1e9:.1f} GFLOP/s ({torch.get_num_threads()} threads)", flush=True)
        if args.explore:
            explore(args.windows, args.window_steps, args.warmup)
            return
        rows = {}
        for name in variants:
            r = throughput(name, args.windows, args.window_steps, args.warmup)
            command = f"python benchmarks/gans.py --throughput-only {threads_prefix}--variants {name}"
            rows[name] = throughput_row(r, command, where, date)
            print(f"{name:>8}: {r['images_per_s']:7.0f} images/s, {r['gflop_per_image']:.3f} GFLOP/image, "
                  f"{r['gflops']:.1f} GFLOP/s, MFU {100 * r['mfu']:.0f}%", flush=True)
        updates["throughput"] = (THROUGHPUT_HEADER, rows, all_variants)

    if not args.throughput_only:
        records = {name: trained(name, args.runs) if args.skip_train else train(name, args.minutes, args.seed, args.runs)
                   for name in variants}
        from fashiongan.metrics import floor, load_judge

        judge = load_judge(args.judge)
        rows = {}
        for name in variants:
            s = score(run_dir(args.runs, name), args.n_eval, args.seed, judge)
            command = f"python benchmarks/gans.py {threads_prefix}--variants {name} --minutes {records[name]['minutes']:g}"
            rows[name] = quality_row(records[name], s, where, date, command)
            print(rows[name], flush=True)
        shipped = sorted(source for m in grey for source in m.shipped)
        for source in shipped:  # trained by the README's command; scored exactly as `evaluate` scores them
            s = score(source, args.n_eval, args.seed, judge)
            rows[source] = quality_row(shipped_record(source), s, where, date, f"fashiongan evaluate --checkpoint {source}")
            print(rows[source], flush=True)
        real = floor(args.n_eval, judge=judge, seed=args.seed)
        rows["real data"] = quality_row({"variant": "real data"}, real, where, date, f"fashiongan.metrics.floor({args.n_eval})")
        updates["quality"] = (QUALITY_HEADER, rows, ["real data", *shipped, *all_variants])
        shown = [v for v in all_variants if (run_dir(args.runs, v) / "bench.json").is_file()]
        path = args.runs / FIGURE.name if args.no_write else FIGURE  # a trial run leaves the published figure alone
        if shown:
            print(f"wrote {rel(figure(shown, args.runs, args.seed, path))}")

    if args.no_write:
        for _, rows, _ in updates.values():
            print("\n".join(rows.values()))
        return
    BENCHMARKS.write_text(update_markdown(BENCHMARKS.read_text() if BENCHMARKS.is_file() else "", updates))
    print(f"updated the '{TITLE}' section of {rel(BENCHMARKS)}")


if __name__ == "__main__":
    main()
