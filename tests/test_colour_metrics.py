"""Colour metrics: CIEDE2000 against the published test pairs, dominant colour, colourfulness, shading,
and the colorizer scores on real coloured items (whose ground truth is themselves)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from fashiongan.data import colored
from fashiongan.errors import FashionGANError
from fashiongan.metrics import colour

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data, and mathematical observations", Table 1: L1 a1 b1, L2 a2 b2, dE00.
SHARMA = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def test_ciede2000_matches_the_published_test_pairs() -> None:
    table = torch.tensor(SHARMA, dtype=torch.float64)
    got = colour.ciede2000(table[:, :3], table[:, 3:6])
    assert got.dtype == torch.float64
    assert torch.allclose(got, table[:, 6], atol=5e-5), (got - table[:, 6]).abs().max()
    swapped = colour.ciede2000(table[:, 3:6], table[:, :3])  # symmetric
    assert torch.allclose(swapped, got, atol=1e-9)
    assert colour.ciede2000(table[:3, :3], table[:3, :3]).abs().max() == 0
    grid = colour.ciede2000(table[:4, None, :3].float(), table[None, :5, 3:6].float())  # broadcast
    assert grid.shape == (4, 5) and grid.dtype == torch.float32


def test_nearest_colour_finds_every_catalogue_colour() -> None:
    count = len(colored.catalogue())
    lab = colored.colour_lab(np.arange(count))
    assert torch.equal(colour.nearest_colour(lab), torch.arange(count))
    nudged = lab + torch.tensor([1.5, -1.0, 1.0])
    assert torch.equal(colour.nearest_colour(nudged), torch.arange(count))


@pytest.fixture(scope="module")
def items(_real_data_location: tuple[Path, Path]) -> colored.ColoredSplit:
    directory, cache = _real_data_location
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHIONGAN_CACHE", str(cache))
        data = colored.load("test", "catalogue", 0, data_dir=directory, limit=300)
    return colored.ColoredSplit(*(np.array(v) if isinstance(v, np.ndarray) else v for v in vars(data).values()))


def test_dominant_colour_of_painted_items_is_the_paint(items: colored.ColoredSplit) -> None:
    mask = colour.foreground_mask(items.gray)
    assert mask.shape == (300, 28, 28) and mask.dtype == torch.bool
    dominant = colour.dominant_lab(items.images, mask)
    assert dominant.shape == (300, 3)
    assert (colour.nearest_colour(dominant) == torch.tensor(items.colours)).float().mean() >= 0.99
    channel_last = colour.dominant_lab(items.images.transpose(0, 2, 3, 1), mask)
    assert torch.allclose(channel_last, dominant)
    own_mask = colour.dominant_lab(items.images)  # without a mask: the images' own non-black pixels
    assert (colour.ciede2000(own_mask, dominant) < 5).float().mean() > 0.95
    blank = colour.dominant_lab(np.zeros((2, 3, 8, 8), np.uint8))  # no garment: all pixels, black
    assert torch.allclose(blank, torch.zeros(2, 3), atol=1e-3)


def test_colourfulness_orders_grey_tinted_and_saturated() -> None:
    grey = np.full((1, 3, 16, 16), 128, np.uint8)
    tinted = grey.copy()
    tinted[:, 0] = 150
    saturated = np.zeros_like(grey)
    saturated[:, 0, :, :8] = 255
    saturated[:, 1, :, 8:] = 255
    scores = colour.colourfulness(np.concatenate([grey, tinted, saturated]))
    assert scores[0] == 0 and 0 < scores[1] < scores[2]
    # one flat pure red image: rg = 255, yb = 127.5, no spread -> 0.3 * |(255, 127.5)|
    red = np.zeros((1, 3, 4, 4), np.uint8)
    red[:, 0] = 255
    assert float(colour.colourfulness(red)[0]) == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-5)
    masked = colour.colourfulness(saturated, mask=np.ones((1, 16, 16), bool))
    assert torch.allclose(masked, scores[2:])


def test_shading_correlation_is_high_for_painted_and_low_for_flat_paint(items: colored.ColoredSplit) -> None:
    assert colour.shading_correlation(items.gray, items.images) > 0.95
    flat = colored.paint_items(((items.gray > 12) * 200).astype(np.uint8), items.colours)  # folds gone
    assert abs(colour.shading_correlation(items.gray, flat)) < 0.2
    assert np.isnan(colour.shading_correlation(flat[:, 0], flat))  # no shading to keep: undefined
    inverted = colored.paint_items(np.where(items.gray > 12, 255 - items.gray, 0).astype(np.uint8), items.colours)
    assert colour.shading_correlation(items.gray, inverted) < 0
    with pytest.raises(FashionGANError, match="at one size"):
        colour.shading_correlation(items.gray, np.zeros((300, 3, 32, 32), np.uint8))


class ColourStub(nn.Module):
    """A colour judge that answers from the mean pixel: class from red, colour from green (deterministic)."""

    in_channels = 3

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3)) * self.scale

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(((f[:, 0] + 1) * 4.99).long(), 10).float()

    def colour_head(self, f: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(((f[:, 1] + 1) * 5.99).long(), 12).float()


def test_colorizer_scores_on_the_ground_truth(items: colored.ColoredSplit) -> None:
    judge = ColourStub()
    result = colour.colorizer_scores(items.gray, items.images, items.colours, truth=items.images,
                                     labels=items.labels, judge=judge)
    assert result["n"] == 300 and result["n_colour_asked"] == 300
    assert result["colour_accuracy_nearest"] >= 0.99
    assert result["delta_e"] == 0 and result["shading_correlation"] > 0.95
    assert result["class_accuracy"] == result["class_accuracy_truth"]
    assert result["colourfulness"] == result["colourfulness_truth"] > 0
    assert result["judge_name"] == "in-memory ColourStub"
    means = torch.tensor(items.images).float().mean((2, 3)) / 127.5 - 1
    expected = ((((means[:, 1] + 1) * 5.99).long()) == torch.tensor(items.colours)).float().mean()
    assert result["colour_accuracy"] == pytest.approx(float(expected))

    other = (items.colours + 3) % 12  # the right items, every one in the wrong colour
    repainted = colored.paint_items(items.gray, other)
    wrong = colour.colorizer_scores(items.gray, repainted, items.colours, truth=items.images, judge=judge)
    assert wrong["colour_accuracy_nearest"] <= 0.01 and wrong["delta_e"] > 10
    assert wrong["class_accuracy"] is None and wrong["class_accuracy_truth"] is None

    auto = np.full(300, len(colored.catalogue()))
    auto[:10] = items.colours[:10]
    some = colour.colorizer_scores(items.gray, items.images, auto, judge=judge)
    assert some["n_colour_asked"] == 10 and some["colour_accuracy_nearest"] == 1.0 and some["delta_e"] is None


def test_colorizer_scores_reject_bad_input(items: colored.ColoredSplit) -> None:
    judge = ColourStub()
    with pytest.raises(FashionGANError, match="colour metrics need RGB"):
        colour.colorizer_scores(items.gray, items.gray, items.colours, judge=judge)
    with pytest.raises(FashionGANError, match="one input per output"):
        colour.colorizer_scores(items.gray[:5], items.images, items.colours, judge=judge)
    with pytest.raises(FashionGANError, match="outside the catalogue colours"):
        colour.colorizer_scores(items.gray, items.images, np.full(300, 13), judge=judge)
    plain = nn.Module()
    plain.features, plain.head = (lambda x: x.mean((2, 3))), (lambda f: f)
    with pytest.raises(FashionGANError, match="no colour head"):
        colour.colorizer_scores(items.gray, items.images, items.colours, judge=plain)
