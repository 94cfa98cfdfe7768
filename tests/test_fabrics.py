"""The built-in fabric domains and pair: folders: deterministic, unpaired, paired test truth, bad layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from fashiongan.cli import app
from fashiongan.data import fabrics, pairs
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.augment import Augment
from fashiongan.data.datasets import data_layer, load_training_data
from fashiongan.errors import FashionGANError
from fashiongan.metrics import fabric as fabric_metrics

runner = CliRunner()
pytestmark = pytest.mark.real_data


def lab(images: np.ndarray) -> torch.Tensor:
    from kornia.color import rgb_to_lab

    return rgb_to_lab(torch.from_numpy(images.copy()).float() / 255)


def test_renders_are_deterministic_per_item_whatever_the_limit() -> None:
    few = fabrics.load("train", "denim", seed=3, limit=6)
    more = fabrics.load("train", "denim", seed=3, limit=12)
    assert np.array_equal(few.images, more.images[:6]) and np.array_equal(few.items, more.items[:6])
    again = fabrics.render(fm.load("train").images[few.items], "denim", "train", 3, few.items)
    assert np.array_equal(again, few.images)
    other = fabrics.load("train", "denim", seed=4, limit=6)
    assert not np.array_equal(other.images, few.images)
    assert few.images.shape == (6, 3, 64, 64) and few.images.dtype == np.uint8


def test_training_domains_are_disjoint_and_test_items_are_paired() -> None:
    leather, denim = (fabrics.load("train", f, seed=0, limit=400) for f in fabrics.FABRICS)
    assert not set(leather.items) & set(denim.items)
    assert len(np.unique(leather.labels)) == 10 and len(np.unique(denim.labels)) == 10
    test_leather, test_denim = (fabrics.load("test", f, seed=0, limit=20) for f in fabrics.FABRICS)
    assert np.array_equal(test_leather.items, test_denim.items)
    assert np.array_equal(test_leather.labels, fm.load("test").labels[:20])


def test_leather_is_dark_and_warm_denim_indigo_and_the_background_stays_black() -> None:
    items = np.arange(40)
    gray = torch.from_numpy(fm.load("test").images[items].copy()).float()[:, None]
    grey64 = torch.nn.functional.interpolate(gray, size=(64, 64), mode="bilinear", align_corners=False)
    garment, background = (grey64 > 60)[:, 0], (grey64 == 0).expand(-1, 3, -1, -1).numpy()
    for fabric in fabrics.FABRICS:
        rendered = fabrics.load("test", fabric, 0, 40).images
        colour = lab(rendered).permute(1, 0, 2, 3)[:, garment]  # (3, pixels well inside the garments)
        lightness, a, b = (channel.median().item() for channel in colour)
        if fabric == "leather":
            assert lightness < 35 and a > 0 and b >= 0
        else:
            assert 25 < lightness < 65 and b < -15
        assert rendered[background].max() == 0
    # the same garment in both fabrics keeps its silhouette
    pair = [torch.from_numpy(fabrics.load("test", f, 0, 40).images.copy()) for f in fabrics.FABRICS]
    assert fabric_metrics.mask_iou(pair[0], pair[1]) > 0.95


def test_the_fabrics_dataset_is_unpaired_uint8_and_becomes_float_per_batch() -> None:
    data = load_training_data({"name": "fabrics", "limit": 8, "test_limit": 4, "size": 32, "augment": {"flip": True}})
    assert set(data.train) == {"image_a", "image_b", "label_a", "label_b"}
    assert data.train["image_a"].dtype == torch.uint8 and data.train["image_a"].shape == (8, 3, 64, 64)
    assert torch.equal(data.eval["truth_b"], data.eval["image_b"]) and torch.equal(data.eval["label_a"], data.eval["label_b"])
    batch = data.prepare({k: v[:2] for k, v in data.train.items()}, torch.Generator().manual_seed(0))
    assert batch["image_a"].dtype == torch.float32 and batch["image_a"].shape == (2, 3, 32, 32)
    assert -1 <= batch["image_b"].min() and batch["image_b"].max() <= 1
    classes = load_training_data({"name": "fabric_classes", "limit": 5, "test_limit": 3})
    assert classes.train["label"].tolist() == [0] * 5 + [1] * 5 and classes.eval["image"].shape == (6, 3, 64, 64)


def test_augment_crops_a_random_window_of_every_image_alike() -> None:
    augment = Augment.from_spec({"crop": 4})
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8)
    out = augment({"a": x, "b": x + 1000}, torch.Generator().manual_seed(0))
    assert out["a"].shape == (2, 1, 4, 4) and torch.equal(out["b"], out["a"] + 1000)
    for i in range(2):  # a contiguous window of the original
        top, left = divmod(int(out["a"][i, 0, 0, 0]) - 64 * i, 8)
        assert torch.equal(out["a"][i, 0], x[i, 0, top : top + 4, left : left + 4])
    with pytest.raises(FashionGANError, match="crop 16 is larger than the 8x8 images"):
        Augment.from_spec({"crop": 16})({"a": x}, torch.Generator())
    with pytest.raises(FashionGANError, match="data.augment.crop must be"):
        Augment.from_spec({"crop": -2})


def test_data_show_draws_both_fabrics(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "show", "--dataset", "fabrics", "--per-class", "2", "--split", "test",
                                 "--out", str(tmp_path / "grid.png")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "grid.png").size[0] > 2 * 64


# ---------------------------------------------------------------- pair: folders

def write_domain(folder: Path, count: int, size: tuple[int, int] = (50, 30), start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (size[0] + i, size[1]), (10 * (start + i), 100, 200)).save(folder / f"{i}.png")


def test_a_pair_folder_loads_at_the_asked_size_repeating_the_smaller_domain(tmp_path: Path) -> None:
    write_domain(tmp_path / "trainA", 5)
    write_domain(tmp_path / "trainB", 2, (20, 90), start=20)
    write_domain(tmp_path / "testA", 1)
    write_domain(tmp_path / "testB", 3)
    spec = data_layer(f"pair:{tmp_path}")
    assert spec == {"name": "pair", "path": str(tmp_path)}
    data = load_training_data({**spec, "size": 24})
    assert data.train["image_a"].shape == (5, 3, 24, 24) and data.train["image_b"].shape == (5, 3, 24, 24)
    reds = sorted({int(v) for v in data.train["image_b"][:, 0, 12, 12]})
    assert reds == [200, 210]  # both B images, repeated
    assert data.eval["image_a"].shape == (1, 3, 24, 24) and data.eval["image_b"].shape == (3, 3, 24, 24)
    grey = load_training_data({**spec, "size": 24, "channels": 1})
    assert grey.train["image_a"].shape == (5, 1, 24, 24)
    default = load_training_data(spec)
    assert default.train["image_a"].shape[-1] == pairs.DEFAULT_SIZE


@pytest.mark.parametrize("layout, message", [
    ({"trainA": 2}, "has no trainB folder"),
    ({"trainA": 2, "trainB": 0}, "trainB holds no images"),
    ({"trainA": 2, "trainB": -1}, "none of the 1 images"),
])
def test_bad_pair_folders_are_one_line_errors(tmp_path: Path, layout: dict[str, int], message: str) -> None:
    for name, count in layout.items():
        if count >= 0:
            write_domain(tmp_path / name, count)
        else:
            (tmp_path / name).mkdir()
            (tmp_path / name / "broken.png").write_bytes(b"not a png")
    with pytest.raises(FashionGANError, match=message) as raised:
        load_training_data({"name": "pair", "path": str(tmp_path), "size": 16})
    assert "\n" not in str(raised.value)
    with pytest.raises(FashionGANError, match="is not a folder"):
        data_layer(f"pair:{tmp_path / 'missing'}")
