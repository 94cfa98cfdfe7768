"""`fashiongan colorize`: paint a grey item (or a folder of them) in the colour asked."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from fashiongan.cli.common import console, err_console, plan_outputs, print_json
from fashiongan.errors import FashionGANError


def colorize(
    checkpoint: str = typer.Option(..., "--checkpoint", "-c", help="Colorizer checkpoint directory or pretrained:NAME."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="A PNG/JPEG image, or a folder of them."),
    test_items: Optional[int] = typer.Option(None, "--test-items", min=1, max=50, help="Instead of --input: paint this many Fashion-MNIST test items in every colour (or the one asked) into one figure (--out FILE.png)."),
    colour: Optional[str] = typer.Option(None, "--colour", "--color", help="A catalogue colour (navy, burgundy, ...) or auto [default: auto]; conditional colorizers only."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (image input) or folder (folder input) [default: INPUT-COLOUR.png or INPUT-COLOUR/ here]."),
    cutout: bool = typer.Option(True, "--cutout/--no-cutout", help="Cut a garment out of a plain backdrop (a product photo on white or grey), paint it, and keep the backdrop; --no-cutout paints each image as it is."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Colour grey items (any size; colour images are taken by their luminance) at their own size."""
    from fashiongan import colorize as lib
    from fashiongan.data import colored

    if (input is None) == (test_items is None):
        raise FashionGANError("say what to colour: --input IMAGE|DIR, or --test-items N for a figure of test items")
    model = lib.load_colorizer(checkpoint)
    index = model.colour_index(colour)
    if test_items is not None:
        _test_sheet(model, test_items, colour, out or Path("colorized-test-items.png"), as_json)
        return
    tag = "colorized" if index is None else colored.colour_name(index).replace(" ", "-")
    inputs, outputs = plan_outputs(input, out, tag, lib.image_files)
    bar = Progress(TextColumn("[bold]colorize"), BarColumn(), MofNCompleteColumn(),
                   disable=as_json or len(inputs) == 1, console=err_console)
    task = bar.add_task("colorize", total=len(inputs))

    def progress(done: int) -> None:
        if done == 0:  # every input passed its checks: show the bar from here
            bar.start()
        bar.update(task, completed=done)

    try:
        results = lib.colorize_files(model, inputs, outputs, colour, on_item=progress, cutout=cutout)
    finally:
        if bar.live.is_started:
            bar.stop()
    written = [
        {"input": str(src), "output": str(dst), "width": r.rgb.shape[1], "height": r.rgb.shape[0],
         "colour": None if r.painted is None else r.painted[0], "notes": r.notes}
        for src, dst, r in zip(inputs, outputs, results)
    ]
    asked = results[0].asked
    if as_json:
        print_json({"checkpoint": checkpoint, "asked": asked, "images": written})
        return
    for note in (note for r in results for note in r.notes):
        err_console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    painted = sorted({item["colour"] for item in written if item["colour"]})
    what = f"{len(written)} image{'s' if len(written) > 1 else ''}"
    if asked:
        what += f" in {asked}" + (f" (picked: {', '.join(painted)})" if asked == colored.AUTO else "")
    where = outputs[0] if len(outputs) == 1 else outputs[0].parent
    console.print(f"colorized {what}: {escape(str(where))}", soft_wrap=True, highlight=False)


def _test_sheet(model, count: int, colour: Optional[str], out: Path, as_json: bool) -> None:  # noqa: ANN001 (a lib.Colorizer)
    """A figure: ``count`` seeded test items in grey, then painted in every catalogue colour (or the one asked)."""
    import numpy as np

    from fashiongan import colorize as lib
    from fashiongan.data import colored, fashion_mnist as fm
    from fashiongan.viz import save_grid

    test = fm.load("test")
    gray = test.images[np.sort(np.random.default_rng(0).choice(len(test), count, replace=False))]
    colours = [colour] if colour is not None else (colored.colour_names() + [colored.AUTO] if model.conditional else [None])
    sheet = lib.colour_sheet(model, gray, colours)
    labels = ["grey"] + [c or "colorized" for c in colours]
    path = save_grid(sheet.reshape(-1, *sheet.shape[2:]), out, nrow=count, scale=3, row_labels=labels)
    if as_json:
        print_json({"checkpoint": model.source, "out": str(path), "items": count, "colours": labels[1:]})
    else:
        console.print(f"wrote {escape(str(path))}: {count} test items in {len(labels) - 1} colour(s)", soft_wrap=True)
