"""Colour benchmarks for BENCHMARKS.md. Colorizer section: our colorizer against two baselines on the
coloured test set (catalogue mode, whose ground truth we have), and colorize throughput.

Quality: every method paints the grey test items; the colour asked is the item's true colour. The
conditional colorizer is also asked ``auto``: its colour accuracy then says whether it painted the colour
its picker chose, and CIEDE2000 how far that is from the item's true colour. Scores come from ``fashiongan.metrics.colour``
(``colorizer_scores``): colour accuracy by the colour judge and by the dominant colour's nearest
catalogue name (CIEDE2000), mean CIEDE2000 between the dominant colours of output and truth, the colour
judge's class accuracy on outputs beside its accuracy on the truth (the garment kept), shading correlation
and colourfulness. Methods:

- ours: the conditional colorizer (``--colorizer``, default pretrained:colorizer);
- unconditional colorizer: the first source's setup (``--source``, a run of configs/colorizer-source.yaml,
  which differs from ours only in the conditioning; trained here, for ours' steps, when missing);
- tint by class: the evaluator (pretrained:evaluator) classifies the grey item, which is then painted in
  its class's palette colour with ``colored.paint`` (the first source's colouring, without a GAN).

Throughput: `fashiongan.colorize` on one grey image per call, at 28 px (the native size) and at 256 px
(the model at 28 px, its colour carried onto the 256 px shading), plus 28 px in batches of 500.

    python benchmarks/colour.py                                   # the colorizer rows
    python benchmarks/colour.py --n 1000 --source-steps 50        # a smoke run
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from fashiongan import colorize, hub
from fashiongan.classify import load_classifier
from fashiongan.data import colored
from fashiongan.metrics.colour import colorizer_scores
from fashiongan.nets.classifiers import predict
from fashiongan.train import fit, load_config

from machine import describe  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COLORIZER = "pretrained:colorizer"
DEFAULT_SOURCE = ROOT / "runs" / "bench-colorizer-source"
QUALITY_HEADER = (
    "| method | colour asked | colour accuracy (judge) | colour accuracy (nearest) | mean CIEDE2000 | class accuracy "
    "(outputs / truth) | shading correlation | colourfulness (outputs / truth) | command | machine | date |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"
)
THROUGHPUT_HEADER = "| input | images per call | images/s | threads | command | machine | date |\n|---|---:|---:|---:|---|---|---|"


def _rel(path: Path | str) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _command(args: argparse.Namespace, flags: str, quality: bool = True) -> str:
    """The command that makes a row: this script with ``flags``, and the checkpoints when not the defaults."""
    given = "" if args.colorizer == DEFAULT_COLORIZER else f" --colorizer {_rel(args.colorizer)}"
    if quality:
        given += "" if Path(args.source).resolve() == DEFAULT_SOURCE else f" --source {_rel(args.source)}"
        given += "" if args.judge is None else f" --judge {_rel(args.judge)}"
    return f"python benchmarks/colour.py {flags}{given}"


# ---------------------------------------------------------------- the methods

def tint_by_class(gray: np.ndarray, evaluator: str = "pretrained:evaluator") -> np.ndarray:
    """The evaluator's class for each grey item, painted in that class's palette colour."""
    net, _ = load_classifier(evaluator)
    unit = torch.tensor(gray, dtype=torch.float32).div(255).unsqueeze(1)
    classes = predict(net, unit * 2 - 1)
    lab = colored.colour_lab(colored.palette_colours()[classes.numpy()])
    rgb = colored.paint(unit, lab)
    return rgb.mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def ensure_source(path: Path, steps: int | None, seed: int) -> str:
    """The unconditional colorizer's checkpoint, trained (its packaged budget, or ``steps``) when ``path``
    holds none; returns its training command."""
    budget = "" if steps is None else f" --steps {steps}"
    command = f"fashiongan train --model colorizer-source{budget} --seed {seed} --threads 1 --out {_rel(path)}"
    if not (path / hub.CONFIG_FILE).is_file():
        print(f"training the unconditional colorizer -> {_rel(path)}", flush=True)
        overrides = {"seed": seed, **({"train": {"steps": steps, "epochs": None}} if steps else {})}
        fit(load_config("colorizer-source", overrides=overrides), path, progress=sys.stderr.isatty())
    return command


# ---------------------------------------------------------------- the rows

def quality_row(method: str, asked: str, s: dict, command: str, where: str, date: str) -> str:
    return (f"| {method} | {asked} | {_pct(s['colour_accuracy'])} | {_pct(s['colour_accuracy_nearest'])} | {_num(s['delta_e'])} | "
            f"{_pct(s['class_accuracy'])} / {_pct(s['class_accuracy_truth'])} | {_num(s['shading_correlation'], 3)} | "
            f"{_num(s['colourfulness'], 1)} / {_num(s.get('colourfulness_truth'), 1)} | `{command}` | {where} | {date} |")


def quality(args: argparse.Namespace, where: str, date: str) -> list[str]:
    test = colored.load("test", "catalogue", seed=0, limit=args.n)
    gray, truth, labels, colours = test.gray, test.images, test.labels, test.colours
    auto = np.full_like(colours, len(colored.catalogue()))
    this = _command(args, f"--quality-only --n {args.n}")
    ours = colorize.load_colorizer(args.colorizer)
    source_command = ensure_source(args.source, args.source_steps, args.seed)
    source = colorize.load_colorizer(args.source)
    methods = [
        (f"ours ({_rel(args.colorizer)})", "true colour", lambda: colorize.paint_items(ours, gray, colours)),
        (f"ours ({_rel(args.colorizer)})", "auto (its own pick scored)", lambda: colorize.paint_items(ours, gray, auto)),
        (f"unconditional colorizer ({_rel(args.source)})", "none (true colour scored)", lambda: (colorize.paint_items(source, gray, None)[0], colours)),
        ("tint by class (pretrained:evaluator + palette)", "none (true colour scored)", lambda: (tint_by_class(gray), colours)),
    ]
    rows = []
    for method, asked, paint in methods:
        outputs, scored = paint()
        s = colorizer_scores(gray, outputs, scored, truth=truth, labels=labels, judge=args.judge)
        command = this if "unconditional" not in method else f"{source_command}; {this}"
        rows.append(quality_row(method, asked, s, command, where, date))
        print(rows[-1], flush=True)
    return rows


def throughput(args: argparse.Namespace, where: str, date: str) -> list[str]:
    model = colorize.load_colorizer(args.colorizer)
    test = colored.load("test", "catalogue", seed=0, limit=500)
    from PIL import Image

    big = np.stack([np.asarray(Image.fromarray(g).resize((256, 256), Image.BICUBIC)) for g in test.gray[:20]])
    cases = [("28x28", test.gray[:100], 1), ("256x256", big, 1), ("28x28", test.gray, len(test.gray))]
    rows = []
    for name, images, per_call in cases:
        def once() -> float:
            start = time.perf_counter()
            for i in range(0, len(images), per_call):
                part = images[i] if per_call == 1 else images[i : i + per_call]
                model(part, "navy" if model.conditional else None)
            return len(images) / (time.perf_counter() - start)

        once()  # warm-up
        rate = statistics.median(once() for _ in range(args.repeats))
        command = _command(args, f"--throughput-only --threads {torch.get_num_threads()}", quality=False)
        rows.append(f"| {name} | {per_call} | {rate:,.0f} | {torch.get_num_threads()} | `{command}` | {where} | {date} |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--colorizer", default=DEFAULT_COLORIZER, help="our (conditional) colorizer checkpoint")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="the unconditional colorizer's checkpoint (trained here when missing)")
    parser.add_argument("--source-steps", type=int, default=None,
                        help="its training steps when it is trained here (default: its config's, the same as ours)")
    parser.add_argument("--judge", default=None, help="colour judge checkpoint (default pretrained:colour-judge)")
    parser.add_argument("--n", type=int, default=10_000, help="coloured test items scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per throughput row (the median is reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's, one per core)")
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--throughput-only", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    where, date = describe(), datetime.date.today().isoformat()
    print(f"# {' '.join(shlex.quote(a) for a in sys.argv)}", flush=True)
    if not args.throughput_only:
        print("\n### Colorizer quality (coloured test set, catalogue mode)\n\n" + QUALITY_HEADER, flush=True)
        quality(args, where, date)
    if not args.quality_only:
        print("\n### Colorize throughput\n\n" + THROUGHPUT_HEADER, flush=True)
        throughput(args, where, date)


if __name__ == "__main__":
    main()
