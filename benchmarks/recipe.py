"""The recipe ablation of BENCHMARKS.md ('### Recipe ablation'): each arm is the packaged config of a
conditional generator with one change, trained for the same wall-clock minutes from the same seed
(`fashiongan train --minutes M --seed 0`, into runs/recipe/ARM-Mmin), then 10,000 samples scored by the
shipped evaluator against the test set: FID, label accuracy, precision/recall.

Results accumulate in benchmarks/results/recipe.json (one record per arm, budget and seed, the latest run
winning), and the table is regenerated from all of them, so arms can be run a few at a time.

    python benchmarks/recipe.py --threads 1 --minutes 2                        # every arm, 2 minutes each
    python benchmarks/recipe.py --threads 1 --minutes 10 --arms acgan-small,projgan
    python benchmarks/recipe.py --table-only                                   # rewrite the table
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import statistics
import sys
from pathlib import Path

import torch

from fashiongan.train import fit, load_config
from fashiongan.train.config import merge

from gans import score  # benchmarks/gans.py, machine.py and runs.py, beside this script
from machine import describe
from runs import ROOT, budget_name, fill_block, rel, repeated_seeds

RESULTS = ROOT / "benchmarks" / "results" / "recipe.json"


def _d(**kwargs) -> dict:
    return {"nets": {"discriminator": {"kwargs": kwargs}}}


def _lr(g: float, d: float, betas: tuple[float, float] = (0.5, 0.999)) -> dict:
    return {"optim": {"generator": {"lr": g, "betas": list(betas)}, "discriminator": {"lr": d, "betas": list(betas)}}}


def _widths(width: int) -> dict:
    return {"nets": {"generator": {"kwargs": {"width": width}}, "discriminator": {"kwargs": {"width": width}}}}


# arm -> (what changes, packaged config, overrides layered on it)
ARMS: dict[str, tuple[str, str, dict]] = {
    "acgan-small": ("baseline: ACGAN (batch-norm D, class head trained on real and fake), G EMA", "acgan-small", {}),
    "projgan": ("projection D + spectral norm + hinge loss, class head on real images only", "projgan", {}),
    "projgan no-SN": ("projgan without spectral norm", "projgan", _d(spectral_norm=False)),
    "projgan ns-loss": ("non-saturating loss instead of hinge", "projgan", {"objective": {"loss": "ns"}}),
    "projgan no-head": ("projection alone (aux_weight 0)", "projgan", {**_d(aux_classes=0), "objective": {"aux_weight": 0.0}}),
    "projgan no-projection": ("class head alone (an unconditional SN/hinge D plus the head)", "projgan", _d(projection=False)),
    "projgan +R1": ("R1 penalty, gamma 0.2, every 16 steps", "projgan", {"objective": {"r1": 0.2}}),
    "projgan +DiffAug": ("DiffAugment translation", "projgan", {"objective": {"diffaugment": "translation"}}),
    "projgan +DiffAug2": ("DiffAugment translation + cutout", "projgan", {"objective": {"diffaugment": "translation,cutout"}}),
    "projgan b128-lr2x": ("batch 128, both learning rates 4e-4", "projgan", {"train": {"batch_size": 128}, **_lr(4e-4, 4e-4)}),
    "projgan TTUR": ("G lr 1e-4, D lr 4e-4, betas (0, 0.9)", "projgan", _lr(1e-4, 4e-4, (0.0, 0.9))),
    "projgan D-hidden-256": ("a 4x thinner fully connected layer in D", "projgan", _d(hidden=256)),
    "projgan channels_last": ("channels_last memory format", "projgan", {"train": {"channels_last": True}}),
    "projgan no-EMA": ("sample from the live generator", "projgan", {"train": {"ema_decay": None}}),
    "projgan-fast": ("what the 2-minute screen kept: D hidden 256 + DiffAugment translation (configs/projgan-fast.yaml)", "projgan-fast", {}),
    "acgan-small D-hidden-256": ("the baseline with D's fully connected layer 4x thinner", "acgan-small",
                                 {"nets": {"discriminator": {"kwargs": {"hidden": 256}}}}),
    "projgan-fast no-head": ("projgan-fast with projection alone (no class head)", "projgan-fast",
                             {**_d(aux_classes=0), "objective": {"aux_weight": 0.0}}),
    "acgan-fast width-32": ("acgan-fast with half the conv channels in G and D (a quarter of their conv work)", "acgan-fast",
                            _widths(32)),
    "acgan-fast batch-32": ("acgan-fast with batch 32 (twice the steps)", "acgan-fast", {"train": {"batch_size": 32}}),
    "acgan-fast lr-2x": ("acgan-fast with both learning rates 4e-4", "acgan-fast", _lr(4e-4, 4e-4)),
    "acgan-fast width-32 lr-2x": ("half the channels and both learning rates 4e-4 (= configs/acgan-narrow.yaml)", "acgan-fast",
                                  merge(_widths(32), _lr(4e-4, 4e-4), closed=False)),
    "acgan-fast width-32 lr-4x": ("half the channels, both learning rates 8e-4", "acgan-fast",
                                  merge(_widths(32), _lr(8e-4, 8e-4), closed=False)),
    "acgan-fast width-16 lr-2x": ("a quarter of the channels, both learning rates 4e-4", "acgan-fast",
                                  merge(_widths(16), _lr(4e-4, 4e-4), closed=False)),
}


def slug(arm: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in arm.lower()).strip("-").replace("--", "-")


def run(arm: str, minutes: float, seed: int, n: int, runs: Path) -> dict:
    """Train one arm for ``minutes`` and score it; the record of the row."""
    _, model, overrides = ARMS[arm]
    out = runs / budget_name(slug(arm), minutes, seed)
    if out.exists():
        shutil.rmtree(out)
    budget = {"seed": seed, "train": {"minutes": minutes, "epochs": None, "steps": None}}
    config = load_config(model, overrides=merge(overrides, budget, closed=False))
    print(f"{arm}: training {minutes:g} min -> {rel(out)}", flush=True)
    result = fit(config, out, progress=sys.stderr.isatty())
    scores = score(out, n, seed, None)
    record = {
        "arm": arm, "minutes": minutes, "steps": result.steps, "seconds": round(result.seconds, 1),
        "images_per_s": round(result.steps * config.train["batch_size"] / result.seconds, 1),
        "fid": scores["fid"], "label_accuracy": scores["label_accuracy"], "label_lowest": scores["label_conditions"]["lowest"],
        "precision": scores["precision"],
        "recall": scores["recall"], "n": n, "seed": seed, "threads": torch.get_num_threads(),
        "machine": describe(), "date": datetime.date.today().isoformat(),
        "command": f"python benchmarks/recipe.py --threads {torch.get_num_threads()} --minutes {minutes:g} --arms '{arm}'"
                   + (f" --seed {seed}" if seed else ""),
    }
    print(json.dumps(record), flush=True)
    return record


def table(records: list[dict]) -> str:
    """The ablation table: arms in ARMS order, budgets ascending, seeds ascending."""
    order = {arm: i for i, arm in enumerate(ARMS)}
    rows = ["| arm | change | CPU min | seed | steps | train img/s | FID | label acc. | lowest class | precision | recall | command | "
            "machine, date |", "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|"]
    for r in sorted(records, key=lambda r: (r["minutes"], order.get(r["arm"], len(order)), r["seed"])):
        rows.append(
            f"| {r['arm']} | {ARMS[r['arm']][0] if r['arm'] in ARMS else ''} | {r['minutes']:g} | {r['seed']} | {r['steps']:,} | "
            f"{r['images_per_s']:.0f} | {r['fid']:.2f} | {100 * r['label_accuracy']:.1f}% | {lowest_class(r)} | "
            f"{r['precision']:.2f} | {r['recall']:.2f} | `{r['command']}` | {r['machine']}, {r['threads']} thread, {r['date']} |")
    return "\n".join(rows) + "\n" + medians(records, order)


def lowest_class(record: dict) -> str:
    """The class the judge read as asked least often (recorded since 2026-12-02; earlier runs are not kept)."""
    lowest = record.get("label_lowest")
    return "—" if not lowest else f"{lowest['name']} {100 * lowest['accuracy']:.1f}%"


def medians(records: list[dict], order: dict[str, int]) -> str:
    """Medians over seeds of the arms run with more than one (FID and label accuracy of the same seed differ a lot)."""
    ordered = sorted(records, key=lambda r: (r["minutes"], order.get(r["arm"], len(order)), r["seed"]))
    repeated = repeated_seeds(ordered)
    if not repeated:
        return ""
    rows = ["", "Medians over seeds (arms run with more than one):", "",
            "| arm | CPU min | seeds | FID | label acc. | recall |", "|---|---:|---|---:|---:|---:|"]
    for (arm, minutes), runs in repeated.items():
        rows.append(f"| {arm} | {minutes:g} | {', '.join(str(r['seed']) for r in runs)} | "
                    f"{statistics.median(r['fid'] for r in runs):.2f} | "
                    f"{100 * statistics.median(r['label_accuracy'] for r in runs):.1f}% | "
                    f"{statistics.median(r['recall'] for r in runs):.2f} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated arm names (default: all)")
    parser.add_argument("--minutes", type=float, default=2.0, help="training budget per arm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-eval", type=int, default=10_000, help="samples scored per arm")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "recipe")
    parser.add_argument("--table-only", action="store_true", help="rewrite the table from the recorded results")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    records = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    if not args.table_only:
        arms = [arm.strip() for arm in args.arms.split(",") if arm.strip()]
        unknown = [arm for arm in arms if arm not in ARMS]
        if unknown:
            raise SystemExit(f"unknown arm {unknown[0]!r}; known: {', '.join(ARMS)}")
        for arm in arms:
            record = run(arm, args.minutes, args.seed, args.n_eval, args.runs)
            records = [r for r in records if (r["arm"], r["minutes"], r["seed"]) != (arm, args.minutes, args.seed)] + [record]
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(records, indent=1) + "\n")
            fill_block("recipe", table(records))
    fill_block("recipe", table(records))


if __name__ == "__main__":
    main()
