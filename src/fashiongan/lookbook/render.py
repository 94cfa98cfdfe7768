"""A lookbook on disk: a self-contained index.html, a lookbook.png contact sheet and a manifest.json.

The directory is written whole or not at all: the files are made in a hidden sibling folder that one
rename puts in place (an earlier lookbook there is swapped out and removed only after that).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fashiongan import __version__
from fashiongan.data import colored
from fashiongan.errors import FashionGANError
from fashiongan.lookbook.assemble import Lookbook
from fashiongan.lookbook.capabilities import GRAY_JUDGE
from fashiongan.viz import grid_image

FORMAT = "fashiongan-lookbook/1"
FILES = ("index.html", "lookbook.png", "manifest.json")
TILE = 112  # contact-sheet tile: 4x a 28 px item


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode()


def manifest(lookbook: Lookbook) -> dict[str, Any]:
    """Everything needed to rebuild the lookbook, or any one item of it, exactly."""
    caps = lookbook.capabilities
    items = []
    for outfit in lookbook.outfits:
        for item in outfit.items:
            record = item.record()
            record["outfit"] = outfit.id
            record["png_sha256"] = hashlib.sha256(png_bytes(item.image)).hexdigest()
            r = item.recipe
            command = f"fashiongan sample --checkpoint {r.generator} --label {r.label} --n 1 --seed {r.seed}"
            record["sample_command"] = command + (f" --colour '{r.colour}'" if r.colour_by == "generator" else "")
            items.append(record)
    return {
        "format": FORMAT,
        "fashiongan_version": __version__,
        "seed": lookbook.seed,
        "locked": lookbook.locked,
        "rules": {"source": lookbook.rules.source, "values": lookbook.rules.raw},
        "models": {
            "generator": caps.generator.source, "colour_by": caps.colour_by, "colorizer": caps.colorizer,
            "restyler": caps.restyler, "judges": {"grayscale": GRAY_JUDGE, "rgb": caps.judge_for(3)},
        },
        "confidence": lookbook.rules.confidence,
        "duplicate_distance": lookbook.rules.duplicate_distance,
        "seconds": round(lookbook.seconds, 3),
        "candidates": lookbook.candidates,
        "outfits": [outfit.record() for outfit in lookbook.outfits],
        "items": items,
    }


def _tile(image: np.ndarray) -> np.ndarray:
    rgb = np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image
    side = rgb.shape[0]
    method = Image.NEAREST if TILE % side == 0 else Image.BICUBIC
    return np.asarray(Image.fromarray(rgb).resize((TILE, TILE), method))


def contact_sheet(lookbook: Lookbook) -> Image.Image:
    """One row per outfit, each item captioned with its class and the judge's confidence."""
    width = max(len(o.items) for o in lookbook.outfits)
    blank = np.full((TILE, TILE, 3), 255, np.uint8)
    tiles, captions = [], []
    for outfit in lookbook.outfits:
        for item in outfit.items:
            tiles.append(_tile(item.image))
            captions.append(f"{item.class_name} {item.confidence:.0%}")
        tiles.extend([blank] * (width - len(outfit.items)))
        captions.extend([""] * (width - len(outfit.items)))
    return grid_image(np.stack(tiles), width, scale=1, pad=8, row_labels=[o.id for o in lookbook.outfits], captions=captions)


def _swatch(colour: str | None) -> str:
    if not colour:
        return ""
    hex_value = colored.catalogue()[colored.colour_index(colour)].hex
    return f'<span class="swatch" style="background:{hex_value}"></span>'


