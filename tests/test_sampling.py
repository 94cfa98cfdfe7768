"""Sampling from generator checkpoints: the library (`fashiongan.sampling.sample`) and `fashiongan sample`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from conftest import declared, write_idx_dir
from fashiongan import hub, nets, sampling
from fashiongan.cli import app
from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.train import fit, load_config

runner = CliRunner()
SMALL = {"width": 4, "hidden": 16}


def _generator_checkpoint(directory: Path, model: str, **kwargs) -> Path:
    """An (untrained) generator saved the way `fit` saves one: enough to sample from."""
    torch.manual_seed(0)
    generator = nets.build("dcgan_generator", z_dim=8, **SMALL, **kwargs)
    return hub.save_pretrained(directory, {"generator": generator}, declared(model, classes="num_classes" in kwargs))


@pytest.fixture(scope="module")
def dcgan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generator_checkpoint(tmp_path_factory.mktemp("ckpt") / "dcgan", "dcgan")


@pytest.fixture(scope="module")
def cgan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generator_checkpoint(tmp_path_factory.mktemp("ckpt") / "cgan", "cgan", num_classes=10)


# ---------------------------------------------------------------- library

def test_sample_gives_uint8_images_the_same_for_the_same_seed(dcgan: Path) -> None:
    images, labels = sampling.sample(dcgan, n=5, seed=1)
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8 and labels is None
    assert images.std() > 0  # not a blank page
    again = sampling.sample(str(dcgan), n=5, seed=1)
    assert np.array_equal(images, again.images)
    other = sampling.sample(dcgan, n=5, seed=2).images
    assert not np.array_equal(images, other)
    # A loaded generator works as well as a path, with the same result.
    assert np.array_equal(sampling.sample(sampling.load_generator(dcgan), n=5, seed=1).images, images)


def test_conditional_labels_by_name_index_list_or_cycling(cgan: Path) -> None:
    sneakers = sampling.sample(cgan, n=4, label="sneaker", seed=0)
    assert sneakers.labels.tolist() == [7] * 4
    assert np.array_equal(sampling.sample(cgan, n=4, label=7, seed=0).images, sneakers.images)
    cycled = sampling.sample(cgan, n=12, seed=0)
    assert cycled.labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    chosen = sampling.sample(cgan, n=3, label=["bag", 0, "Ankle boot"], seed=0)
    assert chosen.labels.tolist() == [8, 0, 9]
    # The label changes the image drawn from the same noise.
    assert not np.array_equal(sampling.sample(cgan, n=4, label="bag", seed=0).images, sneakers.images)


def test_bad_requests_are_one_line_errors(dcgan: Path, cgan: Path) -> None:
    with pytest.raises(FashionGANError, match=r"unconditional, so it takes no label; conditional models: acgan, acgan-catalogue, acgan-colour, "
                       r"acgan-colour-narrow, acgan-fast, acgan-narrow, acgan-small, cgan, flow, flow-colour, flow-distill, flow-fast-narrow, flow-narrow, infogan, projgan, projgan-fast "
                       r"\(ready to sample: pretrained:acgan, pretrained:acgan-colour, pretrained:acgan-fast, pretrained:acgan-narrow, pretrained:flow, pretrained:flow-colour, pretrained:flow-fast\)"):
        sampling.sample(dcgan, n=2, label="bag")
    with pytest.raises(FashionGANError, match="this model has no class 'scarf'; its classes: T-shirt/top, Trouser"):
        sampling.sample(cgan, n=2, label="scarf")
    with pytest.raises(FashionGANError, match="2 labels were given for 3 images"):
        sampling.sample(cgan, n=3, label=["bag", "coat"])
    for n in (0, -1, 2.5):
        with pytest.raises(FashionGANError, match="at least 1"):
            sampling.sample(dcgan, n=n)
    with pytest.raises(FashionGANError, match="at most 10000"):
        sampling.sample(dcgan, n=10_001)


def test_a_classifier_checkpoint_is_not_a_generator(tmp_path: Path) -> None:
    hub.save_pretrained(tmp_path / "cnn", {"classifier": nets.build("cnn", width=4)}, {"model": "classifier"})
    with pytest.raises(CheckpointError, match=r"holds a classifier \('classifier'\), not a generator"):
        sampling.sample(tmp_path / "cnn")


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cgan trained two steps with an EMA generator: a real training run, with its training state."""
    root = tmp_path_factory.mktemp("ema")
    data = write_idx_dir(root / "data", train=16, test=8)
    small = {"kwargs": SMALL}
    config = load_config("cgan", overrides={
        "nets": {"generator": small, "discriminator": small}, "data": {"data_dir": str(data)},
        "train": {"batch_size": 8, "epochs": None, "steps": 2, "ema_decay": 0.5, "samples": False},
    })
    fit(config, root / "run", progress=False)
    return root / "run"


