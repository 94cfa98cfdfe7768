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
    assert net.steps == 8 and net.guidance == 2.0 and np.array_equal(sampling.sample(net, n=2, label=1, seed=0).images, plain)
    assert fewer.shape == plain.shape
    with pytest.raises(FashionGANError, match="only flow models take steps and guidance"):
        sampling.sample("pretrained:acgan", n=2, steps=4)
    result = CliRunner().invoke(app, ["sample", "--checkpoint", str(tmp_path / "run"), "--steps", "0", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "steps must be a whole number in 1..256" in result.output
    assert hub.read_config(tmp_path / "run")["nets"]["generator_ema"]["kwargs"]["steps"] == 8  # stored with the model


def test_resume_of_a_flow_run_with_ema_matches_an_uninterrupted_run(tiny_data: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from test_engine import crash_and_resume

    # the dropped labels, times and noise repeat exactly
    _, saved_at = crash_and_resume(_config(tiny_data, 12, checkpoint_every=3), tmp_path, monkeypatch, step=7, phase="F")
    assert saved_at == 6


def test_flow_attributes_trains_through_the_engine_and_samples_by_attribute_names(tiny_data: Path, tmp_path: Path) -> None:
    """flow-attributes takes the cVAE's attribute vector: the checkpoint declares the attribute vocabulary, a
    partial request is completed from the data's prior, the report grid has a row per category."""
    from fashiongan.data import colored

    config = load_config("flow-attributes", overrides={
        "nets": {"generator": {"kwargs": {**TINY, "steps": 1}}}, "data": {"data_dir": str(tiny_data), "limit": 256},
        "train": {"batch_size": 32, "epochs": None, "steps": 3, "track_fid": None},
    })
    fit(config, tmp_path / "run", progress=False)
    found = declared(tmp_path / "run")
    assert found.kind == "generator" and found.conditions.classes is None and found.conditions.channels == 3
    assert found.conditions.attributes.columns == ("category", "group", "colour", "tone")
    drawn = sampling.sample(tmp_path / "run", n=5, attributes=["category=dress", "colour=navy"], seed=1)
    again = sampling.sample(tmp_path / "run", n=5, attributes=["category=dress", "colour=navy"], seed=1)
    assert drawn.images.shape == (5, 28, 28, 3) and np.array_equal(drawn.images, again.images)
    assert drawn.labels.tolist() == [3] * 5 and drawn.colours.tolist() == [colored.colour_index("navy")] * 5
    assert any((tmp_path / "run" / "samples").glob("step_*.png"))
    with pytest.raises(FashionGANError, match="takes attributes, not a label"):
        sampling.sample(tmp_path / "run", n=2, label="dress")
    from fashiongan.metrics.elbo import vae_scores

    read = vae_scores(tmp_path / "run")  # what `evaluate` adds: the attribute classifier reads its samples
    assert "neg_elbo" not in read and 0 <= read["accuracy/category"] <= 1 and "lowest" in read["attribute_conditions"]


def test_guidance_on_attributes_pairs_each_row_with_the_all_zero_vector() -> None:
    torch.manual_seed(0)
    net = nets.build("flow_unet", attribute_set="offline", channels=3, **TINY).eval()
    for p in net.out[-1].parameters():
        torch.nn.init.normal_(p, 0, 0.1)
    z = net.latent(2)
    attributes = net.complete(net.request(["category=bag"]), 2)
    with torch.no_grad():
        guided = _with(net, solver="euler", steps=1, guidance=1.5)(z, attributes=attributes)
        x, t = z.view(2, 3, 28, 28), torch.zeros(2)
        given, free = net.velocity(x, t, attributes=attributes), net.velocity(x, t, attributes=torch.zeros_like(attributes))
        torch.testing.assert_close(guided, (x + free + 1.5 * (given - free)).clamp(-1, 1), rtol=1e-5, atol=1e-5)
    with pytest.raises(FashionGANError, match="not both"):
        nets.build("flow_unet", attribute_set="offline", num_classes=10)


def test_guidance_needs_a_model_trained_with_condition_dropout_and_evaluate_takes_the_sampling_settings(
        tiny_data: Path, tmp_path: Path) -> None:
    unguided = {"nets": {"generator": {"kwargs": {**TINY, "guidance": 1.0}}}, "data": {"data_dir": str(tiny_data), "limit": 256},
                "objective": {"drop": 0}, "train": {"batch_size": 32, "epochs": None, "steps": 1, "track_fid": None, "samples": False}}
    with pytest.raises(FashionGANError, match="guidance 2 .* needs condition dropout"):
        load_config("flow", overrides={**unguided, "nets": {"generator": {"kwargs": TINY}}})
    fit(load_config("flow", overrides=unguided), tmp_path / "run", progress=False)
    assert sampling.sample(tmp_path / "run", n=2, label=0, steps=2).images.shape == (2, 28, 28)
    with pytest.raises(FashionGANError, match="trained without condition dropout"):
        sampling.sample(tmp_path / "run", n=2, label=0, guidance=2.0)
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "--checkpoint", "pretrained:acgan-narrow", "--steps", "4", "--n", "10"])
    assert result.exit_code == 1 and "pass them with a flow checkpoint" in result.output
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(tmp_path / "run"), "--guidance", "2", "--n", "10"])
    assert result.exit_code == 1 and "trained without condition dropout" in result.output


