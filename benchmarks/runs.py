"""Where the training benchmarks keep their runs (runs/bench-NAME, each with the bench.json record of the
budget it was trained with) and how rows name paths: relative to the repository when inside it."""

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
