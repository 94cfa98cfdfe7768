"""Classifiers end to end on a small slice of the real data: train, round trip, eval CLI, augmentation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from conftest import train_small_mlp
from fashiongan import classify, hub, nets
from fashiongan.cli import app
from fashiongan.data.augment import Augment
from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.errors import FashionGANError

LIMIT = 1024
runner = CliRunner()


@pytest.fixture(scope="module")
def trained(_real_data_location: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MLP trained by the engine for 150 steps on the first 1024 images (eval: first 1024 test)."""
    out = tmp_path_factory.mktemp("mlp") / "ckpt"
    result = train_small_mlp(_real_data_location, out, steps=150, limit=LIMIT, seed=0)
    assert result.steps == 150
    return out


def test_train_writes_a_checkpoint_that_round_trips(trained: Path, real_data: Path) -> None:
    assert {p.name for p in trained.iterdir()} >= {hub.CONFIG_FILE, hub.WEIGHTS_FILE, hub.TRAINING_FILE}
    config = hub.read_config(trained)
    reported = config["metrics"]["test_accuracy"]
    assert reported > 0.65  # ten classes: chance is 0.1
    model, _ = classify.load_classifier(trained)
    images, labels = classify.labelled_images(n=LIMIT)
    result = classify.evaluate(model, images, labels, batch_size=300)
    assert result.accuracy == pytest.approx(reported, abs=1e-9)
    assert result.confusion.sum() == LIMIT and result.confusion.trace() == round(reported * LIMIT)
    assert set(result.per_class) == set(CLASSES)
    assert not model.training


def test_train_config_flags_and_validation() -> None:
    config = classify.train_config("cnn", epochs=2, adversarial="pgd", eps=0.05, seed=3, limit=100)
    assert config.train["epochs"] == 2 and config.seed == 3 and config.data["limit"] == 100
    assert config.objective["adversarial"] == "pgd" and config.objective["eps"] == 0.05
    assert config.nets["classifier"]["arch"] == "cnn"
    for bad in (dict(arch="foo"), dict(arch="mlp", adversarial="foo"), dict(arch="mlp", adversarial="fgsm", eps=1.5)):
        with pytest.raises(FashionGANError):
            classify.train_config(**bad)
    with pytest.raises(FashionGANError, match="adv_weight"):
        classify.train_config("mlp", adversarial="fgsm", overrides={"objective": {"adv_weight": 0}})


def test_adversarial_training_runs_through_the_engine(real_data: Path, tmp_path: Path) -> None:
    config = classify.train_config(
        "mlp", adversarial="pgd", eps=0.1, limit=256, overrides={"train": {"steps": 4}, "objective": {"steps": 2}}
    )
    result = classify.train(config, tmp_path / "adv", progress=False)
    saved = hub.read_config(tmp_path / "adv")
    assert saved["train_config"]["objective"]["adversarial"] == "pgd"
    assert 0 <= result.metrics["test_accuracy"] <= 1


def test_eval_cli_json_and_confusion_png(trained: Path, real_data: Path, tmp_path: Path) -> None:
    png = tmp_path / "confusion.png"
    result = runner.invoke(app, ["classify", "eval", "--checkpoint", str(trained), "--n", "500", "--json", "--confusion", str(png)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["count"] == 500 and report["classes"] == list(CLASSES)
    assert 0.6 < report["accuracy"] <= 1 and len(report["confusion"]) == 10
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = runner.invoke(app, ["classify", "eval", "--checkpoint", str(trained), "--n", "200"])
    assert table.exit_code == 0 and "Ankle boot" in table.stdout


def test_train_cli_on_a_slice(real_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = runner.invoke(app, ["classify", "train", "--arch", "MLP", "--epochs", "1", "--limit", "256", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["arch"] == "mlp" and summary["steps"] == 2 and 0 <= summary["test_accuracy"] <= 1
    assert (out / hub.WEIGHTS_FILE).is_file()


def _one_error_line(result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, says",
    [
        (["--arch", "foo"], "unknown arch"),
        (["--arch", "mlp", "--adversarial", "foo"], "unknown attack"),
        (["--arch", "mlp", "--adversarial", "fgsm", "--eps", "1.5"], "outside [0, 1]"),
    ],
)
def test_train_cli_rejects_bad_input_before_work(tmp_path: Path, args: list[str], says: str) -> None:
    out = tmp_path / "never"
    assert says in _one_error_line(runner.invoke(app, ["classify", "train", *args, "--out", str(out)]))
    assert not out.exists()


def test_eval_cli_missing_or_wrong_checkpoint(tmp_path: Path) -> None:
    assert "is not a directory" in _one_error_line(runner.invoke(app, ["classify", "eval", "--checkpoint", str(tmp_path / "nope")]))
    assert "no shipped model" in _one_error_line(runner.invoke(app, ["classify", "eval", "--checkpoint", "pretrained:nope"]))
    hub.save_pretrained(tmp_path / "gan", {"generator": nets.build("mlp")}, {"model": "gan"})
    assert "not a classifier" in _one_error_line(runner.invoke(app, ["classify", "eval", "--checkpoint", str(tmp_path / "gan")]))


def test_augment_flips_and_shifts_consistently() -> None:
    assert Augment.from_spec(None) is None and Augment.from_spec({"flip": False, "shift": 0}) is None
    with pytest.raises(FashionGANError, match="unknown data.augment"):
        Augment.from_spec({"rotate": 10})
    with pytest.raises(FashionGANError, match="shift"):
        Augment.from_spec({"shift": -1})
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    batch = {"image": images, "target": images.clone(), "label": torch.arange(64)}
    augment = Augment.from_spec({"flip": True, "shift": 2})
    out = augment(batch, torch.Generator().manual_seed(1))
    again = augment(batch, torch.Generator().manual_seed(1))
    assert torch.equal(out["image"], again["image"]) and torch.equal(out["label"], batch["label"])
    assert torch.equal(out["image"], out["target"])  # paired images get the same transform
    assert out["image"].shape == images.shape
    changed = (out["image"] != images).flatten(1).any(1)
    assert changed.float().mean() > 0.8
    flipped = Augment(flip=True)(batch, torch.Generator().manual_seed(2))["image"]
    same, mirrored = (flipped == images).flatten(1).all(1), (flipped == images.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 0 < int(mirrored.sum()) < 64
    shifted = Augment(shift=3)(batch, torch.Generator().manual_seed(3))["image"]
    values = set(images.unique().tolist()) | {-1.0}
    assert set(shifted.unique().tolist()) <= values  # pixels are moved or filled with black, never blended
