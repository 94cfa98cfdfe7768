"""User data as training data, and the multi-label attribute classifier: train, eval, predict, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from fashiongan import attributes, hub, nets
from fashiongan.cli import app
from fashiongan.data import datasets, decoded
from fashiongan.errors import FashionGANError

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"
# (subCategory, gender, colour): the images' colour says the subCategory, their brightness the gender
KINDS = {"Topwear": (200, 30, 30), "Bottomwear": (30, 30, 200), "Shoes": (30, 200, 30)}
GENDERS = {"Men": 0.5, "Women": 1.0}


def _jpeg(path: Path, size: tuple[int, int], colour: tuple[int, ...]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, tuple(int(c) for c in colour)).save(path, format="JPEG")


@pytest.fixture
def styles_dir(tmp_path: Path) -> Path:
    """A Fashion Product Images folder with the real file's quirks: 24 good rows, an unquoted comma in a
    name, a missing value, a row whose image is missing, a truncated JPEG, a short row and a bad id."""
    root = tmp_path / "styles"
    rows = []
    for i in range(24):
        kind, gender = list(KINDS)[i % 3], list(GENDERS)[i // 3 % 2]
        season = "" if i == 5 else "Summer"
        rows.append(f"{i + 1},{gender},Apparel,{kind},Thing,Blue,{season},2012,Casual,Brand {gender}, {kind}, nice")
        _jpeg(root / "images" / f"{i + 1}.jpg", (60, 80), np.array(KINDS[kind]) * GENDERS[gender])
    rows += ["100,Men,Apparel,Topwear,Shirts,White,Fall,2011,Formal,No image",
             "101,Women,Apparel,Topwear,Shirts,White,Fall,2011,Formal,Corrupt jpeg",
             "102,Men,Apparel", "x103,Men,Apparel,Topwear,Shirts,White,Fall,2011,Formal,Bad id"]
    good = (root / "images" / "1.jpg").read_bytes()
    (root / "images" / "101.jpg").write_bytes(good[: len(good) // 3])
    (root / "styles.csv").write_text(HEADER + "\n".join(rows) + "\n")
    return root


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    """folder: data, two classes of odd sizes and modes."""
    root = tmp_path / "shop"
    (root / "hats").mkdir(parents=True)
    for i in range(6):
        _jpeg(root / "coats" / f"{i}.jpg", (30 + i, 40), (200, 20 + i, 20))
        Image.new("LA", (20, 25), (40 + i, 255)).save(root / "hats" / f"{i}.png")
    return root


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_styles_data_is_decoded_once_at_the_models_size_with_corrupt_images_skipped(styles_dir, monkeypatch, capsys):
    spec = {"name": "styles", "path": str(styles_dir), "size": 16, "top": 2, "eval_fraction": 0.25}
    data = datasets.load_training_data(spec)
    # subCategory keeps its top 2 values (Topwear; Bottomwear wins its tie with Shoes by name), gender both; the
    # class of an item is its subCategory, so the eight Shoes rows are left out
    assert "skipped 1 unreadable image(s) of 17" in capsys.readouterr().err  # the truncated JPEG
    assert data.train["image"].shape[1:] == (3, 16, 16) and data.eval["image"].shape[1:] == (3, 16, 16)
    assert len(data) + len(data.eval["image"]) == 16 and len(data.eval["image"]) == 4
    assert data.train["attributes"].shape[1] == 4
    assert torch.equal(data.train["label"], data.train["attributes"][:, :2].argmax(1))
    assert data.train["image"].min() >= -1 and data.train["image"].max() <= 1

    monkeypatch.setattr(decoded, "decode", lambda *a: pytest.fail("decoded again although nothing changed"))
    again = datasets.load_training_data(spec)
    assert torch.equal(again.train["image"], data.train["image"]) and torch.equal(again.eval["attributes"], data.eval["attributes"])
    path = styles_dir / "images" / "2.jpg"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # a changed file: decode afresh
    with pytest.raises(pytest.fail.Exception, match="decoded again"):
        datasets.load_training_data(spec)


def test_folder_data_gives_labels_and_their_one_hot_attributes(shop_dir):
    data = datasets.load_training_data({"name": "folder", "path": str(shop_dir), "size": 12, "eval_fraction": 0.2, "seed": 3})
    labels = torch.cat([data.train["label"], data.eval["label"]])
    assert sorted(labels.tolist()) == [0] * 6 + [1] * 6 and len(data.eval["label"]) == 2
    assert torch.equal(data.train["attributes"].argmax(1), data.train["label"])
    assert data.train["image"].shape[1:] == (3, 12, 12)  # a grey+alpha PNG comes out RGB
    assert datasets.attribute_vocabulary({"name": "folder", "path": str(shop_dir)}).names == ["class=coats", "class=hats"]
    same = datasets.load_training_data({"name": "folder", "path": str(shop_dir), "size": 12, "eval_fraction": 0.2, "seed": 3})
    assert torch.equal(same.eval["label"], data.eval["label"])  # the held-out split is seeded
    with pytest.raises(FashionGANError, match="eval_fraction must lie in"):
        datasets.load_training_data({"name": "folder", "path": str(shop_dir), "eval_fraction": 1.5})


def test_data_option_maps_sources_and_keeps_the_configs_size(shop_dir):
    assert datasets.data_layer(f"folder:{shop_dir}") == {"name": "folder", "path": str(shop_dir)}
    assert datasets.data_layer("attributes") == {"name": "attributes"}
    assert datasets.with_source({"name": "colored", "mode": "palette", "size": 32}, f"styles:{shop_dir}") == {
        "size": 32, "name": "styles", "path": str(shop_dir)}
    with pytest.raises(FashionGANError, match="KIND:PATH with KIND one of: folder, styles"):
        datasets.data_layer(f"zip:{shop_dir}")
    with pytest.raises(FashionGANError, match="is not a folder"):
        datasets.data_layer(f"folder:{shop_dir / 'nowhere'}")


def test_attribute_classifier_trains_on_a_styles_csv_and_names_what_it_predicts(styles_dir, tmp_path):
    out = tmp_path / "run"
    result = _invoke("attributes", "train", "--data", f"styles:{styles_dir}", "--attributes", "subCategory,gender",
                     "--top", "3", "--size", "16", "--steps", "4", "--batch-size", "8", "--threads", "1",
                     "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["outputs"] == 5 and summary["steps"] == 4
    assert 0 <= summary["metrics"]["mean_auc"] <= 1 and "auc/gender=Women" in summary["metrics"]
    saved = hub.read_config(out)["train_config"]
    vocabulary = {"columns": ["subCategory", "gender"], "values": [["Topwear", "Bottomwear", "Shoes"], ["Women", "Men"]]}
    assert saved["objective"]["vocabulary"] == vocabulary and saved["data"]["vocabulary"] == vocabulary
    assert saved["nets"]["classifier"]["kwargs"]["outputs"] == 5

    scores = _invoke("attributes", "eval", "--checkpoint", str(out), "--json")
    assert scores.exit_code == 0, scores.output
    report = json.loads(scores.stdout)
    assert report["count"] == 2 and {"mean_auc", "exact_match", "accuracy/subCategory", "accuracy/gender"} <= set(report)
    assert all(0 <= report[k] <= 1 for k in report if "/" in k)

    predicted = _invoke("attributes", "predict", "--checkpoint", str(out), "--input", str(styles_dir / "images"), "--json")
    assert predicted.exit_code == 0, predicted.output
    answer = json.loads(predicted.stdout)
    assert len(answer["predictions"]) == 24 and answer["skipped"][0]["input"].endswith("101.jpg")
    first = answer["predictions"][0]
    assert set(first["attributes"]) == {"subCategory", "gender"}
    assert first["attributes"]["gender"]["value"] in ("Men", "Women")
    assert list(first["probabilities"]) == ["subCategory=Topwear", "subCategory=Bottomwear", "subCategory=Shoes",
                                            "gender=Women", "gender=Men"]
    table = _invoke("attributes", "predict", "--checkpoint", str(out), "--input", str(styles_dir / "images" / "3.jpg"))
    assert table.exit_code == 0 and "subCategory" in table.output


def test_offline_attribute_classifier_learns_and_reads_any_image_mode(real_data, tmp_path):
    config = attributes.train_config(limit=512, overrides={
        "train": {"steps": 40, "batch_size": 64}, "nets": {"classifier": {"kwargs": {"width": 16}}}, "optim": {"classifier": {"lr": 0.005}}})
    assert config.nets["classifier"]["kwargs"]["outputs"] == 30 and config.objective["image_size"] == 28
    result = attributes.train(config, tmp_path / "run", progress=False)
    assert result.metrics["mean_auc"] > 0.8  # 40 steps on 512 items: far above chance (0.5) already
    assert result.metrics["auc/tone=dark"] > 0.95

    model = attributes.load(tmp_path / "run")
    assert model.vocabulary.columns == ("category", "group", "colour", "tone") and model.image_size == 28
    evaluation = attributes.evaluate(model, limit=200)
    assert evaluation.count == 200 and abs(evaluation.metrics["mean_auc"] - result.metrics["mean_auc"]) < 0.05
    odd = [Image.new("I;16", (50, 70), 30000), Image.new("RGBA", (9, 9), (10, 200, 10, 100)),
           Image.new("P", (64, 64), 3), Image.new("RGB", (28, 28), (200, 30, 40))]
    predictions, skipped = attributes.predict(model, odd)
    assert not skipped and len(predictions) == 4
    for p in predictions:
        assert set(p.attributes) == {"category", "group", "colour", "tone"}
        assert len(p.probabilities) == 30 and all(0 <= v <= 1 for v in p.probabilities.values())
        value, probability = p.attributes["tone"]
        assert probability == p.probabilities[f"tone={value}"] == max(p.probabilities["tone=light"], p.probabilities["tone=dark"])


def test_source_model_trains_offline_from_random_weights_with_a_plain_note(real_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no cached ImageNet weights to find
    config = attributes.train_config("attributes-source", size=32, pretrained=True, limit=16,
                                     overrides={"train": {"steps": 1, "batch_size": 8}})
    result = attributes.train(config, tmp_path / "src", progress=False)
    assert "note: offline (FASHIONGAN_OFFLINE): MobileNetV2 starts from random weights" in capsys.readouterr().err
    assert 0 <= result.metrics["mean_auc"] <= 1
    assert hub.read_config(tmp_path / "src")["nets"]["classifier"]["kwargs"]["pretrained"] is False  # reloads offline
    net = nets.build("mobilenet_attributes", outputs=3, width_mult=0.35)
    assert net(torch.zeros(2, 1, 40, 40)).shape == (2, 3)  # one channel is read as grey RGB, any size


def test_generic_train_takes_user_data_and_fits_the_net_to_it(shop_dir, tmp_path):
    recipe = tmp_path / "two.yaml"
    recipe.write_text("model: attributes\nnets: {classifier: {arch: attribute_cnn, kwargs: {outputs: 2, width: 8, hidden: 16}}}\n"
                      "optim: {classifier: {lr: 0.001}}\ndata: {size: 16}\ntrain: {batch_size: 4, samples: false}\n")
    ok = _invoke("train", "--config", str(recipe), "--data", f"folder:{shop_dir}", "--steps", "2", "--threads", "1",
                 "--out", str(tmp_path / "ok"), "--json")
    assert ok.exit_code == 0, ok.output
    assert hub.read_config(tmp_path / "ok")["train_config"]["data"] == {"size": 16, "name": "folder", "path": str(shop_dir)}
    fitted = _invoke("train", "--model", "attributes", "--data", f"folder:{shop_dir}", "--size", "16", "--steps", "1",
                     "--batch-size", "4", "--threads", "1", "--out", str(tmp_path / "fitted"), "--json")
    assert fitted.exit_code == 0, fitted.output  # the packaged recipe's 30 outputs become the folder's two classes
    saved = hub.read_config(tmp_path / "fitted")
    assert saved["nets"]["classifier"]["kwargs"]["outputs"] == 2
    assert saved["conditions"]["attributes"] == {"columns": ["class"], "values": [["coats", "hats"]]}
    unknown = _invoke("train", "--model", "attributes", "--data", "zip:somewhere", "--steps", "1")
    assert unknown.exit_code == 1 and "KIND:PATH" in unknown.output


def test_bad_requests_get_one_line_errors(styles_dir, shop_dir, tmp_path):
    out = str(tmp_path / "x")
    missing_column = _invoke("attributes", "train", "--data", f"styles:{styles_dir}", "--attributes", "colour", "--out", out)
    assert missing_column.exit_code == 1
    assert "no attribute column 'colour'; columns: gender, masterCategory, subCategory" in missing_column.output
    top = _invoke("attributes", "train", "--data", f"styles:{styles_dir}", "--top", "0", "--out", out)
    assert top.exit_code == 1 and "--top must be at least 1, got 0" in top.output
    (shop_dir / "hats").rename(tmp_path / "hats-elsewhere")
    one_class = _invoke("attributes", "train", "--data", f"folder:{shop_dir}", "--out", out)
    assert one_class.exit_code == 1 and "one class only ('coats')" in one_class.output
    columns_of_a_folder = _invoke("attributes", "train", "--data", f"folder:{shop_dir}", "--attributes", "gender", "--out", out)
    assert columns_of_a_folder.exit_code == 1 and "choose the columns of styles:DIR data" in columns_of_a_folder.output
    no_model = _invoke("attributes", "train", "--model", "dcgan", "--out", out)
    assert no_model.exit_code == 1 and "choose one of: attributes, attributes-source" in no_model.output
    pretrained_cnn = _invoke("attributes", "train", "--pretrained", "--out", out)
    assert pretrained_cnn.exit_code == 1 and "(--model attributes-source), not 'attribute_cnn'" in pretrained_cnn.output
    assert not Path(out).exists()  # nothing written by a refused request

    no_image = _invoke("attributes", "predict", "--checkpoint", "pretrained:attributes", "--input", str(tmp_path / "nope.jpg"))
    assert no_image.exit_code == 1 and "nope.jpg does not exist" in no_image.output
    not_attributes = _invoke("attributes", "eval", "--checkpoint", "pretrained:mlp")
    assert not_attributes.exit_code == 1 and "not an attribute classifier" in not_attributes.output
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(FashionGANError, match="no readable image among 1 input"):
        attributes.predict(attributes.load("pretrained:attributes"), attributes.image_paths(tmp_path / "junk"))


def test_shipped_classifier_names_category_and_colour_of_test_items_at_any_size(real_data):
    from fashiongan.data import attributes as offline, colored

    items = colored.load("test", limit=60)
    truth = offline.columns(items.labels, items.colours)
    big = [Image.fromarray(image.transpose(1, 2, 0)).resize((112, 112), Image.NEAREST) for image in items.images]
    predictions, _ = attributes.predict(attributes.load("pretrained:attributes"), big)
    for column, at_least in (("category", 0.85), ("colour", 0.95), ("tone", 0.95)):
        right = np.mean([p.attributes[column][0] == t for p, t in zip(predictions, truth[column])])
        assert right >= at_least, (column, right)
