"""`fashiongan evaluate`: score images from any program against real Fashion-MNIST, with one fixed judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from fashiongan import sampling
from fashiongan.cli.common import console, err_console, print_json
from fashiongan.errors import FashionGANError
from fashiongan.metrics import JUDGE, evaluate_images, floor, load_images, load_judge
from fashiongan.metrics.generative import MAX_FLOOR, MIN_IMAGES


def checked_n(n: int) -> int:
    """``--n`` within [10, 60000]: below is an error, above is capped (with a note) at the training set's size."""
    if n < MIN_IMAGES:
        raise FashionGANError(f"--n must be at least {MIN_IMAGES}, got {n}")
    if n > MAX_FLOOR:
        err_console.print(f"note: --n {n} capped at {MAX_FLOOR}, the size of the training set")
        return MAX_FLOOR
    return n


def evaluate(
    checkpoint: Optional[str] = typer.Option(
        None, "--checkpoint", "-c", help="A generator checkpoint directory or pretrained:NAME to sample n images from."
    ),
    images: Optional[Path] = typer.Option(
        None,
        "--images",
        help="A folder of 28x28 PNGs, or an .npz with 'images' (uint8 N x 28 x 28) and optional 'labels' (0-9).",
    ),
    n: int = typer.Option(
        10_000, "--n", help=f"How many images to score (a seeded random subset; at most {MAX_FLOOR})."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    show_floor: bool = typer.Option(
        False, "--floor", help="Also score n real training images: what a perfect generator would get."
    ),
    inception: bool = typer.Option(
        False, "--inception", help="Also report standard Inception FID (needs to download the Inception v3 weights)."
    ),
    judge: str = typer.Option(JUDGE, "--judge", help="Evaluator checkpoint whose features define every score."),
    seed: int = typer.Option(0, "--seed", help="Seed for subsets; the same seed gives the same numbers."),
) -> None:
    """FID, KID, precision/recall, Inception-style score and label accuracy, all measured by the evaluator."""
    if checkpoint is not None and images is not None:
        raise FashionGANError("score either --checkpoint or --images, not both")
    if checkpoint is None and images is None and not show_floor:
        raise FashionGANError("nothing to score: pass --checkpoint DIR, --images PATH (PNG folder or .npz), or --floor")
    n = checked_n(n)
    pixels, labels = load_images(images) if images is not None else (None, None)
    if checkpoint is not None:
        n = min(n, sampling.MAX_SAMPLES)
        pixels, labels = sampling.sample(checkpoint, n=n, seed=seed)  # conditional models: classes in turn
    judge_net = load_judge(judge)
    results: dict[str, dict[str, Any]] = {}
    if pixels is not None:
        if len(pixels) < n:
            err_console.print(f"note: scoring all {len(pixels)} images in {images} (fewer than --n {n})")
        source = checkpoint if checkpoint is not None else str(images)
        results["images"] = evaluate_images(
            pixels, labels, judge=judge_net, n=min(n, len(pixels)), seed=seed, inception=inception, progress=True
        )
        results["images"]["source"] = source
    if show_floor:
        results["floor"] = floor(n, judge=judge_net, seed=seed, inception=inception, progress=True)
    if as_json:
        print_json(results)
    else:
        console.print(_table(results))


def _table(results: dict[str, dict[str, Any]]) -> Table:
    first = next(iter(results.values()))
    names = {"images": "images", "floor": "floor (real train)"}
    table = Table(
        "metric", *(names.get(key, key) for key in results),
        title=f"scored by judge {first['judge']} against {first['reference']} ({first['n_reference']} images)",
        caption=None if "floor" in results else "FID and KID grow as n shrinks: compare with --floor at the same n",
    )
    rows = [
        ("n", lambda r: str(r["n"])),
        ("FID (lower is better)", lambda r: f"{r['fid']:.3f}"),
        ("KID (lower is better)", lambda r: f"{r['kid_mean']:.5f} ± {r['kid_std']:.5f}"),
        ("precision", lambda r: f"{r['precision']:.3f}"),
        ("recall", lambda r: f"{r['recall']:.3f}"),
        ("Inception-style score", lambda r: f"{r['is_mean']:.3f} ± {r['is_std']:.3f}"),
        ("label accuracy", lambda r: "—" if r["label_accuracy"] is None else f"{r['label_accuracy']:.1%}"),
    ]
    if "inception_fid" in first:
        rows.append(("Inception FID", lambda r: f"{r['inception_fid']:.3f}"))
    for name, cell in rows:
        table.add_row(name, *(cell(r) for r in results.values()))
    return table


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the top-level app."""
    app.command("evaluate")(evaluate)
