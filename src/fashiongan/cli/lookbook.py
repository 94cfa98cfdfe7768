"""`fashiongan lookbook`: outfits of generated items as index.html, lookbook.png and manifest.json."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from fashiongan.cli.common import console, err_console, print_json
from fashiongan.errors import FashionGANError


def lookbook(
    out: Path = typer.Option(..., "--out", help="Directory for index.html, lookbook.png and manifest.json (new, empty, or an earlier lookbook)."),
    outfits: int = typer.Option(6, "--outfits", help="How many outfits."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Outfit rules YAML laid over the shipped rules.yaml (for your generator: its own slots and outfits, naming its classes)."),
    generator: Optional[str] = typer.Option(None, "--generator", help="Make the items with this generator (your checkpoint directory) [default: the best shipped one]."),
    judge: Optional[str] = typer.Option(None, "--judge", help="Keep only items this classifier of the generator's classes is sure of (fashiongan classify train --data ...)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Same seed and rules, same lookbook (default 0; with --lock, the earlier seed + 1)."),
    lock: Optional[str] = typer.Option(None, "--lock", help="Keep this item of the lookbook in --out (its id in manifest.json) and make the rest anew."),
    threads: int = typer.Option(1, "--threads", help="CPU threads for PyTorch; one beats more for the one-image passes a lookbook makes."),
    as_json: bool = typer.Option(False, "--json", help="Print a summary as JSON."),
) -> None:
    """Assemble generated items into outfits by the rules (only items the judge is sure of), and write a lookbook."""
    import torch

    from fashiongan import lookbook as library
    from fashiongan.metrics.features import progress_bar

    count, note = library.check_outfits(outfits)
    if note:
        err_console.print(f"note: {note}", highlight=False)
    if threads < 1:
        raise FashionGANError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    capabilities = library.detect()
    if generator is not None:
        capabilities = capabilities.for_outfits(generator, judge)
    elif judge is not None:
        raise FashionGANError("--judge judges the items of --generator; give both (the shipped generators have their judges)")
    for line in capabilities.notes:
        err_console.print(f"note: {line}", highlight=False, soft_wrap=True)
    chosen = library.load_rules(rules, capabilities.generator.conditions.classes)
    previous = (library.read_manifest(out), lock) if lock is not None else None
    with progress_bar(not as_json, count, "outfits") as advance:
        built = library.build(count, seed, chosen, previous, capabilities=capabilities, on_outfit=advance)
    path = library.write(built, out)
    summary = {
        "out": str(path), "outfits": len(built.outfits), "items": len(built.items), "seed": built.seed,
        "seconds": round(built.seconds, 2), "candidates": built.candidates, "locked": built.locked,
        "generator": built.capabilities.generator.source, "judge": built.capabilities.judge_for(built.capabilities.generator.channels),
        "colour": built.capabilities.colour_by, "restyler": built.capabilities.restyler, "notes": list(built.capabilities.notes),
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"lookbook of {summary['outfits']} outfits ({summary['items']} items, seed {built.seed}) in {built.seconds:.1f} s: "
        f"{escape(str(path / 'index.html'))}", soft_wrap=True, highlight=False,
    )
