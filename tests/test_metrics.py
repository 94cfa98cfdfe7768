"""Metrics: each score ranks real, distorted and noise images the way it must, inputs are checked, the cache holds.

The judge here is a randomly initialised evaluator (fixed seed), never the shipped weights: the
properties tested (a set against itself scores 0, noise scores far worse than real data, ...) hold for
any fixed feature map. Its BatchNorm statistics come from one batch of real images, because random
convolutions shrink activations layer by layer and the features would otherwise be near zero.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from rich.console import Console
from scipy.ndimage import gaussian_filter
from torch import nn
from torch_fidelity.metric_prc import calculate_precision_recall_part
from torchmetrics.image.fid import FrechetInceptionDistance
from typer.testing import CliRunner

from conftest import declared
from fashiongan import hub, metrics, nets
from fashiongan.cli import evaluate as evaluate_cli
from fashiongan.data import colored
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.transforms import to_float
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.metrics import features as features_module
from fashiongan.metrics import generative, inputs

N = 200


def random_judge(calibration: np.ndarray, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    judge = nets.build("evaluator")
    for module in judge.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = None  # one batch sets the exact batch statistics
    with torch.no_grad():
        judge.train()
        judge.features(to_float(calibration))
    return judge.eval()


@pytest.fixture(scope="module")
def real(_real_data_location: tuple[Path, Path]) -> tuple[fm.Split, fm.Split]:
    directory, cache = _real_data_location
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHIONGAN_CACHE", str(cache))
        return fm.load("train", directory), fm.load("test", directory)


@pytest.fixture(scope="module")
def judge(real: tuple[fm.Split, fm.Split]) -> nn.Module:
    return random_judge(real[0].images[-256:])


@pytest.fixture(scope="module")
def sets(real: tuple[fm.Split, fm.Split]) -> dict[str, np.ndarray]:
    train, test = real
    clean = train.images[:N]
    return {
        "reference": test.images[:N],
        "other_test": test.images[N:2 * N],
        "train": clean,
        "blurred": gaussian_filter(clean.astype(float), sigma=(0, 1.2, 1.2)).round().astype(np.uint8),
        "shifted": np.roll(clean, 5, axis=2),
        "noise": np.random.default_rng(0).integers(0, 256, clean.shape, dtype=np.uint8),
    }


@pytest.fixture(scope="module")
def feats(judge: nn.Module, sets: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {name: metrics.extract(judge, images)[0] for name, images in sets.items()}


# ---------------------------------------------------------------- the scores

def test_fid_is_zero_for_a_set_against_itself_and_ranks_distortions(feats: dict[str, torch.Tensor]) -> None:
    ref = feats["reference"]
    assert metrics.fid(ref, ref) == pytest.approx(0.0, abs=1e-6)
    train = metrics.fid(ref, feats["train"])
    assert train < metrics.fid(ref, feats["blurred"])
    assert train < metrics.fid(ref, feats["shifted"])
    assert metrics.fid(ref, feats["noise"]) > 10 * train


def test_kid_is_near_zero_for_the_same_distribution_and_ranks_distortions(feats: dict[str, torch.Tensor]) -> None:
    ref = feats["reference"]
    kid = {name: metrics.kid(ref, feats[name], subset_size=100, subsets=20)[0] for name in feats}
    assert abs(kid["other_test"]) < 0.1 * kid["shifted"]
    assert kid["train"] < kid["blurred"] and kid["train"] < kid["shifted"]
    assert kid["noise"] > 10 * kid["blurred"]
    mean, std = metrics.kid(ref, feats["train"], subset_size=100, subsets=20, seed=3)
    assert (mean, std) == metrics.kid(ref, feats["train"], subset_size=100, subsets=20, seed=3)
    assert std > 0


def test_precision_recall_bounds_identity_noise_and_agreement_with_torch_fidelity(
    feats: dict[str, torch.Tensor],
) -> None:
    ref = feats["reference"]
    assert metrics.precision_recall(ref, ref) == (1.0, 1.0)
    precision, recall = metrics.precision_recall(ref, feats["noise"])
    assert precision < 0.1 and recall < 0.1
    precision, recall = metrics.precision_recall(ref, feats["train"], chunk=128)
    assert 0.5 < precision <= 1 and 0.5 < recall <= 1
    assert (precision, recall) == pytest.approx(calculate_precision_recall_part(feats["train"], ref, 3, 1000))
    with pytest.raises(FashionGANError, match="more than 3 samples"):
        metrics.precision_recall(ref[:3], ref[:3])


def test_inception_style_score_spans_one_to_the_number_of_classes() -> None:
    assert metrics.inception_style_score(torch.zeros(100, 10), splits=2) == pytest.approx((1.0, 0.0))
    confident = 50 * nn.functional.one_hot(torch.arange(1000) % 10, 10).float()
    assert metrics.inception_style_score(confident)[0] == pytest.approx(10.0, rel=0.05)
    one_class = 50 * nn.functional.one_hot(torch.zeros(100, dtype=torch.long), 10).float()
    assert metrics.inception_style_score(one_class)[0] == pytest.approx(1.0, rel=1e-3)


def test_label_accuracy_counts_agreement() -> None:
    logits = nn.functional.one_hot(torch.tensor([0, 1, 2, 3]), 10).float()
    assert metrics.label_accuracy(logits, np.array([0, 1, 2, 9])) == 0.75


class StubJudge(nn.Module):
    """Predicts class c for an image whose first row is brightest at column c."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, 0, :] * self.scale

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return features[:, :10]


