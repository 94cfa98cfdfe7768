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


def budget_name(name: str, minutes: float, seed: int) -> str:
    """A run's name at a budget and seed (NAME-10min, NAME-10min-seed1): no budget or seed replaces another."""
    return f"{name}-{minutes:g}min" + (f"-seed{seed}" if seed else "")


def repeated_seeds(records: list[dict]) -> dict[tuple[str, float], list[dict]]:
    """Records grouped by (arm, minutes), in the order given, for the arms run with more than one seed."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in records:
        groups.setdefault((r["arm"], r["minutes"]), []).append(r)
    return {key: runs for key, runs in groups.items() if len(runs) > 1}


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


def block_rows(name: str, path: Path = BENCHMARKS) -> dict[str, list[str]]:
    """The table rows in ``name``'s block of ``path``, by their first cell: the cells of each, stripped."""
    text = path.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    body = text.split(start, 1)[1].split(end, 1)[0] if start in text and end in text else ""
    rows = [line.strip().strip("|").split(" | ") for line in body.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows[1:]}


def widened(cells: list[str], width: int, added: tuple[int, ...]) -> list[str]:
    """A row's cells as measured before the columns at ``added`` (indices into the current header) existed:
    "—" put there, so an earlier row fits a table of ``width`` columns; a row of that width already, as it is."""
    cells = list(cells)
    if len(cells) < width:
        for index in added:
            cells.insert(index, "—")
    return cells

