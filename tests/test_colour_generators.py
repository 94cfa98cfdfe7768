"""Colour generators: the first source's 64x64x3 DCGAN (dcgan-color64) and our class-and-colour
conditional ACGAN (acgan-colour), through the nets, the objective, the engine, sampling and the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

from conftest import declared, write_idx_dir
from fashiongan import hub, metrics, nets, objectives, sampling
from fashiongan.cli import app
from fashiongan.data import colored
from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.data.datasets import conditions
from fashiongan.errors import FashionGANError
from fashiongan.metrics import features
from fashiongan.nets.gan import Generator
from fashiongan.objectives.base import Context
from fashiongan.train import fit, load_config

runner = CliRunner()
TINY = {  # shrunk nets for engine runs; the full-size ones are built in the shape tests
    "acgan-colour": {"generator": {"kwargs": {"width": 8, "hidden": 32}}, "discriminator": {"kwargs": {"width": 8, "hidden": 32}}},
    "dcgan-color64": {"generator": {"kwargs": {"width": 8}}, "discriminator": {"kwargs": {"width": 8}}},
}
COLOURS = len(colored.catalogue())


def _build(name: str, tiny: bool = False) -> dict[str, torch.nn.Module]:
    config = load_config(name, overrides={"nets": TINY[name]} if tiny else None)
    torch.manual_seed(0)
    return {role: nets.build(spec["arch"], **spec.get("kwargs", {})) for role, spec in config.nets.items()}


def _in_range(images: torch.Tensor, shape: tuple[int, ...]) -> None:
    assert images.shape == shape and torch.isfinite(images).all() and images.min() >= -1 and images.max() <= 1


# ---------------------------------------------------------------- nets

def test_the_source_colour_dcgan_draws_64px_rgb_and_its_d_judges_it() -> None:
    built = _build("dcgan-color64")
    G, D = built["generator"].eval(), built["discriminator"]
    assert isinstance(G, Generator) and G.image_shape == (3, 64, 64) and G.z_dim == 100 and not G.num_classes
    bn = [m for m in G.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(bn) == 5 and all(m.momentum == 0.1 for m in bn)  # Keras' momentum 0.9
    convs = [m for m in G.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [128, 128, 64, 32, 3] and {m.kernel_size for m in convs} == {(5, 5)}
    d_convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(m.out_channels, m.stride) for m in d_convs] == [(64, (2, 2)), (128, (2, 2)), (256, (2, 2)), (512, (2, 2))]
    images = G.sample(2, generator=torch.Generator().manual_seed(0))
    _in_range(images, (2, 3, 64, 64))
    assert D(images).shape == (2, 1)
    assert load_config("dcgan-color64").data == {"name": "colored", "mode": "palette", "size": 64}


def test_the_conditional_colour_generator_takes_class_and_colour() -> None:
    built = _build("acgan-colour")
    G, D = built["generator"].eval(), built["discriminator"]
    assert G.image_shape == (3, 28, 28) and G.num_classes == 10 and G.num_colours == COLOURS
    rng = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    red = G.sample(3, [0, 4, 9], generator=rng(), colours=colored.colour_index("red"))
    _in_range(red, (3, 3, 28, 28))
    navy = G.sample(3, [0, 4, 9], generator=rng(), colours=[colored.colour_index("navy")] * 3)
    assert not torch.equal(red, navy)  # the colour changes what the same noise draws
    assert D(red).shape == (3, 1 + 10 + COLOURS)
    with pytest.raises(ValueError, match="colour-conditional: pass colours"):
        G.sample(2, [0, 1])
    with pytest.raises(ValueError, match="colours must lie in 0..11"):
        G.sample(2, [0, 1], colours=[0, COLOURS])
    with pytest.raises(ValueError, match="expected 2 colours"):
        G.sample(2, [0, 1], colours=[0, 1, 2])
    grey = nets.build("dcgan_generator", num_classes=10, width=4, hidden=8).eval()
    with pytest.raises(ValueError, match="grayscale-only: it takes no colours"):
        grey.sample(2, [0, 1], colours=[0, 1])


def test_one_channel_defaults_keep_the_shipped_checkpoint_loading() -> None:
    """channels/num_colours default to the old nets: pretrained:acgan's keys and shapes still fit."""
    generator = hub.from_pretrained("pretrained:acgan")
    assert generator.image_shape == (1, 28, 28) and generator.num_colours == 0
    assert sampling.sample("pretrained:acgan", n=2, seed=0).images.shape == (2, 28, 28)


# ---------------------------------------------------------------- objective

