"""The training engine through `fit` and `fashiongan train`: exact resume, seeds, NaN, incompatible configs.

Everything trains tiny nets on a tiny IDX folder for a handful of steps; what is compared is exact
(torch.equal on every tensor a checkpoint holds, optimiser moments, RNG state and loss history included).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from conftest import write_idx_dir
from fashiongan import hub
from fashiongan.cli import app
from fashiongan.errors import FashionGANError
from fashiongan.objectives import classifier as classifier_objective
from fashiongan.sampling import generator_models
from fashiongan.data.datasets import load_training_data
from fashiongan.train import Trainer, TrainingDiverged, engine, fit, load_config

runner = CliRunner()
SMALL_GAN = {"kwargs": {"width": 4, "hidden": 16}}


class Killed(Exception):
    """Stands in for a process killed in the middle of a step."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_idx_dir(tmp_path_factory.mktemp("idx") / "data", train=64, test=16)


def classifier_config(data_dir: Path, seed: int = 0, **train):
    """The packaged cnn config, shrunk: width 4 (dropout keeps the RNG in play), 64 images, batch 8."""
    return load_config("cnn", overrides={
        "seed": seed,
        "nets": {"classifier": {"kwargs": {"width": 4}}},
        "data": {"data_dir": str(data_dir), "limit": 64},
        "train": {"batch_size": 8, "epochs": None, "steps": 12, "checkpoint_every": 5, **train},
    })


def gan_config(data_dir: Path, model: str = "wgan", **train):
    return load_config(model, overrides={
        "nets": {"generator": SMALL_GAN, "discriminator": SMALL_GAN},
        "data": {"data_dir": str(data_dir), "limit": 64},
        "train": {"batch_size": 8, "epochs": None, "steps": 12, "checkpoint_every": 3, **train},
    })


def everything(directory: Path) -> dict[str, torch.Tensor]:
    """Every tensor a checkpoint holds: inference weights and the whole training state."""
    return {**load_file(directory / hub.WEIGHTS_FILE),
            **{f"training.{k}": v for k, v in load_file(directory / hub.TRAINING_FILE).items()}}


def assert_identical(a: Path, b: Path) -> None:
    left, right = everything(a), everything(b)
    assert sorted(left) == sorted(right)
    different = [k for k in left if not torch.equal(left[k], right[k])]
    assert not different, f"tensors differ: {different[:5]}"


def crash_at(monkeypatch: pytest.MonkeyPatch, step: int, phase: str) -> None:
    """Make the engine die when it reaches ``phase`` of ``step`` (earlier phases of that step have run)."""
    original = Trainer.run_phase

    def dying(self, phase_, batch):
        if self.ctx.step == step and phase_.name == phase:
            raise Killed(f"killed at step {step}")
        return original(self, phase_, batch)

    monkeypatch.setattr(Trainer, "run_phase", dying)


def saved_step(directory: Path) -> int:
    return json.loads((directory / hub.CONFIG_FILE).read_text())["training"]["step"]


def crash_and_resume(config, root: Path, monkeypatch: pytest.MonkeyPatch, step: int, phase: str) -> tuple[Path, int]:
    """Train ``config`` whole into ROOT/whole, then into ROOT/crashed dying at ``phase`` of ``step`` and resumed
    there; assert both end identical. Returns (ROOT/crashed, the step its checkpoint held at the crash)."""
    fit(config, root / "whole", progress=False)
    with monkeypatch.context() as patch:
        crash_at(patch, step=step, phase=phase)
        with pytest.raises(Killed):
            fit(config, root / "crashed", progress=False)
    saved_at = saved_step(root / "crashed")
    fit(config, root / "crashed", resume=root / "crashed", progress=False)
    assert_identical(root / "whole", root / "crashed")
    return root / "crashed", saved_at


