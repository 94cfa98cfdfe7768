"""Streaming benchmark for BENCHMARKS.md: training throughput on a folder of 64x64 JPEGs, streamed from
disk (decoded in DataLoader workers) against the same folder decoded into memory once.

The folder holds coloured Fashion-MNIST training items upscaled to 64 px (bicubic), one sub-folder per
class, written once under --root. Both paths train the small attribute CNN (`configs/attributes.yaml`,
the model `attributes train --data folder:DIR` uses), which does little work per image, so the data path
shows as much as it can. Timed passes alternate the two paths; the median images/s of each and their
ratio are reported. Rates are steady-state (see ``images_per_second``); the in-memory path's one-off
decode is not timed.

    python benchmarks/streaming.py --threads 1 --workers 1
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import statistics
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fashiongan import attributes
from fashiongan.data import colored
from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.train import fit

from machine import describe  # benchmarks/machine.py, beside this script

HEADER = ("| data path | images | image size | batch | threads + workers | images/s (median of runs) | time vs memory | command | machine | date |\n"
          "|---|---:|---:|---:|---|---:|---:|---|---|---|")


def write_folder(root: Path, n: int, size: int) -> Path:
    """``n`` coloured training items as ``size`` px JPEGs under root/CLASS/ (kept between runs)."""
    marker = root / f".complete-{n}-{size}"
    if marker.exists():
        return root
    items = colored.load("train", limit=n)
    for i, (label, image) in enumerate(zip(items.labels, items.images)):
        folder = root / CLASSES[label].replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0))).resize((size, size), Image.BICUBIC)
        picture.save(folder / f"{i:05d}.jpg", quality=90)
    marker.touch()
    return root


def _seconds(root: Path, stream: bool, steps: int, args: argparse.Namespace) -> float:
    config = attributes.train_config(data=f"folder:{root}", size=args.size, overrides={
        "data": {"stream": stream, "workers": args.workers},
        "train": {"batch_size": args.batch_size, "epochs": None, "steps": steps, "track_fid": None,
                  "samples": False, "checkpoint_every": None, "checkpoint_minutes": None},
    })
    out = root.parent / ("streamed" if stream else "memory")
    shutil.rmtree(out, ignore_errors=True)
    return fit(config, out, progress=False).seconds


def images_per_second(root: Path, stream: bool, args: argparse.Namespace) -> float:
    """Steady-state rate: the extra images of a 3 x --steps run over a --steps one by the extra seconds, so
    what both pay once (worker start-up, the held-out report, the last save) cancels."""
    short, long = (_seconds(root, stream, steps, args) for steps in (args.steps, 3 * args.steps))
    return 2 * args.steps * args.batch_size / (long - short)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("runs/bench-stream/folder"), help="where the JPEG folder is written")
    parser.add_argument("--n", type=int, default=6000, help="items in the folder")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100, help="a timed pair runs this many steps and three times as many")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each path (medians reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the training process")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader worker processes of the streamed path")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = write_folder(args.root, args.n, args.size)
    images_per_second(root, False, args)  # warm-up: decodes the folder into the memory cache once
    runs: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeats):
        for stream in (False, True):
            runs[stream].append(images_per_second(root, stream, args))
    memory = statistics.median(runs[False])
    command = " ".join(["python benchmarks/streaming.py", *(shlex.quote(a) for a in sys.argv[1:])])
    where, date = describe(), datetime.date.today().isoformat()
    print(f"# {' '.join(shlex.quote(a) for a in sys.argv)}\n\n### Streaming from disk\n\n{HEADER}")
    for stream, name, lanes in ((False, "in memory", f"{args.threads} + 0"), (True, "streamed (JPEG decode in workers)", f"{args.threads} + {args.workers}")):
        rate = statistics.median(runs[stream])
        print(f"| {name} | {args.n} | {args.size} | {args.batch_size} | {lanes} | {rate:.0f} | {memory / rate:.2f}x |"
              f" `{command}` | {where} | {date} |")


if __name__ == "__main__":
    main()
