"""A catalogue the size of the third source's, end to end, for BENCHMARKS.md: what a user's 40,000-item
styles.csv costs and what 10 CPU minutes of training buy on it.

The catalogue is made from Fashion-MNIST's training items, painted in catalogue colours (the coloured set),
put on white as product photos, 60x80 JPEGs (the garment scaled to the width, centred), with a styles.csv
of subCategory (the Fashion-MNIST class), gender (drawn) and baseColour (the colour painted). Measured:
`data info` (every image decoded once), the first load at 64 px (decode + cache write) and the second
(cache read), training throughput at 64 px streamed from disk against in memory (alternating, each in its
own process, with its peak memory), then a judge trained on the catalogue and a conditional GAN trained for
--minutes CPU minutes on one thread, its best/ scored by that judge.

    python benchmarks/catalogue.py --root runs/bench-catalogue
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from machine import describe  # benchmarks/machine.py, beside this script

GENDERS = ("Men", "Women", "Unisex")


def render(root: Path, n: int) -> Path:
    """``n`` coloured items as 60x80 product photos on white, with styles.csv (kept between runs)."""
    from fashiongan.data import colored
    from fashiongan.data.fashion_mnist import CLASSES

    marker = root / f".complete-{n}"
    if marker.exists():
        return root
    (root / "images").mkdir(parents=True, exist_ok=True)
    items = colored.load("train", limit=n)
    rng = np.random.default_rng(0)
    rows = ["id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"]
    for i, (image, gray, label, colour) in enumerate(zip(items.images, items.gray, items.labels, items.colours)):
        rgb = image.transpose(1, 2, 0).astype(np.float32)
        garment = np.clip(gray.astype(np.float32) / 64, 0, 1)[..., None]  # the black background becomes white
        photo = (rgb * garment + 255 * (1 - garment)).round().astype(np.uint8)
        canvas = Image.new("RGB", (60, 80), (255, 255, 255))
        canvas.paste(Image.fromarray(photo).resize((60, 60), Image.BICUBIC), (0, 10))
        canvas.save(root / "images" / f"{10000 + i}.jpg", quality=90)
        name = colored.colour_name(int(colour))
        rows.append(f"{10000 + i},{GENDERS[rng.integers(3)]},Apparel,{CLASSES[label]},{CLASSES[label]},{name.title()},"
                    f"Summer,2012,Casual,{name} {CLASSES[label].lower()}")
    (root / "styles.csv").write_text("\n".join(rows) + "\n")
    marker.touch()
    return root


def timed(step) -> tuple[float, object]:
    started = time.perf_counter()
    result = step()
    return time.perf_counter() - started, result


def throughput(root: Path, model: str, stream: bool, steps: int, batch: int) -> dict[str, float]:
    """In a fresh process: images/s of ``model`` at 64 px, steady state (the extra images of a 3 x ``steps`` run
    over a ``steps`` one by the extra seconds), and the process's peak resident memory (VmHWM: its own, where
    ru_maxrss would carry over the parent's across exec)."""
    code = f"""
import json, time, torch
torch.set_num_threads(1)
from fashiongan.train import load_config
from fashiongan.train.trainer import Trainer
from fashiongan.data.datasets import load_training_data
config = load_config("{model}", data="styles:{root}", overrides={{"data": {{"stream": {stream}, "workers": 1, "attributes": "subCategory,gender,baseColour"}},
    "train": {{"batch_size": {batch}, "epochs": None, "steps": 1000, "track_fid": None}}}})
data = load_training_data(config.data)
trainer = Trainer(config, data)
def run(steps):
    batches = trainer.batches(0)
    started = time.perf_counter()
    for step in range(steps):
        trainer.step(trainer.batch(next(batches), step), step)
    return time.perf_counter() - started
short, long = run({steps}), run({3 * steps})
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))  # kB, this program's own
print(json.dumps({{"rate": 2 * {steps} * {batch} / (long - short), "peak_mb": peak / 1024}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fashiongan(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "fashiongan", *args, "--json"], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("runs/bench-catalogue"))
    parser.add_argument("--n", type=int, default=40_000, help="items in the catalogue")
    parser.add_argument("--steps", type=int, default=30, help="a throughput pair runs this many steps and three times as many")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs of each path (medians reported)")
    parser.add_argument("--judge-epochs", type=int, default=2)
    parser.add_argument("--judge-size", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=10.0, help="CPU minutes (one thread) of generator training")
    parser.add_argument("--model", default="acgan-catalogue", help="the generator recipe timed and trained")
    args = parser.parse_args()
    from fashiongan.data import folders
    from fashiongan.data.datasets import load_training_data

    catalogue = args.root / "catalogue"
    render_s, _ = timed(lambda: render(catalogue, args.n))
    source = f"styles:{catalogue}"
    info_s, info = timed(lambda: folders.info(source))
    spec = {"name": "styles", "path": str(catalogue), "size": 64, "stream": False, "attributes": "subCategory,gender,baseColour"}
    first_s, _ = timed(lambda: load_training_data(spec))
    second_s, _ = timed(lambda: load_training_data(spec))
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(args.repeats):
        for stream in (False, True):
            runs[stream].append(throughput(catalogue, args.model, stream, args.steps, args.batch_size))
    judge = args.root / "judge"
    judged = fashiongan("classify", "train", "--data", source, "--size", str(args.judge_size), "--epochs", str(args.judge_epochs),
                        "--threads", "1", "--out", str(judge))
    run = args.root / args.model
    trained = fashiongan("train", "--model", args.model, "--data", source, "--minutes", str(args.minutes), "--threads", "1",
                         "--judge", str(judge), "--out", str(run))
    best = run / "best" if (run / "best").is_dir() else run
    scores = fashiongan("evaluate", "--checkpoint", str(best), "--judge", str(judge), "--n", "10000")["images"]

    command = " ".join(["python benchmarks/catalogue.py", *(shlex.quote(a) for a in sys.argv[1:])])
    where, date = describe(), datetime.date.today().isoformat()
    memory = {stream: statistics.median(r["rate"] for r in runs[stream]) for stream in runs}
    peak = {stream: max(r["peak_mb"] for r in runs[stream]) for stream in runs}
    print(f"### A {args.n:,}-item catalogue (styles.csv + 60x80 JPEGs)\n")
    print(f"Command: `{command}`; machine: {where}; date: {date}.\n")
    print("| step | result |\n|---|---|")
    print(f"| render the catalogue (once) | {render_s:.0f} s |")
    print(f"| `data info` (every image decoded) | {info_s:.1f} s, {info['images']:,} images, {info['skipped']} skipped |")
    print(f"| first load at 64 px (decode + cache) | {first_s:.1f} s |")
    print(f"| second load (cache) | {second_s:.1f} s |")
    for stream, name in ((False, "in memory"), (True, "streamed (1 worker)")):
        print(f"| {args.model} at 64 px, {name}, 1 thread | {memory[stream]:.0f} images/s (median of {args.repeats}), "
              f"peak memory {peak[stream]:,.0f} MB |")
    print(f"| streamed / in memory | {memory[True] / memory[False]:.2f}x |")
    print(f"| judge: evaluator at {args.judge_size} px, {args.judge_epochs} epochs | held-out accuracy {judged['test_accuracy']:.1%}, "
          f"{judged['seconds']:.0f} s |")
    lowest = scores.get("label_conditions", {}).get("lowest") or {}
    print(f"| {args.model}, {args.minutes:g} CPU minutes ({trained['steps']} steps), best/ by tracked FID, 10,000 samples | "
          f"FID {scores['fid']:.3f}, KID {scores['kid_mean']:.4f}, precision {scores['precision']:.3f}, recall {scores['recall']:.3f}, "
          f"label accuracy {scores['label_accuracy']:.1%} (lowest {lowest.get('name')} {lowest.get('accuracy', 0):.1%}) |")


if __name__ == "__main__":
    main()