def stub_images(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Images the stub classifies as ``i % 10``."""
    images = np.random.default_rng(1).integers(0, 100, (n, 28, 28), dtype=np.uint8)
    predicted = np.arange(n) % 10
    images[np.arange(n), 0, predicted] = 255
    return images, predicted


def test_evaluate_images_reports_label_accuracy_as_judged() -> None:
    images, predicted = stub_images(20)
    labels = predicted.copy()
    labels[15:] = (labels[15:] + 1) % 10
    result = metrics.evaluate_images(images, labels, judge=StubJudge(), reference=images)
    assert result["label_accuracy"] == 0.75
    assert result["n"] == 20 and result["n_reference"] == 20 and result["fid"] == pytest.approx(0, abs=1e-6)
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    json.dumps(result)
    subset = metrics.evaluate_images(images, labels, judge=StubJudge(), reference=images, n=10, seed=1)
    assert subset["n"] == 10
    assert metrics.evaluate_images(images, judge=StubJudge(), reference=images)["label_accuracy"] is None


def test_evaluate_images_and_floor_with_the_evaluator(
    judge: nn.Module, sets: dict[str, np.ndarray], feats: dict[str, torch.Tensor], real_data: Path
) -> None:
    train = fm.load("train")
    half = N // 2
    result = metrics.evaluate_images(
        sets["train"][:half], train.labels[:half], judge=judge, reference=sets["reference"][:half]
    )
    assert result["fid"] == pytest.approx(metrics.fid(feats["reference"][:half], feats["train"][:half]), rel=1e-5)
    assert result["kid_subset_size"] == half and 0 <= result["label_accuracy"] <= 1
    assert result["judge"] == metrics.judge_fingerprint(judge)[:16]
    as_float = metrics.extract(judge, to_float(sets["train"][:50]))[0]
    assert torch.allclose(as_float, feats["train"][:50], atol=1e-5)
    baseline = metrics.floor(20, judge=judge, reference=sets["reference"][:half])
    assert baseline["n"] == 20 and baseline["label_accuracy"] is not None
    with pytest.raises(FashionGANError, match="test set"):
        metrics.floor(50, judge=judge, reference="train")
    with pytest.raises(FashionGANError, match="between 10 and 60000"):
        metrics.floor(60_001, judge=judge)


def test_judge_features_plug_into_torchmetrics_without_touching_the_judge(
    judge: nn.Module, sets: dict[str, np.ndarray], feats: dict[str, torch.Tensor]
) -> None:
    extractor = metrics.JudgeFeatures(judge)
    assert extractor.num_features == 256 and metrics.JudgeFeatures(judge, "logits").num_features == 10
    fid = FrechetInceptionDistance(feature=extractor).set_dtype(torch.float64)
    fid.train()
    fid.update(torch.tensor(sets["reference"][:60]), real=True)
    fid.update(to_float(sets["shifted"][:60]), real=False)
    expected = metrics.fid(feats["reference"][:60], feats["shifted"][:60])
    assert float(fid.compute()) == pytest.approx(expected, rel=1e-4)
    assert not extractor.judge.training
    assert not judge.training and next(judge.parameters()).dtype == torch.float32


# ---------------------------------------------------------------- the judge and its cache

def test_load_judge_errors_and_fingerprint(tmp_path: Path, judge: nn.Module) -> None:
    hub.save_pretrained(tmp_path / "judge", {"evaluator": judge}, declared("classifier", classes=True))
    loaded = metrics.load_judge(tmp_path / "judge")
    assert metrics.judge_fingerprint(loaded) == metrics.judge_fingerprint(judge)
    hub.save_pretrained(tmp_path / "cnn", {"classifier": nets.build("cnn")}, declared("classifier", classes=True))
    with pytest.raises(CheckpointError, match="not an evaluator"):
        metrics.load_judge(tmp_path / "cnn")
    with pytest.raises(CheckpointError, match="cannot load the judge"):
        metrics.load_judge(tmp_path / "missing")
    other = nets.build("evaluator")
    assert metrics.judge_fingerprint(other) != metrics.judge_fingerprint(judge)


@pytest.fixture
def small_splits(monkeypatch: pytest.MonkeyPatch, real: tuple[fm.Split, fm.Split]) -> dict[str, fm.Split]:
    """fm.load returns a few hundred real images, so the full-split code paths run in a second."""
    splits = {s.name: fm.Split(s.name, s.images[:N], s.labels[:N], s.source) for s in real}
    monkeypatch.setattr(fm, "load", lambda split, *args, **kwargs: splits[split])
    return splits


def test_reference_features_are_cached_once_per_judge(
    judge: nn.Module, small_splits: dict[str, fm.Split], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    extract = features_module.extract
    monkeypatch.setattr(features_module, "extract", lambda *a, **k: calls.append(1) or extract(*a, **k))
    first = metrics.reference_features(judge, "test")
    files = list((fm.cache_dir() / "metrics").glob("test-*.safetensors"))
    assert len(calls) == 1 and len(files) == 1 and first.shape == (N, 256)
    assert torch.equal(metrics.reference_features(judge, "test"), first) and len(calls) == 1
    metrics.reference_features(random_judge(small_splits["train"].images, seed=1), "test")
    assert len(calls) == 2 and len(list((fm.cache_dir() / "metrics").glob("test-*.safetensors"))) == 2
    files[0].write_bytes(b"not safetensors")
    assert torch.equal(metrics.reference_features(judge, "test"), first) and len(calls) == 3


def test_inception_fid_fails_fast_and_plainly_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(generative, "FrechetInceptionDistance", offline)
    monkeypatch.setattr(generative, "extract", lambda *a, **k: pytest.fail("scored before checking Inception"))
    images, _ = stub_images(20)
    start = time.perf_counter()
    with pytest.raises(FashionGANError, match="Inception v3 weights, which could not be downloaded"):
        metrics.evaluate_images(images, judge=StubJudge(), reference=images, inception=True)
    assert time.perf_counter() - start < 5


class PooledRGB(nn.Module):
    """Stands in for Inception: takes what torchmetrics' Inception takes (uint8, 3 channels)."""

    num_features = 48

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.dtype == torch.uint8 and images.shape[1] == 3
        return nn.functional.adaptive_avg_pool2d(images.float(), 4).flatten(1)


def test_inception_fid_feeds_both_sets_as_uint8_rgb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generative, "_inception_metric", lambda: FrechetInceptionDistance(PooledRGB()))
    images, _ = stub_images(20)
    reference = np.random.default_rng(2).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    result = metrics.evaluate_images(to_float(images), judge=StubJudge(), reference=reference, inception=True)
    expected = FrechetInceptionDistance(PooledRGB())
    expected.update(torch.tensor(reference).unsqueeze(1).repeat(1, 3, 1, 1), real=True)
    expected.update(torch.tensor(images).unsqueeze(1).repeat(1, 3, 1, 1), real=False)
    assert result["inception_fid"] == pytest.approx(float(expected.compute()), rel=1e-4)