def test_the_lookbook_and_the_web_app_sample_a_flow_model_like_any_generator(tiny_data: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from fashiongan.lookbook import detect
    from fashiongan.serve import create_app

    fit(load_config("flow", overrides={"nets": {"generator": {"kwargs": {**TINY, "steps": 1}}},
                                       "data": {"data_dir": str(tiny_data), "limit": 256},
                                       "train": {"batch_size": 32, "epochs": None, "steps": 1, "track_fid": None, "samples": False}}),
        tmp_path / "run", progress=False)
    rules = tmp_path / "rules.yaml"
    rules.write_text("confidence: 0.01\nduplicate_distance: 0.0\n")  # a one-step model of one training step: any item will do
    result = CliRunner().invoke(app, ["lookbook", "--generator", str(tmp_path / "run"), "--outfits", "1", "--rules", str(rules),
                                      "--out", str(tmp_path / "book"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outfits"] == 1 and (tmp_path / "book" / "index.html").is_file()
    client = TestClient(create_app(detect().with_generators({"flow": str(tmp_path / "run")})))
    drawn = client.post("/api/generate", json={"model": "flow", "label": "Bag", "n": 3})
    assert drawn.status_code == 200 and drawn.json()["labels"] == ["Bag"] * 3


@pytest.fixture(scope="module")
def teacher(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny flow run sampling at 4 Euler steps with guidance 2: the teacher the distillation tests share."""
    out = tmp_path_factory.mktemp("teacher") / "run"
    fit(load_config("flow", overrides={
        "nets": {"generator": {"kwargs": {**TINY, "steps": 4}}}, "data": {"data_dir": str(tiny_data), "limit": 256},
        "train": {"batch_size": 32, "epochs": None, "steps": 40, "track_fid": None, "samples": False}}), out, progress=False)
    return out


def _student(tiny_data: Path, teacher: Path, steps: int, solver: str = "euler", **layer):
    return load_config("flow-distill", overrides={
        "nets": {"generator": {"init": str(teacher), "kwargs": {"steps": 2, "solver": solver}}, "teacher": {"init": str(teacher)}},
        "data": {"data_dir": str(tiny_data), "limit": 256},
        "train": {"batch_size": 32, "steps": steps, "track_fid": None, "samples": False, **layer},
    })


def test_a_distilled_student_draws_in_half_the_steps_what_its_guided_teacher_draws(tiny_data: Path, teacher: Path,
                                                                                 tmp_path: Path) -> None:
    from fashiongan.data.datasets import load_training_data
    from fashiongan.train.trainer import Trainer

    config = _student(tiny_data, teacher, 150)
    taught = sampling.load_generator(teacher)
    start = Trainer(config, load_training_data(config.data))
    for role in ("generator", "teacher"):  # both start as the teacher's sampling net
        torch.testing.assert_close(start.nets[role].state_dict(), taught.state_dict())
    assert not any(p.requires_grad for p in start.nets["teacher"].parameters())
    fit(config, tmp_path / "student", progress=False)
    found = declared(tmp_path / "student")
    assert found.model == "flow-distill" and found.integrates and found.conditions.classes == declared(teacher).conditions.classes
    student = sampling.load_generator(tmp_path / "student")
    assert (student.steps, student.guidance, taught.steps, taught.guidance) == (2, 1.0, 4, 2.0)

    target = sampling.sample(taught, n=40, seed=5).images.astype(float)
    before = np.abs(sampling.sample(taught, n=40, seed=5, steps=2, guidance=1.0).images - target).mean()  # the student at step 0
    after = np.abs(sampling.sample(student, n=40, seed=5).images - target).mean()
    assert after < 0.6 * before, (after, before)
    state = hub.load_tensors(tmp_path / "student" / hub.TRAINING_FILE)
    kept = {k.removeprefix("net.teacher."): v for k, v in state.items() if k.startswith("net.teacher.")}
    torch.testing.assert_close(kept, taught.state_dict())  # the teacher was not trained
    with pytest.raises(FashionGANError, match="trained without condition dropout"):
        sampling.sample(student, n=2, label=0, guidance=2.0)


@pytest.mark.parametrize("reuse", [1, 4])
def test_a_fresh_narrower_student_learns_its_teachers_walk_in_one_step(tiny_data: Path, teacher: Path,
                                                                      tmp_path: Path, reuse: int) -> None:
    """flow-fast-narrow: the student takes its teacher's architecture and conditions (`like: teacher`) at its own
    width, from scratch (weights of another width do not fit), and learns where the guided teacher's walk lands,
    also when each teacher pair teaches four times (objective.reuse)."""
    config = load_config("flow-fast-narrow", overrides={
        "nets": {"teacher": {"init": str(teacher)}, "generator": {"kwargs": {"width": 4}}}, "objective": {"reuse": reuse},
        "data": {"data_dir": str(tiny_data), "limit": 256},
        "train": {"batch_size": 32, "steps": 150, "track_fid": None, "samples": False}})
    assert "init" not in config.nets["generator"]
    fit(config, tmp_path / "student", progress=False)
    student, taught = sampling.load_generator(tmp_path / "student"), sampling.load_generator(teacher)
    assert (student.stem.out_channels, student.steps, taught.stem.out_channels) == (4, 1, 8)
    assert declared(tmp_path / "student").conditions.classes == declared(teacher).conditions.classes
    target = sampling.sample(taught, n=40, seed=5).images.astype(float)
    fresh = nets.build("flow_unet", **config.nets["generator"]["kwargs"]).eval()  # the student at step 0
    fresh.declaration = student.declaration
    before = np.abs(sampling.sample(fresh, n=40, seed=5).images - target).mean()
    after = np.abs(sampling.sample(student, n=40, seed=5).images - target).mean()
    assert after < 0.6 * before, (after, before)


@pytest.mark.parametrize("reuse", [1, 4])
def test_resume_of_a_distillation_run_matches_an_uninterrupted_run(tiny_data: Path, teacher: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch, reuse: int) -> None:
    """With reuse the bank of teacher pairs is in the checkpoint: the resumed run draws what the unbroken one did."""
    from test_engine import crash_and_resume

    config = _student(tiny_data, teacher, 8, checkpoint_every=3)
    config.objective["reuse"] = reuse
    crashed, saved_at = crash_and_resume(config, tmp_path, monkeypatch, step=5, phase="S")
    assert saved_at == 3
    bank = {k for k in hub.load_tensors(crashed / hub.TRAINING_FILE) if k.startswith("state.")}
    assert bank == ({"state.path", "state.t", "state.labels", "state.goal"} if reuse > 1 else set())


def test_reuse_walks_the_teacher_for_a_share_of_each_batch_and_draws_from_a_bank_of_its_pairs(teacher: Path) -> None:
    from fashiongan.objectives import flow_distill

    taught = sampling.load_generator(teacher)
    walked: list[int] = []
    step = taught.step
    taught.step = lambda x, *args, **kwargs: walked.append(len(x)) or step(x, *args, **kwargs)
    student = nets.build("flow_unet", num_classes=10, width=4, steps=2, solver="euler")
    ctx = Context(step=0, hp={"reuse": 4}, state={}, seed=0, device=torch.device("cpu"))
    batch = {"image": torch.rand(32, 1, 28, 28) * 2 - 1, "label": torch.arange(32) % 10}
    for _ in range(20):  # 20 x 8 pairs, more than the bank's 4 batches of 32 hold
        loss = flow_distill.loss({"generator": student, "teacher": taught}, batch, ctx)["loss"]
        assert torch.isfinite(loss)
    assert walked == [8] * 20 * 2  # a quarter of the batch, the teacher's 2 steps for each of the student's
    assert {k: len(v) for k, v in ctx.state.items()} == dict.fromkeys(("path", "t", "labels", "goal"), 4 * 32)  # full: the oldest went
    for bad in (0, 1.5, "2"):
        with pytest.raises(FashionGANError, match="objective.reuse must be a positive whole number"):
            flow_distill.OBJECTIVE.phases({"reuse": bad})


def test_a_student_learns_on_its_teachers_data(teacher: Path, tmp_path: Path) -> None:
    """No --data: the student's data is its teacher's (here the tiny set; the packaged config's is Fashion-MNIST),
    so distilling a colour or catalogue flow needs only --teacher."""
    result = CliRunner().invoke(app, ["train", "--model", "flow-distill", "--teacher", str(teacher), "--steps", "2",
                                      "--batch-size", "8", "--out", str(tmp_path / "student"), "--quiet"])
    assert result.exit_code == 0, result.output
    saved = hub.read_config(tmp_path / "student")["train_config"]
    assert saved["data"] == hub.read_config(teacher)["train_config"]["data"]
    assert saved["nets"]["generator"]["init"] == saved["nets"]["teacher"]["init"] == str(teacher)  # `init: teacher`


def test_distillation_needs_a_flow_teacher_and_an_euler_student(tiny_data: Path, teacher: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tiny_data), "--steps", "1", "--out", str(tmp_path / "x")]
    for args, said in (
        (["--model", "flow-distill", "--teacher", "pretrained:acgan-narrow"], "holds a dcgan_generator net, and this role takes flow_unet"),
        (["--model", "flow", "--teacher", str(teacher)], "--teacher is for a model that learns from one (flow-distill), not flow"),
        (["--model", "flow-distill", "--teacher", str(tmp_path / "nothing")], "nothing"),
    ):
        result = runner.invoke(app, ["train", *args, *data])
        assert result.exit_code == 1 and said in result.output and "Traceback" not in result.output, result.output
    with pytest.raises(FashionGANError, match="a distilled student takes Euler steps"):
        _student(tiny_data, teacher, 1, solver="heun")
    with pytest.raises(FashionGANError, match="student's 3 steps .* must divide its teacher's 4"):
        load_config("flow-distill", overrides={"nets": {"generator": {"init": str(teacher), "kwargs": {"steps": 3}},
                                                        "teacher": {"init": str(teacher)}}})
    with pytest.raises(FashionGANError, match="nets.generator.like names another net of this config .*not 'judge'"):
        load_config("flow-fast-narrow", overrides={"nets": {"generator": {"like": "judge"}}})
    with pytest.raises(FashionGANError, match="nets.teacher starts from a checkpoint and none is named"):
        load_config("flow-distill", overrides={"nets": {"teacher": {"init": None}}})