def test_acgan_adds_a_colour_head_for_generators_that_take_colours() -> None:
    built = _build("acgan-colour", tiny=True)
    objective = objectives.get("acgan")
    batch = {"image": torch.rand(8, 3, 28, 28) * 2 - 1, "label": torch.arange(8) % 10, "colour": torch.arange(8) % COLOURS}
    ctx = Context(step=0, hp=objective.hyperparameters({}), state={}, seed=0, device=torch.device("cpu"))
    d_phase, g_phase = objective.phases(ctx.hp)
    logged = d_phase.loss(built, batch, ctx)
    assert set(logged) == {"loss", "real_accuracy", "real_colour_accuracy"}
    logged["loss"].backward()
    last = built["discriminator"].net[-1]
    assert last.weight.grad[1 + 10:].abs().sum(1).gt(0).all()  # every colour logit is trained
    g_phase.loss(built, batch, ctx)["loss"].backward()
    first = built["generator"].fc[0]
    assert first.weight.grad[:, -COLOURS:].abs().sum() > 0  # G learns from its colour input

    wrong = {**built, "discriminator": nets.build("dcgan_discriminator", outputs=11, channels=3, width=8, hidden=32)}
    with pytest.raises(FashionGANError, match="needs 23"):
        d_phase.loss(wrong, batch, ctx)


def test_the_colour_report_shows_every_class_in_every_colour() -> None:
    built = _build("acgan-colour", tiny=True)
    for module in built["generator"].modules():  # weights large enough that every condition shows in uint8
        if isinstance(module, (torch.nn.Linear, torch.nn.ConvTranspose2d)):
            torch.nn.init.normal_(module.weight, 0, 0.5)
    ctx = Context(step=0, hp={}, state={}, seed=0, device=torch.device("cpu"), data=conditions({"name": "colored"}))
    report = objectives.get("acgan").report(built, ctx)
    assert report.grid.shape == (10 * COLOURS, 28, 28, 3) and report.nrow == COLOURS
    assert report.row_labels == list(CLASSES)
    rows = report.grid.reshape(10, COLOURS, 28, 28, 3)
    assert not np.array_equal(rows[0, 0], rows[0, 1]) and not np.array_equal(rows[0, 0], rows[1, 0])


# ---------------------------------------------------------------- engine

