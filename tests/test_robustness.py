"""FGSM and PGD on a small trained MLP: they hurt, they respect the mask, eps and range; the CLI checks input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from conftest import train_small_mlp
from fashiongan import classify
from fashiongan.cli import app
from fashiongan.errors import FashionGANError
from fashiongan import attacks
from fashiongan.metrics import robustness as rb

runner = CliRunner()


@pytest.fixture(scope="module")
def checkpoint(_real_data_location: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLP trained by the engine for 300 steps on the first 2048 training images."""
    out = tmp_path_factory.mktemp("robust") / "mlp"
    train_small_mlp(_real_data_location, out, steps=300, limit=2048)
    return out


@pytest.fixture
def model_and_data(checkpoint: Path, real_data: Path) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    model, _ = classify.load_classifier(checkpoint)
    images, labels = classify.labelled_images(n=400)
    return model, images, labels


def test_fgsm_lowers_accuracy_and_pgd_is_stronger(model_and_data) -> None:
    model, images, labels = model_and_data
    fgsm = rb.robustness_curve(model, images, labels, [0, 0.1, 0.2], "fgsm")
    clean, small, large = fgsm.accuracy
    assert clean > 0.7
    assert large < clean - 0.3 and small < clean
    pgd = rb.robustness_curve(model, images, labels, [0, 0.1], "pgd", steps=5)
    assert pgd.accuracy[0] == clean  # eps 0 is the clean accuracy for every attack
    assert pgd.accuracy[1] <= fgsm.accuracy[1]
    assert pgd.to_dict()["curve"][1] == {"eps": 0.1, "accuracy": pgd.accuracy[1]}


@pytest.mark.parametrize("name", attacks.ATTACKS)
@pytest.mark.parametrize("mask", [True, False])
def test_perturbation_stays_in_the_eps_ball_and_valid_range(model_and_data, name: str, mask: bool) -> None:
    model, images, labels = model_and_data
    x, y = images[:64], labels[:64]
    eps = 0.15
    adv = attacks.attack(name, model, x, y, eps, mask=mask, steps=4)
    assert adv.shape == x.shape and not adv.requires_grad
    assert (adv - x).abs().max() <= 2 * eps + 1e-6  # eps is on the [0, 1] scale; nets see [-1, 1]
    assert adv.min() >= -1 and adv.max() <= 1
    assert (adv - x).abs().max() > 2 * eps * 0.9  # it does move as far as allowed somewhere
    background = x == -1
    if mask:
        assert torch.equal(adv[background], x[background])
    else:
        assert (adv[background] != x[background]).float().mean() > 0.2


def test_attacks_leave_parameter_gradients_alone(model_and_data) -> None:
    model, images, labels = model_and_data
    attacks.pgd(model, images[:8], labels[:8], 0.1, steps=2)
    assert all(p.grad is None for p in model.parameters())


def test_bad_values_are_rejected() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    x, y = torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long)
    with pytest.raises(FashionGANError, match="outside"):
        rb.robustness_curve(model, x, y, [0.1, 1.5])
    with pytest.raises(FashionGANError, match="unknown attack"):
        rb.robustness_curve(model, x, y, [0.1], "foo")
    with pytest.raises(FashionGANError, match="step"):
        attacks.pgd(model, x, y, 0.1, steps=0)


def test_robustness_cli_json_table_and_plot(checkpoint: Path, real_data: Path, tmp_path: Path) -> None:
    png = tmp_path / "curve.png"
    args = ["robustness", "--checkpoint", str(checkpoint), "--attack", "FGSM", "--eps", "0,0.2", "--n", "300"]
    result = runner.invoke(app, [*args, "--json", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["attack"] == "fgsm" and report["mask"] is True and report["count"] == 300
    (e0, a0), (e1, a1) = ((p["eps"], p["accuracy"]) for p in report["curve"])
    assert (e0, e1) == (0.0, 0.2) and a1 < a0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = runner.invoke(app, [*args[:-2], "--n", "100", "--no-mask", "--attack", "pgd", "--steps", "2"])
    assert table.exit_code == 0, table.output
    assert "no mask" in table.stdout and "0.2" in table.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (["--eps", "0,1.5"], "outside [0.0, 1.0]"),
        (["--eps", "a,b"], "comma-separated"),
        (["--attack", "foo"], "unknown attack"),
    ],
)
def test_robustness_cli_rejects_bad_input_before_work(checkpoint: Path, tmp_path: Path, args: list[str], says: str) -> None:
    png = tmp_path / "curve.png"
    result = runner.invoke(app, ["robustness", "--checkpoint", str(checkpoint), "--plot", str(png), *args])
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], result.stderr
    assert not png.exists()


def test_robustness_cli_missing_checkpoint(tmp_path: Path) -> None:
    result = runner.invoke(app, ["robustness", "--checkpoint", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.stderr.strip().startswith("error:") and "is not a directory" in result.stderr
