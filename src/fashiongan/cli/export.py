"""`fashiongan export`: a training run's main net alone, small enough to ship or share."""

from __future__ import annotations

from pathlib import Path

import typer

from fashiongan.cli.common import console


def export(
    checkpoint: str = typer.Option(..., "--checkpoint", help="A checkpoint directory (a training run) or pretrained:NAME."),
    out: Path = typer.Option(..., "--out", help="New checkpoint directory for the exported net."),
    half: bool = typer.Option(False, "--half", help="Store the weights as float16 (half the size; loading casts back)."),
) -> None:
    """Keep only the net that samples or classifies (the EMA generator when training kept one): no
    discriminator, optimiser state or RNG. The result loads wherever a checkpoint does."""
    from fashiongan import hub

    directory = hub.export(checkpoint, out, half=half)
    size = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
    console.print(f"exported {hub.read_config(directory)['main']} to {directory} ({size / 2**20:.1f} MiB)")