def test_inception_fid_takes_rgb_images_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generative, "_inception_metric", lambda: FrechetInceptionDistance(PooledRGB()))
    rng = np.random.default_rng(5)
    images, reference = (rng.integers(0, 256, (20, 3, 28, 28), dtype=np.uint8) for _ in range(2))
    judge = random_colour_judge(reference)
    result = metrics.evaluate_images(to_float(images), judge=judge, reference=reference, inception=True)
    expected = FrechetInceptionDistance(PooledRGB())
    expected.update(torch.tensor(reference), real=True)
    expected.update(torch.tensor(images), real=False)
    assert result["inception_fid"] == pytest.approx(float(expected.compute()), rel=1e-4)


# ---------------------------------------------------------------- inputs

def test_load_images_from_npz_and_png_folders(tmp_path: Path) -> None:
    images, labels = stub_images(12)
    np.savez(tmp_path / "with.npz", images=images, labels=labels.astype(np.int64))
    np.savez(tmp_path / "without.npz", images=images)
    loaded, loaded_labels, colours = metrics.load_images(tmp_path / "with.npz")
    assert np.array_equal(loaded, images) and np.array_equal(loaded_labels, labels) and colours is None
    assert metrics.load_images(tmp_path / "without.npz").labels is None
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(images[:4]):
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    (folder / "notes.txt").write_text("ignored")
    loaded = metrics.load_images(folder)
    assert loaded.labels is None and loaded.colours is None and np.array_equal(loaded.images, images[:4])


