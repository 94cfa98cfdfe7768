"""The user's own data: image folders and a styles.csv with the real file's quirks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from fashiongan.cli import app
from fashiongan.data import folders
from fashiongan.data.datasets import data_layer
from fashiongan.errors import DataError, FashionGANError

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"
ROWS = [
    "1,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual,Turtle Check Men Navy Blue Shirt",
    "2,Women,Apparel,Bottomwear,Jeans,Blue,Summer,2012,Casual,Levis Women Blue Jeans",
    "3,Men,Footwear,Shoes,Casual Shoes,White,Summer,2012,Casual,Puma Men, White, Shoes",  # unquoted commas
    '4,Women,Apparel,Topwear,Tshirts,Red,,2013,,"Quoted, properly"',                     # missing values
    "5,Unisex,Accessories,Bags,Handbags,Black,Winter,2012,Casual,Bag",                     # image missing
    "6,Men,Apparel,Topwear,Shirts,White,Fall,2011,Formal,Corrupt jpeg",                   # unreadable image
    "7,Men,Apparel",                                                                     # too few fields
    "x8,Men,Apparel,Topwear,Shirts,White,Fall,2011,Formal,Bad id",                        # id not a number
    "9,Boys,Apparel,Topwear,Tshirts,Green,Summer,2012,Casual,Kids tee",
]


def _jpeg(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format="JPEG")


@pytest.fixture
def styles_dir(tmp_path: Path) -> Path:
    root = tmp_path / "fashion-product-images"
    root.mkdir()
    (root / "styles.csv").write_text(HEADER + "\n".join(ROWS) + "\n")
    for image_id in (1, 2, 3, 4, 9):
        _jpeg(root / "images" / f"{image_id}.jpg", (60, 80), (image_id * 20, 50, 90))
    good = (root / "images" / "1.jpg").read_bytes()
    (root / "images" / "6.jpg").write_bytes(good[: len(good) // 3])  # truncated
    return root


def test_styles_loads_every_good_row_and_says_why_others_were_skipped(styles_dir):
    table = folders.read_styles(styles_dir)
    assert [p.stem for p in table.files] == ["1", "2", "3", "4", "6", "9"]
    assert table.columns["productDisplayName"][2] == "Puma Men, White, Shoes"
    assert table.columns["season"][3] == ""
    assert table.skip_reasons() == {"too few fields": 1, "id is not a number": 1, "image missing": 1}

    result = folders.info(f"styles:{styles_dir}")
    assert result["images"] == 5  # the truncated JPEG is found when decoded
    assert result["skip_reasons"] == {"too few fields": 1, "id is not a number": 1, "image missing": 1, "unreadable image": 1}
    assert result["sizes"] == {"60x80": 5}
    assert result["columns"]["gender"] == {"Men": 2, "Women": 2, "Boys": 1}
    assert result["columns"]["season"]["(missing)"] == 1


def test_attribute_vocabulary_takes_the_top_values_and_encodes_multi_hot(styles_dir):
    table = folders.read_styles(styles_dir)
    vocab = folders.vocabulary(table, ["subCategory", "gender"], top=1, other=True)
    assert vocab.names == ["subCategory=Topwear", "subCategory=other", "gender=Men", "gender=other"]
    hot = vocab.encode(table.columns)
    assert hot.shape == (6, 4)
    np.testing.assert_array_equal(hot[0], [1, 0, 1, 0])   # Topwear, Men
    np.testing.assert_array_equal(hot[1], [0, 1, 0, 1])   # Bottomwear -> other, Women -> other
    without_other = folders.vocabulary(table, ["gender"]).encode(table.columns)
    assert without_other.sum() == 6 and without_other.shape[1] == 3
    with pytest.raises(FashionGANError, match="no attribute column 'colour'; columns: gender"):
        folders.vocabulary(table, ["colour"])
    with pytest.raises(FashionGANError, match="--top must be at least 1"):
        folders.vocabulary(table, ["gender"], top=0)


def test_styles_with_a_wrong_header_or_no_images_is_one_clear_error(tmp_path, styles_dir):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "styles.csv").write_text("id,name\n1,x\n")
    with pytest.raises(DataError, match="header"):
        folders.read_styles(bad)
    (bad / "styles.csv").write_text(HEADER + ROWS[0] + "\n")
    with pytest.raises(DataError, match="no row whose image exists"):
        folders.read_styles(bad)
    with pytest.raises(FashionGANError, match="KIND:PATH"):
        folders.parse_source(f"zip:{styles_dir}")
    with pytest.raises(FashionGANError, match="is not a folder"):
        folders.parse_source(f"folder:{tmp_path / 'nowhere'}")
    assert folders.parse_source(f"pair:{tmp_path}") == ("pair", tmp_path)  # one reader of KIND:PATH for every command
    assert data_layer(f"pair:{tmp_path}") == {"name": "pair", "path": str(tmp_path)}
    with pytest.raises(FashionGANError, match="KIND one of: folder, styles$"):
        folders.read_table(f"pair:{tmp_path}")  # a pair: folder is two domains, not one table of images


def test_folder_classes_are_subfolders_and_odd_images_decode_to_rgb(tmp_path):
    root = tmp_path / "shop"
    _jpeg(root / "coats" / "a.jpg", (33, 47), (200, 10, 10))
    Image.new("L", (20, 20), 128).save(root / "coats" / "b.png")
    (root / "hats").mkdir()
    Image.new("RGBA", (64, 64), (0, 0, 255, 128)).save(root / "hats" / "c.png")
    (root / "hats" / "notes.txt").write_text("not an image")
    table = folders.read_folder(root)
    assert table.classes == ["coats", "hats"] and table.labels.tolist() == [0, 0, 1]
    image = folders.decode(table.files[0], size=32)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert folders.decode(table.files[1]).shape == (20, 20, 3)

    one = tmp_path / "one"
    _jpeg(one / "coats" / "a.jpg", (8, 8), (0, 0, 0))
    with pytest.raises(DataError, match="one class only"):
        folders.read_folder(one)
    (tmp_path / "empty" / "coats").mkdir(parents=True)
    with pytest.raises(DataError, match="holds no images"):
        folders.read_folder(tmp_path / "empty")


def test_data_info_cli_reports_counts_and_skips(styles_dir):
    result = CliRunner().invoke(app, ["data", "info", "--data", f"styles:{styles_dir}", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["images"] == 5 and report["skipped"] == 4
    assert {"path": str(styles_dir / "images" / "6.jpg"), "reason": "unreadable image"} in report["skipped_files"]
    table = CliRunner().invoke(app, ["data", "info", "--data", f"styles:{styles_dir}"])
    assert table.exit_code == 0 and "skipped 4" in table.output
    missing = CliRunner().invoke(app, ["data", "info", "--data", "styles:/no/such/dir"])
    assert missing.exit_code == 1 and "is not a folder" in missing.output
