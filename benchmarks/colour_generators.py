"""Regenerate BENCHMARKS.md's 'Colour generators and VAEs at equal minutes' table: every row is
`fashiongan evaluate --checkpoint C --json` (10,000 samples scored by pretrained:colour-judge against the
coloured test set), so re-running it after the judge changes re-scores every row the same way.

The runs are trained by the commands in their rows (runs/bench/*-10min, the race's *-2min and *-48min, one thread,
seed 0 unless the row says, FID tracking off); their budget (minutes, steps, images seen) is read from each checkpoint. Class and colour
accuracy come with their lowest condition (the class or colour the judge read as asked least often). A row
whose checkpoint is missing here keeps its earlier numbers (and "—" in a column added since).

    python benchmarks/colour_generators.py            # score every row whose checkpoint exists
    python benchmarks/colour_generators.py --only runs/bench/flow-colour-10min   # score that row, keep the rest
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys

from fashiongan import hub

from machine import describe  # benchmarks/machine.py and runs.py, beside this script
from runs import ROOT, block_rows, fill_block, widened

NOTRACK = "--config benchmarks/configs/notrack.yaml"  # FID tracking off: no minute goes to it
# (row label, checkpoint, how it was trained: the packaged config and extra train flags; None for shipped)
ROWS = (
    ("`pretrained:acgan-colour` (shipped)", "pretrained:acgan-colour", None),
    ("`pretrained:cvae` (shipped, temperature 0.7)", "pretrained:cvae", None),
    ("acgan-colour (ours, class + colour)", "runs/bench/acgan-colour-10min", ("acgan-colour", NOTRACK)),
    ("acgan-colour-narrow (ours, the acgan-narrow recipe)", "runs/bench/acgan-colour-narrow-10min", ("acgan-colour-narrow", NOTRACK)),
    ("dcgan-color64 (first source, 64 px)", "runs/bench/dcgan-color64-10min", ("dcgan-color64", "--config benchmarks/configs/catalogue-notrack.yaml")),
    ("cvae (ours, attributes; temperature 0.7)", "runs/bench/cvae-10min", ("cvae", NOTRACK)),
    ("vae-source (third source)", "runs/bench/vae-source-10min", ("vae-source", NOTRACK)),
    ("flow-colour (flow matching, class + colour; 8 Euler steps)", "runs/bench/flow-colour-10min", ("flow-colour", NOTRACK)),
    ("flow-attributes (flow matching, attributes; 8 Euler steps)", "runs/bench/flow-attributes-10min", ("flow-attributes", NOTRACK)),
    ("flow-colour, 2 minutes", "runs/bench/flow-colour-2min", ("flow-colour", NOTRACK)),
    ("acgan-colour-narrow, 2 minutes", "runs/bench/acgan-colour-narrow-2min", ("acgan-colour-narrow", NOTRACK)),
    ("flow-attributes, 2 minutes", "runs/bench/flow-attributes-2min", ("flow-attributes", NOTRACK)),
    ("cvae, 2 minutes", "runs/bench/cvae-2min", ("cvae", NOTRACK)),
    ("flow-colour, 48 minutes", "runs/bench/flow-colour-48min", ("flow-colour", NOTRACK)),
    ("flow-attributes, 48 minutes", "runs/bench/flow-attributes-48min", ("flow-attributes", NOTRACK)),
    ("flow-attributes, 48 minutes, seed 1", "runs/bench/flow-attributes-48min-s1", ("flow-attributes", NOTRACK)),
    ("flow-attributes, 48 minutes, seed 2", "runs/bench/flow-attributes-48min-s2", ("flow-attributes", NOTRACK)),
    ("cvae, the shipped recipe (10 epochs), seed 1", "runs/bench/cvae-s1", ("cvae", NOTRACK)),
    ("cvae, the shipped recipe (10 epochs), seed 2", "runs/bench/cvae-s2", ("cvae", NOTRACK)),
)
# Arms within noise of each other, run with 3 seeds: their rows (seed 0 first), summarised by medians.
SEEDS = {
    "flow-attributes, 48 minutes": ("flow-attributes, 48 minutes", "flow-attributes, 48 minutes, seed 1",
                                    "flow-attributes, 48 minutes, seed 2"),
    "cvae, the shipped recipe (pretrained:cvae is seed 0)": ("`pretrained:cvae` (shipped, temperature 0.7)",
                                                             "cvae, the shipped recipe (10 epochs), seed 1",
                                                             "cvae, the shipped recipe (10 epochs), seed 2"),
}
HEADER = ("| model | minutes | steps | images seen | FID ↓ | KID ×10³ ↓ | precision ↑ | recall ↑ | class accuracy ↑ | "
          "lowest class ↑ | colour accuracy ↑ | lowest colour ↑ | command | machine | date |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|---|")
FLOOR = "real coloured training images (floor)"
ADDED = (9, 11)  # cells of the columns added since the oldest kept rows: lowest class, lowest colour


def evaluate(checkpoint: str, floor: bool = False) -> dict:
    command = [sys.executable, "-m", "fashiongan", "evaluate", "--checkpoint", checkpoint, "--json", *(["--floor"] if floor else [])]
    print(" ".join(command[2:]), flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[2:])} failed: {done.stdout.strip() or done.stderr.strip()}")
    return json.loads(done.stdout)


def budget(checkpoint: str) -> tuple[str, str, str]:
    """(minutes, steps, images seen) as the checkpoint's training run recorded them."""
    config = hub.read_config(checkpoint if checkpoint.startswith(hub.PRETRAINED_PREFIX) else ROOT / checkpoint)
    training, train = config["training"], config["train_config"]["train"]
    shipped = checkpoint.startswith(hub.PRETRAINED_PREFIX)  # a best/ export: the minutes it had trained, not the budget
    minutes = (None if shipped else train.get("minutes")) or round(training["seconds"] / 60, 1)
    return f"{minutes:g}", f"{training['step']:,}", f"{training['step'] * train['batch_size']:,}"