def test_rgb_images_load_as_rgb_from_folders_and_npz(tmp_path: Path) -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    folder = tmp_path / "rgb"
    folder.mkdir()
    for i, image in enumerate(rgb[:3]):
        Image.fromarray(image).save(folder / f"{i}.png")
    Image.fromarray(rgb[3, :, :, 0]).save(folder / "3.png")  # one grayscale file in a colour folder
    loaded = metrics.load_images(folder).images
    assert loaded.shape == (4, 3, 32, 32) and np.array_equal(loaded[:3], rgb[:3].transpose(0, 3, 1, 2))
    assert np.array_equal(loaded[3], np.repeat(rgb[3, None, :, :, 0], 3, axis=0))
    colours = np.array([0, 5, 11, 3])
    np.savez(tmp_path / "rgb.npz", images=rgb, labels=np.arange(4), colours=colours)
    from_npz = metrics.load_images(tmp_path / "rgb.npz")
    assert from_npz.images.shape == (4, 3, 32, 32) and np.array_equal(from_npz.colours, colours)
    assert np.array_equal(from_npz.images, rgb.transpose(0, 3, 1, 2))


def _write_bad(tmp_path: Path, case: str) -> Path:
    images = np.zeros((5, 28, 28), np.uint8)
    npz = tmp_path / "bad.npz"
    folder = tmp_path / "folder"
    folder.mkdir()
    if case == "missing":
        return tmp_path / "nowhere.npz"
    if case == "empty folder":
        return folder
    if case == "mixed sizes":
        Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / "a.png")
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(folder / "b.png")
        return folder
    if case == "tiny png":
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "a.png")
        return folder
    if case == "huge png":
        Image.new("L", (2000, 2000)).save(folder / "a.png")
        return folder
    if case == "corrupt png":
        (folder / "a.png").write_bytes(b"\x89PNG not really")
        return folder
    if case == "not npz":
        (tmp_path / "x.csv").write_text("1,2")
        return tmp_path / "x.csv"
    if case == "corrupt npz":
        npz.write_bytes(b"PK garbage")
    elif case == "no images key":
        np.savez(npz, pictures=images)
    elif case == "wrong dtype":
        np.savez(npz, images=images.astype(np.float32))
    elif case == "wrong shape":
        np.savez(npz, images=np.zeros((5, 4, 28, 28), np.uint8))
    elif case == "colour range":
        np.savez(npz, images=images, colours=np.array([0, 1, 2, 3, 12]))
    elif case == "no images":
        np.savez(npz, images=images[:0])
    elif case == "label count":
        np.savez(npz, images=images, labels=np.zeros(4, np.int64))
    elif case == "label range":
        np.savez(npz, images=images, labels=np.array([0, 1, 2, 3, 10]))
    elif case == "float labels":
        np.savez(npz, images=images, labels=np.zeros(5, np.float32))
    elif case == "pickled":
        np.savez(npz, images=images, labels=np.array([{"a": 1}] * 5, dtype=object))
    return npz


