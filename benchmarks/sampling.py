"""Sampling throughput of every shipped generator: regenerate the '<!-- sampling -->' block of BENCHMARKS.md.

Times `fashiongan.sampling.sample` as the web app and `fashiongan sample` call it (10,000 images per call,
uint8 out), the median of ``--repeats`` calls after one warm-up, at each thread count asked. Each row also
times the same generator with its weights in PyTorch's default (NCHW) layout instead of the channels-last one
`load_generator` gives it, and sampling in bfloat16 (`--precision bfloat16`), the variants taking turns, so the
ratios say what the layout and the precision buy here.

    python benchmarks/sampling.py                    # threads 1 and 2, every shipped generator
    python benchmarks/sampling.py --threads 2 --json  # print the records only
    python benchmarks/sampling.py --generators pretrained:flow-fast,pretrained:flow --n 1000 --repeats 3 --block sampling-flow
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import sys
import time

import torch

from fashiongan import sampling

from machine import describe  # benchmarks/machine.py and runs.py, beside this script
from runs import fill_block


VARIANTS = {  # name: (weight layout, sampling precision); the first is what `fashiongan sample` does by default
    "channels_last": (torch.channels_last, "float32"),
    "nchw": (torch.contiguous_format, "float32"),
    "bfloat16": (torch.channels_last, "bfloat16"),
}


def images_per_s(net: torch.nn.Module, n: int, repeats: int) -> dict[str, float]:
    """Images/s of ``net`` in each variant: the median of ``repeats`` calls, the variants taking turns to go
    first (whichever was timed second ran up to 10% faster when each was timed in one block)."""
    times: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for memory_format, precision in VARIANTS.values():
        sampling.sample(net.to(memory_format=memory_format), n, precision=precision)
    for i in range(repeats):
        for variant in (list(VARIANTS) if i % 2 == 0 else list(reversed(VARIANTS))):
            memory_format, precision = VARIANTS[variant]
            net.to(memory_format=memory_format)
            start = time.perf_counter()
            sampling.sample(net, n, precision=precision)
            times[variant].append(time.perf_counter() - start)
    return {variant: n / statistics.median(spent) for variant, spent in times.items()}


def measure(name: str, threads: int, n: int, repeats: int, command: str) -> dict:
    torch.set_num_threads(threads)
    speed = images_per_s(sampling.load_generator(name), n, repeats)
    return {
        "generator": name, "threads": threads, "images_per_s": round(speed["channels_last"]),
        "nchw_images_per_s": round(speed["nchw"]), "bfloat16_images_per_s": round(speed["bfloat16"]), "n": n,
        "repeats": repeats, "machine": describe(), "date": datetime.date.today().isoformat(), "command": command,
    }


def table(records: list[dict]) -> str:
    rows = ["| generator | threads | images/s | NCHW weights, images/s | ratio | bfloat16, images/s | ratio | command | machine | date |",
            "|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for r in records:
        rows.append(
            f"| `{r['generator']}` | {r['threads']} | {r['images_per_s']:,} | {r['nchw_images_per_s']:,} | "
            f"{r['images_per_s'] / r['nchw_images_per_s']:.2f}x | {r['bfloat16_images_per_s']:,} | "
            f"{r['bfloat16_images_per_s'] / r['images_per_s']:.2f}x | `{r['command']}` | {r['machine']} | {r['date']} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--n", type=int, default=10_000, help="images per call")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement (the median is kept)")
    parser.add_argument("--generators", help="comma-separated generators to time [default: every shipped one]")
    parser.add_argument("--block", default="sampling", help="the BENCHMARKS.md block to write")
    parser.add_argument("--json", action="store_true", help="print the records and leave BENCHMARKS.md alone")
    args = parser.parse_args()
    command = " ".join(["python benchmarks/sampling.py", *(shlex.quote(a) for a in sys.argv[1:])])
    names = args.generators.split(",") if args.generators else sampling.shipped_generators()
    records = [measure(name, int(t), args.n, args.repeats, command) for t in args.threads.split(",") for name in names]
    if args.json:
        print(json.dumps(records, indent=1))
        return
    print(table(records))
    fill_block(args.block, table(records))


if __name__ == "__main__":
    main()
