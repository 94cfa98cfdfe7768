"""The lookbook: rules checked before work, items the judge vouches for, exact regeneration, lock, atomic output."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from conftest import declared
from fashiongan import hub, lookbook, nets
from fashiongan.cli import app
from fashiongan.data import colored
from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.declaration import declared as declared_by
from fashiongan.errors import FashionGANError
from fashiongan.lookbook import harmony, render, rules, select
from fashiongan.lookbook.capabilities import Capabilities, Generator, Models, detect
from fashiongan.lookbook.select import Recipe, label_smoothing, regenerate, unsmooth
from fashiongan.metrics.features import judge_outputs


runner = CliRunner()


@pytest.fixture(scope="module")
def models() -> Models:
    return Models()


@pytest.fixture(scope="module")
def book(models: Models) -> lookbook.Lookbook:
    return lookbook.build(4, seed=0, models=models)


def _rules_with(**changes) -> dict:
    raw = yaml.safe_load(rules.default_text())
    raw.update(changes)
    return raw


# ---------------------------------------------------------------- rules


def test_shipped_rules_define_both_outfit_shapes():
    loaded = lookbook.load_rules()
    shapes = {t.name: (t.required, dict(t.optional)) for t in loaded.templates}
    assert shapes["separates"][0] == ("top", "bottom", "shoes") and set(shapes["separates"][1]) == {"bag", "outerwear"}
    assert shapes["dress"][0] == ("dress", "shoes") and set(shapes["dress"][1]) == {"bag"}
    assert loaded.slots["shoes"] == (CLASSES.index("Sneaker"), CLASSES.index("Sandal"), CLASSES.index("Ankle boot"))
    assert loaded.confidence == 0.9
    assert {h.name for h in loaded.harmonies} == set(harmony.KINDS)


@pytest.mark.parametrize("changes, message", [
    ({"slots": {"top": ["Jumper"], "bottom": ["Trouser"], "dress": ["Dress"], "shoes": ["Sneaker"], "bag": ["Bag"],
                "outerwear": ["Coat"]}}, "'Jumper' is not a class"),
    ({"slots": {"top": [], "bottom": ["Trouser"], "dress": ["Dress"], "shoes": ["Sneaker"], "bag": ["Bag"],
                "outerwear": ["Coat"]}}, "slot 'top' lists no classes"),
    ({"outfits": {"x": {"required": ["hat"]}}}, "names slot 'hat'"),
    ({"outfits": {"x": {"required": []}}}, "requires no slot"),
    ({"harmonies": {"complementary": {"min_hue_gap": 179}}}, "harmony 'complementary' cannot be met"),
    ({"harmonies": {"analogous": {"max_hue_gap": 1}}}, "harmony 'analogous' cannot be met"),
    ({"harmonies": {"triadic": {}}}, "unknown harmony 'triadic'"),
    ({"colours": {"neutrals": [], "accents": ["red"]}}, "cannot be met: colours.neutrals is empty"),
    ({"colours": {"neutrals": ["beige"], "accents": ["red"]}}, "'beige' is not a catalogue colour"),
    ({"confidence": 1.5}, "confidence is 1.5, outside"),
    ({"colour": {}}, "unknown key 'colour'"),
])
def test_bad_rules_get_one_line_naming_the_problem(tmp_path: Path, changes: dict, message: str):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(changes))
    with pytest.raises(FashionGANError, match=re.escape(message)) as caught:
        lookbook.load_rules(path)
    assert "\n" not in str(caught.value)


def test_rules_file_that_is_not_yaml_or_missing(tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("slots: [unclosed\n")
    with pytest.raises(FashionGANError, match="not valid YAML at line"):
        lookbook.load_rules(broken)
    with pytest.raises(FashionGANError, match="does not exist"):
        lookbook.load_rules(tmp_path / "missing.yaml")


def test_user_rules_replace_only_the_keys_they_give(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text("confidence: 0.95\n")
    loaded = lookbook.load_rules(path)
    assert loaded.confidence == 0.95 and loaded.source == str(path)
    assert loaded.slots == lookbook.load_rules().slots


@pytest.mark.parametrize("name", harmony.KINDS)
def test_harmonies_meet_their_definition(name: str):
    loaded = lookbook.load_rules()
    chosen = next(h for h in loaded.harmonies if h.name == name)
    neutrals, accents = set(loaded.palette.neutrals), set(loaded.palette.accents)
    for k in range(40):
        count = 2 + k % 4
        colours = harmony.choose(chosen, loaded.palette, count, np.random.default_rng(k))
        assert len(colours) == count and set(colours) <= neutrals | accents
        accent = [c for c in colours if c in accents]
        if name == "neutral-accent":
            assert len(accent) == 1
        elif name == "analogous":
            assert len(accent) == count and len(set(accent)) >= 2
            assert all(harmony.hue_gap(a, b) <= chosen.params["max_hue_gap"] for a in accent for b in accent)
        else:
            assert len(accent) == 2 and harmony.hue_gap(*accent) >= chosen.params["min_hue_gap"]


def test_confidence_takes_the_judges_label_smoothing_out():
    assert label_smoothing("pretrained:evaluator") == pytest.approx(0.1)
    top = torch.tensor([[0.91] + [0.01] * 9])
    assert unsmooth(top, 0.1)[0, 0] == pytest.approx(1.0)
    assert unsmooth(top, 0.1)[0, 1] == pytest.approx(0.0)
    assert unsmooth(top, 0.0) is top


# ---------------------------------------------------------------- building


def test_every_item_is_of_its_slots_class_with_confidence_and_no_near_duplicates(book: lookbook.Lookbook, models: Models):
    loaded = book.rules
    assert len(book.outfits) == 4
    for outfit in book.outfits:
        template = next(t for t in loaded.templates if t.name == outfit.template)
        slots = [item.slot for item in outfit.items]
        assert set(template.required) <= set(slots) <= set(template.required) | {s for s, _ in template.optional}
        for item in outfit.items:
            assert item.recipe.label in loaded.slots[item.slot]
    items = book.items
    images = np.stack([item.image for item in items])
    judge = book.capabilities.judge_for(3 if images.ndim == 4 else 1)  # the colour judge once items are RGB
    assert {item.judge for item in items} == {judge}
    out = judge_outputs(models.judge(judge), images)  # an independent second look
    probs = unsmooth(out.logits.softmax(1), label_smoothing(judge))
    labels = torch.tensor([item.recipe.label for item in items])
    assert (probs.argmax(1) == labels).all()
    assert (probs[torch.arange(len(items)), labels] >= 0.9).all()
    shapes = judge_outputs(models.judge("pretrained:evaluator"), images)  # duplicates: the evaluator, on luminance
    features = torch.nn.functional.normalize(shapes.features, dim=1)
    distance = 1 - features @ features.T
    distance.fill_diagonal_(2.0)
    assert float(distance.min()) >= loaded.duplicate_distance
    assert len({item.id for item in items}) == len(items)


def test_manifest_recipes_regenerate_every_item_exactly(book: lookbook.Lookbook):
    fresh = Models()
    for item in book.items:
        assert np.array_equal(regenerate([item.recipe], fresh)[0], item.image)


def test_same_seed_same_lookbook_other_seed_other_items(book: lookbook.Lookbook, models: Models):
    again = lookbook.build(4, seed=0, models=models)
    assert [i.id for i in again.items] == [i.id for i in book.items]
    other = lookbook.build(4, seed=1, models=models)
    assert not {i.id for i in other.items} & {i.id for i in book.items}


def test_written_lookbook_is_self_contained_and_manifest_matches(book: lookbook.Lookbook, tmp_path: Path):
    out = lookbook.write(book, tmp_path / "look")
    assert sorted(p.name for p in out.iterdir()) == sorted(render.FILES)
    page = (out / "index.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(book.items)
    assert "http://" not in page and "https://" not in page
    for outfit in book.outfits:
        assert outfit.caption in page
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["models"]["generator"] == "pretrained:acgan-colour"  # the colour one
    for record, item in zip(manifest["items"], book.items):
        assert record["id"] == item.id and record["class"] == item.class_name
        assert record["png_sha256"] == hashlib.sha256(render.png_bytes(item.image)).hexdigest()
        assert record["scores"]["class_confidence"] >= 0.9
        assert f"--seed {item.recipe.seed}" in record["sample_command"]
    sheet = Image.open(out / "lookbook.png")
    assert sheet.height > len(book.outfits) * render.TILE


def test_lock_keeps_one_item_and_remakes_the_rest(book: lookbook.Lookbook, models: Models):
    manifest = render.manifest(book)
    kept = book.outfits[1].items[0]
    relocked = lookbook.build(4, lock=(manifest, kept.id), models=models)
    assert relocked.seed == book.seed + 1 and relocked.locked == kept.id
    same = [item for item in relocked.items if item.id == kept.id]
    assert len(same) == 1 and np.array_equal(same[0].image, kept.image)
    assert relocked.outfits[1].template == book.outfits[1].template
    assert [p.slot for p in relocked.outfits[1].pieces] == [p.slot for p in book.outfits[1].pieces]
    others = {i.id for i in relocked.items} - {kept.id}
    assert not others & {i.id for i in book.items}
    with pytest.raises(FashionGANError, match="names no item"):
        lookbook.build(2, lock=(manifest, "sneaker-1"), models=models)


def test_an_outfit_whose_item_cannot_be_made_is_planned_anew(models: Models, monkeypatch):
    real_make = select.Studio.make

    def no_dresses(self, slot, label, colour=None, fabric=None, budget=select.MAX_CANDIDATES):
        if CLASSES[label] == "Dress":
            raise select.Unmet("no Dress")
        return real_make(self, slot, label, colour, fabric, budget)

    monkeypatch.setattr(select.Studio, "make", no_dresses)
    built = lookbook.build(4, seed=0, models=models)
    assert [o.template for o in built.outfits] == ["separates"] * 4  # seed 0 draws dress outfits first
    raw = _rules_with(outfits={"dress": {"required": ["dress", "shoes"]}})
    with pytest.raises(FashionGANError, match="no Dress"):
        lookbook.build(1, seed=0, rules=rules.parse(raw), models=models)


def test_outfit_count_is_checked_and_capped():
    assert lookbook.check_outfits(6) == (6, None)
    count, note = lookbook.check_outfits(10_000)
    assert count == lookbook.MAX_OUTFITS and "capped" in note
    for bad in (0, -3, True, 2.5):
        with pytest.raises(FashionGANError, match="at least 1 outfit"):
            lookbook.check_outfits(bad)


# ---------------------------------------------------------------- colour and fabric stages (tiny untrained models)


def _tiny_colorizer(path: Path) -> str:
    net = nets.build("unet", in_channels=1, out_channels=3, num_colours=len(colored.catalogue()), width=8, depth=2, image_size=28)
    hub.save_pretrained(path, {"generator": net}, {"model": "pix2pix"})
    return str(path)


def _tiny_restyler(path: Path) -> str:
    pair = {role: nets.build("resnet_generator", blocks=1, width=8, image_size=64) for role in ("generator_ab", "generator_ba")}
    hub.save_pretrained(path, pair, {"model": "cyclegan", "train_config": {"objective": {"domains": ["leather", "denim"]}}})
    return str(path)


def test_colour_harmony_and_fabrics_go_through_colorizer_and_restyler(tmp_path: Path, models: Models, monkeypatch):
    # untrained stages paint noise the judge gives ~0 to, smoothing taken out: judge on its raw softmax here
    monkeypatch.setattr(select, "unsmooth", lambda probs, smoothing: probs)
    shipped = detect()
    tasks = {"colorize": _tiny_colorizer(tmp_path / "colorizer"), "restyle": _tiny_restyler(tmp_path / "restyler")}
    grey = tuple(g for g in shipped.generators if not g.colour)  # so colour comes from the colorizer
    caps = Capabilities(grey, shipped.classifiers, None, tasks)
    raw = _rules_with(confidence=1e-6, duplicate_distance=0.0,
                      fabrics={"denim": {"classes": ["Trouser"], "chance": 1.0}, "silk": {"classes": ["Dress"], "chance": 1.0}})
    built = lookbook.build(3, seed=2, rules=rules.parse(raw), capabilities=caps, models=models)
    loaded = built.rules
    for outfit in built.outfits:
        assert outfit.harmony in harmony.KINDS
        plain = [item for item in outfit.items if item.recipe.fabric is None]
        colours = [colored.colour_index(item.recipe.colour) for item in plain]
        accents = [c for c in colours if c in loaded.palette.accents]
        if outfit.harmony == "neutral-accent":
            assert len(accents) == 1
        for item in outfit.items:
            assert item.image.ndim == 3 and item.image.shape[-1] == 3
            if CLASSES[item.recipe.label] == "Trouser":
                assert item.recipe.fabric == "denim" and item.recipe.restyler == tasks["restyle"]
                assert item.image.shape[:2] == (28, 28)
            else:
                assert item.recipe.fabric is None  # silk is no domain of the restyler: left out
                assert item.recipe.colour_by == "colorizer" and item.recipe.colorizer == tasks["colorize"]
    fresh = Models()
    for item in built.items:
        assert np.array_equal(regenerate([item.recipe], fresh)[0], item.image)
    assert 'class="swatch"' in render.page(built)


def test_an_item_is_the_same_made_among_candidates_or_alone(tmp_path: Path, models: Models):
    # batched convolutions round differently from single ones (a few bytes in 32 restyled items): every
    # item must be made alone, or a manifest regenerates a different image than the lookbook shows
    torch.manual_seed(1)
    restyler = _tiny_restyler(tmp_path / "restyler")
    recipes = [Recipe(CLASSES.index("Trouser"), seed, detect().generator.source, fabric="denim", restyler=restyler)
               for seed in range(32)]
    together = regenerate(recipes, models)
    assert together.shape == (32, 28, 28, 3)
    assert all(np.array_equal(together[i], regenerate([r], Models())[0]) for i, r in enumerate(recipes))


def test_a_colour_generator_paints_the_harmony_itself(tmp_path: Path, models: Models, monkeypatch):
    monkeypatch.setattr(select, "unsmooth", lambda probs, smoothing: probs)  # untrained: see above
    net = nets.build("dcgan_generator", num_classes=10, num_colours=len(colored.catalogue()), channels=3, hidden=32, z_dim=8)
    hub.save_pretrained(tmp_path / "gen", {"generator": net}, declared("acgan", 3, classes=True, colours=True))
    shipped = detect()
    colour_gen = Generator(str(tmp_path / "gen"), str(tmp_path / "gen"), "acgan", declared_by(tmp_path / "gen").conditions)
    grey = tuple(g for g in shipped.generators if not g.colour)
    caps = Capabilities(grey + (colour_gen,), shipped.classifiers, None,
                        {"restyle": _tiny_restyler(tmp_path / "restyler")}, default=colour_gen.name)
    assert caps.generator == colour_gen and caps.colour_by == "generator"
    raw = _rules_with(confidence=1e-6, duplicate_distance=0.0, fabrics={"denim": {"classes": ["Trouser"], "chance": 1.0}})
    built = lookbook.build(2, seed=4, rules=rules.parse(raw), capabilities=caps, models=models)
    for item in built.items:
        r = item.recipe
        assert r.generator == colour_gen.source and r.colorizer is None and item.image.shape == (28, 28, 3)
        if r.fabric:  # a restyled item: drawn in its class's usual colours, then given the fabric
            assert r.colour == colored.AUTO and r.restyler
        else:
            assert r.colour in colored.colour_names() and r.colour_by == "generator"
    fresh = Models()
    for item in built.items:
        assert np.array_equal(regenerate([item.recipe], fresh)[0], item.image)
    assert "<span>auto</span>" not in render.page(built) and "swatch" in render.page(built)


# ---------------------------------------------------------------- command line


def test_cli_writes_a_lookbook_and_locks_an_item(tmp_path: Path):
    out = tmp_path / "look"
    result = runner.invoke(app, ["lookbook", "--outfits", "2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["outfits"] == 2 and Path(summary["out"]) == out
    first = json.loads((out / "manifest.json").read_text())
    kept = first["items"][0]
    result = runner.invoke(app, ["lookbook", "--outfits", "2", "--out", str(out), "--lock", kept["id"], "--json"])
    assert result.exit_code == 0, result.output
    second = json.loads((out / "manifest.json").read_text())
    assert second["locked"] == kept["id"] and second["seed"] == first["seed"] + 1
    assert [i for i in second["items"] if i["id"] == kept["id"]][0]["png_sha256"] == kept["png_sha256"]
    assert not list(tmp_path.glob(".look.*"))  # no staging folder left behind


def test_cli_bad_input_is_one_line_and_leaves_the_output_untouched(tmp_path: Path):
    out = tmp_path / "look"
    assert runner.invoke(app, ["lookbook", "--outfits", "1", "--out", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad_rules = tmp_path / "bad.yaml"
    bad_rules.write_text("slots: {top: [Jumper]}\n")
    cases = [
        (["--outfits", "0"], "at least 1 outfit"),
        (["--lock", "nothing-1"], "names no item"),
        (["--rules", str(bad_rules)], "'Jumper' is not a class"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["lookbook", "--out", str(out), *args])
        assert result.exit_code == 1 and message in result.stderr
        assert result.stderr.strip().count("\n") == 0
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    fresh = tmp_path / "never"
    assert runner.invoke(app, ["lookbook", "--out", str(fresh), "--rules", str(bad_rules)]).exit_code == 1
    assert not fresh.exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["lookbook", "--outfits", "1", "--out", str(other)])
    assert result.exit_code == 1 and "holds other files" in result.stderr
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
