"""Two fabric domains rendered on Fashion-MNIST garments at 64 px: leather and denim.

The built-in, offline data for unpaired translation (CycleGAN). Each garment is upsampled to 64 px and
rendered in CIE Lab (kornia), keeping its own folds and prints as lightness (the normalised shading of
``colored.paint``), then given a fabric:

- leather: a dark brown or black hide, a fine pebbled grain, slow creases, and a soft specular sheen
  where the (blurred) surface faces a light from the top left, which whitens the colour there;
- denim: an indigo wash (rinse to light), a 3/1 twill of diagonal ridges rising to the right (laid on
  the image grid, so a translation can match it) with a little thread jitter, vertical warp streaks,
  and faded highlights on raised areas and in patches.

Everything is deterministic from ``seed``: each item draws its parameters and noise from its own stream,
keyed by (seed, split, fabric, item), so an item looks the same whatever ``limit`` is. The training
items of the two domains are disjoint (a seeded half of the training split each), so the training data
is truly unpaired; the test items are rendered in both fabrics, the paired ground truth a translation is
scored against (evaluation only). The background stays black, as in the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb

from fashiongan.data import fashion_mnist as fm
from fashiongan.data.colored import FOREGROUND
from fashiongan.data.train_data import TrainData
from fashiongan.data.transforms import to_float
from fashiongan.errors import FashionGANError

FABRICS = ("leather", "denim")
SIZE = 64
TRAIN_PER_DOMAIN = 3000
TEST_ITEMS = 500
BATCH = 1000
# Lab colours (L*, a*, b*) each item's fabric is drawn from, and how likely each is.
LEATHER = ((15.0, 1.0, 1.5), (19.0, 6.0, 8.0), (24.0, 10.0, 15.0), (29.0, 13.0, 20.0), (33.0, 16.0, 25.0))
LEATHER_P = (0.3, 0.2, 0.2, 0.15, 0.15)
DENIM = ((25.0, 8.0, -32.0), (33.0, 5.0, -33.0), (42.0, 1.0, -29.0), (50.0, -1.0, -24.0))
DENIM_P = (0.3, 0.35, 0.25, 0.1)
MIN_LIGHTNESS = 12.0  # L*: even black leather stays visibly above the black background
TWILL_PERIOD = 4  # pixels between diagonal ridges at 64 px


@dataclass(frozen=True)
class FabricSplit:
    """One fabric domain of one split: ``images`` uint8 (N, 3, 64, 64), ``labels`` garment classes,
    ``items`` the indices of the source items in the Fashion-MNIST split."""

    fabric: str
    split: str
    seed: int
    images: np.ndarray
    labels: np.ndarray
    items: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def check_fabric(fabric: str) -> int:
    """The index of a fabric name (one-line error listing the known ones otherwise)."""
    if fabric not in FABRICS:
        raise FashionGANError(f"unknown fabric {fabric!r}; choose one of: {', '.join(FABRICS)}")
    return FABRICS.index(fabric)


def domain_items(split: str, fabric: str, seed: int, count: int) -> np.ndarray:
    """Indices of the Fashion-MNIST ``split`` items rendered in ``fabric``: for training, the fabric's own
    seeded half of the split (the halves are disjoint); for testing, every item (paired across fabrics)."""
    index = check_fabric(fabric)
    if split == "test":
        return np.arange(count)
    order = np.random.default_rng([seed, 7]).permutation(count)
    return np.sort(order[index::2])


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (N, C, H, W), reflect-padded, one channel at a time."""
    radius = max(int(3 * sigma + 0.5), 1)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Each image's noise field scaled to zero mean, unit spread."""
    x = x - x.mean((2, 3), keepdim=True)
    return x / x.std((2, 3), keepdim=True).clamp_min(1e-6)


