"""The colorizer: U-Net and PatchGAN shapes, the pix2pix objective through the engine, the colorize
library (any size and mode in, the input's size out, detail carried) and `fashiongan colorize` on
good and bad inputs. Nets are shrunk (``TINY``) so that every test takes seconds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from kornia.filters import gaussian_blur2d
from PIL import Image
from typer.testing import CliRunner

from fashiongan import colorize as lib
from fashiongan import hub, nets, objectives
from fashiongan.cli import app
from fashiongan.data import colored
from fashiongan.data.datasets import conditions
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.nets.patchgan import fitted_layers
from fashiongan.objectives import pix2pix
from fashiongan.objectives.base import Context
from fashiongan.train import fit, load_config

runner = CliRunner()
TINY = {"generator": {"kwargs": {"width": 4}}, "discriminator": {"kwargs": {"width": 4}}}
COLOURS = len(colored.catalogue())


# ---------------------------------------------------------------- nets

@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("num_colours", [0, COLOURS])
def test_unet_keeps_the_size_and_stays_in_range(size: int, num_colours: int) -> None:
    torch.manual_seed(0)
    net = nets.build("unet", num_colours=num_colours, width=4, image_size=size).eval()
    gray = torch.rand(3, 1, size, size) * 2 - 1
    colour = torch.tensor([0, 5, COLOURS]) if num_colours else None
    out = net(gray, colour)
    assert out.shape == (3, 3, size, size) and out.abs().max() <= 1
    rgb = net.to_rgb(out)
    assert rgb.shape == (3, 3, size, size) and rgb.min() >= -1 and rgb.max() <= 1
    torch.testing.assert_close(net.to_rgb(net.from_rgb(rgb)), rgb, atol=1e-4, rtol=0)


def test_unet_colour_changes_the_output_and_is_checked() -> None:
    torch.manual_seed(0)
    net = nets.build("unet", num_colours=COLOURS, width=4).eval()
    gray = torch.rand(2, 1, 28, 28) * 2 - 1
    assert not torch.allclose(net(gray, torch.tensor([0, 0])), net(gray, torch.tensor([3, 3])))
    with pytest.raises(ValueError, match="conditional"):
        net(gray)
    with pytest.raises(ValueError, match="unconditional"):
        nets.build("unet", width=4)(gray, torch.tensor([0, 0]))


@pytest.mark.parametrize(("size", "layers", "patches"), [(28, 2, 5), (32, 2, 6), (64, 3, 6)])
def test_patchgan_depth_fits_the_image(size: int, layers: int, patches: int) -> None:
    assert fitted_layers(size) == layers
    d = nets.build("patchgan", width=4, image_size=size)
    logits = d(torch.zeros(2, 1, size, size), torch.zeros(2, 3, size, size))
    assert logits.shape == (2, 1, patches, patches)


def test_patchgan_refuses_a_depth_that_collapses_the_image() -> None:
    with pytest.raises(CheckpointError, match="does not fit"):
        nets.build("patchgan", n_layers=4, image_size=28)
    with pytest.raises(FashionGANError, match="^nets.discriminator: architecture 'patchgan': n_layers 4 does not fit"):
        load_config("colorizer", overrides={"nets": {"discriminator": {"kwargs": {"n_layers": 4}}}})


# ---------------------------------------------------------------- objective

def _setup(name: str = "colorizer", batch_size: int = 8, **hp):
    torch.manual_seed(0)
    config = load_config(name, overrides={"nets": TINY, "objective": hp})
    built = {role: nets.build(spec["arch"], **spec.get("kwargs", {})) for role, spec in config.nets.items()}
    rgb = torch.rand(batch_size, 3, 28, 28) * 2 - 1
    batch = {"image": rgb, "gray": rgb.mean(1, keepdim=True), "colour": torch.arange(batch_size) % COLOURS,
             "label": torch.arange(batch_size) % 10}
    ctx = Context(step=0, hp=config.objective, state={}, seed=0, device=torch.device("cpu"), data=conditions(config.data))
    return built, batch, ctx


def test_each_phase_moves_only_its_own_net() -> None:
    built, batch, ctx = _setup()
    d_phase, g_phase = objectives.get("pix2pix").phases(ctx.hp)
    d_phase.loss(built, batch, ctx)["loss"].backward()
    assert all(p.grad is None for p in built["generator"].parameters())
    assert any(p.grad is not None for p in built["discriminator"].parameters())
    built["discriminator"].zero_grad(set_to_none=True)
    losses = g_phase.loss(built, batch, ctx)
    losses["loss"].backward()
    assert all(p.grad is None for p in built["discriminator"].parameters())
    parts = losses["gan"].item() + 100 * losses["l1"].item() + losses.get("picker", torch.zeros(())).item()
    assert losses["loss"].item() == pytest.approx(parts, rel=1e-5)


def test_the_picker_learns_each_items_colour() -> None:
    built, batch, ctx = _setup()
    g_phase = objectives.get("pix2pix").phases(ctx.hp)[1]
    losses = g_phase.loss(built, batch, ctx)
    expected = F.cross_entropy(built["generator"].colour_logits(batch["gray"]), batch["colour"])
    assert losses["picker"].item() == pytest.approx(expected.item(), rel=1e-4)
    built, batch, ctx = _setup("colorizer-source")
    assert "picker" not in g_phase.loss(built, batch, ctx)


def test_auto_paints_the_colour_the_picker_names() -> None:
    torch.manual_seed(0)
    net = nets.build("unet", num_colours=COLOURS, width=4).eval()
    gray = torch.rand(6, 1, 28, 28) * 2 - 1
    picked = net.pick_colour(gray)
    assert net.colour_logits(gray).shape == (6, COLOURS) and picked.max() < COLOURS
    torch.testing.assert_close(net(gray, torch.full((6,), COLOURS)), net(gray, picked))
    with pytest.raises(ValueError, match="unconditional"):
        nets.build("unet", width=4).colour_logits(gray)


@pytest.mark.parametrize("name", ["colorizer", "colorizer-source"])
def test_report_shows_grey_truth_and_each_colour_asked(name: str) -> None:
    built, batch, ctx = _setup(name, batch_size=20)
    ctx.eval_data = batch
    report = pix2pix.report(built, ctx)
    columns = 3 + COLOURS if name == "colorizer" else 3  # grey, truth, auto then every colour (or the one output)
    assert report.nrow == columns and report.grid.shape == (pix2pix.REPORT_ITEMS * columns, 28, 28, 3)
    assert report.row_labels[:2] == ["T-shirt/top", "Trouser"]
    assert np.array_equal(report.grid[0], np.repeat(report.grid[0][..., :1], 3, axis=-1))  # the grey input
    expected = {"l1", "delta_e", "colour_accuracy"} | ({"picker_accuracy"} if name == "colorizer" else set())
    assert set(report.metrics) == expected
    assert built["generator"].training  # left as it was found


@pytest.mark.parametrize(("hp", "message"), [({"l1": -1}, "objective.l1"),
                                              ({"lambda": 3}, "unknown setting objective.lambda"), ({"picker": -1}, "objective.picker")])
def test_bad_hyperparameters_are_refused_before_training(hp: dict, message: str) -> None:
    with pytest.raises(FashionGANError, match=message):
        load_config("colorizer", overrides={"objective": hp})


@pytest.mark.parametrize(("name", "size"), [("colorizer", 28), ("colorizer-source", 28), ("colorizer", 32)])
def test_a_few_engine_steps_give_a_colorizer(name: str, size: int, real_data: Path, tmp_path: Path) -> None:
    sized = {role: {"kwargs": {**TINY[role]["kwargs"], "image_size": size}} for role in TINY}
    config = load_config(name, overrides={
        "nets": sized, "data": {"limit": 48, "size": size},
        "train": {"steps": 3, "batch_size": 8, "epochs": None, "samples": True},
    })
    result = fit(config, tmp_path / "run", progress=False)
    assert result.steps == 3
    assert np.isfinite(result.metrics["l1"]) and np.isfinite(result.metrics["delta_e"])
    assert 0 <= result.metrics["colour_accuracy"] <= 1
    assert len(list((tmp_path / "run" / "samples").glob("*.png"))) == 1
    model = lib.load_colorizer(tmp_path / "run")
    assert model.conditional == (name == "colorizer") and model.net.image_size == size
    gray = colored.load("test", limit=2).gray
    assert model(gray, None if name != "colorizer" else "navy").rgb.shape == (2, 28, 28, 3)


# ---------------------------------------------------------------- library

@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An untrained conditional and unconditional colorizer, saved as checkpoints (what the CLI needs)."""
    root = tmp_path_factory.mktemp("colorizers")
    made = {}
    for name, colours in (("conditional", COLOURS), ("unconditional", 0)):
        torch.manual_seed(0)
        net = nets.build("unet", in_channels=1, out_channels=3, num_colours=colours, width=4, image_size=28)
        made[name] = hub.save_pretrained(root / name, {"generator": net.eval()}, {"model": "pix2pix"})
    return made


