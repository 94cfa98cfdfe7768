"""The coloured Fashion-MNIST: deterministic, the asked colour's own lightness, shading and background kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kornia.color import rgb_to_lab
from typer.testing import CliRunner

from fashiongan.cli import app
from fashiongan.data import colored
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.datasets import load_training_data
from fashiongan.data.train_data import resize
from fashiongan.errors import FashionGANError


def _lab(images: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(images).float().div(255))


def test_catalogue_has_the_garment_colours_the_issue_names():
    names = colored.colour_names()
    assert len(names) >= 12
    for name in ("black", "white", "grey", "navy", "denim blue", "red", "burgundy", "brown", "camel", "olive", "green", "pink"):
        assert name in names
    assert colored.colour_index("Denim-Blue") == names.index("denim blue")
    assert colored.colour_index("auto", allow_auto=True) == len(names)
    with pytest.raises(FashionGANError, match="unknown colour 'teal'.*navy"):
        colored.colour_index("teal")
    with pytest.raises(FashionGANError, match="auto"):
        colored.colour_index("auto")


def test_priors_cover_every_class_and_colour_and_palette_gives_one_colour_per_class():
    priors = colored.class_priors()
    assert priors.shape == (len(fm.CLASSES), len(colored.catalogue()))
    np.testing.assert_allclose(priors.sum(1), 1.0)
    assert (priors > 0).all()
    labels = np.repeat(np.arange(10), 50)
    np.testing.assert_array_equal(colored.assign_colours(labels, "palette", 3), colored.palette_colours()[labels])
    assert colored.catalogue()[colored.palette_colours()[9]].name == "brown"  # ankle boots brown, as the source


def test_catalogue_draws_follow_the_class_prior():
    labels = np.repeat(np.arange(10), 4000)
    colours = colored.assign_colours(labels, "catalogue", 0)
    for c in range(10):
        seen = np.bincount(colours[labels == c], minlength=len(colored.catalogue())) / 4000
        np.testing.assert_allclose(seen, colored.class_priors()[c], atol=0.025)


def test_paint_takes_the_colours_lightness_keeps_shading_and_background():
    rng = np.random.default_rng(0)
    gray = np.zeros((2, 28, 28), np.uint8)
    gray[:, 4:24, 6:22] = rng.integers(150, 250, (20, 16))  # the same light item twice
    navy, white = colored.colour_index("navy"), colored.colour_index("white")
    out = colored.paint_items(gray, np.array([navy, white]))
    assert out.shape == (2, 3, 28, 28) and out.dtype == np.uint8
    assert (out[:, :, 0, 0] == 0).all()  # background stays black
    lab = _lab(out)
    fg = torch.from_numpy(gray[0] > 0)
    lightness = lab[:, 0][:, fg]
    navy_l, white_l = colored.colour_lab([navy, white])[:, 0]
    assert abs(lightness[0].median() - navy_l) < 6 and abs(lightness[1].median() - white_l) < 6
    corr = np.corrcoef(gray[0][fg.numpy()], lightness[0].numpy())[0, 1]
    assert corr > 0.9  # folds and prints survive the repaint


def test_load_is_deterministic_by_seed_and_limit_is_a_prefix(real_data):
    a = colored.load("test", "catalogue", seed=1, limit=300)
    b = colored.load("test", "catalogue", seed=1)
    c = colored.load("test", "catalogue", seed=2, limit=300)
    np.testing.assert_array_equal(a.images, b.images[:300])
    np.testing.assert_array_equal(a.colours, b.colours[:300])
    assert (a.colours != c.colours).any()
    np.testing.assert_array_equal(a.gray, fm.load("test").images[:300])
    assert a.images.shape == (300, 3, 28, 28) and not a.images.flags.writeable


def test_dataset_gives_paired_batches_and_size_resizes_per_batch(real_data):
    data = load_training_data({"name": "colored", "mode": "palette", "limit": 100, "size": 64})
    assert set(data.train) == {"image", "gray", "label", "colour"}
    assert data.train["image"].shape == (100, 3, 28, 28)  # stored at the native size
    batch = data.prepare({k: v[:8] for k, v in data.train.items()}, torch.Generator().manual_seed(0))
    assert batch["image"].shape == (8, 3, 64, 64) and batch["gray"].shape == (8, 1, 64, 64)
    assert torch.equal(batch["label"], data.train["label"][:8])
    np.testing.assert_array_equal(data.train["colour"].numpy(), colored.palette_colours()[data.train["label"].numpy()])
    with pytest.raises(FashionGANError, match="data.size"):
        load_training_data({"name": "colored", "size": 3})
    with pytest.raises(FashionGANError, match="unknown colour mode"):
        load_training_data({"name": "colored", "mode": "rainbow", "limit": 10})


def test_resize_shrinks_by_area_and_grows_bilinearly():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert resize(x, 2)[0, 0, 0, 0] == x[0, 0, :2, :2].mean()
    assert resize(x, 8).shape == (1, 1, 8, 8)
    assert resize(x, 4) is x


def test_data_show_draws_captioned_colour_grid(real_data, tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(app, ["data", "show", "--dataset", "colored", "--per-class", "3", "--split", "test", "--out", str(out)])
    assert result.exit_code == 0, result.output
    from PIL import Image

    with Image.open(out) as image:
        assert image.mode == "RGB"
        pixels = np.asarray(image).reshape(-1, 3).astype(int)
    assert (np.abs(pixels[:, 0] - pixels[:, 2]) > 60).any()  # coloured, not grey
    bad = CliRunner().invoke(app, ["data", "show", "--dataset", "rainbow", "--out", str(out)])
    assert bad.exit_code == 1 and "unknown dataset" in bad.output
