"""Images to score, from memory or from other programs' files, checked once at the boundary.

Accepted in memory: uint8 (N, 28, 28) or (N, 1, 28, 28) in [0, 255], or float of the same shapes in
[-1, 1]. On disk: a folder of 28x28 PNGs (colour is converted to grayscale) or an .npz holding
``images`` (uint8 N x 28 x 28) and optionally ``labels`` (N integers in 0-9). Anything else is a
:class:`FashionGANError` with one line that names the problem.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.errors import FashionGANError

SIZE = 28
FLOAT_TOLERANCE = 1e-3


def check_images(images: np.ndarray | torch.Tensor, what: str = "images") -> torch.Tensor:
    """``images`` as a CPU tensor (N, 1, 28, 28), uint8 or float in [-1, 1], after checking shape, dtype and range."""
    try:
        x = images.detach().cpu() if isinstance(images, torch.Tensor) else torch.tensor(np.asarray(images))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise FashionGANError(f"{what} are not a numeric array ({exc})") from exc
    shape = tuple(x.shape)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, SIZE, SIZE):
        raise FashionGANError(
            f"{what} have shape {shape}; expected N x {SIZE} x {SIZE} grayscale (or N x 1 x {SIZE} x {SIZE})"
        )
    if len(x) == 0:
        raise FashionGANError(f"{what} hold no images")
    if x.dtype == torch.uint8:
        return x
    if not x.is_floating_point():
        raise FashionGANError(f"{what} have dtype {x.dtype}; expected uint8 (0-255) or float in [-1, 1]")
    low, high = float(x.min()), float(x.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < -1 - FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
        raise FashionGANError(f"float {what} must lie in [-1, 1]; found values from {low:.3g} to {high:.3g}")
    return x.float().clamp(-1, 1)


def check_labels(labels: np.ndarray | torch.Tensor | None, n: int, what: str = "labels") -> np.ndarray | None:
    """``labels`` as int64 (N,), checked to be integers in 0-9 and one per image; None passes through."""
    if labels is None:
        return None
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if array.dtype.kind not in "iu":
        raise FashionGANError(f"{what} have dtype {array.dtype}; expected integers 0-{len(CLASSES) - 1}")
    if array.ndim != 1 or len(array) != n:
        raise FashionGANError(f"{what} have shape {array.shape}, but there are {n} images: give one label per image")
    if array.size and (array.min() < 0 or array.max() >= len(CLASSES)):
        bad = int(array.min() if array.min() < 0 else array.max())
        raise FashionGANError(f"{what} hold {bad}, outside the Fashion-MNIST classes 0-{len(CLASSES) - 1}")
    return array.astype(np.int64)


def load_images(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 images (N, 28, 28) and labels (or None) from a folder of PNGs or an .npz file."""
    path = Path(path).expanduser()
    if path.is_dir():
        return _load_folder(path), None
    if not path.exists():
        raise FashionGANError(f"{path} does not exist; pass a folder of {SIZE}x{SIZE} PNGs or an .npz file")
    if path.suffix.lower() != ".npz":
        raise FashionGANError(f"{path} is neither a folder of PNGs nor an .npz file")
    return _load_npz(path)


def _load_folder(folder: Path) -> np.ndarray:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png")
    if not files:
        raise FashionGANError(f"{folder} holds no .png files")
    images = np.empty((len(files), SIZE, SIZE), dtype=np.uint8)
    for i, file in enumerate(files):
        try:
            with Image.open(file) as img:
                if img.size != (SIZE, SIZE):
                    raise FashionGANError(
                        f"{file} is {img.size[0]}x{img.size[1]}; every image must be {SIZE}x{SIZE} (resize them first)"
                    )
                images[i] = np.asarray(img.convert("L"), dtype=np.uint8)
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise FashionGANError(f"{file} is not a readable PNG ({exc})") from exc
    return images


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive.files:
                raise FashionGANError(f"{path} has no 'images' array (found: {', '.join(archive.files) or 'none'})")
            images = archive["images"]
            labels = archive["labels"] if "labels" in archive.files else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise FashionGANError(f"{path} is not a readable .npz of plain arrays ({exc})") from exc
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (SIZE, SIZE):
        raise FashionGANError(
            f"{path}: 'images' is {images.dtype} of shape {images.shape}; expected uint8 N x {SIZE} x {SIZE}"
        )
    if len(images) == 0:
        raise FashionGANError(f"{path}: 'images' holds no images")
    return images, check_labels(labels, len(images), what=f"{path}: 'labels'")