def _save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def _item(size: tuple[int, int] = (28, 28), period: float = 12.0) -> Image.Image:
    """A garment-like grey image: a bright blob on black, striped with ``period`` px stripes."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    blob = ((xx - w / 2) ** 2 / (w / 3) ** 2 + (yy - h / 2) ** 2 / (h / 3) ** 2) < 1
    texture = 150 + 60 * np.sin(2 * np.pi * (xx + yy) / period)
    return Image.fromarray((blob * texture).astype(np.uint8), mode="L")


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "I;16", "1"])
def test_every_image_mode_reads_as_luminance(mode: str, tmp_path: Path) -> None:
    base = _item((33, 21))
    if mode == "I;16":
        image = Image.fromarray(np.asarray(base, dtype=np.uint16) * 257)
    else:
        image = base.convert(mode)
    read = lib.read_image(_save(image, tmp_path / "x.png"))
    assert read.gray.shape == (21, 33) and read.gray.dtype == np.float32
    expected = np.asarray(base.convert(mode).convert("L") if mode != "I;16" else base, dtype=np.float32) / 255
    assert np.abs(read.gray - expected).max() < 0.02 and read.notes == []


def test_transparent_pixels_count_as_background(tmp_path: Path) -> None:
    image = Image.new("RGBA", (8, 8), (255, 255, 255, 0))
    image.putpixel((2, 2), (255, 255, 255, 255))
    gray = lib.read_image(_save(image, tmp_path / "a.png")).gray
    assert gray[2, 2] == 1 and gray.sum() == 1


def test_odd_sized_jpeg_comes_back_at_its_size(checkpoints, tmp_path: Path) -> None:
    path = _save(_item((37, 53)).convert("RGB"), tmp_path / "odd.jpg", quality=95)
    result = lib.colorize(checkpoints["conditional"], path, "burgundy")
    assert result.rgb.shape == (53, 37, 3) and result.rgb.dtype == np.uint8 and result.painted == ["burgundy"]


def test_full_resolution_detail_survives_the_carry() -> None:
    """Painting at 28 px and carrying to 112 px keeps the 112 px texture (a bilinear upscale loses it),
    and the result averaged back down to 28 px is still the 28 px painting."""
    gray = torch.from_numpy(np.asarray(_item((112, 112), period=3), dtype=np.float32) / 255)[None, None]
    small = F.interpolate(gray, size=(28, 28), mode="area")
    painted = colored.paint(small, colored.colour_lab([colored.colour_index("red")]))
    carried = torch.from_numpy(lib.carry(small, painted, gray)).permute(0, 3, 1, 2).float() / 255
    upscaled = F.interpolate(painted, size=(112, 112), mode="bilinear", align_corners=False)

    def detail(rgb: torch.Tensor) -> float:
        high = lambda x: (x - gaussian_blur2d(x, (9, 9), (2.0, 2.0)))[gray > 0.05]  # noqa: E731
        return float(torch.corrcoef(torch.stack([high(gray), high(rgb.mean(1, keepdim=True))]))[0, 1])

    assert detail(carried) > 0.6 > 0.3 > detail(upscaled)
    back = F.interpolate(carried, size=(28, 28), mode="area")
    assert (back - painted).abs()[(small > 0.05).expand(-1, 3, -1, -1)].mean() < 0.03


def test_huge_images_are_capped_or_refused(checkpoints, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lib, "LIMITS", replace(lib.LIMITS, max_side=40))
    path = _save(_item((100, 60)), tmp_path / "wide.png")
    read = lib.read_image(path)
    assert read.gray.shape == (24, 40) and "over 40 px a side, read at 40x24" in read.notes[0]
    jpeg = lib.read_image(_save(_item((100, 60)), tmp_path / "wide.jpg"))
    assert jpeg.gray.shape == (24, 40)
    monkeypatch.setattr(lib, "LIMITS", replace(lib.LIMITS, max_pixels=5000))
    with pytest.raises(FashionGANError, match="megapixels"):
        lib.read_image(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own guard (2x this raises, 1x warns)
    monkeypatch.setattr(lib, "LIMITS", replace(lib.LIMITS, max_pixels=10**9))
    with pytest.raises(FashionGANError, match="too large to decode safely"):
        lib.read_image(path)


def test_colours_are_checked_against_the_checkpoint(checkpoints) -> None:
    conditional, unconditional = (lib.load_colorizer(checkpoints[k]) for k in ("conditional", "unconditional"))
    assert conditional.colour_index(None) == COLOURS and conditional.colour_index("Denim-Blue") == 4
    with pytest.raises(FashionGANError, match="choose one of: black, .*auto"):
        conditional.colour_index("teal")
    with pytest.raises(FashionGANError, match="unconditional"):
        unconditional.colour_index("navy")
    assert unconditional.colour_index(None) is None
    with pytest.raises(CheckpointError, match="not a colorizer"):
        lib.load_colorizer("pretrained:evaluator")


# ---------------------------------------------------------------- CLI

def _ok(*args: str):
    result = runner.invoke(app, ["colorize", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def _user_error(*args: str) -> str:
    result = runner.invoke(app, ["colorize", *args])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_cli_colours_an_odd_jpeg_and_a_grey_png(checkpoints, tmp_path: Path) -> None:
    jpeg = _save(_item((37, 53)).convert("RGB"), tmp_path / "odd.jpg")
    png = _save(_item(), tmp_path / "item.png")
    ck = str(checkpoints["conditional"])
    out = json.loads(_ok("-c", ck, "--input", str(jpeg), "--colour", "navy", "--out", str(tmp_path / "a.png"), "--json").stdout)
    assert out["asked"] == "navy" and out["images"][0]["colour"] == "navy"
    assert out["images"][0]["width"] == 37 and out["images"][0]["height"] == 53
    written = Image.open(tmp_path / "a.png")
    assert written.size == (37, 53) and written.mode == "RGB"
    _ok("-c", ck, "--input", str(png), "--out", str(tmp_path / "b.jpg"))
    assert Image.open(tmp_path / "b.jpg").size == (28, 28)
    _ok("-c", str(checkpoints["unconditional"]), "--input", str(png), "--out", str(tmp_path / "c.png"))
    assert Image.open(tmp_path / "c.png").mode == "RGB"


def test_cli_colours_a_folder(checkpoints, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _save(_item((30, 40)), folder / "a.png")
    _save(_item((50, 20)).convert("RGB"), folder / "a.jpg")
    _save(_item(), folder / "b.png")
    (folder / "notes.txt").write_text("not an image, and not picked up")
    out = json.loads(_ok("-c", str(checkpoints["conditional"]), "--input", str(folder), "--out", str(tmp_path / "out"),
                         "--colour", "auto", "--json").stdout)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["a.jpg.png", "a.png.png", "b.png"] and len(out["images"]) == 3 and out["asked"] == "auto"
    assert all(item["colour"] in colored.colour_names() for item in out["images"])  # auto's pick, by name
    assert Image.open(tmp_path / "out" / "a.jpg.png").size == (50, 20)


def test_cli_refuses_bad_input_and_writes_nothing(checkpoints, tmp_path: Path) -> None:
    ck, out = str(checkpoints["conditional"]), tmp_path / "out.png"
    not_image = tmp_path / "fake.png"
    not_image.write_text("hello")
    good = _save(_item((64, 64)), tmp_path / "good.png")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    tiny = _save(Image.new("L", (1, 1)), tmp_path / "tiny.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not an image" in _user_error("-c", ck, "-i", str(not_image), "-o", str(out))
    assert "truncated" in _user_error("-c", ck, "-i", str(truncated), "-o", str(out))
    assert "1x1 px" in _user_error("-c", ck, "-i", str(tiny), "-o", str(out))
    assert "holds no PNG or JPEG" in _user_error("-c", ck, "-i", str(empty), "-o", str(tmp_path / "o"))
    assert "black, white" in _user_error("-c", ck, "-i", str(good), "--colour", "teal", "-o", str(out))
    assert "unconditional" in _user_error("-c", str(checkpoints["unconditional"]), "-i", str(good), "--colour", "navy", "-o", str(out))
    assert "not a colorizer" in _user_error("-c", "pretrained:acgan", "-i", str(good), "--colour", "navy", "-o", str(out))
    assert "does not exist" in _user_error("-c", ck, "-i", str(tmp_path / "missing.png"), "-o", str(out))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _save(_item(), mixed / "a.png")
    (mixed / "b.png").write_bytes(truncated.read_bytes())
    assert "b.png" in _user_error("-c", ck, "-i", str(mixed), "-o", str(tmp_path / "mixed-out"))
    assert not out.exists() and not (tmp_path / "mixed-out").exists()
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_test_items_figure_paints_every_colour_with_the_shipped_colorizer(real_data, tmp_path):
    from typer.testing import CliRunner

    from fashiongan.cli import app

    out = tmp_path / "sheet.png"
    result = CliRunner().invoke(app, ["colorize", "-c", "pretrained:colorizer", "--test-items", "3", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert written["colours"] == colored.colour_names() + ["auto"]
    with Image.open(out) as sheet:
        rows = np.asarray(sheet.convert("RGB"))
    assert rows.shape[0] > 14 * 3 * 28  # the grey row and 13 colour rows of 84 px items
    both = CliRunner().invoke(app, ["colorize", "-c", "pretrained:colorizer", "--test-items", "3", "--input", str(out)])
    assert both.exit_code == 1 and "--input" in both.output


@pytest.mark.real_data
def test_evaluate_scores_a_colorizer_by_colour_and_by_class(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--checkpoint", "pretrained:colorizer", "--n", "40", "--json",
                                 "--plot", str(tmp_path / "asked.png")])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)["colorizer"]
    assert scores["n"] == scores["n_colour_asked"] == 40 and scores["asked"] == "true colour"
    assert scores["colour_accuracy"] > 0.9 and scores["class_accuracy_truth"] > 0.8 and scores["delta_e"] < 5
    per_colour = scores["colour_conditions"]
    assert sum(map(sum, per_colour["confusion"])) == 40 and per_colour["lowest"]["accuracy"] == min(per_colour["accuracy"].values())
    assert sum(map(sum, scores["label_conditions"]["confusion"])) == 40
    assert Image.open(tmp_path / "asked.png").size[0] > 1000
    table = runner.invoke(app, ["evaluate", "--checkpoint", "pretrained:colorizer", "--n", "20"], terminal_width=200)
    assert table.exit_code == 0 and "mean CIEDE2000" in table.stdout and "lowest colour" in table.stdout
