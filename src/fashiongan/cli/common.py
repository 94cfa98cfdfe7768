"""What every command shares: console output, --json printing, option parsing helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import typer
from rich.console import Console

from fashiongan.errors import FashionGANError

console = Console()
err_console = Console(stderr=True)


def print_json(value: Any) -> None:
    """Machine-readable output on stdout, nothing else on it."""
    typer.echo(json.dumps(value, indent=2, default=str))


def parse_floats(text: str, name: str, low: float, high: float) -> list[float]:
    """'0,0.05,0.1' -> [0.0, 0.05, 0.1], each checked to lie in [low, high]."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise FashionGANError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise FashionGANError(f"{name} needs at least one value")
    for v in values:
        if not low <= v <= high:
            raise FashionGANError(f"{name} value {v} is outside [{low}, {high}]")
    return values


def choice(value: str, allowed: list[str], what: str) -> str:
    """Check ``value`` is one of ``allowed`` (case-insensitive), with a one-line error that lists them."""
    lowered = value.lower()
    if lowered not in allowed:
        raise FashionGANError(f"unknown {what} {value!r}; choose one of: {', '.join(allowed)}")
    return lowered


def budget(epochs: int | None, steps: int | None, minutes: float | None, batch_size: int | None) -> dict[str, Any]:
    """The training flags as a config's ``train`` layer: --epochs or --steps replaces the config's budget,
    --minutes caps it (or is the whole budget, alone)."""
    if epochs is not None and steps is not None:
        raise FashionGANError("give --epochs or --steps, not both (--minutes may cap either)")
    train: dict[str, Any] = {}
    if epochs is not None:
        train.update(epochs=epochs, steps=None)
    if steps is not None:
        train.update(steps=steps, epochs=None)
    if minutes is not None:
        train["minutes"] = minutes
        if epochs is None and steps is None:
            train.update(epochs=None, steps=None)
    if batch_size is not None:
        train["batch_size"] = batch_size
    return train


OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}  # what image commands write, by suffix


def plan_outputs(input: Path, out: Path | None, tag: str, images_in: Callable[[Path], list[Path]]) -> tuple[list[Path], list[Path]]:
    """(input files, output files) of an image-to-image command, checked before any work: a file gives one
    output (``out`` or INPUT-TAG.png here), a folder ``images_in(folder)`` each into a folder (``out`` or
    INPUT-TAG/), named after its input (the full name where two inputs share a stem); never onto an input."""
    if input.is_dir():
        inputs = images_in(input)
        folder = out if out is not None else Path(f"{input.resolve().name}-{tag}")
        if folder.suffix.lower() in OUTPUT_FORMATS:
            raise FashionGANError(f"--input {input} is a folder, so --out must be a folder, not {folder}")
        stems = [p.stem for p in inputs]
        outputs = [folder / f"{p.stem if stems.count(p.stem) == 1 else p.name}.png" for p in inputs]
    elif input.exists():
        inputs = [input]
        target = out if out is not None else Path(f"{input.stem}-{tag}.png")
        if target.suffix.lower() not in OUTPUT_FORMATS:
            raise FashionGANError(f"--out {target} must end in .png, .jpg or .jpeg")
        outputs = [target]
    else:
        raise FashionGANError(f"--input {input} does not exist")
    overwritten = {p.resolve() for p in inputs} & {p.resolve() for p in outputs}
    if overwritten:
        raise FashionGANError(f"the output would overwrite the input {sorted(overwritten)[0]}; choose another --out")
    return inputs, outputs
