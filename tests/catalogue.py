"""A small product catalogue as a user brings one: RGB JPEGs of odd sizes, garments on white, in the
``folder:`` layout (one sub-folder per class) and the ``styles:`` layout (styles.csv + images/ID.jpg,
with the real file's quirks: an unquoted comma in a product name, a row whose image is missing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("gown", "jeans", "tee", "trainer")
COLOURS = {"red": (200, 30, 40), "navy": (30, 40, 110), "green": (40, 140, 60)}
SIZES = ((60, 80), (45, 60), (80, 60), (64, 64))


def garment(kind: str, colour: tuple[int, int, int], size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """One product photo: a garment of ``kind``'s silhouette in ``colour`` on white, slightly jittered."""
    width, height = size
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    jitter = rng.integers(-2, 3, size=8) * max(1, min(size) // 30)
    w, h = width - 1, height - 1
    shapes = {
        "gown": [(0.4 * w, 0.1 * h), (0.6 * w, 0.1 * h), (0.85 * w, 0.9 * h), (0.15 * w, 0.9 * h)],
        "jeans": [(0.3 * w, 0.1 * h), (0.7 * w, 0.1 * h), (0.7 * w, 0.9 * h), (0.55 * w, 0.9 * h), (0.5 * w, 0.4 * h),
                  (0.45 * w, 0.9 * h), (0.3 * w, 0.9 * h)],
        "tee": [(0.1 * w, 0.2 * h), (0.9 * w, 0.2 * h), (0.9 * w, 0.4 * h), (0.75 * w, 0.4 * h), (0.75 * w, 0.85 * h),
                (0.25 * w, 0.85 * h), (0.25 * w, 0.4 * h), (0.1 * w, 0.4 * h)],
        "trainer": [(0.1 * w, 0.55 * h), (0.5 * w, 0.5 * h), (0.9 * w, 0.65 * h), (0.9 * w, 0.8 * h), (0.1 * w, 0.8 * h)],
    }
    points = [(x + jitter[i % 8], y + jitter[(i + 3) % 8]) for i, (x, y) in enumerate(shapes[kind])]
    shade = tuple(int(np.clip(c + rng.integers(-20, 21), 0, 255)) for c in colour)
    draw.polygon(points, fill=shade)
    return image


def write_folder(root: Path, per_class: int = 12, seed: int = 0) -> Path:
    """``root``/CLASS/NNN.jpg for the four classes, colours and sizes cycling."""
    rng = np.random.default_rng(seed)
    names = list(COLOURS)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            colour = COLOURS[names[i % len(names)]]
            garment(kind, colour, SIZES[i % len(SIZES)], rng).save(root / kind / f"{i:03d}.jpg", quality=90)
    return root


def write_styles(root: Path, per_class: int = 12, seed: int = 0) -> Path:
    """Fashion Product Images' layout: styles.csv (subCategory = the class, gender, baseColour) + images/ID.jpg."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = ["id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"]
    names = list(COLOURS)
    item = 1000
    for kind in CLASSES:
        for i in range(per_class):
            item += 1
            colour = names[i % len(names)]
            gender = ("Women", "Men")[i % 2]
            garment(kind, COLOURS[colour], SIZES[i % len(SIZES)], rng).save(root / "images" / f"{item}.jpg", quality=90)
            rows.append(f"{item},{gender},Apparel,{kind},{kind.title()},{colour.title()},Summer,2012,Casual,"
                        f"{gender}s {colour} {kind}, slim fit")  # the unquoted comma of real product names
    rows.append("99999,Men,Apparel,tee,Tshirts,Red,Summer,2012,Casual,No image for this one")
    (root / "styles.csv").write_text("\n".join(rows) + "\n")
    return root