def train_command(checkpoint: str, trained: tuple[str, str], spent: tuple[str, str, str]) -> str:
    """The command that trained a row's run: its config and flags, the seed and (a timed run) minutes it recorded."""
    model, flags = trained
    recorded = hub.read_config(ROOT / checkpoint)["train_config"]
    minutes = f" --minutes {spent[0]}" if recorded["train"].get("minutes") else ""
    return f"fashiongan train --model {model}{minutes} --threads 1 --seed {recorded['seed']} {flags} --out {checkpoint}"


def row(label: str, scores: dict, spent: tuple[str, str, str], command: str, where: str, date: str) -> str:
    def share(key: str) -> str:
        return "—" if scores.get(key) is None else f"{100 * scores[key]:.2f}%"

    def lowest(key: str) -> str:
        found = (scores.get(key) or {}).get("lowest")
        return "—" if not found else f"{found['name']} {100 * found['accuracy']:.1f}%"

    return (f"| {label} | {' | '.join(spent)} | {scores['fid']:.2f} | {1e3 * scores['kid_mean']:.1f} ± {1e3 * scores['kid_std']:.1f} | "
            f"{scores['precision']:.3f} | {scores['recall']:.3f} | {share('label_accuracy')} | {lowest('label_conditions')} | "
            f"{share('colour_accuracy')} | {lowest('colour_conditions')} | `{command}` | {where} | {date} |")


def medians(lines: list[str]) -> str:
    """The SEEDS arms' medians (and ranges) over their seeds' rows in ``lines`` (the table as written)."""
    cells = {c[0].strip(): c for c in (line.strip().strip("|").split(" | ") for line in lines[1:])}
    columns = (("FID", 4), ("KID ×10³", 5), ("precision", 6), ("recall", 7), ("class accuracy %", 8), ("colour accuracy %", 10))
    out = [f"| arm | seeds | {' | '.join(name for name, _ in columns)} |", "|---|---:|" + "---:|" * len(columns)]
    for arm, labels in SEEDS.items():
        found = [cells[label] for label in labels if label in cells]
        if not found:
            continue
        values = [[float(row[i].split()[0].rstrip("%")) for row in found] for _, i in columns]
        shown = [f"{statistics.median(v):g} ({min(v):g}-{max(v):g})" for v in values]
        out.append(f"| {arm} | {len(found)} | {' | '.join(shown)} |")
    return "\n".join(out)


def kept(row_cells: list[str]) -> str:
    """An earlier row as it stands, with "—" in the columns added since it was measured."""
    width = len(HEADER.splitlines()[0].split("|")) - 2
    return "| " + " | ".join(widened(row_cells, width, ADDED)) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="score only this row's checkpoint (repeatable); "
                        "every other row keeps its earlier numbers")
    args = parser.parse_args()
    where, date = describe(), datetime.date.today().isoformat()
    earlier = block_rows("colour-generators")
    lines = [HEADER]
    for label, checkpoint, trained in ROWS:
        skipped = args.only and checkpoint not in args.only
        if skipped or not checkpoint.startswith(hub.PRETRAINED_PREFIX) and not (ROOT / checkpoint).is_dir():
            why = "not asked for (--only)" if skipped else f"{checkpoint} is missing (train it with the row's command)"
            print(f"keeping the earlier row of {label}: {why}", flush=True)
            if len(lines) == 1 and FLOOR in earlier:
                lines.append(kept(earlier[FLOOR]))
            if label in earlier:
                lines.append(kept(earlier[label]))
            continue
        first = len(lines) == 1
        scores = evaluate(checkpoint, floor=first)
        command = f"fashiongan evaluate --checkpoint {checkpoint} --json"
        if first:
            lines.append(row(FLOOR, scores["floor"], ("—", "—", "—"), f"{command} --floor", where, date))
        spent = budget(checkpoint)
        if trained:
            command = f"{train_command(checkpoint, trained, spent)} && {command}"
        lines.append(row(label, scores["images"], spent, command, where, date))
    fill_block("colour-generators", "\n".join(lines))
    fill_block("colour-seeds", medians(lines))


if __name__ == "__main__":
    main()
