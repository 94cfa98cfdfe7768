"""`fashiongan restyle`: turn a garment's fabric into another (leather <-> denim with the shipped model)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer
from PIL import Image
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from fashiongan.atomic import atomic_write
from fashiongan.cli.common import OUTPUT_FORMATS, console, err_console, plan_outputs, print_json
from fashiongan.errors import FashionGANError



def restyle(
    checkpoint: str = typer.Option(..., "--checkpoint", "-c", help="Translation checkpoint directory or pretrained:NAME (e.g. pretrained:fabric-cyclegan)."),
    to: str = typer.Option(..., "--to", help="The domain to restyle into: one the checkpoint names (denim or leather for the shipped model)."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="An image or a folder of images (default: the built-in test items of the other domain)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (image input) or folder (folder input) (default: INPUT-TO.png or INPUT-TO/ here)."),
    triplet: Optional[Path] = typer.Option(None, "--triplet", help="Also write a figure: original / translated / reconstructed, a row per image (at most --n)."),
    n: int = typer.Option(8, "--n", min=1, max=64, help="Rows of the triplet figure (and built-in test items when there is no --input)."),
    cutout: bool = typer.Option(True, "--cutout/--no-cutout", help="Cut a garment out of a plain backdrop (a product photo on white or grey) for the model and put the result back on it; --no-cutout hands each image over as it is."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Restyle garments into another fabric at their own size; every input is read before anything is written."""
    from fashiongan import restyle as lib

    translator = lib.load(checkpoint, device)
    source, _, _ = translator.direction(to)
    inputs, outputs = _plan(input, out, to)
    if triplet is not None and triplet.suffix.lower() not in OUTPUT_FORMATS:
        raise FashionGANError(f"--triplet {triplet} must end in .png, .jpg or .jpeg")
    if not inputs and triplet is None:
        raise FashionGANError("nothing to write: give --input IMAGE|DIR, or --triplet FILE for the built-in test items")
    images = [lib.read_image(p) for p in inputs] if inputs else _test_items(translator, source, n)
    bar = Progress(TextColumn("[bold]restyle"), BarColumn(), MofNCompleteColumn(),
                   disable=as_json or len(images) <= lib.CHUNK, console=err_console)
    results = []
    with bar:
        task = bar.add_task("restyle", total=len(images))
        for start in range(0, len(images), lib.CHUNK):
            results += translator(images[start : start + lib.CHUNK], to, cutout)
            bar.update(task, completed=len(results))
    for result, path in zip(results, outputs):
        _write(result, path)
    if triplet is not None:
        lib.triplet_figure(results[:n], triplet, to)
    written = [{"input": r.name, "output": str(p), "width": r.original.shape[1], "height": r.original.shape[0], "notes": r.notes}
               for r, p in zip(results, outputs)]
    if as_json:
        print_json({"checkpoint": checkpoint, "from": source, "to": to.lower(), "images": written,
                    "triplet": None if triplet is None else str(triplet)})
        return
    for note in (note for r in results for note in r.notes):
        err_console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    if outputs:
        where = outputs[0] if len(outputs) == 1 else outputs[0].parent
        console.print(f"restyled {len(outputs)} image{'s' if len(outputs) > 1 else ''} from {escape(source)} to "
                      f"{escape(to.lower())}: {escape(str(where))}", soft_wrap=True, highlight=False)
    if triplet is not None:
        console.print(f"wrote the triplet figure {escape(str(triplet))}", soft_wrap=True, highlight=False)


def _plan(input: Path | None, out: Path | None, to: str) -> tuple[list[Path], list[Path]]:
    """(input files, output files), checked; none without --input (the triplet of built-in test items)."""
    if input is None:
        if out is not None:
            raise FashionGANError("--out needs --input (without it only --triplet is written, from the built-in test items)")
        return [], []
    from fashiongan.data.folders import images_in

    return plan_outputs(input, out, to.strip().lower().replace(" ", "-"), images_in)


def _test_items(translator, source: str, n: int) -> list:
    """The first ``n`` built-in test items of the source domain (fabric checkpoints only)."""
    from fashiongan import restyle as lib
    from fashiongan.data import fabrics

    if translator.data.get("name") != "fabrics" or source not in fabrics.FABRICS:
        raise FashionGANError(f"{translator.source} was not trained on the built-in fabrics; give --input IMAGE|DIR")
    split = fabrics.load("test", source, int(translator.data.get("seed", 0)), n)
    return [lib.UserImage(np.ascontiguousarray(image.transpose(1, 2, 0)), None, f"{source} test item {i}")
            for i, image in enumerate(split.images)]


def _write(result, path: Path) -> None:
    image: Image.Image = result.image("translated")
    fmt = OUTPUT_FORMATS[path.suffix.lower()]
    if fmt == "JPEG":
        image = image.convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: image.save(tmp, format=fmt))


ROWS = (
    ("fabric accuracy", "fabric_accuracy", "{:.1%}"), ("garment kept (class)", "garment_kept", "{:.1%}"),
    ("garment agreed (judge's class of the input)", "garment_agreed", "{:.1%}"),
    ("mask IoU", "mask_iou", "{:.3f}"), ("KID (lower is better)", "kid_mean", "{:.4f}"),
    ("cycle L1", "cycle_l1", "{:.4f}"), ("L1 to ground truth", "truth_l1", "{:.4f}"),
    ("SSIM to ground truth", "truth_ssim", "{:.3f}"),
)


def evaluate(checkpoint: str, n: int, judge: str | None, seed: int, as_json: bool) -> None:
    """`fashiongan evaluate --checkpoint` on a translation model: a table per direction (model, identity, truth)."""
    from rich.table import Table

    from fashiongan import restyle as lib
    from fashiongan.metrics import fabric

    if n > fabric.DEFAULT_N:
        err_console.print(f"note: a translation model is scored on at most {fabric.DEFAULT_N} test items a direction")
    scores = fabric.evaluate_translation(lib.load(checkpoint), min(n, fabric.DEFAULT_N), judge=judge, seed=seed)
    if as_json:
        print_json(scores)
        return
    for direction, columns in ((k, v) for k, v in scores.items() if isinstance(v, dict)):
        table = Table("metric", *columns, title=f"{direction}: {columns['model']['n']} test items, judged by "
                      f"{scores['judge']} and {scores['fabric_judge'] or 'no fabric judge'}")
        for label, key, form in ROWS:
            cells = [form.format(c[key]) if c.get(key) is not None else "—" for c in columns.values()]
            table.add_row(label, *cells)
        console.print(table)
