"""`fashiongan classify ...` and `fashiongan robustness`: train, score and attack classifiers."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from fashiongan import classify as lib
from fashiongan.cli.common import choice, console, err_console, parse_floats, print_json
from fashiongan.metrics import robustness as rb
from fashiongan.viz import plot_confusion, plot_curves

app = typer.Typer(help="Train, evaluate and apply classifiers (Fashion-MNIST's, or judges of your own catalogue).", no_args_is_help=True)
DataDir = typer.Option(None, "--data-dir", help="Folder with the four IDX files (else FASHIONGAN_DATA, cache, Debian).")
Checkpoint = typer.Option(..., "--checkpoint", help="Checkpoint directory or pretrained:NAME (mlp, cnn, evaluator).")
Threads = typer.Option(
    None, "--threads", min=1,
    help="CPU threads for PyTorch [default: one per core]; 1 is much faster when other jobs share the cores.",
)


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)  # a property of the machine, not of the model: not saved


def _progress(total: int, label: str, enabled: bool) -> Progress:
    """A bar on stderr, so --json output on stdout stays clean."""
    bar = Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, disable=not enabled, transient=True,
    )
    bar.add_task(label, total=total)
    return bar


def _advance(bar: Progress):
    task = bar.task_ids[0]
    return lambda count: bar.advance(task, count)


@app.command()
def train(
    out: Path = typer.Option(..., "--out", help="Checkpoint directory to write."),
    arch: str = typer.Option("evaluator", "--arch", help="mlp, cnn (Fashion-MNIST only) or evaluator (any data; a judge for `evaluate --judge`)."),
    data: Optional[str] = typer.Option(None, "--data", help="Train on your catalogue: folder:DIR (a sub-folder per class) or styles:DIR (classes: subCategory) [default: Fashion-MNIST]."),
    size: Optional[int] = typer.Option(None, "--size", help="Pixels a side the classifier sees [default: the data's; 64 for a folder]."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs (default: the arch's packaged config)."),
    adversarial: Optional[str] = typer.Option(None, "--adversarial", help="Train on fgsm or pgd examples."),
    eps: float = typer.Option(0.1, "--eps", help="Adversarial-training epsilon, in [0, 1] pixel units."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for init and batch order (default: the config's)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use only the first N train and test images (quick trials)."),
    threads: Optional[int] = Threads,
    data_dir: Optional[Path] = DataDir,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (no progress bar)."),
) -> None:
    """Train a classifier through the one engine; prints its accuracy on held-out images. On your own catalogue
    (--data) it becomes the judge of the generators you train on it (`evaluate --judge`, `train --judge`)."""
    arch = choice(arch, lib.ARCHS, "arch")
    if adversarial is not None:
        adversarial = choice(adversarial, rb.ATTACKS, "attack")
    eps = rb.check_eps(eps)
    config = lib.train_config(
        arch, epochs=epochs, adversarial=adversarial, eps=eps, seed=seed, data_dir=data_dir, limit=limit, data=data, size=size,
    )
    _set_threads(threads)
    result = lib.train(config, out, progress=not as_json)
    summary = {
        "checkpoint": str(result.out),
        "arch": arch,
        "data": data or "fashion_mnist",
        "adversarial": adversarial,
        "eps": eps if adversarial else None,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "test_accuracy": result.metrics.get("test_accuracy"),
    }
    if as_json:
        print_json(summary)
        return
    accuracy = summary["test_accuracy"]
    shown = f"{accuracy:.2%}" if accuracy is not None else "n/a"
    console.print(
        f"trained {arch} in {result.seconds:.0f} s ({result.steps} steps): test accuracy [bold]{shown}[/], "
        f"checkpoint {escape(str(result.out))}",
        soft_wrap=True,
    )


@app.command("eval")
def evaluate(
    checkpoint: str = Checkpoint,
    data: Optional[str] = typer.Option(None, "--data", help="Score on the held-out images of folder:DIR or styles:DIR [default: the data it was trained on]."),
    confusion: Optional[Path] = typer.Option(None, "--confusion", help="Write the confusion matrix as a PNG."),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="Score only the first N test images."),
    threads: Optional[int] = Threads,
    data_dir: Optional[Path] = DataDir,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Accuracy, per-class accuracy and confusion matrix on held-out images, named by the classifier's classes."""
    model, declared = lib.load_classifier(checkpoint)
    images, labels = lib.labelled_images(data_dir, n, data=lib.held_out_data(checkpoint, declared, data))
    _set_threads(threads)
    with _progress(len(images), "eval", not as_json) as bar:
        result = lib.evaluate(model, images, labels, on_batch=_advance(bar), classes=declared.conditions.classes)
    if confusion is not None:
        plot_confusion(result.confusion, result.classes, confusion, title=f"{checkpoint}: {result.accuracy:.2%}")
    if as_json:
        print_json({"checkpoint": checkpoint, **result.to_dict(), "confusion_png": str(confusion) if confusion else None})
        return
    table = Table("class", "accuracy", title=f"{escape(checkpoint)} on {result.count} test images")
    for name, value in result.per_class.items():
        table.add_row(escape(name), f"{value:.2%}")
    table.add_row("[bold]all", f"[bold]{result.accuracy:.2%}")
    console.print(table)
    if confusion is not None:
        console.print(f"wrote {escape(str(confusion))}", soft_wrap=True)