@pytest.fixture(scope="module")
def uninterrupted(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "classifier"
    fit(classifier_config(data_dir), out, progress=False)
    return out


# ---------------------------------------------------------------- resume is exact

def test_resume_after_a_crash_matches_an_uninterrupted_classifier_run(
    data_dir: Path, uninterrupted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "crashed"
    with monkeypatch.context() as patch:
        crash_at(patch, step=7, phase="C")  # mid-epoch, two steps after the checkpoint at step 5
        with pytest.raises(Killed):
            fit(classifier_config(data_dir), out, progress=False)
    assert saved_step(out) == 5
    result = fit(classifier_config(data_dir), out, resume=out, progress=False)
    assert result.steps == 12 and saved_step(out) == 12
    assert_identical(uninterrupted, out)
    history = load_file(out / hub.TRAINING_FILE)
    assert history["history.C/loss.step"].tolist() == list(range(12))  # steps 5 and 6 were not logged twice


def test_resume_of_a_two_phase_gan_with_n_critic_and_ema_matches_an_uninterrupted_run(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = gan_config(data_dir, "wgan", ema_decay=0.9)
    assert config.objective["n_critic"] == 5  # G steps at 0, 5 and 10 only
    # at G of step 10, D of step 10 has already updated, in memory only
    crashed, saved_at = crash_and_resume(config, tmp_path, monkeypatch, step=10, phase="G")
    assert saved_at == 9
    saved = hub.read_config(crashed)
    assert saved["main"] == "generator_ema"
    state = load_file(crashed / hub.TRAINING_FILE)
    assert state["history.G/loss.step"].tolist() == [0, 5, 10]
    assert state["history.D/loss.step"].tolist() == list(range(12))
    assert int(state["net.ema.n_averaged"]) == 12
    # The EMA differs from the raw generator, and sampling uses the EMA.
    weights = load_file(crashed / hub.WEIGHTS_FILE)
    key = next(k for k in weights if k.startswith("generator.") and k.endswith("weight"))
    assert not torch.equal(weights[key], weights[key.replace("generator.", "generator_ema.", 1)])


def test_resume_of_projgan_with_r1_and_diffaugment_matches_an_uninterrupted_run(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recipe's random pieces (DiffAugment's draws, R1 every other step, spectral norm's power-iteration
    vectors) all resume exactly."""
    config = gan_config(data_dir, "projgan", ema_decay=0.9)
    config.objective.update(r1=0.5, r1_every=2, diffaugment="translation,cutout,brightness,contrast")
    _, saved_at = crash_and_resume(config, tmp_path, monkeypatch, step=7, phase="D")
    assert saved_at == 6
    state = load_file(tmp_path / "crashed" / hub.TRAINING_FILE)
    assert state["history.D/r1.step"].tolist() == [0, 2, 4, 6, 8, 10]
    assert any(k.endswith("parametrizations.weight.0._u") for k in state)  # spectral norm's vectors are saved


def test_same_seed_gives_identical_weights_and_another_seed_different_ones(
    data_dir: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    fit(classifier_config(data_dir), tmp_path / "again", progress=False)
    assert_identical(uninterrupted, tmp_path / "again")
    fit(classifier_config(data_dir, seed=1), tmp_path / "other", progress=False)
    first, other = load_file(uninterrupted / hub.WEIGHTS_FILE), load_file(tmp_path / "other" / hub.WEIGHTS_FILE)
    assert not any(torch.equal(first[k], other[k]) for k in first if k.endswith("weight"))


# ---------------------------------------------------------------- divergence

def test_a_nan_loss_stops_naming_phase_and_step_and_keeps_the_last_good_checkpoint(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = classifier_objective.classification_loss

    def poisoned(nets, batch, ctx):
        losses = original(nets, batch, ctx)
        if ctx.step == 7:
            losses["loss"] = losses["loss"] * float("nan")
        return losses

    monkeypatch.setattr(classifier_objective, "classification_loss", poisoned)
    out = tmp_path / "nan"
    with pytest.raises(TrainingDiverged) as caught:
        fit(classifier_config(data_dir, checkpoint_every=3), out, progress=False)
    message = str(caught.value)
    assert "C loss became nan at step 7" in message and "(step 6)" in message and str(out) in message
    assert "\n" not in message
    assert saved_step(out) == 6
    model = hub.from_pretrained(out)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_absurd_learning_rate_exits_non_zero_with_a_one_line_message(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "absurd.yaml"
    config.write_text(
        "nets: {classifier: {kwargs: {width: 4}}}\n"
        "optim: {classifier: {type: sgd, lr: 1.0e+30, schedule: constant}}\n"
        "data: {limit: 64}\n"
    )
    result = runner.invoke(app, ["train", "--model", "cnn", "--config", str(config), "--steps", "6", "--batch-size", "8",
                                 "--data-dir", str(data_dir), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 1
    assert "loss became nan at step 1" in result.output and "no checkpoint was written" in result.output
    assert not (tmp_path / "run" / hub.CONFIG_FILE).exists()


def test_a_checkpoint_is_never_written_from_non_finite_weights(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Trainer.run_phase

    def corrupting(self, phase, batch):
        logs = original(self, phase, batch)
        if self.ctx.step == 5:  # the loss stayed finite, the weights did not (e.g. an overflowing update)
            with torch.no_grad():
                next(self.nets["classifier"].parameters()).fill_(float("inf"))
        return logs

    monkeypatch.setattr(Trainer, "run_phase", corrupting)
    with pytest.raises(TrainingDiverged, match=r"weights of 'classifier' became NaN or infinite by step 6.*\(step 3\)"):
        fit(classifier_config(data_dir, checkpoint_every=3), tmp_path / "inf", progress=False)
    assert saved_step(tmp_path / "inf") == 3


# ---------------------------------------------------------------- resume checks

def test_resume_with_an_incompatible_config_is_a_one_line_error(data_dir: Path, uninterrupted: Path, tmp_path: Path) -> None:
    with pytest.raises(FashionGANError, match="another batch_size"):
        fit(classifier_config(data_dir, batch_size=4), tmp_path / "a", resume=uninterrupted, progress=False)
    wider = load_config("cnn", overrides={"data": {"data_dir": str(data_dir), "limit": 64}, "train": {"batch_size": 8}})
    with pytest.raises(FashionGANError, match="`nets` differs"):
        fit(wider, tmp_path / "b", resume=uninterrupted, progress=False)
    result = runner.invoke(app, ["train", "--resume", str(uninterrupted), "--batch-size", "16", "--out", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot resume") and result.output.count("\n") == 1
    result = runner.invoke(app, ["train", "--model", "dcgan", "--resume", str(uninterrupted), "--out", str(tmp_path / "d")])
    assert result.exit_code == 1 and "its `model` differs" in result.output


def test_resume_needs_a_training_checkpoint(tmp_path: Path) -> None:
    from fashiongan import nets

    hub.save_pretrained(tmp_path / "bare", {"classifier": nets.build("mlp")}, {"model": "classifier"})
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "bare")])
    assert result.exit_code == 1 and "holds no training config" in result.output
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "is not a directory" in result.output


# ---------------------------------------------------------------- the CLI

def test_train_cli_writes_checkpoint_grids_gif_and_curves_then_resumes(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(f"nets: {{generator: {json.dumps(SMALL_GAN)}, discriminator: {json.dumps(SMALL_GAN)}}}\n"
                      "data: {limit: 64}\n")  # 8 steps an epoch: a grid at step 8 and at the end
    out = tmp_path / "dcgan"
    args = ["train", "--model", "dcgan", "--config", str(config), "--batch-size", "8", "--seed", "3",
            "--data-dir", str(data_dir), "--out", str(out)]
    result = runner.invoke(app, [*args, "--steps", "10", "--ema", "0.5", "--threads", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    for shown in ("trained dcgan to step 10", "sample grids", "progress.gif", "losses.png", "fashiongan sample"):
        assert shown in result.output
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_00000008.png", "step_00000010.png"]
    assert (out / "progress.gif").stat().st_size and (out / "losses.png").stat().st_size
    checkpoint = hub.load_checkpoint(out)
    assert checkpoint.config["main"] == "generator_ema" and checkpoint.config["train_config"]["seed"] == 3
    assert checkpoint.main.sample(2).shape == (2, 1, 28, 28)

    result = runner.invoke(app, [*args, "--steps", "12"])
    assert result.exit_code == 1 and "already holds a checkpoint; continue it with --resume" in result.output
    result = runner.invoke(app, ["train", "--resume", str(out), "--steps", "12", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stdout: a note about FID tracking may go to stderr
    assert report["steps"] == 12 and report["checkpoint"] == str(out) and report["model"] == "dcgan"
    assert saved_step(out) == 12
    result = runner.invoke(app, ["train", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0 and "already at step 12" in result.output


def test_train_cli_rejects_bad_flags_in_one_line(tmp_path: Path) -> None:
    for args, expected in [
        (["--model", "dcgan", "--epochs", "1", "--steps", "3"], "not both"),
        (["--model", "nosuchgan"], "unknown model 'nosuchgan'"),
        (["--model", "dcgan", "--steps", "0"], "train.steps must be a positive whole number"),
        (["--model", "dcgan", "--ema", "1.5"], "ema_decay must lie strictly between 0 and 1"),
        (["--model", "dcgan", "--minutes", "-1"], "train.minutes must be positive"),
        (["--model", "dcgan", "--device", "tpu"], "unknown device 'tpu'"),
        (["--model", "dcgan", "--threads", "0"], "--threads must be at least 1"),
        ([], "no model given"),
    ]:
        result = runner.invoke(app, ["train", *args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.output and result.output.count("\n") == 1, (args, result.output)


@pytest.mark.parametrize(("layer", "expected"), [
    ("optim: {generator: {beta: [0.0, 0.9]}}", "unknown setting optim.generator.beta; known: nets, type, lr, betas"),
    ("objective: {nonesuch: 1}", "unknown setting objective.nonesuch (model 'acgan'); known: fake_aux"),
    ("data: {limt: 10}", "unknown setting data.limt (dataset 'fashion_mnist'); known: name, size, augment, workers, data_dir, limit"),
    ("nets: {generator: {kwargs: {noise: gaussian}}}", "nets.generator: architecture 'dcgan_generator': noise must be one of normal, uniform"),
    ("nets: {discriminator: {kwargs: {widht: 8}}}", "nets.discriminator: architecture 'dcgan_discriminator' does not take these settings"),
    ("nets: {generator: {kwarg: {width: 8}}}", "unknown setting nets.generator.kwarg; known: arch, kwargs"),
    ("train: {epoch: 3}", "unknown setting train.epoch; known: batch_size, epochs"),
])
def test_a_typo_anywhere_in_a_config_is_one_line_before_any_data_loads(
    layer: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "load_training_data", lambda spec: pytest.fail("the data loaded before the config was checked"))
    (tmp_path / "typo.yaml").write_text(layer)
    result = runner.invoke(app, ["train", "--model", "acgan-narrow", "--config", str(tmp_path / "typo.yaml"), "--steps", "1",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    assert expected in result.output and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "run").exists()


def test_a_trainer_stepped_by_hand_trains_exactly_as_fit(data_dir: Path, tmp_path: Path) -> None:
    """What the benchmarks do (a Trainer over its own batches) gives fit's weights: the same batches and
    augmentation, the learning-rate schedule, and the critic's five steps per generator step."""
    config = gan_config(data_dir, "wgan", steps=7, ema_decay=0.9, samples=False, track_fid=None)
    config.optim["generator"]["schedule"] = "cosine"
    config.data["augment"] = {"flip": True}
    fit(config, tmp_path / "run", progress=False)
    torch.manual_seed(config.seed)
    trainer = Trainer(config, load_training_data(config.data))
    batches = trainer.batches()
    for step in range(trainer.total):
        trainer.step(trainer.batch(next(batches), step), step)
    saved = load_file(tmp_path / "run" / hub.WEIGHTS_FILE)
    by_hand = {f"{role}.{k}": v for role, net in trainer.inference_nets().items() for k, v in net.state_dict().items()}
    assert sorted(saved) == sorted(by_hand) and all(torch.equal(saved[k], by_hand[k]) for k in saved)
    assert trainer.optimizers["generator"].param_groups[0]["lr"] < config.optim["generator"]["lr"]  # cosine applied


def test_models_lists_the_generators_found_from_the_packaged_configs() -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    expected = {"gan", "dcgan", "cgan", "acgan", "acgan-small", "acgan-fast", "acgan-narrow", "acgan-catalogue", "projgan", "projgan-fast", "infogan",
                "wgan", "wgan-gp", "lsgan", "dragan", "began", "ebgan", "acgan-colour", "acgan-colour-narrow", "dcgan-color64",
                "vae-source", "cvae", "flow", "flow-colour", "flow-attributes", "flow-distill", "flow-fast-narrow", "flow-narrow"}
    assert set(rows) == expected  # the classifier configs (cnn, mlp, evaluator) are not generators
    from fashiongan import objectives

    assert rows["wgan"]["description"] == objectives.get("wgan").description
    assert rows["cgan"]["conditional"] and not rows["dcgan"]["conditional"]
    assert rows["dcgan"]["batch_size"] == load_config("dcgan").train["batch_size"]
    assert [m.name for m in generator_models()] == sorted(expected)
    # a shipped checkpoint sits with the config it was trained with (acgan-small and acgan-fast share the generator)
    shipped = {name: row["shipped"] for name, row in rows.items() if row["shipped"]}
    assert shipped == {"acgan-small": ["pretrained:acgan"], "acgan-fast": ["pretrained:acgan-fast"], "acgan-narrow": ["pretrained:acgan-narrow"],
                       "acgan-colour": ["pretrained:acgan-colour"], "cvae": ["pretrained:cvae"], "flow": ["pretrained:flow"],
                       "flow-distill": ["pretrained:flow-fast"], "flow-colour": ["pretrained:flow-colour"],
                       "flow-attributes": ["pretrained:flow-attributes"]}  # distilled: listed by what they draw
    assert rows["flow-attributes"]["attribute_conditional"] and rows["flow-colour"]["colour_conditional"]
    assert rows["cvae"]["attribute_conditional"] and not rows["vae-source"]["shipped"]
    table = runner.invoke(app, ["models"])
    assert table.exit_code == 0 and "wgan-gp" in table.output and "evaluator" not in table.output


def test_a_packaged_config_builds_on_its_base() -> None:
    base, small = load_config("acgan").to_dict(), load_config("acgan-small").to_dict()
    assert small["nets"]["generator"]["kwargs"] == {**base["nets"]["generator"]["kwargs"], "hidden": 256}
    assert small["train"] == {**base["train"], "ema_decay": 0.999}
    assert {k: v for k, v in small.items() if k not in ("nets", "train")} == {k: v for k, v in base.items() if k not in ("nets", "train")}
    assert small["nets"]["discriminator"] == base["nets"]["discriminator"]
