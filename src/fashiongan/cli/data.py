"""`fashiongan data ...`: where the data is and what it looks like."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from fashiongan.cli.common import choice, console, print_json
from fashiongan.data import colored, fabrics, fashion_mnist as fm, folders
from fashiongan.metrics.features import progress_bar
from fashiongan.errors import FashionGANError
from fashiongan.viz import save_grid

app = typer.Typer(help="Fashion-MNIST and the sets derived from it: locate, verify, describe and show the data.", no_args_is_help=True)
DataDir = typer.Option(None, "--data-dir", help="Folder with the four IDX files (else FASHIONGAN_DATA, cache, Debian).")


@app.command()
def info(
    data_dir: Optional[Path] = DataDir,
    data: Optional[str] = typer.Option(None, "--data", help="Your own data instead: folder:DIR (a sub-folder per class) or styles:DIR (styles.csv + images/)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Where the data was found, counts per split and per-class balance (or, with --data, of your own data)."""
    if data is not None:
        _own_data_info(data, as_json)
        return
    result = fm.info(data_dir)
    if as_json:
        print_json(result)
        return
    verified = all(s["verified"] for s in result["splits"].values())
    note = "checksums verified" if verified else "not the official files: checked as IDX, no checksums"
    console.print(f"Fashion-MNIST found in [bold]{escape(result['source'])}[/] ({note})", soft_wrap=True)
    table = Table("class", *result["splits"])
    for i, name in enumerate(fm.CLASSES):
        table.add_row(f"{i} {name}", *(str(s["per_class"][name]) for s in result["splits"].values()))
    table.add_row("[bold]total", *(f"[bold]{s['count']}" for s in result["splits"].values()))
    console.print(table)


def _own_data_info(source: str, as_json: bool) -> None:
    table = folders.read_table(source)  # fails fast on a bad layout, before decoding every image
    with progress_bar(not as_json, len(table), "reading images") as advance:
        result = folders.info(source, progress=advance)
    if as_json:
        print_json(result)
        return
    console.print(f"[bold]{result['images']}[/] readable images in {escape(result['root'])} ({result['kind']}:)", soft_wrap=True)
    groups = {"class": result["per_class"]} if "per_class" in result else result.get("columns", {})
    for name, counts in groups.items():
        table = Table(name, "images", title=None)
        for value, count in list(counts.items())[:25]:
            table.add_row(escape(str(value)), str(count))
        if len(counts) > 25:
            table.add_row(f"... {len(counts) - 25} more", "")
        console.print(table)
    sizes = ", ".join(f"{size} ({count})" for size, count in list(result["sizes"].items())[:5])
    console.print(f"image sizes: {sizes or 'none'}")
    if result["skipped"]:
        reasons = ", ".join(f"{count} {reason}" for reason, count in result["skip_reasons"].items())
        console.print(f"[yellow]skipped {result['skipped']}[/]: {reasons} (--json lists every file)", soft_wrap=True)


@app.command()
def show(
    out: Path = typer.Option(..., "--out", help="PNG to write."),
    dataset: str = typer.Option("fashion_mnist", "--dataset", help="fashion_mnist, colored or fabrics (leather and denim, captioned)."),
    mode: str = typer.Option("catalogue", "--mode", help="colored only: palette (a colour per class) or catalogue (named colours)."),
    per_class: int = typer.Option(10, "--per-class", min=1, max=50),
    split: str = typer.Option("train", help="train or test"),
    seed: int = typer.Option(0, help="Which items are shown (and, for colored, the colouring seed)."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """A labelled grid: a row of examples for every class (coloured items captioned with their colour)."""
    dataset = choice(dataset, ["fashion_mnist", "colored", "fabrics"], "dataset")
    if dataset == "colored":
        painted = colored.load(split, mode, seed, data_dir)
        images, labels = painted.images.transpose(0, 2, 3, 1), painted.labels
    elif dataset == "fabrics":
        images, labels, fabric_names = fabrics.showcase(split, seed, data_dir)
    else:
        data = fm.load(split, data_dir)
        images, labels = data.images, data.labels
    counts = np.bincount(labels, minlength=len(fm.CLASSES))
    fewest = int(counts.argmin())
    if counts[fewest] < per_class:  # a user's subset may be small
        advice = f"use --per-class {counts[fewest]} or less" if counts[fewest] else "it cannot show every class"
        raise FashionGANError(
            f"the {split} split has only {counts[fewest]} images of {fm.CLASSES[fewest]!r}; {advice}"
        )
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(len(fm.CLASSES))])
    captions = [colored.colour_name(i) for i in painted.colours[chosen]] if dataset == "colored" else None
    captions = list(fabric_names[chosen]) if dataset == "fabrics" else captions
    path = save_grid(images[chosen], out, nrow=per_class, row_labels=list(fm.CLASSES), captions=captions,
                     scale=3 if captions else 2)
    console.print(f"wrote {escape(str(path))}", soft_wrap=True)