@app.command("predict")
def predict(
    checkpoint: str = Checkpoint,
    input: Path = typer.Option(..., "--input", help="An image file, or a folder of them."),
    as_json: bool = typer.Option(False, "--json", help="Print the predictions as JSON."),
) -> None:
    """Name what a classifier sees in your images, in its own class names."""
    model, declared = lib.load_classifier(checkpoint)
    found = lib.predict_images(model, declared, lib.image_files(input))
    if as_json:
        print_json({"checkpoint": checkpoint, "predictions": found})
        return
    table = Table("file", "class", "probability", title=f"{escape(checkpoint)} on {len(found)} image{'s' * (len(found) != 1)}")
    for row in found:
        table.add_row(escape(row["file"]), escape(row["class"]), f"{row['probability']:.1%}")
    console.print(table)


def robustness(
    checkpoint: str = Checkpoint,
    attack: str = typer.Option("fgsm", "--attack", help="fgsm or pgd."),
    eps: str = typer.Option("0,0.05,0.1,0.2,0.3", "--eps", help="Comma-separated epsilons in [0, 1] pixel units."),
    n: int = typer.Option(10000, "--n", min=1, help="Attack the first N test images."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Perturb every pixel, not only the garment's."),
    steps: int = typer.Option(10, "--steps", min=1, help="PGD iterations."),
    seed: int = typer.Option(0, "--seed", help="PGD's random start."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write the accuracy-vs-epsilon curve as a PNG."),
    threads: Optional[int] = Threads,
    data_dir: Optional[Path] = DataDir,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Accuracy of a classifier under FGSM or PGD at each epsilon."""
    attack = choice(attack, rb.ATTACKS, "attack")
    epsilons = parse_floats(eps, "--eps", 0.0, 1.0)
    model, _ = lib.load_classifier(checkpoint)
    images, labels = lib.labelled_images(data_dir, n)
    _set_threads(threads)
    with _progress(len(images) * len(epsilons), attack, not as_json) as bar:
        curve = rb.robustness_curve(
            model, images, labels, epsilons, attack, mask=not no_mask, steps=steps, seed=seed, on_batch=_advance(bar)
        )
    name = f"{checkpoint} {attack}{'' if curve.mask else ' (no mask)'}"
    if plot is not None:
        plot_curves({name: (curve.epsilons, curve.accuracy)}, plot, xlabel="epsilon ([0, 1] pixel scale)",
                    ylabel="test accuracy", title=f"robustness to {attack.upper()}")
    if as_json:
        print_json({"checkpoint": checkpoint, **curve.to_dict(), "plot": str(plot) if plot else None})
        return
    table = Table("epsilon", "accuracy", title=f"{escape(name)} on {curve.count} test images")
    for e, a in zip(curve.epsilons, curve.accuracy):
        table.add_row(f"{e:g}", f"{a:.2%}")
    console.print(table)
    if plot is not None:
        console.print(f"wrote {escape(str(plot))}", soft_wrap=True)