@pytest.mark.parametrize("name", ["acgan-colour", "dcgan-color64"])
def test_a_few_engine_steps_on_coloured_data_give_a_checkpoint_that_samples(
    name: str, real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = colored.load("test", "catalogue", 0, limit=200).images  # the colour judge's real statistics, cheaply
    monkeypatch.setattr(features, "reference_features", lambda judge, split="test", progress=False: metrics.extract(judge, few)[0])
    config = load_config(name, overrides={
        "nets": TINY[name], "data": {"limit": 64, "eval_split": None},
        "train": {"steps": 3, "epochs": None, "batch_size": 16, "samples": True,
                  "track_fid": {"n": 60, "every_minutes": None, "max_share": 1.0}},
    })
    slow = itertools.count(0, 100).__next__  # 100 s a reading: scoring is always affordable, whatever this machine's speed
    assert fit(config, tmp_path / "run", progress=False, clock=slow).steps == 3
    state = hub.load_tensors(tmp_path / "run" / hub.TRAINING_FILE)
    assert len(state["history.D/loss.value"]) == 3 and torch.isfinite(state["history.G/loss.value"]).all()
    if name == "acgan-colour":
        assert len(state["history.D/real_colour_accuracy.value"]) == 3
        scored = hub.read_config(tmp_path / "run")["metrics"]  # tracked by the colour judge: each mean beside its lowest
        assert 0 <= scored["colour_accuracy_lowest"] <= scored["colour_accuracy"] <= 1
        assert 0 <= scored["label_accuracy_lowest"] <= scored["label_accuracy"] <= 1
    grid = Image.open(next((tmp_path / "run" / "samples").glob("step_*.png")))
    assert grid.mode == "RGB"
    drawn = sampling.sample(tmp_path / "run", n=4, seed=0)
    assert drawn.images.shape == ((4, 28, 28, 3) if name == "acgan-colour" else (4, 64, 64, 3))


def test_resume_of_a_colour_model_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    data = write_idx_dir(tmp_path / "data", train=48, test=8)

    def config(steps: int):
        return load_config("acgan-colour", overrides={
            "nets": TINY["acgan-colour"], "data": {"data_dir": str(data)},
            "train": {"steps": steps, "epochs": None, "batch_size": 8, "samples": False},
        })

    fit(config(8), tmp_path / "whole", progress=False)
    fit(config(3), tmp_path / "part", progress=False)
    fit(config(8), tmp_path / "part", resume=tmp_path / "part", progress=False)
    for file in (hub.WEIGHTS_FILE, hub.TRAINING_FILE):
        whole, part = load_file(tmp_path / "whole" / file), load_file(tmp_path / "part" / file)
        assert sorted(whole) == sorted(part)
        assert not [k for k in whole if not torch.equal(whole[k], part[k])]


# ---------------------------------------------------------------- sampling

@pytest.fixture(scope="module")
def colour_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    generator = nets.build("dcgan_generator", z_dim=8, num_classes=10, num_colours=COLOURS, channels=3, width=4, hidden=16)
    return hub.save_pretrained(tmp_path_factory.mktemp("ckpt") / "colour", {"generator": generator}, declared("acgan", 3, classes=True, colours=True))


@pytest.fixture(scope="module")
def rgb_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    generator = nets.build("dcgan_color_generator", width=4)
    return hub.save_pretrained(tmp_path_factory.mktemp("ckpt") / "rgb", {"generator": generator}, declared("dcgan", 3, 64))


@pytest.fixture(scope="module")
def grey_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generator = nets.build("dcgan_generator", z_dim=8, num_classes=10, width=4, hidden=16)
    return hub.save_pretrained(tmp_path_factory.mktemp("ckpt") / "grey", {"generator": generator}, declared("cgan", classes=True))


def test_sample_a_colour_by_name_index_or_one_per_image(colour_ckpt: Path) -> None:
    coats = sampling.sample(colour_ckpt, n=4, label="coat", colour="burgundy", seed=3)
    assert coats.images.shape == (4, 28, 28, 3) and coats.images.dtype == np.uint8
    assert coats.labels.tolist() == [4] * 4 and coats.colours.tolist() == [colored.colour_index("burgundy")] * 4
    assert coats.colour_names == ["burgundy"] * 4 and coats.label_names == ["Coat"] * 4
    again = sampling.sample(colour_ckpt, n=4, label=4, colour=colored.colour_index("burgundy"), seed=3)
    assert np.array_equal(again.images, coats.images)
    images, labels = coats  # still unpacks as (images, labels)
    assert images is coats.images and labels is coats.labels
    mixed = sampling.sample(colour_ckpt, n=3, label=["bag", "dress", 0], colour=["navy", 0, "Denim-Blue"], seed=3)
    assert mixed.colours.tolist() == [3, 0, 4]
    assert not np.array_equal(sampling.sample(colour_ckpt, n=4, label="coat", colour="navy", seed=3).images, coats.images)


def test_without_a_colour_the_colours_cycle_and_auto_follows_the_class_prior(colour_ckpt: Path) -> None:
    every = sampling.sample(colour_ckpt, n=10 * COLOURS, seed=0)
    pairs = set(zip(every.labels.tolist(), every.colours.tolist()))
    assert len(pairs) == 10 * COLOURS  # every (class, colour) once
    assert every.colours[:12].tolist() == [0] * 10 + [1] * 2
    bags = sampling.sample(colour_ckpt, n=14, label="bag", seed=0)
    assert bags.colours.tolist() == [*range(COLOURS), 0, 1]
    auto = sampling.sample(colour_ckpt, n=400, label="ankle boot", colour="auto", seed=1)
    counts = np.bincount(auto.colours, minlength=COLOURS)
    prior = colored.class_priors()[CLASSES.index("Ankle boot")]
    assert counts.argmax() in (colored.colour_index("brown"), colored.colour_index("black"))
    assert abs(counts / 400 - prior).max() < 0.08
    assert np.array_equal(sampling.sample(colour_ckpt, n=400, label="ankle boot", colour="auto", seed=1).colours, auto.colours)


def test_an_rgb_generator_without_colour_input_samples_rgb(rgb_ckpt: Path) -> None:
    drawn = sampling.sample(rgb_ckpt, n=3, seed=0)
    assert drawn.images.shape == (3, 64, 64, 3) and drawn.labels is None and drawn.colours is None
    assert drawn.images.std() > 0


def test_bad_colour_requests_are_one_line_errors(colour_ckpt: Path, rgb_ckpt: Path, grey_ckpt: Path) -> None:
    with pytest.raises(FashionGANError, match="this model has no colour 'teal'; its colours: black, white, grey, navy.*, or auto"):
        sampling.sample(colour_ckpt, n=2, colour="teal")
    for checkpoint, kind in ((grey_ckpt, "grayscale items"), (rgb_ckpt, "RGB items in colours of its own")):
        with pytest.raises(FashionGANError, match=f"draws {kind}, so it takes no colour; models that take a colour: acgan-colour"):
            sampling.sample(checkpoint, n=2, colour="red")
    with pytest.raises(FashionGANError, match="2 colours were given for 3 images"):
        sampling.sample(colour_ckpt, n=3, label=["bag", "coat", "dress"], colour=["red", "navy"])
    with pytest.raises(FashionGANError, match="3 labels were given for 2 images"):
        sampling.sample(colour_ckpt, n=2, label=["bag", "coat", "dress"], colour=["red", "navy"])


def test_resize_handles_rgb() -> None:
    images = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 3), dtype=np.uint8)
    doubled = sampling.resize(images, 56)
    assert doubled.shape == (2, 56, 56, 3) and np.array_equal(doubled[:, ::2, ::2], images)
    assert sampling.resize(images, 40).shape == (2, 40, 40, 3)


