"""CycleGAN through the one engine: nets, the pool of fakes, exact resume, pair: folders, restyle and its metrics.

Tiny nets (width 4, one residual block) at 32 px on a few built-in fabric items or on a pair folder the
tests write; a handful of steps each.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

from fashiongan import hub, nets, restyle
from fashiongan.cli import app
from fashiongan.errors import FashionGANError
from fashiongan.metrics import fabric as fabric_metrics
from fashiongan.objectives import cyclegan
from fashiongan.objectives.base import Context
from fashiongan.train import Trainer, fit, load_config
from fashiongan.train.optimizers import lr_factor

runner = CliRunner()
TINY_G = {"kwargs": {"width": 4, "blocks": 1, "image_size": 32}}
TINY_D = {"kwargs": {"width": 4, "image_size": 32}}


class Killed(Exception):
    """Stands in for a process killed in the middle of a step."""


def tiny_config(data: dict | None = None, **train):
    return load_config("cyclegan", overrides={
        "data": data or {"limit": 8, "test_limit": 4, "size": 32},
        "nets": {"generator_ab": TINY_G, "generator_ba": TINY_G, "discriminator_a": TINY_D, "discriminator_b": TINY_D},
        "objective": {"pool_size": 3},
        "train": {"batch_size": 2, "epochs": None, "steps": 8, "checkpoint_every": 4, **train},
    })


def everything(directory: Path) -> dict[str, torch.Tensor]:
    return {**load_file(directory / hub.WEIGHTS_FILE),
            **{f"training.{k}": v for k, v in load_file(directory / hub.TRAINING_FILE).items()}}


def write_pair_folder(root: Path, counts: dict[str, int], size: tuple[int, int] = (40, 30)) -> Path:
    """trainA/trainB/testA/testB with ``counts`` images each: odd sizes and mixed modes (RGB, L, RGBA, P)."""
    rng = np.random.default_rng(0)
    for folder, count in counts.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (size[1] + i, size[0], 3), dtype=np.uint8)
            image = Image.fromarray(pixels)
            image = [image, image.convert("L"), image.convert("RGBA"), image.convert("P")][i % 4]
            image.save(root / folder / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, _real_data_location) -> Path:
    """A tiny CycleGAN trained 8 steps on the built-in fabrics (real Fashion-MNIST items)."""
    directory, cache = _real_data_location
    out = tmp_path_factory.mktemp("cyclegan") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHIONGAN_DATA", str(directory))
        mp.setenv("FASHIONGAN_CACHE", str(cache))
        fit(tiny_config(), out, progress=False)
    return out


# ---------------------------------------------------------------- nets

def test_resnet_generator_keeps_any_size_and_has_the_asked_blocks() -> None:
    six = nets.build("resnet_generator", blocks=6, width=8, image_size=64)
    nine = nets.build("resnet_generator", blocks=9, width=8, image_size=64)
    assert sum(isinstance(m, nets.resnet.ResidualBlock) for m in six.modules()) == 6
    assert sum(isinstance(m, nets.resnet.ResidualBlock) for m in nine.modules()) == 9
    assert any(isinstance(m, torch.nn.ReflectionPad2d) for m in six.modules())
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in six.modules())
    for shape in ((2, 3, 64, 64), (1, 3, 30, 45), (1, 3, 9, 13)):
        out = six(torch.rand(shape) * 2 - 1)
        assert out.shape == shape and out.abs().max() <= 1
    grey_to_rgb = nets.build("resnet_generator", in_channels=1, out_channels=3, width=4, blocks=1, image_size=32)
    assert grey_to_rgb(torch.zeros(1, 1, 32, 32)).shape == (1, 3, 32, 32)


def test_discriminators_the_source_one_scores_images_and_the_patchgan_patches() -> None:
    source = nets.build("source_discriminator")
    convs = [m for m in source.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1)]
    assert all(m.negative_slope == 0.2 for m in source.modules() if isinstance(m, torch.nn.LeakyReLU))
    assert source(torch.zeros(2, 3, 64, 64)).shape == (2, 1)
    patch = nets.build("patchgan", in_channels=3, image_size=64, norm="instance", width=8)
    assert patch(torch.zeros(2, 3, 64, 64)).shape == (2, 1, 6, 6)
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in patch.modules())
    assert nets.build("patchgan", in_channels=3, image_size=32, norm="instance", width=8).n_layers == 2


# ---------------------------------------------------------------- objective

def test_the_pool_shows_new_fakes_while_filling_then_swaps_about_half() -> None:
    ctx = Context(step=0, hp={"pool_size": 4}, state={}, seed=0, device=torch.device("cpu"))
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 2, 2)
    assert torch.equal(cyclegan.query_pool(ctx, "a", first), first)
    assert torch.equal(ctx.state["pool_a"], first)
    torch.manual_seed(0)
    swaps = 0
    for value in range(100, 140):
        new = torch.full((1, 3, 2, 2), float(value))
        shown = cyclegan.query_pool(ctx, "a", new)
        swaps += not torch.equal(shown, new)
        assert len(ctx.state["pool_a"]) == 4
    assert 10 <= swaps <= 30
    assert (ctx.state["pool_a"] >= 100).any()  # new fakes entered the pool
    off = Context(step=0, hp={"pool_size": 0}, state={}, seed=0, device=torch.device("cpu"))
    assert torch.equal(cyclegan.query_pool(off, "a", first), first) and off.state == {}


def test_linear_decay_holds_the_rate_for_half_the_run_then_falls_to_zero() -> None:
    factors = [lr_factor("linear_decay", step, 100) for step in (0, 25, 50, 75, 99, 100)]
    assert factors == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.02, 0.0])


def test_bad_objective_settings_are_rejected_before_training() -> None:
    with pytest.raises(FashionGANError, match="objective.domains"):
        load_config("cyclegan", overrides={"objective": {"domains": ["denim", "Denim"]}})
    with pytest.raises(FashionGANError, match="objective.identity"):
        load_config("cyclegan", overrides={"objective": {"identity": -1}})
    with pytest.raises(FashionGANError, match="unknown setting objective.lambda_a"):
        load_config("cyclegan", overrides={"objective": {"lambda_a": 10}})


def test_the_packaged_configs_build_their_nets() -> None:
    for name in ("cyclegan", "cyclegan-source", "cyclegan-resnet9", "cyclegan-source-d"):
        config = load_config(name)
        with torch.device("meta"):
            built = {role: nets.build(spec["arch"], **spec.get("kwargs", {})) for role, spec in config.nets.items()}
        assert set(built) == set(cyclegan.ROLES)
    source = load_config("cyclegan-source")
    assert source.optim["generator"]["lr"] == 0.002 and source.train["batch_size"] == 10
    assert source.nets["discriminator_a"]["arch"] == "source_discriminator"
    assert source.data["size"] == 286 and source.data["augment"]["crop"] == 256


# ---------------------------------------------------------------- training through the engine

def test_training_saves_both_generators_for_inference_and_the_pools_for_resume(trained: Path) -> None:
    config = hub.read_config(trained)
    assert config["main"] == "generator_ab" and set(config["nets"]) == {"generator_ab", "generator_ba"}
    state = load_file(trained / hub.TRAINING_FILE)
    assert state["state.pool_a"].shape == (3, 3, 32, 32) and state["state.pool_b"].shape == (3, 3, 32, 32)
    assert not any(k.startswith("state.fresh") for k in state)
    assert {"net.discriminator_a.net.0.weight", "history.G/cycle_a.value", "history.D/d_b.value"} <= set(state)
    assert (trained / "samples" / "step_00000008.png").is_file()
    metrics = config["metrics"]
    assert 0 <= metrics["cycle_l1_a"] <= 1 and 0 <= metrics["truth_l1_ab"] <= 1


def test_export_keeps_both_generators(trained: Path, tmp_path: Path) -> None:
    out = hub.export(trained, tmp_path / "shipped", half=True)
    weights = load_file(out / hub.WEIGHTS_FILE)
    assert {k.split(".")[0] for k in weights} == {"generator_ab", "generator_ba"}
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
    assert not (out / hub.TRAINING_FILE).exists()
    assert restyle.load(out).domains == ("leather", "denim")


def test_an_ema_run_keeps_an_average_of_both_generators_and_restyle_samples_with_them(real_data: Path, tmp_path: Path) -> None:
    fit(tiny_config(ema_decay=0.9, steps=4, samples=False), tmp_path / "run", progress=False)
    config = hub.read_config(tmp_path / "run")
    assert config["roles"] == {"generator_ab": "generator_ab_ema", "generator_ba": "generator_ba_ema"}
    assert config["main"] == "generator_ab_ema"
    state = load_file(tmp_path / "run" / hub.TRAINING_FILE)
    assert {"net.ema.module.net.1.weight", "net.generator_ba_ema.module.net.1.weight"} <= set(state)
    out = hub.export(tmp_path / "run", tmp_path / "shipped")
    assert set(hub.read_config(out)["nets"]) == {"generator_ab_ema", "generator_ba_ema"}
    translator = restyle.load(out)
    averaged = hub.load_checkpoint(tmp_path / "run")
    for direction, role in (("ab", "generator_ab"), ("ba", "generator_ba")):
        expected = averaged.nets[role + hub.EMA_SUFFIX].state_dict()
        assert all(torch.equal(v, expected[k]) for k, v in translator.generators[direction].state_dict().items())
        live = averaged.nets[role].state_dict()
        assert any(not torch.equal(v, live[k]) for k, v in expected.items() if v.is_floating_point())


def test_resume_with_the_pool_matches_an_uninterrupted_run(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fit(tiny_config(), tmp_path / "whole", progress=False)
    original = Trainer.run_phase

    def dying(self, phase, batch):
        if self.ctx.step == 5 and phase.name == "D":  # G of step 5 has run and stashed its fakes
            raise Killed("killed")
        return original(self, phase, batch)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "run_phase", dying)
        with pytest.raises(Killed):
            fit(tiny_config(), tmp_path / "crashed", progress=False)
    assert hub.read_config(tmp_path / "crashed")["training"]["step"] == 4
    fit(tiny_config(), tmp_path / "crashed", resume=tmp_path / "crashed", progress=False)
    whole, resumed = everything(tmp_path / "whole"), everything(tmp_path / "crashed")
    assert sorted(whole) == sorted(resumed)
    assert not [k for k in whole if not torch.equal(whole[k], resumed[k])]
    assert "training.state.pool_b" in whole


def test_cli_trains_on_a_pair_folder_with_any_sizes_and_modes(tmp_path: Path) -> None:
    root = write_pair_folder(tmp_path / "pairs", {"trainA": 5, "trainB": 3, "testA": 2, "testB": 2})
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps({
        "data": {"size": 32},
        "nets": {"generator_ab": TINY_G, "generator_ba": TINY_G, "discriminator_a": TINY_D, "discriminator_b": TINY_D},
    }))
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--model", "cyclegan", "--config", str(config), "--data", f"pair:{root}",
                                 "--steps", "3", "--batch-size", "2", "--threads", "1", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    saved = hub.read_config(out)["train_config"]["data"]
    assert saved["name"] == "pair" and saved["path"] == str(root)
    assert set(hub.read_config(out)["nets"]) == {"generator_ab", "generator_ba"}


def test_pair_data_whose_channels_do_not_fit_the_nets_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    root = write_pair_folder(tmp_path / "pairs", {"trainA": 2, "trainB": 2})
    config = tiny_config({"name": "pair", "path": str(root), "size": 32, "channels": 1})
    with pytest.raises(FashionGANError, match=r"domain A's images have 1 channels but nets.generator_ab has in_channels 3"):
        fit(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- restyle

def test_restyle_keeps_the_size_and_alpha_of_odd_images(trained: Path, tmp_path: Path) -> None:
    rgba = Image.fromarray(np.random.default_rng(0).integers(0, 256, (37, 53, 4), dtype=np.uint8), "RGBA")
    rgba.save(tmp_path / "odd.png")
    Image.fromarray(np.full((20, 11), 40000, dtype=np.uint16)).save(tmp_path / "deep.png")
    Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8)).convert("P").save(tmp_path / "palette.gif")
    results = restyle.restyle(trained, [tmp_path / "odd.png", tmp_path / "deep.png", tmp_path / "palette.gif"], "Denim")
    assert [r.translated.shape for r in results] == [(37, 53, 3), (20, 11, 3), (16, 16, 3)]
    assert results[0].reconstructed.shape == (37, 53, 3)
    assert results[0].image().mode == "RGBA" and results[1].image().mode == "RGB"
    assert np.array_equal(np.asarray(results[0].image())[..., 3], np.asarray(rgba)[..., 3])
    assert results[1].original.max() == round(40000 / 65535 * 255)  # 16-bit read at its depth


def test_restyle_cli_writes_a_folder_and_a_triplet_figure(trained: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, size in enumerate(((30, 40), (64, 64), (90, 20))):
        Image.fromarray(np.full((size[1], size[0], 3), 60 * i, dtype=np.uint8)).save(folder / f"item{i}.jpg")
    (folder / "notes.txt").write_text("not an image, and not an image suffix: left alone")
    result = runner.invoke(app, ["restyle", "-c", str(trained), "--input", str(folder), "--to", "leather",
                                 "--out", str(tmp_path / "out"), "--triplet", str(tmp_path / "triplet.png"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["from"] == "denim" and len(report["images"]) == 3
    for i, size in enumerate(((30, 40), (64, 64), (90, 20))):
        assert Image.open(tmp_path / "out" / f"item{i}.png").size == size
    figure = Image.open(tmp_path / "triplet.png")
    assert figure.width > 3 * restyle.TILE and figure.height > 3 * restyle.TILE


def test_restyle_cli_on_the_built_in_test_items(trained: Path, tmp_path: Path, real_data: Path) -> None:
    result = runner.invoke(app, ["restyle", "-c", str(trained), "--to", "denim", "--n", "2", "--triplet", str(tmp_path / "t.png")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "t.png").height > 2 * restyle.TILE


@pytest.mark.parametrize("case, message", [
    ("to", "translates between leather and denim; --to must name one of them, got 'silk'"),
    ("not-image", "is not an image Pillow can read"),
    ("tiny", "is 2x1 px; it needs at least 8 px a side"),
    ("missing", "does not exist"),
    ("not-translation", "not a translation model"),
])
def test_restyle_bad_input_is_one_line_and_writes_nothing(trained: Path, tmp_path: Path, case: str, message: str) -> None:
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8)).save(good)
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8)).save(folder / "a.png")
    checkpoint, to, source = str(trained), "denim", str(folder)
    if case == "to":
        to = "silk"
    elif case == "not-image":
        (folder / "b.png").write_text("this is text")
    elif case == "tiny":
        Image.fromarray(np.zeros((1, 2, 3), dtype=np.uint8)).save(folder / "b.png")
    elif case == "missing":
        source = str(tmp_path / "nowhere.png")
    else:
        checkpoint = "pretrained:fabric-classifier"
    result = runner.invoke(app, ["restyle", "-c", checkpoint, "--input", source, "--to", to, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and message in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- metrics

def tiny_colour_judge() -> torch.nn.Module:
    return nets.build("colour_judge", in_channels=3, width=4, feature_dim=8, num_colours=12).eval()


def test_translation_scores_per_direction_with_identity_floor_and_truth_ceiling(trained: Path, real_data: Path) -> None:
    scores = fabric_metrics.evaluate_translation(restyle.load(trained), n=6, judge=tiny_colour_judge())
    assert scores["fabric_judge"] == "pretrained:fabric-classifier"
    for direction in ("leather->denim", "denim->leather"):
        model, identity, truth = (scores[direction][k] for k in ("model", "identity", "truth"))
        assert model["n"] == 6 and 0 <= model["fabric_accuracy"] <= 1 and 0 <= model["cycle_l1"] <= 1
        assert 0 <= model["truth_ssim"] <= 1 and model["kid_mean"] == model["kid_mean"]
        assert identity["mask_iou"] == 1.0 and identity["fabric_accuracy"] == 0.0 and "cycle_l1" not in identity
        assert identity["garment_agreed"] == 1.0 and 0 <= model["garment_agreed"] <= 1  # the input agrees with itself
        assert identity["truth_l1"] > 0.05  # the input is not already the target fabric
        assert truth["fabric_accuracy"] == 1.0 and truth["mask_iou"] > 0.9


def test_evaluate_cli_scores_a_translation_checkpoint(trained: Path, real_data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fabric_metrics, "load_judge", lambda source: tiny_colour_judge())
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(trained), "--n", "4", "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert set(scores["leather->denim"]) == {"model", "identity", "truth"}
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(trained), "--n", "4"])
    assert result.exit_code == 0 and "fabric accuracy" in result.output and "leather->denim" in result.output
