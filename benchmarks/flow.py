"""Flow matching's quality against its sampling steps, with and without guidance, for BENCHMARKS.md; and a figure
of its samples beside the shipped GAN's, one row per class.

Each point samples --n images from one flow checkpoint with Euler steps S and guidance W (`fashiongan evaluate
--steps S --guidance W`, one thread) and scores them with the judge `evaluate` picks; images/s is that sampling alone, timed
in the same process. Fewer samples than the race's 10,000 make FID and KID higher at every point alike: compare
points of this curve with each other, not with the tables scored on 10,000.

    python benchmarks/flow.py --checkpoint runs/bench-flow-10min --n 2000
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from machine import describe  # benchmarks/machine.py, beside this script
from runs import ROOT, fill_block, rel

FIGURE = ROOT / "benchmarks" / "figures" / "flow-vs-gan.png"


def point(checkpoint: str, n: int, steps: int, guidance: float) -> dict:
    """Scores and sampling speed at one (steps, guidance), in a fresh one-thread process, by the judge `fashiongan
    evaluate` picks for the checkpoint (the evaluator, or the colour judge for a colour or attribute model, which
    adds colour accuracy: each item's colour drawn from its class's prior, as `evaluate` draws them)."""
    code = f"""
import json, time, torch
torch.set_num_threads(1)
from fashiongan import sampling
from fashiongan.cli.evaluate import judge_of
from fashiongan.metrics import evaluate_images, load_judge
net = sampling.load_generator({checkpoint!r})
colour = "auto" if sampling.offers(net).colours is not None else None
started = time.perf_counter()
drawn = sampling.sample(net, n={n}, seed=0, colour=colour, steps={steps}, guidance={guidance})
seconds = time.perf_counter() - started
judge = load_judge(judge_of({checkpoint!r}))
scores = evaluate_images(drawn.images, drawn.labels, drawn.colours, judge=judge, n={n}, seed=0)
def lowest(key):
    return (scores.get(key) or {{}}).get("lowest") or {{}}
print(json.dumps({{"rate": {n} / seconds, "fid": scores["fid"], "kid": scores["kid_mean"], "precision": scores["precision"],
                  "recall": scores["recall"], "label": scores["label_accuracy"], "lowest": lowest("label_conditions"),
                  "colour": scores.get("colour_accuracy"), "lowest_colour": lowest("colour_conditions")}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def figure(checkpoint: str, gan: str, steps: int, path: Path = FIGURE) -> Path:
    """Eight samples per class from the flow (``steps`` Euler steps) and from ``gan``, side by side."""
    from PIL import Image, ImageDraw

    from fashiongan import sampling

    halves = []
    for source, settings in ((checkpoint, {"steps": steps}), (gan, {})):
        net = sampling.load_generator(source)
        classes = sampling.offers(net).classes
        rows = [np.concatenate(list(sampling.sample(net, n=8, label=c, seed=1, **settings).images), 1) for c in range(len(classes))]
        halves.append(np.concatenate(rows, 0))
    gap = np.full((halves[0].shape[0], 14), 255, np.uint8)
    grid = Image.fromarray(np.concatenate([halves[0], gap, halves[1]], 1))
    grid = grid.resize((2 * grid.width, 2 * grid.height), Image.NEAREST)
    canvas = Image.new("L", (grid.width, grid.height + 18), 255)
    canvas.paste(grid, (0, 18))
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 3), f"flow, {steps} Euler steps", fill=0)
    draw.text((grid.width // 2 + 10, 3), gan, fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a flow checkpoint (its EMA net samples)")
    parser.add_argument("--n", type=int, default=2000, help="samples scored per point")
    parser.add_argument("--steps", default="1,2,4,8,16,32", help="Euler steps, comma-separated")
    parser.add_argument("--guidance", default="1,2", help="guidance scales, comma-separated (1: none)")
    parser.add_argument("--gan", default="pretrained:acgan-narrow", help="the generator the figure puts beside the flow")
    parser.add_argument("--figure-steps", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print the block instead of writing BENCHMARKS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    for guidance in (float(w) for w in args.guidance.split(",")):
        for steps in (int(s) for s in args.steps.split(",")):
            r = point(args.checkpoint, args.n, steps, guidance)
            lowest = r["lowest"]
            rows.append(f"| {steps} | {guidance:g} | {steps * (1 if guidance == 1 else 2)} | {r['fid']:.2f} | {r['kid']:.4f} | "
                        f"{r['precision']:.3f} | {r['recall']:.3f} | {r['label']:.1%} | {lowest.get('name')} "
                        f"{lowest.get('accuracy', 0):.1%} | {r['rate']:.0f} |")
            print(rows[-1], flush=True)
    drawn = figure(args.checkpoint, args.gan, args.figure_steps)
    command = " ".join(["python benchmarks/flow.py", *(shlex.quote(a) for a in sys.argv[1:])])
    body = "\n".join([
        f"Command: `{command}` ({(time.perf_counter() - started) / 60:.0f} minutes); machine: {describe()}; "
        f"date: {datetime.date.today().isoformat()}. {args.n:,} samples per point, the evaluator, one thread.\n",
        "| Euler steps | guidance | net evaluations per image | FID | KID | precision | recall | label accuracy | lowest class | images/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        *rows,
        f"\n![flow and GAN samples]({rel(drawn)})",
    ])
    if args.no_write:
        print(body)
    else:
        fill_block("flow-steps", body)


if __name__ == "__main__":
    main()