def test_a_trained_checkpoint_samples_from_its_ema_generator(ema_run: Path) -> None:
    generator = sampling.load_generator(ema_run)
    assert hub.read_config(ema_run)["main"] == "generator_ema" and not generator.training
    images, labels = sampling.sample(ema_run, n=3, label="dress", seed=5)
    assert images.shape == (3, 28, 28) and labels.tolist() == [3, 3, 3]
    assert np.array_equal(images, sampling.sample(generator, n=3, label="dress", seed=5).images)


def test_export_keeps_only_the_ema_generator_and_half_halves_it(ema_run: Path, tmp_path: Path) -> None:
    full, half = tmp_path / "full", tmp_path / "half"
    for out, flags in ((full, []), (half, ["--half"])):
        result = runner.invoke(app, ["export", "--checkpoint", str(ema_run), "--out", str(out), *flags])
        assert result.exit_code == 0, result.output
        assert "exported generator_ema" in result.output
    assert sorted(p.name for p in half.iterdir()) == [hub.CONFIG_FILE, hub.WEIGHTS_FILE]  # no training state
    weights = hub.load_tensors(half / hub.WEIGHTS_FILE)
    assert {k.split(".")[0] for k in weights} == {"generator_ema"}
    assert {v.dtype for v in weights.values()} <= {torch.float16, torch.int64}
    run_config, exported = hub.read_config(ema_run), hub.read_config(half)
    assert exported["main"] == "generator_ema" and exported["train_config"] == run_config["train_config"]
    assert exported["training"] == {k: v for k, v in run_config["training"].items() if k != "param_groups"}
    assert exported["training"]["step"] == 2
    assert (half / hub.WEIGHTS_FILE).stat().st_size < 0.6 * (full / hub.WEIGHTS_FILE).stat().st_size

    reference = sampling.sample(ema_run, n=6, seed=2).images
    assert np.array_equal(sampling.sample(full, n=6, seed=2).images, reference)
    rounded = sampling.sample(half, n=6, seed=2).images.astype(int)
    assert np.abs(rounded - reference).mean() < 1.0  # float16 weights move pixels by rounding only


def test_export_refuses_to_overwrite_a_run(ema_run: Path, tmp_path: Path) -> None:
    for out in (ema_run, ema_run.parent / ".." / ema_run.parent.name / "run"):
        result = runner.invoke(app, ["export", "--checkpoint", str(ema_run), "--out", str(out)])
        assert result.exit_code == 1 and "not onto itself" in result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / hub.TRAINING_FILE).write_bytes(b"")
    result = runner.invoke(app, ["export", "--checkpoint", str(ema_run), "--out", str(other)])
    assert result.exit_code == 1 and "holds a training run" in result.output
    assert (other / hub.TRAINING_FILE).read_bytes() == b""


def test_the_shipped_generators_are_listed() -> None:
    assert sampling.shipped_generators() == [
        "pretrained:acgan", "pretrained:acgan-colour", "pretrained:acgan-fast", "pretrained:acgan-narrow", "pretrained:cvae",
        "pretrained:flow", "pretrained:flow-attributes", "pretrained:flow-colour", "pretrained:flow-fast"]


@pytest.mark.parametrize("source", ["pretrained:acgan-narrow", "pretrained:acgan-fast", "pretrained:acgan"])
def test_the_shipped_conditional_gans_make_the_requested_classes_offline(source: str) -> None:
    """The default (acgan-narrow) and the earlier acgan-fast and acgan are small, and the shipped judge sees the
    class each was asked for."""
    from fashiongan.metrics import label_accuracy, load_judge
    from fashiongan.metrics.features import extract

    weights = hub.resolve(source) / hub.WEIGHTS_FILE
    assert weights.stat().st_size < 5 * 2**20
    images, labels = sampling.sample(source, n=200, seed=0)
    assert images.shape == (200, 28, 28) and np.bincount(labels).tolist() == [20] * 10
    assert label_accuracy(extract(load_judge(), images)[1], labels) >= 0.9
    dresses = sampling.sample(source, n=20, label="dress", seed=1)
    assert (dresses.labels == CLASSES.index("Dress")).all()
    assert label_accuracy(extract(load_judge(), dresses.images)[1], dresses.labels) >= 0.8


