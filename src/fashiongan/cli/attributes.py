"""`fashiongan attributes ...`: train, score and apply multi-label attribute classifiers."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import typer
from rich.markup import escape
from rich.table import Table

from fashiongan import attributes as lib
from fashiongan.cli.common import budget, console, err_console, print_json
from fashiongan.errors import FashionGANError
from fashiongan.metrics.features import progress_bar

app = typer.Typer(help="Multi-label attribute classifiers: train, evaluate, predict.", no_args_is_help=True)
Checkpoint = typer.Option(..., "--checkpoint", help="Checkpoint directory or pretrained:NAME (e.g. pretrained:attributes).")
Threads = typer.Option(
    None, "--threads", help="CPU threads for PyTorch [default: one per core]; 1 is much faster when other jobs share the cores.",
)


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise FashionGANError(f"--threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)  # a property of the machine, not of the model: not saved


@app.command()
def train(
    out: Path = typer.Option(..., "--out", help="Checkpoint directory to write."),
    data: str = typer.Option("attributes", "--data", help="attributes (the offline set), folder:DIR (a sub-folder per class) or styles:DIR (styles.csv + images/)."),
    model: str = typer.Option("attributes", "--model", help="attributes (a small CNN) or attributes-source (the source's MobileNetV2)."),
    columns: Optional[str] = typer.Option(None, "--attributes", help="styles: columns to predict, comma-separated [default: subCategory,gender]."),
    top: Optional[int] = typer.Option(None, "--top", help="styles: keep the N most frequent values of each column [default: 20]."),
    other: bool = typer.Option(False, "--other", help="styles: add a value 'other' for the rest of each column."),
    size: Optional[int] = typer.Option(None, "--size", help="Pixel size the images are trained at [default: 28 for the offline set, 64 for yours]."),
    pretrained: bool = typer.Option(False, "--pretrained", help="attributes-source: start from ImageNet weights when they can be downloaded."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Passes over the data [default: the config's]."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Train this many batches instead."),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Stop after this many minutes."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Images per step."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only N images (the offline set: the first N train and test; yours: a seeded subset)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for init and batch order (the held-out split of your data keeps data.seed, 0)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder with the Fashion-MNIST IDX files (offline set)."),
    threads: Optional[int] = Threads,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (no progress bar)."),
) -> None:
    """Train an attribute classifier through the one engine; prints the held-out mean AUC."""
    if (out / "config.json").exists():
        raise FashionGANError(f"{out} already holds a checkpoint; pick another --out")
    config = lib.train_config(
        model, data, columns=columns.split(",") if columns else None, top=top, other=other or None, size=size,
        pretrained=pretrained, limit=limit, seed=seed, data_dir=data_dir, overrides={"train": budget(epochs, steps, minutes, batch_size)},
    )
    _set_threads(threads)
    result = lib.train(config, out, progress=not as_json)
    summary = {
        "checkpoint": str(result.out), "model": model, "data": data, "outputs": config.nets["classifier"]["kwargs"]["outputs"],
        "steps": result.steps, "seconds": round(result.seconds, 1), "metrics": result.metrics,
    }
    if as_json:
        print_json(summary)
        return
    auc = result.metrics.get("mean_auc")
    shown = f"mean AUC [bold]{auc:.4f}[/], lowest {result.metrics['min_auc']:.4f}, " if auc is not None else ""
    console.print(
        f"trained {escape(model)} in {result.seconds:.0f} s ({result.steps} steps): {shown}"
        f"checkpoint {escape(str(result.out))}", soft_wrap=True,
    )


def _metric_table(metrics: dict[str, float], title: str) -> Table:
    table = Table("attribute", "AUC", "F1", title=title)
    for key, value in metrics.items():
        if key.startswith("auc/"):
            name = key[4:]
            table.add_row(escape(name), f"{value:.4f}", f"{metrics.get('f1/' + name, float('nan')):.3f}")
    return table


@app.command("eval")
def evaluate(
    checkpoint: str = Checkpoint,
    data: Optional[str] = typer.Option(None, "--data", help="Score on this data's held-out split instead of the training data's."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only N images (as in training)."),
    threads: Optional[int] = Threads,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Per-attribute AUC and F1, mean AUC, exact-match ratio and per-column accuracy on a held-out split."""
    _set_threads(threads)
    model = lib.load(checkpoint)
    result = lib.evaluate(model, data, limit)
    if as_json:
        print_json({"checkpoint": checkpoint, **result.to_dict()})
        return
    metrics = result.metrics
    console.print(_metric_table(metrics, f"{escape(checkpoint)} on {result.count} held-out images"))
    for column in model.vocabulary.columns:
        if f"accuracy/{column}" in metrics:
            console.print(f"{escape(column)}: most probable value right for {metrics[f'accuracy/{column}']:.2%}", soft_wrap=True)
    if "mean_auc" in metrics:
        console.print(f"mean AUC [bold]{metrics['mean_auc']:.4f}[/] (lowest {metrics['min_auc']:.4f}), "
                      f"exact match {metrics['exact_match']:.2%}", soft_wrap=True)


@app.command()
def predict(
    checkpoint: str = Checkpoint,
    source: Path = typer.Option(..., "--input", help="An image (any size and mode) or a folder of images."),
    threads: Optional[int] = Threads,
    as_json: bool = typer.Option(False, "--json", help="Print every value's probability as JSON."),
) -> None:
    """Each attribute's most probable value, with its probability, for every image."""
    _set_threads(threads)
    paths = lib.image_paths(source)
    model = lib.load(checkpoint)
    with progress_bar(not as_json, len(paths), "reading images") as advance:
        predictions, skipped = lib.predict(model, paths, progress=advance)
    if as_json:
        print_json({"checkpoint": checkpoint, "predictions": [p.to_dict() for p in predictions],
                    "skipped": [{"input": s, "reason": r} for s, r in skipped]})
        return
    table = Table("image", *model.vocabulary.columns)
    for p in predictions:
        table.add_row(escape(Path(p.source).name), *(f"{escape(v)} ({prob:.0%})" for v, prob in p.attributes.values()))
    console.print(table)
    for _, reason in skipped:
        err_console.print(f"skipped: {escape(reason)}", soft_wrap=True, highlight=False)