def _shading(gray: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The garment's folds and prints: its grey's deviation from its mean, in its own standard deviations."""
    total = weight.sum((2, 3), keepdim=True).clamp_min(1e-6)
    mean = (weight * gray).sum((2, 3), keepdim=True) / total
    std = ((weight * (gray - mean) ** 2).sum((2, 3), keepdim=True) / total).sqrt()
    return ((gray - mean) / (std + 0.05)).clamp(-3, 3)


def _draws(split: str, fabric: str, seed: int, items: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per item, from its own stream: its base colour (N, 3), scalar parameters (N, 4), noise (N, 4, 64, 64)."""
    palette, p = (LEATHER, LEATHER_P) if fabric == "leather" else (DENIM, DENIM_P)
    colours, params, noise = [], [], []
    for item in items:
        rng = np.random.default_rng([seed, fm.SPLITS.index(split), FABRICS.index(fabric), int(item)])
        base = np.asarray(palette[rng.choice(len(palette), p=p)]) + rng.normal(0, [1.5, 1.0, 1.5])
        colours.append(base)
        params.append(rng.uniform(0, 1, 4))
        noise.append(rng.standard_normal((4, SIZE, SIZE), dtype=np.float32))
    return (torch.tensor(np.array(colours), dtype=torch.float32), torch.tensor(np.array(params), dtype=torch.float32),
            torch.from_numpy(np.array(noise)))


def _leather(shading: torch.Tensor, base: torch.Tensor, params: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Lab (N, 3, 64, 64) of leather over the garment."""
    grain = _unit(_blur(noise[:, :1], 0.6))
    creases = _unit(_blur(noise[:, 1:2], 4.0))
    surface = _blur(shading, 2.0) + 0.5 * creases
    dy, dx = torch.gradient(surface, dim=(2, 3))
    facing = _unit(-dx - dy)  # slope towards a light at the top left, in the item's own spread
    strength = 0.6 + 0.4 * params[:, :1, None, None]
    sheen = strength * torch.sigmoid(2.5 * facing - 2.5) * torch.sigmoid(2 * surface + 1)
    lightness = base[:, :1, None, None] + 5 * shading + 1.2 * grain + 1.5 * creases + 30 * sheen
    chroma = base[:, 1:, None, None] * (1 - 0.55 * sheen.clamp(0, 1)) * (1 + 0.05 * grain)
    return torch.cat([lightness.clamp(MIN_LIGHTNESS, 95), chroma], 1)


def _denim(shading: torch.Tensor, base: torch.Tensor, params: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Lab (N, 3, 64, 64) of denim over the garment."""
    n = len(base)
    y, x = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32), indexing="ij")
    jitter = 0.6 * _unit(_blur(noise[:, :1], 1.5))
    twill = torch.cos(2 * torch.pi * (x + y + jitter) / TWILL_PERIOD).clamp_min(0) ** 2  # on the image grid
    streaks = _unit(_blur(noise[:, 1:2].mean(2, keepdim=True).expand(n, 1, SIZE, SIZE), 0.8))
    patches = _unit(_blur(noise[:, 2:3], 6.0))
    raised = torch.sigmoid(3 * (_blur(shading, 2.0) - 1.0))
    fade = (0.3 + 0.4 * params[:, 1:2, None, None]) * (0.6 * raised + 0.4 * torch.sigmoid(2 * patches - 2))
    lightness = base[:, :1, None, None] + 6 * shading + 7 * twill + 1.5 * streaks + 18 * fade
    chroma = base[:, 1:, None, None] * (1 - 0.3 * twill) * (1 - 0.45 * fade.clamp(0, 1))
    return torch.cat([lightness.clamp(MIN_LIGHTNESS, 95), chroma], 1)


def render(gray: np.ndarray, fabric: str, split: str, seed: int, items: np.ndarray) -> np.ndarray:
    """uint8 grey items (N, 28, 28) -> uint8 (N, 3, 64, 64) in ``fabric``; ``items`` key each one's stream."""
    check_fabric(fabric)
    out = np.empty((len(gray), 3, SIZE, SIZE), dtype=np.uint8)
    paint = _leather if fabric == "leather" else _denim
    for start in range(0, len(gray), BATCH):
        g = torch.tensor(gray[start : start + BATCH]).float().div(255).unsqueeze(1)
        g = F.interpolate(g, size=(SIZE, SIZE), mode="bilinear", align_corners=False).clamp(0, 1)
        weight = (g / FOREGROUND).clamp(0, 1)
        base, params, noise = _draws(split, fabric, seed, items[start : start + BATCH])
        rgb = lab_to_rgb(paint(_shading(g, weight), base, params, noise), clip=True)
        mixed = weight * rgb + (1 - weight) * g
        out[start : start + BATCH] = mixed.mul(255).round().to(torch.uint8).numpy()
    return out


