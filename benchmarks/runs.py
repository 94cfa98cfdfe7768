"""Where the training benchmarks keep their runs (runs/bench-NAME, each with the bench.json record of the
budget it was trained with), how rows name paths (relative to the repository when inside it), and how a
script rewrites its block of BENCHMARKS.md."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def run_dir(runs: Path, name: str) -> Path:
    return runs / f"bench-{name}"


def trained(name: str, runs: Path) -> dict:
    """The record of an earlier benchmark run (for --skip-train)."""
    path = run_dir(runs, name) / "bench.json"
    if not path.is_file():
        raise SystemExit(f"--skip-train: {rel(path)} is missing; train {name} first (drop --skip-train)")
    return json.loads(path.read_text())


BENCHMARKS = ROOT / "BENCHMARKS.md"


def fill_block(name: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replace what lies between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` in ``path`` with ``body``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{rel(path)} has no {start} ... {end} block to fill")
    head, rest = text.split(start, 1)
    path.write_text(f"{head}{start}\n{body.rstrip(chr(10))}\n{end}{rest.split(end, 1)[1]}")