# ---------------------------------------------------------------- CLI

def test_sample_cli_writes_an_rgb_grid_of_the_asked_class_and_colour(colour_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "coats.png"
    result = runner.invoke(app, ["sample", "--checkpoint", str(colour_ckpt), "--label", "coat", "--colour", "burgundy",
                                 "--n", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 4 RGB images of Coat in burgundy (56x56 px each)" in result.output
    grid = np.asarray(Image.open(out).convert("RGB"))
    expected = sampling.resize(sampling.sample(colour_ckpt, n=4, label="coat", colour="burgundy").images, 56)
    assert np.array_equal(grid[2:58, 2:58], expected[0])  # the first tile, in colour
    every = runner.invoke(app, ["sample", "--checkpoint", str(colour_ckpt), "--n", "24", "--size", "28", "--out", str(out)])
    assert every.exit_code == 0, every.output
    assert Image.open(out).size == (10 * 30 + 2, 3 * 30 + 2)  # a class per column, a colour per row


def test_sample_cli_file_names_carry_class_and_colour(colour_ckpt: Path, rgb_ckpt: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["sample", "--checkpoint", str(colour_ckpt), "--n", "2", "--label", "trouser",
                                 "--out-dir", str(tmp_path / "a"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["colours"] == ["black", "white"] and report["labels"] == ["Trouser"] * 2
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["00000-trouser-black.png", "00001-trouser-white.png"]
    assert Image.open(tmp_path / "a" / "00000-trouser-black.png").mode == "RGB"
    result = runner.invoke(app, ["sample", "--checkpoint", str(rgb_ckpt), "--n", "1", "--out-dir", str(tmp_path / "b"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["size"] == 128 and Image.open(tmp_path / "b" / "00000.png").size == (128, 128)


def test_sample_cli_colour_errors(colour_ckpt: Path, grey_ckpt: Path, tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "x.png")]
    for args, expected in [
        (["--checkpoint", str(grey_ckpt), "--colour", "red", *out], "models that take a colour: acgan-colour"),
        (["--checkpoint", str(colour_ckpt), "--colour", "teal", *out], "no colour 'teal'; its colours: black"),
    ]:
        result = runner.invoke(app, ["sample", *args])
        assert result.exit_code == 1 and expected in result.output and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "x.png").exists()


def test_models_shows_which_generators_draw_and_take_colour() -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["acgan-colour"]["channels"] == 3 and rows["acgan-colour"]["colour_conditional"]
    assert rows["acgan-colour"]["conditional"] and rows["acgan-colour"]["objective"] == "acgan"
    assert rows["dcgan-color64"]["channels"] == 3 and not rows["dcgan-color64"]["colour_conditional"]
    assert rows["dcgan"]["channels"] == 1 and not rows["dcgan"]["colour_conditional"]
    table = runner.invoke(app, ["models"])
    assert table.exit_code == 0 and "colour" in table.output and "chosen" in table.output


def test_the_shipped_colour_generator_draws_the_asked_class_and_colour_offline(tmp_path: Path) -> None:
    """pretrained:acgan-colour is small, and the colour judge sees the class and colour it was asked for."""
    from fashiongan.metrics.features import judge_outputs, load_judge

    assert (hub.resolve("pretrained:acgan-colour") / hub.WEIGHTS_FILE).stat().st_size < 5 * 2**20
    result = runner.invoke(app, ["sample", "--checkpoint", "pretrained:acgan-colour", "--label", "coat",
                                 "--colour", "burgundy", "--n", "8", "--out", str(tmp_path / "coats.png")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "coats.png").mode == "RGB"
    coats = sampling.sample("pretrained:acgan-colour", n=100, label="coat", colour="burgundy", seed=0)
    assert coats.images.shape == (100, 28, 28, 3)
    judged = judge_outputs(load_judge("pretrained:colour-judge"), coats.images)
    assert (judged.logits.argmax(1) == CLASSES.index("Coat")).float().mean() >= 0.8
    assert (judged.colour_logits.argmax(1) == colored.colour_index("burgundy")).float().mean() >= 0.8
