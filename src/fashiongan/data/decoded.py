"""User images decoded once at a model's size and cached, so a second run does not decode again.

The cache key is every file's path, byte size and modification time, plus the size: replace or touch
an image and the set is decoded afresh. A file that does not decode is left out and counted, never
fatal; the cache is only an optimisation, so a cache folder that cannot be written is ignored.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fashiongan.atomic import atomic_write
from fashiongan.data.fashion_mnist import cache_dir
from fashiongan.data.folders import decode
from fashiongan.errors import DataError

CACHE_FOLDER = "decoded"
LAYOUT = 2  # how files become pixels (2: letterboxed on their backdrop); a cache of another layout is not read


@dataclass(frozen=True)
class Decoded:
    """``images`` uint8 (readable files, size, size, 3); ``readable`` one flag per file asked for."""

    images: np.ndarray
    readable: np.ndarray

    @property
    def skipped(self) -> int:
        return int((~self.readable).sum())


def _key(files: list[Path], size: int) -> str:
    stamps = []
    for path in files:
        try:
            stat = path.stat()
            stamps.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
        except OSError:
            stamps.append((str(path), -1, -1))
    return hashlib.sha256(json.dumps([LAYOUT, size, stamps]).encode()).hexdigest()[:32]


def _load(path: Path, count: int) -> Decoded | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            found = Decoded(stored["images"], stored["readable"])
    except (OSError, KeyError, ValueError):
        return None
    return found if len(found.readable) == count and len(found.images) == found.readable.sum() else None


def _save(path: Path, found: Decoded) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, images=found.images, readable=found.readable)

    try:
        atomic_write(path, write)
    except OSError:
        pass


def decode_files(files: list[Path], size: int) -> Decoded:
    """Every file as uint8 RGB at size x size (from the cache when the files are unchanged)."""
    path = cache_dir() / CACHE_FOLDER / f"{_key(files, size)}.npz"
    found = _load(path, len(files))
    if found is None:
        found = _decode(files, size)
        _save(path, found)
    if found.skipped:
        print(f"note: skipped {found.skipped} unreadable image(s) of {len(files)}; "
              "`fashiongan data info --data KIND:DIR --json` lists them", file=sys.stderr)
    return found


def _decode(files: list[Path], size: int) -> Decoded:
    images = np.zeros((len(files), size, size, 3), dtype=np.uint8)
    readable = np.zeros(len(files), dtype=bool)
    console = Console(stderr=True)
    columns = (TextColumn("decoding images"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("decode", total=len(files))
        for i, file in enumerate(files):
            try:
                images[i] = decode(file, size)
                readable[i] = True
            except DataError:
                pass
            bar.advance(task)
    return Decoded(images[readable], readable)
