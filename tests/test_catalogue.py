"""A user's own catalogue, end to end, as a new user takes it: a folder of RGB product photos (odd sizes, on
white) and a styles.csv, through train -> classify train (its judge) -> sample by the catalogue's names ->
evaluate --judge -> lookbook --generator --judge --rules -> the web app's Generate, in the browser too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from PIL import Image
from typer.testing import CliRunner

from catalogue import CLASSES, write_folder, write_styles
from conftest import serving
from fashiongan import hub
from fashiongan.cli import app
from fashiongan.declaration import declared
from fashiongan.lookbook import detect
from fashiongan.serve import create_app

SIZE = "32"  # small, to keep the suite fast; user data defaults to 64 px (test_a_catalogue_trains_at_64_px_by_default)
RULES = """\
confidence: 0.01
duplicate_distance: 0.0
slots: {top: [tee], bottom: [jeans], dress: [gown], shoes: [trainer]}
outfits:
  casual: {required: [top, bottom, shoes]}
  evening: {required: [dress, shoes]}
"""


def _run(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _refused(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("catalogue") / "shop", per_class=12)


@pytest.fixture(scope="module")
def styles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_styles(tmp_path_factory.mktemp("catalogue") / "styles", per_class=8)


@pytest.fixture(scope="module")
def trained(shop: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A conditional GAN and its judge, trained on the folder at 32 px."""
    root = tmp_path_factory.mktemp("runs")
    _run("train", "--model", "acgan-catalogue", "--data", f"folder:{shop}", "--size", SIZE, "--steps", "30", "--threads", "1",
         "--out", str(root / "gan"))
    _run("classify", "train", "--data", f"folder:{shop}", "--size", SIZE, "--epochs", "40", "--threads", "1",
         "--out", str(root / "judge"))
    return {"gan": root / "gan", "judge": root / "judge"}


def test_a_conditional_gan_trains_on_the_folder_and_declares_its_classes(trained: dict[str, Path]) -> None:
    found = declared(trained["gan"])
    assert found.kind == "generator" and found.conditions.classes == CLASSES
    assert found.conditions.image_shape == (3, 32, 32) and found.conditions.colours is None
    config = hub.read_config(trained["gan"])
    assert config["train_config"]["nets"]["discriminator"]["kwargs"]["outputs"] == 1 + len(CLASSES)  # ACGAN's heads fitted to 4 classes


def test_the_judge_learns_the_catalogue_and_answers_in_its_names(trained: dict[str, Path], shop: Path) -> None:
    scored = _run("classify", "eval", "--checkpoint", str(trained["judge"]))
    assert scored["classes"] == list(CLASSES) and scored["accuracy"] >= 0.75, scored
    said = _run("classify", "predict", "--checkpoint", str(trained["judge"]), "--input", str(shop / "gown"))["predictions"]
    assert len(said) == 12 and {row["class"] for row in said} <= set(CLASSES)
    assert sum(row["class"] == "gown" for row in said) >= 9


def test_sample_by_the_catalogues_own_names(trained: dict[str, Path], tmp_path: Path) -> None:
    written = _run("sample", "--checkpoint", str(trained["gan"]), "--label", "gown", "--n", "3", "--out-dir", str(tmp_path))
    assert written["labels"] == ["gown"] * 3 and all(Path(f).name.endswith("-gown.png") for f in written["files"])
    assert Image.open(written["files"][0]).size == (64, 64)  # shown at twice the model's 32 px
    cycled = _run("sample", "--checkpoint", str(trained["gan"]), "--n", "8", "--out", str(tmp_path / "grid.png"))
    assert cycled["labels"] == list(CLASSES) * 2
    assert "no class 'dress'; its classes: gown, jeans, tee, trainer" in _refused(
        "sample", "--checkpoint", str(trained["gan"]), "--label", "dress", "--out", str(tmp_path / "x.png"))