def page(lookbook: Lookbook) -> str:
    """The lookbook as one HTML file with every image inlined."""
    e = html.escape
    caps = lookbook.capabilities
    cards = []
    for outfit in lookbook.outfits:
        figures = []
        for item in outfit.items:
            r = item.recipe
            details = [f"{e(item.class_name)} · {item.confidence:.1%}"]
            if r.colour and r.colour != colored.AUTO:
                details.append(f"{_swatch(r.colour)}{e(r.colour)}")
            if r.fabric:
                details.append(f"fabric: {e(r.fabric)}")
            lines = "".join(f"<span>{d}</span>" for d in details)
            locked = ' class="locked"' if item.id == lookbook.locked else ""
            figures.append(
                f'<figure{locked}><img src="{data_uri(item.image)}" alt="{e(item.class_name)}" width="112" height="112">'
                f'<figcaption><b>{e(item.slot)}</b>{lines}<code title="--lock {e(item.id)}">{e(item.id)}</code></figcaption></figure>'
            )
        cards.append(
            f'<section class="outfit"><h2>{e(outfit.id.replace("-", " ").title())}</h2>'
            f'<p class="rule">{e(outfit.caption)}</p><div class="items">{"".join(figures)}</div></section>'
        )
    colour = {"generator": "the colour generator", "colorizer": f"colorizer {caps.colorizer}"}.get(caps.colour_by or "", "none shipped: grayscale")
    meta = (
        f"seed {lookbook.seed} · generator {e(caps.generator.source)} · colour: {e(colour)} · "
        f"restyle: {e(caps.restyler or 'none shipped')} · judge confidence ≥ {lookbook.rules.confidence:g} · "
        f"{lookbook.candidates} candidates judged in {lookbook.seconds:.1f} s"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fashiongan lookbook</title>
<style>
body {{ font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f6f4f0; color: #222; }}
header {{ padding: 28px 32px 8px; }} h1 {{ margin: 0; font-weight: 600; letter-spacing: .04em; }}
.meta {{ color: #666; font-size: 13px; }}
main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 20px; padding: 16px 32px 40px; align-items: start; }}
.outfit {{ background: #fff; border-radius: 10px; padding: 16px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }}
.outfit h2 {{ margin: 0; font-size: 17px; }} .rule {{ margin: 2px 0 12px; color: #7a5c3e; font-size: 13px; }}
.items {{ display: flex; flex-wrap: wrap; gap: 14px 8px; }}
figure {{ margin: 0; width: 112px; }} figure.locked img {{ outline: 3px solid #c7a25a; }}
img {{ image-rendering: pixelated; background: #000; border-radius: 6px; display: block; }}
figcaption {{ font-size: 12px; display: flex; flex-direction: column; margin-top: 4px; }}
figcaption code {{ color: #999; font-size: 10px; overflow-wrap: anywhere; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; border: 1px solid #ccc; }}
</style></head>
<body><header><h1>Lookbook</h1><p class="meta">{meta}</p></header>
<main>{"".join(cards)}</main></body></html>
"""


def write(lookbook: Lookbook, out: str | Path) -> Path:
    """Write the lookbook's three files into ``out`` as one step; ``out`` must be new, empty or an earlier lookbook."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise FashionGANError(f"{out} is a file; give a directory for the lookbook")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise FashionGANError(f"{out} holds other files and no lookbook; give a new or empty directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(6)
    staging = out.parent / f".{out.name}.new-{token}"
    staging.mkdir()
    try:
        (staging / "index.html").write_text(page(lookbook), encoding="utf-8")
        contact_sheet(lookbook).save(staging / "lookbook.png", format="PNG")
        (staging / "manifest.json").write_text(json.dumps(manifest(lookbook), indent=2) + "\n")
        if out.exists():
            old = out.parent / f".{out.name}.old-{token}"
            os.rename(out, old)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """An earlier lookbook's manifest (for --lock), with one-line errors."""
    path = Path(directory).expanduser() / "manifest.json"
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise FashionGANError(f"--lock needs an earlier lookbook in {path.parent}, but it has no manifest.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FashionGANError(f"{path} is not a readable lookbook manifest ({exc})") from None
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise FashionGANError(f"{path} is not a fashiongan lookbook manifest")
    return value
