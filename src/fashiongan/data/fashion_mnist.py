"""Fashion-MNIST: find the four IDX files, verify them, parse them once, cache the arrays.

Search order: an explicit directory (``--data-dir`` or ``FASHIONGAN_DATA``), the user cache,
Debian's ``dataset-fashion-mnist`` package, else a download from the official mirror into the cache.
The checksums are of the *decompressed* bytes because Debian recompresses the .gz files.

Which files are checksummed: a file with an official name (``train-images-idx3-ubyte[.gz]`` ...)
whose IDX header claims the official count (60000 train, 10000 test) says it *is* the official
file, so it must match the official sha256; a corrupted copy of the real data is caught this way.
Any other file with an official name (a user's own subset or relabelled set in the same format)
is accepted unverified, though it still has to be well-formed IDX (magic, 28x28, lengths, labels 0-9).

The arrays a ``Split`` holds are read-only: ``load`` hands the same arrays to every caller.
Copy them (``split.images.copy()``) before changing them in place.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import struct
import urllib.request
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import platformdirs
import torch

from fashiongan.atomic import atomic_write
from fashiongan.data.transforms import to_float
from fashiongan.errors import DataError, FashionGANError

CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
SIZE = 28  # pixels a side
SPLITS = ("train", "test")
FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
# sha256 prefixes of the decompressed files.
CHECKSUMS = {
    "train-images-idx3-ubyte": "c59f468a2f672dc8",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91e",
    "train-labels-idx1-ubyte": "bad3541b69d91243",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663",
}
# Item counts the official files' headers give: a file with an official name claiming this count is checksummed.
OFFICIAL_COUNTS = {"train": 60000, "test": 10000}
_OFFICIAL_COUNT = {stem: OFFICIAL_COUNTS[split] for (split, _), stem in FILES.items()}
MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801
HOW_TO_GET = (
    "install Debian's package (apt-get install dataset-fashion-mnist), "
    "pass --data-dir DIR / set FASHIONGAN_DATA to a folder with the four IDX files, "
    f"or allow the download from {MIRROR}"
)


@dataclass(frozen=True)
class Split:
    """One split as uint8 arrays: images (N, 28, 28), labels (N,)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    source: Path

    def __len__(self) -> int:
        return len(self.labels)

    def tensors(self, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``limit`` images as float (N, 1, 28, 28) in [-1, 1] and labels as int64."""
        return to_float(self.images[:limit]), torch.tensor(self.labels[:limit], dtype=torch.long)


# ---------------------------------------------------------------- labels

def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_ALIASES = {_normalise(c): i for i, c in enumerate(CLASSES)} | {"tshirt": 0, "top": 0, "boot": 9}


def label_index(label: str | int) -> int:
    """A class index from a name ("sneaker", "Ankle boot", "t-shirt") or an index (9, "9")."""
    if isinstance(label, str) and label.strip().isdecimal():
        label = int(label.strip())
    if isinstance(label, np.integer):  # e.g. an element of Split.labels
        label = int(label)
    if isinstance(label, int) and not isinstance(label, bool):
        if 0 <= label < len(CLASSES):
            return label
    elif isinstance(label, str) and _normalise(label) in _ALIASES:
        return _ALIASES[_normalise(label)]
    raise FashionGANError(
        f"{label!r} is not a Fashion-MNIST class; use an index 0-9 or one of: {', '.join(CLASSES)}"
    )


def label_name(index: int) -> str:
    return CLASSES[label_index(index)]


# ---------------------------------------------------------------- locating

def cache_dir() -> Path:
    """Where downloads and parsed arrays live (``FASHIONGAN_CACHE`` overrides the user cache)."""
    return Path(os.environ.get("FASHIONGAN_CACHE") or platformdirs.user_cache_dir("fashiongan"))


def _file_in(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def _complete(directory: Path) -> bool:
    return all(_file_in(directory, stem) for stem in FILES.values())


def locate(data_dir: str | Path | None = None, download: bool | None = None) -> Path:
    """The directory holding all four IDX files, searched in the documented order."""
    explicit = data_dir or os.environ.get("FASHIONGAN_DATA")
    if explicit:
        directory = Path(explicit).expanduser()
        if not directory.is_dir():
            raise DataError(f"data directory {directory} does not exist; {HOW_TO_GET}")
        missing = [s for s in FILES.values() if not _file_in(directory, s)]
        if missing:
            raise DataError(f"{directory} lacks {', '.join(missing)} (.gz or raw); {HOW_TO_GET}")
        return directory
    searched = [cache_dir() / "fashion-mnist", DEBIAN_DIR]
    for directory in searched:
        if _complete(directory):
            return directory
    if download is None:
        download = os.environ.get("FASHIONGAN_OFFLINE", "") in ("", "0")
    if download:
        return _download(searched[0])
    raise DataError(f"Fashion-MNIST not found in {' or '.join(map(str, searched))}; {HOW_TO_GET}")


def _download(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for stem in FILES.values():
        if _file_in(target, stem):
            continue
        url = f"{MIRROR}{stem}.gz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                atomic_write(target / f"{stem}.gz", lambda tmp: _copy_to(response, tmp))
        except (OSError, http.client.HTTPException) as exc:
            raise DataError(
                f"Fashion-MNIST not found locally and the download of {url} failed ({exc}); {HOW_TO_GET}"
            ) from exc
    return target


def _copy_to(stream, path: str) -> None:
    with open(path, "wb") as f:
        shutil.copyfileobj(stream, f)


# ---------------------------------------------------------------- parsing

def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is truncated or not valid gzip ({exc}); delete it and fetch it again") from exc


def parse_idx(raw: bytes, magic: int, path: Path) -> np.ndarray:
    """An IDX byte string -> uint8 array, checking magic number, dimensions and length."""
    if len(raw) < 4 or struct.unpack(">I", raw[:4])[0] != magic:
        found = raw[:4].hex() if len(raw) >= 4 else "nothing"
        raise DataError(f"{path} is not an IDX file of the expected kind (magic {magic:08x}, found {found})")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} has a truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if ndim == 3 and shape[1:] != (SIZE, SIZE):
        raise DataError(f"{path} holds images of {shape[1]}x{shape[2]}, expected 28x28")
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(f"{path} holds {len(raw) - header} bytes of data, its header promises {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)  # read-only, like the cached arrays


def _claims_official(stem: str, raw: bytes) -> bool:
    """Whether a file's name and IDX header say it is one of the official Fashion-MNIST files."""
    count = _OFFICIAL_COUNT.get(stem)
    return count is not None and len(raw) >= 8 and struct.unpack(">I", raw[4:8])[0] == count


def _verified(path: Path, verify: bool) -> bytes:
    """The decompressed bytes of ``path``; with ``verify``, checksummed if it claims to be an official file."""
    raw = _read_bytes(path)
    stem = path.name.removesuffix(".gz")
    expected = CHECKSUMS.get(stem)
    if verify and expected and _claims_official(stem, raw) and not hashlib.sha256(raw).hexdigest().startswith(expected):
        raise DataError(
            f"{path} fails its checksum (sha256 of the decompressed bytes should start {expected}); "
            "the file is corrupt or not Fashion-MNIST: delete it and fetch it again"
        )
    return raw


def read_split(directory: Path, split: str, verify: bool = True) -> Split:
    """Parse one split from IDX files in ``directory`` (no caching)."""
    image_path = _file_in(directory, FILES[(split, "images")])
    label_path = _file_in(directory, FILES[(split, "labels")])
    if image_path is None or label_path is None:
        raise DataError(f"{directory} lacks the {split} IDX files; {HOW_TO_GET}")
    images = parse_idx(_verified(image_path, verify), IMAGE_MAGIC, image_path)
    labels = parse_idx(_verified(label_path, verify), LABEL_MAGIC, label_path)
    if len(images) != len(labels):
        raise DataError(f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels")
    if labels.size and labels.max() >= len(CLASSES):
        raise DataError(f"{label_path} holds label {labels.max()}, but there are only {len(CLASSES)} classes")
    return Split(split, images, labels, directory)


def _fingerprint(directory: Path, split: str) -> dict:
    paths = [_file_in(directory, FILES[(split, kind)]) for kind in ("images", "labels")]
    return {str(p.resolve()): [p.stat().st_size, p.stat().st_mtime_ns] for p in paths if p}


def load(split: str = "train", data_dir: str | Path | None = None, verify: bool = True) -> Split:
    """One split of Fashion-MNIST, parsed once and then read from a .npy cache."""
    if split not in SPLITS:
        raise FashionGANError(f"unknown split {split!r}; use one of: {', '.join(SPLITS)}")
    directory = locate(data_dir).resolve()
    # The files' size and mtime are part of the in-memory key too, so an edited file is re-read.
    return _load_cached(directory, split, verify, json.dumps(_fingerprint(directory, split), sort_keys=True))


@lru_cache(maxsize=8)
def _load_cached(directory: Path, split: str, verify: bool, stamp: str | None = None) -> Split:
    key = hashlib.sha256(f"{directory}|{split}|{verify}".encode()).hexdigest()[:16]
    parsed = cache_dir() / "parsed" / key
    fingerprint = json.loads(stamp) if stamp is not None else _fingerprint(directory, split)
    try:
        if json.loads((parsed / "source.json").read_text()) == fingerprint:
            images = np.load(parsed / "images.npy", allow_pickle=False)
            labels = np.load(parsed / "labels.npy", allow_pickle=False)
            if images.dtype == np.uint8 and labels.dtype == np.uint8 and len(images) == len(labels):
                images.flags.writeable = labels.flags.writeable = False
                return Split(split, images, labels, directory)
    except (OSError, ValueError, EOFError):
        pass  # a missing, stale or damaged cache entry: parse again
    data = read_split(directory, split, verify)
    _write_cache(parsed, data, fingerprint)
    return data


def _write_cache(parsed: Path, data: Split, fingerprint: dict) -> None:
    try:
        parsed.mkdir(parents=True, exist_ok=True)
        for name, array in (("images.npy", data.images), ("labels.npy", data.labels)):
            tmp = parsed / f"{name}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
            os.replace(tmp, parsed / name)
        (parsed / "source.json.tmp").write_text(json.dumps(fingerprint))
        os.replace(parsed / "source.json.tmp", parsed / "source.json")
    except OSError:
        pass  # a read-only cache only costs speed


def info(data_dir: str | Path | None = None) -> dict:
    """Where the data was found, counts per split and the per-class balance.

    ``verified`` says whether a split's files were checked against the official checksums
    (they are when they claim to be the official files; see the module docstring).
    """
    result: dict = {"source": None, "splits": {}}
    for split in SPLITS:
        data = load(split, data_dir)
        result["source"] = str(data.source)
        counts = np.bincount(data.labels, minlength=len(CLASSES))
        result["splits"][split] = {
            "count": len(data),
            "verified": len(data) == OFFICIAL_COUNTS[split],
            "per_class": {name: int(n) for name, n in zip(CLASSES, counts)},
        }
    return result