def test_evaluate_scores_against_the_catalogue_with_its_judge_and_never_with_a_stranger(trained: dict[str, Path]) -> None:
    scores = _run("evaluate", "--checkpoint", str(trained["gan"]), "--judge", str(trained["judge"]), "--n", "40")["images"]
    assert scores["judge_name"] == str(trained["judge"]) and scores["n_reference"] == 48
    assert scores["label_conditions"]["names"] == list(CLASSES) and np.isfinite(scores["fid"])
    no_judge = _refused("evaluate", "--checkpoint", str(trained["gan"]), "--n", "40")
    assert "no shipped judge scores" in no_judge and "fashiongan classify train --data folder:" in no_judge
    stranger = _refused("evaluate", "--checkpoint", str(trained["gan"]), "--judge", "pretrained:evaluator", "--n", "40")
    assert "knows the classes T-shirt/top" in stranger and "the model draws gown, jeans, tee, trainer" in stranger


def test_the_lookbook_dresses_the_catalogue_by_its_rules(trained: dict[str, Path], tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    out = tmp_path / "book"
    made = _run("lookbook", "--generator", str(trained["gan"]), "--judge", str(trained["judge"]), "--rules", str(rules),
                "--outfits", "2", "--out", str(out))
    assert made["outfits"] == 2 and made["colour"] is None and made["restyler"] is None
    assert any("left out" in note for note in made["notes"])  # the shipped colour and fabric models know other items
    manifest = json.loads((out / "manifest.json").read_text())
    assert {item["class"] for item in manifest["items"]} <= set(CLASSES) and (out / "index.html").is_file()
    rules.write_text(RULES.replace("[gown]", "[Dress]"))
    unknown = _refused("lookbook", "--generator", str(trained["gan"]), "--judge", str(trained["judge"]), "--rules", str(rules),
                       "--out", str(tmp_path / "other"))
    assert "'Dress' is not a class of the generator; use one of: gown, jeans, tee, trainer" in unknown
    shipped = _refused("lookbook", "--generator", str(trained["gan"]), "--judge", str(trained["judge"]), "--out", str(tmp_path / "o"))
    assert "name the generator's: gown, jeans, tee, trainer" in shipped
    assert not (tmp_path / "other").exists() and not (tmp_path / "o").exists()


def test_the_web_app_offers_the_users_model_with_its_own_classes(trained: dict[str, Path]) -> None:
    client = TestClient(create_app(detect().with_generators({"shop": str(trained["gan"])})))
    offered = {g["name"]: g for g in client.get("/api/info").json()["generators"]}
    assert offered["shop"]["classes"] == list(CLASSES) and "pretrained:acgan-colour" in offered
    drawn = client.post("/api/generate", json={"model": "shop", "label": "gown", "n": 2})
    assert drawn.status_code == 200 and drawn.json()["labels"] == ["gown", "gown"]
    wrong = client.post("/api/generate", json={"model": "shop", "label": "Dress", "n": 2})
    assert wrong.status_code == 422 and "its classes: gown, jeans, tee, trainer" in wrong.text
    unknown = client.post("/api/generate", json={"model": "shop", "label": "hat", "n": 2})
    assert unknown.status_code == 422  # not a class of any model: the schema's enum


@pytest.mark.real_data
def test_generate_in_the_browser_from_the_users_model(trained: dict[str, Path], browser, tmp_path: Path) -> None:
    with serving(create_app(detect().with_generators({"shop": str(trained["gan"])}))) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=30_000)
        page.select_option("#gen-model", "shop")
        assert page.eval_on_selector_all("#gen-label option", "os => os.map(o => o.value).filter(Boolean)") == list(CLASSES)
        page.select_option("#gen-label", "trainer")
        page.fill("#gen-n", "4")
        page.click("#gen-run")
        expect(page.locator("#gen-results img")).to_have_count(4, timeout=30_000)
        expect(page.locator("#gen-results figcaption").first).to_have_text("Trainer")
        page.screenshot(path=str(tmp_path / "catalogue-generate.png"), full_page=True)
        context.close()


