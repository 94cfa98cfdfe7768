"""Flow matching: the objective trains through the one engine, the net samples by Euler or Heun with batched
classifier-free guidance, and sampling settings are stored with the checkpoint and can be overridden."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import write_idx_dir
from fashiongan import hub, nets, objectives, sampling
from fashiongan.cli import app
from fashiongan.declaration import declared
from fashiongan.errors import FashionGANError
from fashiongan.objectives.base import Context
from fashiongan.train import fit, load_config

TINY = {"width": 8}


def _config(data: Path, steps: int, **layer):
    return load_config("flow", overrides={
        "nets": {"generator": {"kwargs": TINY}}, "data": {"data_dir": str(data), "limit": 256},
        "train": {"batch_size": 32, "epochs": None, "steps": steps, "track_fid": None, "samples": False, **layer},
    })


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_idx_dir(tmp_path_factory.mktemp("data"), train=256, test=32)


def test_the_velocity_loss_falls_and_the_checkpoint_declares_a_class_conditional_generator(tiny_data: Path, tmp_path: Path) -> None:
    result = fit(_config(tiny_data, 40), tmp_path / "run", progress=False)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    found = declared(tmp_path / "run")
    assert found.kind == "generator" and found.model == "flow" and len(found.conditions.classes) == 10
    assert found.roles == {"generator": "generator_ema"} and result.steps == 40
    assert saved["training"]["step"] == 40 and saved["kind"] == "generator"
    drawn = sampling.sample(tmp_path / "run", n=4, label="bag", seed=3)
    again = sampling.sample(tmp_path / "run", n=4, label="bag", seed=3)
    assert drawn.images.shape == (4, 28, 28) and np.array_equal(drawn.images, again.images)


def test_the_loss_learns_the_straight_path(tiny_data: Path) -> None:
    torch.manual_seed(0)
    config = _config(tiny_data, 1)
    objective = objectives.get("flow")
    hp = objective.hyperparameters(config.objective)
    net = nets.build("flow_unet", num_classes=10, **TINY)
    batch = {"image": torch.rand(16, 1, 28, 28) * 2 - 1, "label": torch.arange(16) % 10}
    phase = objective.phases(hp)[0]
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    ctx = Context(0, hp, {}, 0, torch.device("cpu"))
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = phase.loss({"generator": net}, batch, ctx)["loss"]
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5])


def test_euler_heun_steps_and_batched_guidance() -> None:
    torch.manual_seed(0)
    net = nets.build("flow_unet", num_classes=3, num_colours=2, channels=3, size=16, **TINY).eval()
    for p in net.out[-1].parameters():  # the output starts at zero; give it something to integrate
        torch.nn.init.normal_(p, 0, 0.1)
    z, labels, colours = net.latent(2), torch.tensor([0, 2]), torch.tensor([1, 0])
    with torch.no_grad():
        euler = net.__class__.forward(_with(net, solver="euler", steps=4), z, labels, colours)
        heun = net.__class__.forward(_with(net, solver="heun", steps=4), z, labels, colours)
        assert euler.shape == (2, 3, 16, 16) and not torch.allclose(euler, heun)
        guided = _with(net, solver="euler", steps=1, guidance=2.0)(z, labels, colours)
        x, t = z.view(2, 3, 16, 16), torch.zeros(2)
        given, free = net.velocity(x, t, labels, colours), net.velocity(x, t, torch.full_like(labels, 3), torch.full_like(colours, 2))
        torch.testing.assert_close(guided, (x + free + 2.0 * (given - free)).clamp(-1, 1), rtol=1e-5, atol=1e-5)
    with pytest.raises(FashionGANError, match="solver must be one of euler, heun"):
        nets.build("flow_unet", solver="rk4")


def _with(net, **settings):
    for key, value in settings.items():
        setattr(net, key, value)
    return net


def test_sample_overrides_steps_and_guidance_for_one_call_only(tiny_data: Path, tmp_path: Path) -> None:
    fit(_config(tiny_data, 2), tmp_path / "run", progress=False)
    net = sampling.load_generator(tmp_path / "run")
    plain = sampling.sample(net, n=2, label=1, seed=0).images
    fewer = sampling.sample(net, n=2, label=1, seed=0, steps=1, guidance=3.0).images
    assert net.steps == 8 and net.guidance == 1.0 and np.array_equal(sampling.sample(net, n=2, label=1, seed=0).images, plain)
    assert fewer.shape == plain.shape
    with pytest.raises(FashionGANError, match="only flow models take steps and guidance"):
        sampling.sample("pretrained:acgan", n=2, steps=4)
    result = CliRunner().invoke(app, ["sample", "--checkpoint", str(tmp_path / "run"), "--steps", "0", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "steps must be a whole number in 1..256" in result.output
    assert hub.read_config(tmp_path / "run")["nets"]["generator_ema"]["kwargs"]["steps"] == 8  # stored with the model


def test_resume_of_a_flow_run_with_ema_matches_an_uninterrupted_run(tiny_data: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from test_engine import Killed, assert_identical, crash_at, saved_step

    config = _config(tiny_data, 12, checkpoint_every=3)
    fit(config, tmp_path / "whole", progress=False)
    with monkeypatch.context() as patch:
        crash_at(patch, step=7, phase="F")
        with pytest.raises(Killed):
            fit(config, tmp_path / "crashed", progress=False)
    assert saved_step(tmp_path / "crashed") == 6
    fit(config, tmp_path / "crashed", resume=tmp_path / "crashed", progress=False)
    assert_identical(tmp_path / "whole", tmp_path / "crashed")  # the dropped labels, times and noise repeat exactly