BAD_INPUTS = {
    "missing": "does not exist",
    "empty folder": "no .png files",
    "mixed sizes": "is 32x32 but a.png is 28x28; every image must have the same size",
    "tiny png": "holds 4x4 images; images to score must be 8-1024 px a side",
    "huge png": "holds 2000x2000 images",
    "corrupt png": "is not an image Pillow can read",
    "not npz": "neither a folder of PNGs nor an .npz",
    "corrupt npz": "not a readable .npz",
    "no images key": "no 'images' array",
    "wrong dtype": "expected uint8 N x H x W",
    "wrong shape": "expected uint8 N x H x W",
    "colour range": "'colours' hold 12, outside the catalogue colours 0-11",
    "no images": "holds no images",
    "label count": "one label per image",
    "label range": "hold 10, outside",
    "float labels": "expected integers",
    "pickled": "not a readable .npz",
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_image_files_raise_one_line_errors(tmp_path: Path, case: str) -> None:
    with pytest.raises(FashionGANError, match=BAD_INPUTS[case]) as info:
        metrics.load_images(_write_bad(tmp_path, case))
    assert "\n" not in str(info.value)


def test_in_memory_images_are_checked() -> None:
    ok = np.zeros((12, 28, 28), np.uint8)
    assert metrics.check_images(ok).shape == (12, 1, 28, 28)
    assert metrics.check_images(torch.full((12, 1, 28, 28), 0.5)).dtype == torch.float32
    assert metrics.check_images(np.zeros((12, 3, 28, 28), np.uint8)).shape == (12, 3, 28, 28)
    assert metrics.check_images(np.zeros((12, 64, 64, 3), np.uint8)).shape == (12, 3, 64, 64)
    with pytest.raises(FashionGANError, match=r"must lie in \[-1, 1\]"):
        metrics.check_images(torch.full((12, 28, 28), 2.0))
    with pytest.raises(FashionGANError, match="dtype torch.int64"):
        metrics.check_images(ok.astype(np.int64))
    with pytest.raises(FashionGANError, match="shape"):
        metrics.check_images(np.zeros((12, 2, 28, 28), np.uint8))
    with pytest.raises(FashionGANError, match="one colour per image"):
        metrics.evaluate_images(ok, colours=np.zeros(3, np.int64), judge=StubJudge(), reference=ok)
    with pytest.raises(FashionGANError, match="at least 10 images"):
        metrics.evaluate_images(ok[:5], judge=StubJudge(), reference=ok)
    with pytest.raises(FashionGANError, match="n=20 must lie between 10 and the 12"):
        metrics.evaluate_images(ok, judge=StubJudge(), reference=ok, n=20)
    with pytest.raises(FashionGANError, match="one label per image"):
        metrics.evaluate_images(ok, np.zeros(3, np.int64), judge=StubJudge(), reference=ok)


# ---------------------------------------------------------------- command line

def test_checked_n_rejects_too_few_and_caps_at_the_training_set() -> None:
    with pytest.raises(FashionGANError, match="at least 10"):
        evaluate_cli.checked_n(0)
    assert evaluate_cli.checked_n(70_000) == 60_000 and evaluate_cli.checked_n(500) == 500


def test_evaluate_command_json_and_table(
    tmp_path: Path, judge: nn.Module, sets: dict[str, np.ndarray], small_splits: dict[str, fm.Split]
) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    evaluate_cli.register(app)
    hub.save_pretrained(tmp_path / "judge", {"evaluator": judge}, declared("classifier", classes=True))
    np.savez(tmp_path / "gen.npz", images=sets["shifted"][:40], labels=small_splits["train"].labels[:40])
    args = ["evaluate", "--images", str(tmp_path / "gen.npz"), "--n", "30", "--floor"]
    args += ["--judge", str(tmp_path / "judge")]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"]["n"] == 30 and report["floor"]["n"] == 30
    assert report["images"]["fid"] > report["floor"]["fid"]
    assert report["images"]["source"].endswith("gen.npz")
    table = Console(width=200, record=True)
    table.print(evaluate_cli._table(report))
    text = table.export_text()
    assert "floor (real train)" in text and "label accuracy" in text and f"{report['images']['fid']:.3f}" in text


def test_evaluate_command_samples_a_generator_checkpoint(
    tmp_path: Path, judge: nn.Module, small_splits: dict[str, fm.Split]
) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    evaluate_cli.register(app)
    hub.save_pretrained(tmp_path / "judge", {"evaluator": judge}, declared("classifier", classes=True))
    torch.manual_seed(0)
    generator = nets.build("dcgan_generator", num_classes=10, width=8, hidden=32)
    hub.save_pretrained(tmp_path / "cgan", {"generator": generator}, declared("cgan", classes=True))
    args = ["evaluate", "--checkpoint", str(tmp_path / "cgan"), "--n", "20", "--judge", str(tmp_path / "judge"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["images"]
    assert report["n"] == 20 and report["source"] == str(tmp_path / "cgan")
    assert 0.0 <= report["label_accuracy"] <= 1.0 and math.isfinite(report["fid"])
    both = CliRunner().invoke(app, ["evaluate", "--checkpoint", "x", "--images", "y"])
    assert both.exit_code != 0


# ---------------------------------------------------------------- RGB images and the colour judge

def random_colour_judge(calibration: np.ndarray, seed: int = 0) -> nn.Module:
    """A small random colour judge whose BatchNorm statistics come from one batch of coloured items."""
    torch.manual_seed(seed)
    judge = nets.build("colour_judge", width=8, feature_dim=32)
    for module in judge.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = None
    with torch.no_grad():
        judge.train()
        judge.features(to_float(calibration))
    return judge.eval()


@pytest.fixture(scope="module")
def coloured(_real_data_location: tuple[Path, Path]) -> dict[str, colored.ColoredSplit]:
    directory, cache = _real_data_location
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHIONGAN_CACHE", str(cache))
        return {split: colored.load(split, "catalogue", 0, data_dir=directory, limit=N) for split in ("train", "test")}


@pytest.fixture
def small_coloured(monkeypatch: pytest.MonkeyPatch, coloured: dict[str, colored.ColoredSplit]) -> dict:
    """colored.load returns a few hundred coloured items, so the colour judge's reference set loads in no time."""
    monkeypatch.setattr(colored, "load", lambda split, *args, **kwargs: coloured[split])
    return coloured


def test_judge_input_converts_channels_and_size(sets: dict[str, np.ndarray]) -> None:
    gray = torch.tensor(sets["train"][:8]).unsqueeze(1)
    rgb = torch.tensor(np.random.default_rng(4).integers(0, 256, (8, 3, 28, 28), dtype=np.uint8))
    expected = (to_float(rgb) * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert torch.allclose(inputs.judge_input(rgb, 1), expected, atol=1e-6)
    assert torch.equal(inputs.judge_input(gray, 1), to_float(gray))
    assert torch.equal(inputs.judge_input(rgb, 3), to_float(rgb))
    doubled = gray.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # 56x56, each pixel a 2x2 block
    assert torch.allclose(inputs.judge_input(doubled, 1), to_float(gray), atol=1e-6)  # area: exact
    assert inputs.judge_input(gray[:, :, ::2, ::2], 1).shape == (8, 1, 28, 28)
    with pytest.raises(FashionGANError, match="grayscale images cannot be scored by a colour judge"):
        inputs.judge_input(gray, 3)


def test_rgb_images_meet_the_evaluator_as_their_luminance(judge: nn.Module, sets: dict[str, np.ndarray]) -> None:
    gray, reference = sets["train"][:60], sets["reference"][:60]
    as_rgb = np.repeat(gray[:, :, :, None], 3, axis=3)  # channel-last, grey in every channel
    first = metrics.evaluate_images(gray, judge=judge, reference=reference)
    second = metrics.evaluate_images(as_rgb, judge=judge, reference=reference)
    assert second["fid"] == pytest.approx(first["fid"], rel=1e-4, abs=1e-6)
    assert second["precision"] == first["precision"] and second["recall"] == first["recall"]
    big = np.kron(gray, np.ones((1, 2, 2), np.uint8))  # 56x56: area-averaged back to the same 28x28
    resized = metrics.evaluate_images(big, judge=judge, reference=reference)
    assert resized["fid"] == pytest.approx(first["fid"], rel=1e-4, abs=1e-6)


def test_judge_for_picks_by_channels() -> None:
    assert metrics.judge_for(1) == "pretrained:evaluator" and metrics.judge_for(3) == "pretrained:colour-judge"
    with pytest.raises(FashionGANError, match="grayscale \\(1\\) or RGB \\(3\\)"):
        metrics.judge_for(2)


def test_colour_judge_scores_rgb_against_the_coloured_set(
    tmp_path: Path, judge: nn.Module, small_coloured: dict[str, colored.ColoredSplit]
) -> None:
    train, test = small_coloured["train"], small_coloured["test"]
    colour_judge = random_colour_judge(train.images[-100:])
    assert metrics.judge_channels(colour_judge) == 3 and metrics.judge_channels(judge) == 1
    result = metrics.evaluate_images(train.images, train.labels, train.colours, judge=colour_judge)
    assert result["reference"] == "coloured fashion-mnist (catalogue, seed 0) test" and result["n_reference"] == N
    assert result["judge_name"] == "in-memory ColourJudge" and 0 <= result["colour_accuracy"] <= 1
    outputs = metrics.judge_outputs(colour_judge, train.images)
    assert result["colour_accuracy"] == metrics.colour_accuracy(outputs.colour_logits, train.colours)
    assert result["label_accuracy"] == metrics.label_accuracy(outputs.logits, train.labels)
    same = metrics.evaluate_images(test.images, judge=colour_judge)
    assert same["fid"] == pytest.approx(0, abs=1e-6) and "colour_accuracy" not in same
    with pytest.raises(FashionGANError, match="cannot be scored by a colour judge"):
        metrics.evaluate_images(train.gray, judge=colour_judge)
    with pytest.raises(FashionGANError, match="colour accuracy needs the colour judge"):
        metrics.evaluate_images(train.images, colours=train.colours, judge=judge, reference=train.gray)
    baseline = metrics.floor(20, judge=colour_judge)
    assert baseline["n"] == 20 and 0 <= baseline["colour_accuracy"] <= 1

    hub.save_pretrained(tmp_path / "palette", {"classifier": colour_judge}, declared(
        "colour-judge", 3, classes=True, colours=True, train_config={"data": {"name": "colored", "mode": "palette", "seed": 3}}))
    loaded = metrics.load_judge(tmp_path / "palette")
    assert metrics.reference_set(loaded, "test").name == "coloured fashion-mnist (palette, seed 3) test"
    assert metrics.judge_name(loaded) == str(tmp_path / "palette")
    hub.save_pretrained(tmp_path / "pairs", {"classifier": colour_judge}, declared(
        "colour-judge", 3, classes=True, colours=True, train_config={"data": {"name": "pair", "path": "x"}}))
    with pytest.raises(FashionGANError, match="has no built-in reference set"):
        metrics.evaluate_images(train.images, judge=metrics.load_judge(tmp_path / "pairs"))


def test_evaluate_command_picks_the_colour_judge_for_rgb_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_coloured: dict[str, colored.ColoredSplit]
) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    evaluate_cli.register(app)
    train = small_coloured["train"]
    colour_judge = random_colour_judge(train.images[-100:])
    asked = []

    def load(source: str) -> nn.Module:
        asked.append(source)
        colour_judge.judge_source = source
        return colour_judge

    monkeypatch.setattr("fashiongan.metrics.features.load_judge", load)  # where evaluate finds it when called
    np.savez(tmp_path / "rgb.npz", images=train.images.transpose(0, 2, 3, 1)[:40], labels=train.labels[:40],
             colours=train.colours[:40])
    result = CliRunner().invoke(app, ["evaluate", "--images", str(tmp_path / "rgb.npz"), "--n", "30", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["images"]
    assert asked == ["pretrained:colour-judge"] and report["judge_name"] == "pretrained:colour-judge"
    assert 0 <= report["colour_accuracy"] <= 1 and report["n"] == 30
    table = Console(width=200, record=True)
    table.print(evaluate_cli._table({"images": report}))
    text = table.export_text()
    assert "scored by judge pretrained:colour-judge" in text and "colour accuracy" in text


def test_evaluate_command_scores_a_colour_generator_with_its_classes_and_colours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_coloured: dict[str, colored.ColoredSplit]
) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    evaluate_cli.register(app)
    colour_judge = random_colour_judge(small_coloured["train"].images[-100:])
    asked = []
    monkeypatch.setattr("fashiongan.metrics.features.load_judge", lambda source: asked.append(source) or colour_judge)
    torch.manual_seed(0)
    generator = nets.build("dcgan_generator", num_classes=10, num_colours=12, channels=3, width=8, hidden=32)
    hub.save_pretrained(tmp_path / "gen", {"generator": generator}, declared("acgan", 3, classes=True, colours=True))
    result = CliRunner().invoke(app, ["evaluate", "--checkpoint", str(tmp_path / "gen"), "--n", "24", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["images"]
    assert asked == ["pretrained:colour-judge"] and report["n"] == 24
    images, labels, colours = evaluate_cli.generated(str(tmp_path / "gen"), 24, 0)
    judged = metrics.judge_outputs(colour_judge, images)
    assert report["label_accuracy"] == metrics.label_accuracy(judged.logits, labels)
    assert report["colour_accuracy"] == metrics.colour_accuracy(judged.colour_logits, colours)
    per_colour = report["colour_conditions"]
    assert per_colour["names"] == colored.colour_names() and sum(map(sum, per_colour["confusion"])) == 24
    assert per_colour["lowest"]["accuracy"] == min(per_colour["accuracy"].values())
    assert sum(map(sum, report["label_conditions"]["confusion"])) == 24

    plotted = CliRunner().invoke(app, ["evaluate", "--checkpoint", str(tmp_path / "gen"), "--n", "24",
                                       "--plot", str(tmp_path / "asked.png")], terminal_width=200)
    assert plotted.exit_code == 0, plotted.output
    assert Image.open(tmp_path / "asked.png").size[0] > 1000  # two panels: classes and colours
    assert "lowest colour" in plotted.stdout and "per colour (asked vs judged)" in plotted.stdout
    assert f"{per_colour['lowest']['name']} {per_colour['lowest']['accuracy']:.1%}" in plotted.stdout


def test_a_swapped_pair_of_colours_hides_in_the_mean_and_shows_per_condition(
    small_coloured: dict[str, colored.ColoredSplit]
) -> None:
    """Red asked and pink drawn, pink asked and red drawn: the shipped colour judge still gives a high mean."""
    train = small_coloured["train"]
    red, pink = colored.colour_index("red"), colored.colour_index("pink")
    asked = train.colours.copy()
    asked[train.colours == red], asked[train.colours == pink] = pink, red
    result = metrics.evaluate_images(train.images, train.labels, asked, judge="pretrained:colour-judge")
    assert result["colour_accuracy"] > 0.85
    per = result["colour_conditions"]
    assert per["accuracy"]["red"] == per["accuracy"]["pink"] == 0 and per["lowest"] == {"name": "red", "accuracy": 0.0}
    assert per["confusion"][red][pink] == (train.colours == pink).sum() > 0  # rows: asked, columns: judged
    assert all(per["accuracy"][name] > 0.9 for name in per["accuracy"] if name not in ("red", "pink"))
    classes = result["label_conditions"]
    assert classes["names"] == list(fm.CLASSES) and len(classes["accuracy"]) == 10
    assert classes["lowest"]["accuracy"] == min(classes["accuracy"].values()) < result["label_accuracy"]