def test_the_cvae_trains_on_styles_at_64_px_by_default_and_samples_by_attribute(styles: Path, tmp_path: Path) -> None:
    _run("train", "--model", "cvae", "--data", f"styles:{styles}", "--steps", "2", "--batch-size", "16", "--threads", "1",
         "--out", str(tmp_path / "vae"))
    found = declared(tmp_path / "vae").conditions
    assert found.image_shape == (3, 64, 64) and found.attributes.columns == ("subCategory", "gender")
    assert found.attributes.values[0] == tuple(sorted(CLASSES))  # the values by count, ties by name
    written = _run("sample", "--checkpoint", str(tmp_path / "vae"), "--attr", "subCategory=jeans", "--n", "2",
                   "--out", str(tmp_path / "v.png"))
    assert written["labels"] == ["jeans", "jeans"]
    judged = _run("classify", "train", "--data", f"styles:{styles}", "--size", SIZE, "--epochs", "1", "--threads", "1",
                  "--out", str(tmp_path / "judge"))  # its classes: the first attribute column's values
    assert declared(tmp_path / "judge").conditions.classes == tuple(sorted(CLASSES)) and judged["test_accuracy"] is not None
    scores = _run("evaluate", "--checkpoint", str(tmp_path / "vae"), "--judge", str(tmp_path / "judge"), "--n", "20")["images"]
    assert scores["label_conditions"]["names"] == sorted(CLASSES) and scores["neg_elbo"] > 0  # the ELBO of its held-out items


def test_what_cannot_be_done_is_one_line_before_any_data_loads(shop: Path, styles: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "no")
    assert "draws 1x28x28 images and cannot be fitted to data folder:" in _refused(
        "train", "--model", "gan", "--data", f"folder:{shop}", "--steps", "1", "--out", out)
    assert "the discriminator of model 'projgan' (projection_discriminator) cannot take the 3x64x64 images" in _refused(
        "train", "--model", "projgan", "--data", f"folder:{shop}", "--steps", "1", "--out", out)
    assert "size 60 px cannot be made" in _refused(
        "train", "--model", "dcgan", "--data", f"folder:{shop}", "--size", "60", "--steps", "1", "--out", out)
    assert "cannot take the 3x64x64 images of data folder:" in _refused(
        "classify", "train", "--arch", "cnn", "--data", f"folder:{shop}", "--out", out)
    one = tmp_path / "one"
    write_folder(one, per_class=2)
    for name in CLASSES[1:]:
        for image in (one / name).iterdir():
            image.unlink()
        (one / name).rmdir()
    assert "has images of one class only ('gown')" in _refused(
        "train", "--model", "acgan-narrow", "--data", f"folder:{one}", "--steps", "1", "--out", out)
    assert "not a checkpoint directory" in _refused("serve", "--model", f"shop={tmp_path / 'nowhere'}")
    assert not Path(out).exists()


def test_the_web_lookbook_dresses_the_users_model_by_its_rules(trained: dict[str, Path], tmp_path: Path) -> None:
    from fashiongan.lookbook import load_rules

    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    caps = detect().with_generators({"shop": str(trained["gan"])}).for_outfits(str(trained["gan"]), str(trained["judge"]))
    assert caps.generator.name == "shop" and caps.judge == str(trained["judge"])
    client = TestClient(create_app(caps, rules=load_rules(rules, CLASSES)))
    book = client.post("/api/lookbook", json={"outfits": 2})
    assert book.status_code == 200, book.text
    assert {item["class"] for outfit in book.json()["outfits"] for item in outfit["items"]} <= set(CLASSES)
    assert "give it with --model NAME=RUN" in _refused("serve", "--judge", str(trained["judge"]))
