"""Images to score, from memory or from other programs' files, checked once at the boundary.

Accepted in memory: grayscale (N, H, W) or (N, 1, H, W), RGB (N, 3, H, W) or (N, H, W, 3), as uint8 in
[0, 255] or float in [-1, 1], any size. :func:`judge_input` turns a batch into what a judge takes: its
channel count (RGB -> luminance for the grayscale evaluator; grayscale for the colour judge is an error,
colour cannot be invented) at its 28x28 (area-averaged down, bilinear up). On disk: a folder of PNGs of
one size (grayscale files load as grayscale, a folder holding any colour file loads as RGB) or an .npz
holding ``images`` (uint8, one of the layouts above) and optionally ``labels`` (0-9) and ``colours``
(catalogue colour indices). Anything else is a :class:`FashionGANError` with one line that names the problem.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from fashiongan import images
from fashiongan.data import colored
from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.data.train_data import resize
from fashiongan.data.transforms import to_float
from fashiongan.errors import FashionGANError
from fashiongan.images import luminance

SIZE = 28
CHANNELS = (1, 3)
FLOAT_TOLERANCE = 1e-3
MIN_IMAGES = 10  # fewer and the scores mean nothing
MAX_FLOOR = 60_000  # real images to score at most: the training set
MIN_SIDE, MAX_SIDE = 8, 1024  # files to score: a judge sees 28x28, so huge images only cost memory
LIMITS = images.Limits(64_000_000)  # larger files are refused before decoding; sides are checked after


class LoadedImages(NamedTuple):
    """Images read from disk: uint8 (N, H, W) grayscale or (N, 3, H, W) RGB, with optional labels and colours."""

    images: np.ndarray
    labels: np.ndarray | None
    colours: np.ndarray | None


def check_images(images: np.ndarray | torch.Tensor, what: str = "images") -> torch.Tensor:
    """``images`` as a CPU tensor (N, C, H, W) with C 1 or 3, uint8 or float in [-1, 1], after checking shape,
    dtype and range. Channel-last RGB (N, H, W, 3) is moved channel-first."""
    try:
        x = images.detach().cpu() if isinstance(images, torch.Tensor) else torch.tensor(np.asarray(images))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise FashionGANError(f"{what} are not a numeric array ({exc})") from exc
    shape = tuple(x.shape)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    elif x.dim() == 4 and x.shape[1] not in CHANNELS and x.shape[-1] in CHANNELS:
        x = x.permute(0, 3, 1, 2)
    if x.dim() != 4 or x.shape[1] not in CHANNELS or min(x.shape[2:]) < 1:
        raise FashionGANError(
            f"{what} have shape {shape}; expected N x H x W grayscale, N x 1 x H x W, "
            "N x 3 x H x W or N x H x W x 3 RGB"
        )
    if len(x) == 0:
        raise FashionGANError(f"{what} hold no images")
    if x.dtype == torch.uint8:
        return x.contiguous()
    if not x.is_floating_point():
        raise FashionGANError(f"{what} have dtype {x.dtype}; expected uint8 (0-255) or float in [-1, 1]")
    low, high = float(x.min()), float(x.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < -1 - FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
        raise FashionGANError(f"float {what} must lie in [-1, 1]; found values from {low:.3g} to {high:.3g}")
    return x.float().clamp(-1, 1).contiguous()


def channels_of(images: np.ndarray | torch.Tensor) -> int:
    """1 for grayscale images, 3 for RGB (any accepted layout)."""
    return int(check_images(images[:1]).shape[1])


def judge_input(images: torch.Tensor, channels: int, size: int = SIZE) -> torch.Tensor:
    """A checked batch (N, C, H, W) as a judge takes it: float in [-1, 1], ``channels`` channels, size x size."""
    x = to_float(images) if images.dtype == torch.uint8 else images.float()
    if x.shape[1] == 3 and channels == 1:
        x = luminance(x)
    elif x.shape[1] == 1 and channels == 3:
        raise FashionGANError(
            "grayscale images cannot be scored by a colour judge (it needs RGB); "
            "score them with the evaluator (--judge pretrained:evaluator)"
        )
    return resize(x, size)


def to_unit(images: np.ndarray | torch.Tensor, what: str = "images") -> torch.Tensor:
    """Checked images as float (N, C, H, W) in [0, 1] (uint8 / 255, or [-1, 1] floats shifted)."""
    x = check_images(images, what)
    return x.float() / 255 if x.dtype == torch.uint8 else (x + 1) / 2


def check_labels(
    labels: np.ndarray | torch.Tensor | None, n: int, what: str = "labels", classes: tuple[str, ...] = CLASSES,
) -> np.ndarray | None:
    """``labels`` as int64 (N,), checked to be indices of ``classes`` (the judge's; Fashion-MNIST's ten unless
    told), one per image; None passes through."""
    meaning = "the Fashion-MNIST classes" if tuple(classes) == tuple(CLASSES) else "the judge's classes"
    return _check_indices(labels, n, len(classes), what, meaning, "label")


def check_colours(
    colours: np.ndarray | torch.Tensor | None, n: int, what: str = "colours", allow_auto: bool = False
) -> np.ndarray | None:
    """``colours`` as int64 (N,) catalogue colour indices, one per image (``auto`` = len(catalogue) when
    allowed); None passes through."""
    count = len(colored.catalogue()) + allow_auto
    return _check_indices(colours, n, count, what, "the catalogue colours", "colour")


def _check_indices(
    values: np.ndarray | torch.Tensor | None, n: int, count: int, what: str, meaning: str, one: str
) -> np.ndarray | None:
    if values is None:
        return None
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if array.dtype.kind not in "iu":
        raise FashionGANError(f"{what} have dtype {array.dtype}; expected integers 0-{count - 1}")
    if array.ndim != 1 or len(array) != n:
        raise FashionGANError(f"{what} have shape {array.shape}, but there are {n} images: give one {one} per image")
    if array.size and (array.min() < 0 or array.max() >= count):
        bad = int(array.min() if array.min() < 0 else array.max())
        raise FashionGANError(f"{what} hold {bad}, outside {meaning} 0-{count - 1}")
    return array.astype(np.int64)


def load_images(path: str | Path) -> LoadedImages:
    """Images (uint8 (N, H, W) or (N, 3, H, W)), labels and colours (or None) from a folder of PNGs or an .npz."""
    path = Path(path).expanduser()
    if path.is_dir():
        return LoadedImages(_load_folder(path), None, None)
    if not path.exists():
        raise FashionGANError(f"{path} does not exist; pass a folder of PNGs or an .npz file")
    if path.suffix.lower() != ".npz":
        raise FashionGANError(f"{path} is neither a folder of PNGs nor an .npz file")
    return _load_npz(path)


def _check_side(where: Path, height: int, width: int) -> None:
    if min(height, width) < MIN_SIDE or max(height, width) > MAX_SIDE:
        raise FashionGANError(
            f"{where} holds {width}x{height} images; images to score must be {MIN_SIDE}-{MAX_SIDE} px a side "
            f"(they are scored at {SIZE}x{SIZE}: resize them first)"
        )


def _load_folder(folder: Path) -> np.ndarray:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png")
    if not files:
        raise FashionGANError(f"{folder} holds no .png files")
    decoded = []
    for file in files:
        image = images.read(file, LIMITS)
        if decoded and image.size != decoded[0].size:
            first = decoded[0]
            raise FashionGANError(
                f"{file} is {image.size[0]}x{image.size[1]} but {Path(first.name).name} is {first.size[0]}x{first.size[1]}; "
                "every image must have the same size"
            )
        _check_side(file, image.size[1], image.size[0])
        decoded.append(image)
    if all(image.grey for image in decoded):
        return np.stack([image.rgb[..., 0] for image in decoded])
    return np.stack([image.rgb.transpose(2, 0, 1) for image in decoded])


def _load_npz(path: Path) -> LoadedImages:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive.files:
                raise FashionGANError(f"{path} has no 'images' array (found: {', '.join(archive.files) or 'none'})")
            images = archive["images"]
            labels = archive["labels"] if "labels" in archive.files else None
            colours = archive["colours"] if "colours" in archive.files else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise FashionGANError(f"{path} is not a readable .npz of plain arrays ({exc})") from exc
    layouts = "uint8 N x H x W (grayscale) or N x H x W x 3 / N x 3 x H x W (RGB)"
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise FashionGANError(f"{path}: 'images' is {images.dtype} of shape {images.shape}; expected {layouts}")
    if len(images) == 0:
        raise FashionGANError(f"{path}: 'images' holds no images")
    try:
        x = check_images(images, f"{path}: 'images'")
    except FashionGANError:
        raise FashionGANError(
            f"{path}: 'images' is {images.dtype} of shape {images.shape}; expected {layouts}"
        ) from None
    _check_side(path, x.shape[2], x.shape[3])
    pixels = x.squeeze(1).numpy() if x.shape[1] == 1 else x.numpy()
    return LoadedImages(
        pixels,
        check_labels(labels, len(pixels), what=f"{path}: 'labels'"),
        check_colours(colours, len(pixels), what=f"{path}: 'colours'"),
    )
