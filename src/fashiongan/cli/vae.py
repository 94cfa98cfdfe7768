"""`fashiongan sample --reconstruct / --interpolate STEPS`: a VAE's latent space as one grid PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rich.markup import escape

from fashiongan.cli.common import console, print_json
from fashiongan.errors import FashionGANError


def latent_grid(
    checkpoint: str, n: int, attributes: list[str], steps: int | None, reconstruct: bool, size: int | None, seed: int,
    out: Path | None, out_dir: Path | None, as_json: bool,
) -> None:
    """Write ``n`` test items over their reconstructions, or ``n`` walks of ``steps`` images, into ``out``."""
    from fashiongan import latents, sampling
    from fashiongan.viz import save_grid

    if steps is not None and reconstruct:
        raise FashionGANError("give --reconstruct or --interpolate STEPS, not both")
    if out is None or out_dir is not None:
        raise FashionGANError("--reconstruct and --interpolate write one grid: pass --out FILE.png (and no --out-dir)")
    if reconstruct:
        if attributes:
            raise FashionGANError("--reconstruct shows test items with their own attributes; drop --attr")
        items, rebuilt = latents.reconstructions(checkpoint, n, seed)
        images, nrow, rows = np.concatenate([items, rebuilt]), len(items), ["test items", "reconstructed"]
        what = f"{len(items)} test items over their reconstructions"
    else:
        images, nrow, rows = latents.interpolations(checkpoint, n, steps, attributes, seed), steps, None
        what = f"{n} walks of {steps} steps through the latent space" + (f" ({', '.join(attributes)})" if attributes else "")
    size = 2 * images.shape[1] if size is None else size
    path = save_grid(sampling.resize(images, size), out, nrow=nrow, scale=1, row_labels=rows)
    written: dict[str, Any] = {"kind": "reconstructions" if reconstruct else "interpolations", "n": n, "size": size,
                               "seed": seed, "out": str(path)}
    if as_json:
        print_json(written)
        return
    console.print(f"wrote {what} to {escape(str(path))}", soft_wrap=True, highlight=False)