def load(
    split: str = "train", fabric: str = "leather", seed: int = 0, limit: int | None = None,
    data_dir: str | Path | None = None,
) -> FabricSplit:
    """One fabric domain of a split: its first ``limit`` items (default: 3000 for training, 500 for testing)."""
    check_fabric(fabric)
    if split not in fm.SPLITS:
        raise FashionGANError(f"unknown split {split!r}; choose one of: {', '.join(fm.SPLITS)}")
    if limit is None:
        limit = TRAIN_PER_DOMAIN if split == "train" else TEST_ITEMS
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise FashionGANError(f"the fabric set's limit must be a positive whole number, got {limit!r}")
    return _load(split, fabric, int(seed), limit, None if data_dir is None else str(data_dir))


@lru_cache(maxsize=8)
def _load(split: str, fabric: str, seed: int, limit: int, data_dir: str | None) -> FabricSplit:
    source = fm.load(split, data_dir)
    items = domain_items(split, fabric, seed, len(source.labels))[:limit]
    images = render(source.images[items], fabric, split, seed, items)
    labels = source.labels[items].astype(np.int64)
    for array in (images, labels, items):
        array.setflags(write=False)
    return FabricSplit(fabric, split, seed, images, labels, items)


def _tensors(part: FabricSplit, suffix: str) -> dict[str, torch.Tensor]:
    return {f"image{suffix}": torch.from_numpy(part.images.copy()), f"label{suffix}": torch.from_numpy(part.labels.copy())}


def training_data(seed: int = 0, limit: int | None = None, test_limit: int | None = None, data_dir: str | None = None):
    """Unpaired training data for translation: ``image_a`` leather and ``image_b`` denim on different items
    (uint8, 64 px; ``label_a``/``label_b`` their garment classes). Eval: the first ``test_limit`` test items
    in both fabrics, with ``truth_b``/``truth_a`` the paired ground truth of translating ``image_a``/``image_b``."""
    train = {**_tensors(load("train", "leather", seed, limit, data_dir), "_a"),
             **_tensors(load("train", "denim", seed, limit, data_dir), "_b")}
    test_a, test_b = (load("test", fabric, seed, test_limit, data_dir) for fabric in FABRICS)
    held = {**_tensors(test_a, "_a"), **_tensors(test_b, "_b"),
            "truth_b": torch.from_numpy(test_b.images.copy()), "truth_a": torch.from_numpy(test_a.images.copy())}
    return TrainData(train, held)


def classifier_data(seed: int = 0, limit: int | None = 2000, test_limit: int | None = None, data_dir: str | None = None):
    """For the fabric judge: ``image`` (float, 64 px) of both domains' training items and ``label`` its fabric
    (0 leather, 1 denim, as ``FABRICS``); eval: the test items in both fabrics."""
    def both(split: str, count: int | None) -> dict[str, torch.Tensor]:
        parts = [load(split, fabric, seed, count, data_dir) for fabric in FABRICS]
        images = np.concatenate([p.images for p in parts])
        labels = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)])
        return {"image": to_float(images), "label": torch.from_numpy(labels).long()}

    return TrainData(both("train", limit), both("test", test_limit))


def showcase(split: str = "train", seed: int = 0, data_dir: str | Path | None = None, per_fabric: int = 500):
    """For `data show`: (images uint8 (N, 64, 64, 3), garment labels (N,), fabric names (N,)) of the first
    ``per_fabric`` items of both domains (on the test split, the same items in both fabrics)."""
    parts = [load(split, fabric, seed, per_fabric, data_dir) for fabric in FABRICS]
    images = np.concatenate([p.images for p in parts]).transpose(0, 2, 3, 1)
    return images, np.concatenate([p.labels for p in parts]), np.concatenate([[p.fabric] * len(p) for p in parts])
