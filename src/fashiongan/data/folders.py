"""The user's own data, named ``KIND:PATH`` everywhere a dataset is accepted.

``folder:DIR``  one sub-folder per class (torchvision's ImageFolder convention), any sizes and modes.
``styles:DIR``  Fashion Product Images: DIR/styles.csv + DIR/images/ID.jpg, attributes from its columns.

Real catalogues are messy: styles.csv has rows whose productDisplayName holds unquoted commas, missing
values, and ids whose image is missing or unreadable. Every good row is loaded, every other one is
skipped with a reason that ``data info`` counts; nothing here raises on one bad file among good ones.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from fashiongan import images
from fashiongan.errors import DataError, FashionGANError

SOURCES = ("folder", "styles", "pair")  # the KIND of a user's data given as KIND:PATH
TABLES = ("folder", "styles")  # the sources that are one table of images (a pair: folder holds two domains)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
STYLES_COLUMNS = (
    "id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year", "usage",
    "productDisplayName",
)
OTHER = "other"
MAX_PIXELS = 64_000_000  # larger files are refused before decoding (a decompression-bomb guard)
LIMITS = images.Limits(MAX_PIXELS)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class ImageTable:
    """Image files with what is known of each: a class (``folder:``) and/or raw attribute columns (``styles:``)."""

    kind: str
    root: Path
    files: list[Path]
    classes: list[str] = field(default_factory=list)
    labels: np.ndarray | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.files)

    def skip_reasons(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))


def parse_source(text: str, kinds: tuple[str, ...] = SOURCES) -> tuple[str, Path]:
    """``'folder:DIR'`` -> ("folder", DIR), with a one-line error for a kind not in ``kinds`` or a missing folder:
    the one reader of a user's KIND:PATH."""
    kind, sep, path = str(text).partition(":")
    if not sep or kind not in kinds:
        raise FashionGANError(f"data source {text!r} should be KIND:PATH with KIND one of: {', '.join(kinds)}")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FashionGANError(f"{root} is not a folder (from {text!r})")
    return kind, root


def decode(path: Path, size: int | None = None) -> np.ndarray:
    """An image file as uint8 RGB (H, W, 3) through :mod:`fashiongan.images` (on black where transparent),
    letterboxed to size x size when given; DataError when unreadable."""
    try:
        return pixels(images.read(path, LIMITS), size)
    except FashionGANError as exc:
        raise DataError(str(exc)) from None


def pixels(image: images.UserImage, size: int | None = None) -> np.ndarray:
    """A user's image as uint8 RGB (H, W, 3), letterboxed to size x size when given (garments keep their shape)."""
    return image.rgb if size is None or image.size == (size, size) else images.letterboxed(image, size)


