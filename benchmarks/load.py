"""Load on the web app, and the lookbook's wall time: regenerate the '## Web app and lookbook' section of BENCHMARKS.md.

Starts `fashiongan serve` (its defaults: 127.0.0.1, one PyTorch thread per request) in a subprocess, sends
a warm-up, then ``--requests`` requests from ``--concurrency`` concurrent clients, a fixed mix in a seeded
order: "sample 6" (POST /api/generate, 6 images of a random class), "classify one" (POST /api/classify, a
28x28 PNG upload with an FGSM step at eps 0.1 on pretrained:cnn) and, when a colorizer is shipped,
"colorize one" (POST /api/colorize, a test item in a random colour). The client runs on the same machine,
so its own CPU use counts against the server's. Then it times `fashiongan lookbook --outfits 6` as a user
runs it (a fresh process: start-up and model loading included).

    python benchmarks/load.py                 # 1,000 requests at concurrency 16; writes BENCHMARKS.md
    python benchmarks/load.py --no-write      # print the section only
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classifiers import replace_sections  # noqa: E402
from machine import describe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"
TITLE = "## Web app and lookbook"
FASHIONGAN = [sys.executable, "-m", "fashiongan"]
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _requests(count: int, info: dict, seed: int) -> list[tuple[str, dict]]:
    """(kind, httpx request arguments) in a seeded order, the kinds in equal shares."""
    from fashiongan.data import fashion_mnist

    rng = random.Random(seed)
    test = fashion_mnist.load("test")
    kinds = ["sample 6", "classify one"] + (["colorize one"] if info["tasks"].get("colorize") else [])
    colours = [c["name"] for c in info["colours"]]
    out = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        if kind == "sample 6":
            args = {"json": {"n": 6, "label": rng.choice(CLASSES), "seed": rng.randrange(2**31)}}
            out.append((kind, {"method": "POST", "url": "/api/generate", **args}))
        elif kind == "classify one":
            image = _png(test.images[rng.randrange(len(test.images))])
            out.append((kind, {"method": "POST", "url": "/api/classify", "data": {"model": "pretrained:cnn", "eps": "0.1"},
                               "files": {"file": ("item.png", image, "image/png")}}))
        else:
            data = {"test_item": str(rng.randrange(len(test.images))), "colour": rng.choice(colours)}
            out.append((kind, {"method": "POST", "url": "/api/colorize", "data": data}))
    rng.shuffle(out)
    return out


async def _load(base: str, plan: list[tuple[str, dict]], concurrency: int) -> tuple[list[tuple[str, float, bool]], float]:
    queue: asyncio.Queue = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    results: list[tuple[str, float, bool]] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        async def worker() -> None:
            while not queue.empty():
                kind, args = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.request(**args)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                results.append((kind, time.perf_counter() - started, ok))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def _row(name: str, results: list[tuple[str, float, bool]], seconds: float, concurrency: int, load: float, tail: str) -> str:
    latencies = [t for _, t, _ in results]
    errors = sum(not ok for _, _, ok in results)
    return (f"| {name} | {len(results)} | {concurrency} | {errors} | {len(results) / seconds:.1f} | "
            f"{_percentile(latencies, 50):.0f} | {_percentile(latencies, 95):.0f} | {_percentile(latencies, 99):.0f} | "
            f"{load:.1f} | {tail}")


def run_load(requests: int, concurrency: int, seed: int) -> tuple[list[tuple[str, float, bool]], float, dict]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*FASHIONGAN, "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                info = httpx.get(f"{base}/api/info", timeout=2).json()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.3)
        asyncio.run(_load(base, _requests(4 * concurrency, info, seed + 1), concurrency))  # warm-up
        results, seconds = asyncio.run(_load(base, _requests(requests, info, seed), concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results, seconds, info


def time_lookbook(outfits: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        done = subprocess.run([*FASHIONGAN, "lookbook", "--outfits", str(outfits), "--out", f"{tmp}/look", "--json"],
                              capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    return {"wall": wall, **json.loads(done.stdout)}


def section(args: argparse.Namespace) -> str:
    machine, date = describe(), datetime.date.today().isoformat()
    load = os.getloadavg()[0]
    results, seconds, info = run_load(args.requests, args.concurrency, args.seed)
    command = f"`python benchmarks/load.py --requests {args.requests} --concurrency {args.concurrency}`"
    tail = f"{command} | {machine} | {date} |"
    rows = [_row("all (mix)", results, seconds, args.concurrency, load, tail)]
    for kind in dict.fromkeys(k for k, _, _ in results):
        rows.append(_row(kind, [r for r in results if r[0] == kind], seconds, args.concurrency, load, tail))
    load = os.getloadavg()[0]
    book = time_lookbook(args.outfits)
    lookbook_row = (f"| {book['outfits']} | {book['items']} | {book['wall']:.1f} | {book['seconds']:.1f} | {book['candidates']} | "
                    f"{book['generator']} | {book['colour'] or 'none'} | {book['restyler'] or 'none'} | {load:.1f} | "
                    f"`fashiongan lookbook --outfits {args.outfits} --out DIR` | {machine} | {date} |")
    return "\n".join([
        TITLE, "",
        "Regenerate with `python benchmarks/load.py` (see its docstring). The server is `fashiongan serve` with its "
        "defaults (one PyTorch thread per request, requests in FastAPI's thread pool); the load client shares the "
        "machine. Throughput per row counts that kind's requests over the whole run's wall time (the kinds ran mixed). "
        "`load` is the machine's 1-minute load average when the run started: above 2, other jobs shared the 2 cores.",
        "",
        "| workload | requests | concurrency | errors | throughput req/s | p50 ms | p95 ms | p99 ms | load | command | machine | date |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
        *rows, "",
        "The lookbook as `make run` builds it: wall time of the whole command (Python start-up and model loading "
        "included), and the build alone (generating, judging and assembling).",
        "",
        "| outfits | items | wall s | build s | candidates judged | generator | colour by | restyle | load | command | machine | date |",
        "|---:|---:|---:|---:|---:|---|---|---|---:|---|---|---|",
        lookbook_row, "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--outfits", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print the section; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    os.environ.setdefault("FASHIONGAN_OFFLINE", "1")
    text = section(args)
    print(text)
    if not args.no_write:
        BENCHMARKS.write_text(replace_sections(BENCHMARKS.read_text() if BENCHMARKS.is_file() else "", {TITLE: text}))
        print(f"wrote {BENCHMARKS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