def test_loaded_generators_sample_channels_last_with_the_images_of_the_default_layout() -> None:
    """load_generator stores conv weights channels-last (faster on CPU); the images stay those of NCHW weights."""
    net = sampling.load_generator("pretrained:acgan-fast")
    convs = [m.weight for m in net.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    fast = sampling.sample(net, n=200, seed=3).images.astype(int)
    plain = sampling.sample(net.to(memory_format=torch.contiguous_format), n=200, seed=3).images.astype(int)
    assert np.abs(fast - plain).max() <= 1 and (fast != plain).mean() < 1e-3


@pytest.mark.parametrize("source", ["pretrained:flow-fast", "pretrained:acgan-colour"])
def test_bfloat16_sampling_runs_in_bfloat16_and_draws_the_float32_images_to_within_a_few_grey_levels(source: str) -> None:
    net = sampling.load_generator(source)
    exact = sampling.sample(net, n=100, seed=3)
    fast = sampling.sample(net, n=100, seed=3, precision="bfloat16")
    difference = np.abs(fast.images.astype(int) - exact.images.astype(int))
    assert np.array_equal(fast.labels, exact.labels) and np.array_equal(fast.colours, exact.colours)
    assert difference.max() > 0  # the arithmetic did change
    assert difference.mean() < 1.0 and (difference > 4).mean() < 0.01
    assert next(net.parameters()).dtype == torch.float32  # the weights stay float32


def test_an_unknown_precision_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sample", "-c", "pretrained:flow-fast", "--precision", "half", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "precision must be one of float32, bfloat16, got 'half'" in result.output
    assert not (tmp_path / "x.png").exists()
    result = runner.invoke(app, ["sample", "-c", "pretrained:cvae", "--reconstruct", "--precision", "bfloat16",
                                 "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "--interpolate and --reconstruct run in float32" in result.output
    result = runner.invoke(app, ["evaluate", "--floor", "--precision", "bfloat16"])
    assert result.exit_code == 1 and "pass it with --checkpoint" in result.output


def test_resize_uses_nearest_for_whole_multiples_and_bicubic_otherwise() -> None:
    images = np.random.default_rng(0).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    doubled = sampling.resize(images, 56)
    assert doubled.shape == (2, 56, 56) and np.array_equal(doubled[:, ::2, ::2], images)
    assert np.array_equal(doubled[:, 1::2, 1::2], images)  # every pixel a crisp 2x2 square
    smooth = sampling.resize(images, 32)
    assert smooth.shape == (2, 32, 32) and smooth.dtype == np.uint8
    assert sampling.resize(images, 28) is images


# ---------------------------------------------------------------- CLI

def test_sample_cli_writes_a_grid(cgan: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    result = runner.invoke(app, ["sample", "--checkpoint", str(cgan), "--label", "sneaker", "--n", "6", "--size", "32",
                                 "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 6 images of Sneaker (32x32 px each)" in result.output
    grid = Image.open(out)
    assert grid.size == (6 * 34 + 2, 34 + 2)  # 6 tiles of 32 px in one row, 2 px padding


def test_sample_cli_writes_one_png_per_image_the_same_for_the_same_seed(cgan: Path, tmp_path: Path) -> None:
    args = ["sample", "--checkpoint", str(cgan), "--n", "3", "--size", "56", "--out-dir"]
    first = runner.invoke(app, [*args, str(tmp_path / "a"), "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["labels"] == list(CLASSES[:3])
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["00000-t-shirt-top.png", "00001-trouser.png", "00002-pullover.png"]
    assert Image.open(tmp_path / "a" / names[0]).size == (56, 56)
    assert runner.invoke(app, [*args, str(tmp_path / "b")]).exit_code == 0
    for name in names:
        assert np.array_equal(np.asarray(Image.open(tmp_path / "a" / name)), np.asarray(Image.open(tmp_path / "b" / name)))


def test_sample_cli_errors_and_cap(dcgan: Path, cgan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = ["--out", str(tmp_path / "x.png")]
    for args, expected in [
        (["--checkpoint", str(dcgan), "--label", "bag", *out], "unconditional, so it takes no label"),
        (["--checkpoint", str(cgan), "--label", "scarf", *out], "its classes: T-shirt/top, Trouser, Pullover"),
        (["--checkpoint", str(dcgan), "--n", "0", *out], "--n must be at least 1"),
        (["--checkpoint", str(dcgan), "--size", "4", *out], "--size must lie in 8-1024"),
        (["--checkpoint", str(dcgan)], "say where to write"),
        (["--checkpoint", str(tmp_path / "nothing"), *out], "is not a directory"),
        (["--checkpoint", "pretrained:nosuchgan", *out], "no shipped model 'nosuchgan'"),
        (["--checkpoint", str(dcgan), "--device", "tpu", *out], "unknown device 'tpu'"),
    ]:
        result = runner.invoke(app, ["sample", *args])
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.output and result.output.count("\n") == 1, (args, result.output)
    monkeypatch.setattr(sampling, "MAX_SAMPLES", 7)
    result = runner.invoke(app, ["sample", "--checkpoint", str(dcgan), "--n", "50", "--size", "28", *out])
    assert result.exit_code == 0, result.output
    assert "--n 50 is more than 7; writing 7 images" in result.output
    assert Image.open(tmp_path / "x.png").size == (7 * 30 + 2, 30 + 2)