def images_in(directory: Path, required: bool = True) -> list[Path]:
    """The image files of a folder (not its sub-folders), sorted; none is a one-line error when ``required``."""
    found = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if required and not found:
        raise DataError(f"{directory} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return found


def read_folder(root: Path) -> ImageTable:
    """``folder:DIR``: the classes are the sub-folders (sorted), files listed but not yet decoded."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files, labels = [], []
    for index, name in enumerate(classes):
        found = images_in(root / name, required=False)
        files += found
        labels += [index] * len(found)
    used = sorted({classes[i] for i in labels})
    if not files:
        raise DataError(f"{root} holds no images in class sub-folders (expected {root}/CLASS/IMAGE.jpg)")
    if len(used) < 2:
        raise DataError(f"{root} has images of one class only ({used[0]!r}); a classifier needs at least two")
    return ImageTable("folder", root, files, classes, np.array(labels, dtype=np.int64))


def _styles_rows(path: Path) -> tuple[list[list[str]], list[Skipped]]:
    """Rows of styles.csv, each with exactly the known columns. Extra fields are the unquoted commas
    of productDisplayName (the last column), so they are joined back into it."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = list(reader)
    except OSError as exc:
        raise DataError(f"cannot read {path} ({exc})") from exc
    if header is None or [h.strip() for h in header[: len(STYLES_COLUMNS)]] != list(STYLES_COLUMNS):
        raise DataError(f"{path} does not start with the styles.csv header: {','.join(STYLES_COLUMNS)}")
    good, skipped, width = [], [], len(STYLES_COLUMNS)
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < width:
            skipped.append(Skipped(f"{path.name}:{number}", "too few fields"))
            continue
        row = row[: width - 1] + [",".join(row[width - 1 :])]
        good.append([cell.strip() for cell in row])
    return good, skipped


def read_styles(root: Path) -> ImageTable:
    """``styles:DIR``: every row of DIR/styles.csv whose id is a number and whose DIR/images/ID.jpg exists."""
    path = root / "styles.csv"
    if not path.is_file():
        raise DataError(f"{root} has no styles.csv (expected the Fashion Product Images layout: styles.csv + images/)")
    rows, skipped = _styles_rows(path)
    files, columns = [], {name: [] for name in STYLES_COLUMNS[1:]}
    for row in rows:
        if not row[0].isdigit():
            skipped.append(Skipped(f"id {row[0]!r}", "id is not a number"))
            continue
        image = root / "images" / f"{row[0]}.jpg"
        if not image.is_file():
            skipped.append(Skipped(str(image), "image missing"))
            continue
        files.append(image)
        for name, value in zip(STYLES_COLUMNS[1:], row[1:]):
            columns[name].append(value)
    if not files:
        raise DataError(f"{path} lists no row whose image exists in {root / 'images'}")
    return ImageTable("styles", root, files, columns=columns, skipped=skipped)


def read_table(source: str) -> ImageTable:
    kind, root = parse_source(source, TABLES)
    return read_folder(root) if kind == "folder" else read_styles(root)


@dataclass(frozen=True)
class AttributeVocabulary:
    """Which value of which column each output of a multi-label model stands for ("subCategory=Topwear")."""

    columns: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]

    @property
    def names(self) -> list[str]:
        return [f"{c}={v}" for c, vs in zip(self.columns, self.values) for v in vs]

    def to_dict(self) -> dict[str, list]:
        """JSON-ready form, as a checkpoint's config stores it."""
        return {"columns": list(self.columns), "values": [list(v) for v in self.values]}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> "AttributeVocabulary":
        try:
            columns, values = tuple(stored["columns"]), tuple(tuple(map(str, v)) for v in stored["values"])
        except (KeyError, TypeError) as exc:
            raise FashionGANError(f"a vocabulary should be {{columns: [...], values: [[...], ...]}}, got {stored!r}") from exc
        if len(columns) != len(values) or not all(values):
            raise FashionGANError(f"a vocabulary needs one non-empty list of values per column, got {stored!r}")
        return cls(tuple(map(str, columns)), values)

    def encode(self, columns: dict[str, list[str]]) -> np.ndarray:
        """Multi-hot (N, outputs) float32; a value outside the vocabulary sets its column's ``other``, if any."""
        n = len(next(iter(columns.values())))
        out = np.zeros((n, len(self.names)), dtype=np.float32)
        offset = 0
        for column, values in zip(self.columns, self.values):
            index = {v: i for i, v in enumerate(values)}
            fallback = index.get(OTHER)
            for row, value in enumerate(columns[column]):
                hit = index.get(value, fallback)
                if hit is not None and value != "":
                    out[row, offset + hit] = 1
            offset += len(values)
        return out


def vocabulary(table: ImageTable, columns: list[str], top: int | None = None, other: bool = False) -> AttributeVocabulary:
    """The ``top`` most frequent values of each column (all when None), plus ``other`` when asked.
    The source's choice: top 20 subCategory values + the genders."""
    if top is not None and top < 1:
        raise FashionGANError(f"--top must be at least 1, got {top}")
    if not columns:
        raise FashionGANError("name at least one attribute column, e.g. --attributes subCategory,gender")
    unknown = [c for c in columns if c not in table.columns]
    if unknown:
        raise FashionGANError(f"no attribute column {unknown[0]!r}; columns: {', '.join(table.columns)}")
    chosen = []
    for column in columns:
        counts = Counter(v for v in table.columns[column] if v != "")
        values = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
        chosen.append(tuple(values + ([OTHER] if other and OTHER not in values else [])))
    return AttributeVocabulary(tuple(columns), tuple(chosen))


def info(source: str, progress=None) -> dict:
    """Counts per class or attribute value, image sizes seen, and every skipped file with its reason.

    Every image is decoded once (a corrupt JPEG is only found that way); ``progress(count)`` is called per file.
    """
    table = read_table(source)
    sizes: Counter = Counter()
    readable = np.ones(len(table), dtype=bool)
    skipped = list(table.skipped)
    for i, path in enumerate(table.files):
        try:
            sizes["x".join(map(str, decode(path).shape[1::-1]))] += 1
        except DataError:
            readable[i] = False
            skipped.append(Skipped(str(path), "unreadable image"))
        if progress is not None:
            progress(1)
    result: dict = {"kind": table.kind, "root": str(table.root), "images": int(readable.sum()), "sizes": dict(sizes.most_common())}
    if table.labels is not None:
        counts = np.bincount(table.labels[readable], minlength=len(table.classes))
        result["per_class"] = {name: int(n) for name, n in zip(table.classes, counts)}
    for column, values in table.columns.items():
        kept = [v for v, ok in zip(values, readable) if ok]
        result.setdefault("columns", {})[column] = dict(Counter(v or "(missing)" for v in kept).most_common())
    result["skipped"] = len(skipped)
    result["skip_reasons"] = dict(Counter(s.reason for s in skipped))
    result["skipped_files"] = [{"path": s.path, "reason": s.reason} for s in skipped]
    return result
