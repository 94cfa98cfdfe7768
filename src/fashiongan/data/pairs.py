"""``pair:DIR``: two unpaired image domains in the reference CycleGAN layout, DIR/trainA, trainB, testA, testB.

Images may have any size and mode; each is decoded once (and cached) as RGB at ``size`` x ``size``
(256 px unless the config says otherwise), or grey with ``channels: 1``. Random crops and flips come
from the config's ``data.augment`` like any dataset's. The domains may hold different numbers of
images: the smaller one is repeated (in a seeded order) to the larger one's length, so every training
step takes a batch of each. testA/testB, when present, are the held-out images ``evaluate`` and the
epoch reports translate. The images are kept in memory as uint8 and become floats per batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fashiongan.data.decoded import decode_files
from fashiongan.data.folders import images_in
from fashiongan.data.train_data import TrainData
from fashiongan.errors import DataError, FashionGANError
from fashiongan.images import luminance

DOMAINS = ("A", "B")
DEFAULT_SIZE = 256


def domain_files(root: Path, split: str, domain: str, required: bool = True) -> list[Path]:
    """The image files of ``root/{split}{domain}`` (sorted); a one-line error when required and missing or empty."""
    folder = root / f"{split}{domain}"
    if not folder.is_dir():
        if not required:
            return []
        raise DataError(
            f"{root} has no {folder.name} folder; a pair folder holds trainA and trainB (and testA, testB to evaluate)"
        )
    return images_in(folder, required)


def decode_domain(files: list[Path], size: int, channels: int) -> torch.Tensor:
    """uint8 (N, channels, size, size) of every readable file; an error when none is readable."""
    found = decode_files(files, size)
    if not len(found.images):
        raise DataError(f"none of the {len(files)} images in {files[0].parent} could be decoded")
    images = torch.from_numpy(np.ascontiguousarray(found.images.transpose(0, 3, 1, 2)))
    if channels == 1:
        images = luminance(images.float()).round().clamp(0, 255).to(torch.uint8)
    return images


def _repeat_to(images: torch.Tensor, length: int, seed: int) -> torch.Tensor:
    """``images`` repeated to ``length`` items, each pass in its own seeded order."""
    if len(images) == length:
        return images
    passes = -(-length // len(images))
    generator = torch.Generator().manual_seed(seed)
    order = torch.cat([torch.randperm(len(images), generator=generator) for _ in range(passes)])[:length]
    return images[order]


def training_data(path: str, size: int | None = None, channels: int = 3, limit: int | None = None, seed: int = 0):
    """The pair folder as TrainData: ``image_a``, ``image_b`` (uint8) for training; testA/testB as eval."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; a pair folder holds trainA, trainB, testA, testB")
    if channels not in (1, 3):
        raise FashionGANError(f"data.channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise FashionGANError(f"data.limit must be a positive whole number, got {limit!r}")
    size = size or DEFAULT_SIZE
    train = [domain_files(root, "train", d)[:limit] for d in DOMAINS]  # both checked before any decoding
    test = [domain_files(root, "test", d, required=False) for d in DOMAINS]
    a, b = (decode_domain(files, size, channels) for files in train)
    length = max(len(a), len(b))
    batches = {"image_a": _repeat_to(a, length, seed), "image_b": _repeat_to(b, length, seed + 1)}
    held = None
    if all(test):
        held = {f"image_{d.lower()}": decode_domain(files, size, channels) for d, files in zip(DOMAINS, test)}
    return TrainData(batches, held)
