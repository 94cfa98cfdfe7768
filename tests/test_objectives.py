"""The GAN family: every packaged variant trains a few engine steps into a checkpoint that samples,
and the pieces that make each variant what it is (clipping, penalties, k, info loss) do their job.

Engine runs use the shipped configs with the nets shrunk (``TINY``), so the whole file stays fast;
the full-size nets are built and sampled once per variant in ``test_config_builds_the_generator``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from fashiongan import hub, nets, objectives
from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.data.datasets import conditions
from fashiongan.errors import FashionGANError
from fashiongan.nets.gan import Generator
from fashiongan.objectives import adversarial, infogan
from fashiongan.objectives.base import Context
from fashiongan.train import fit, load_config
from fashiongan.train.config import packaged_configs

VARIANTS = ["gan", "dcgan", "cgan", "acgan", "projgan", "infogan", "wgan", "wgan-gp", "lsgan", "dragan", "began", "ebgan"]
CONDITIONAL = {"cgan", "acgan", "projgan", "infogan"}
TINY = {
    "dcgan_generator": {"width": 8, "hidden": 32},
    "dcgan_discriminator": {"width": 8, "hidden": 32},
    "projection_discriminator": {"width": 8, "hidden": 32},
    "autoencoder_discriminator": {"width": 8},
    "mlp_generator": {"hidden": [32, 64]},
    "mlp_discriminator": {"hidden": [64, 32]},
}


def _tiny(name: str) -> dict:
    return {"nets": {role: {"kwargs": TINY[spec["arch"]]} for role, spec in load_config(name).nets.items()}}


def _setup(name: str, batch_size: int = 8, **hp):
    """Tiny nets, a random batch and a context, as the engine would hand them to the phases."""
    torch.manual_seed(0)
    config = load_config(name, overrides={**_tiny(name), "objective": hp})
    objective = objectives.get(name)
    built = {role: nets.build(spec["arch"], **spec.get("kwargs", {})) for role, spec in config.nets.items()}
    batch = {"image": torch.rand(batch_size, 1, 28, 28) * 2 - 1, "label": torch.arange(batch_size) % 10}
    hp = objective.hyperparameters(config.objective)
    ctx = Context(step=0, hp=hp, state=objective.initial_state(hp), seed=0, device=torch.device("cpu"),
                  data=conditions(config.data))
    return objective, built, batch, ctx


def _labels(generator: Generator, n: int) -> torch.Tensor | None:
    return torch.arange(n) % generator.num_classes if generator.num_classes else None


def _check_images(images: torch.Tensor, n: int) -> None:
    assert images.shape == (n, 1, 28, 28) and images.dtype == torch.float32
    assert torch.isfinite(images).all() and images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize("name", VARIANTS)
def test_config_builds_the_generator(name: str) -> None:
    config = load_config(name)
    assert config.model == name and objectives.get(name).name == name
    assert objectives.get(name).conditional == (name in CONDITIONAL)
    spec = config.nets["generator"]
    generator = nets.build(spec["arch"], **spec.get("kwargs", {})).eval()
    assert isinstance(generator, Generator) and generator.image_shape == (1, 28, 28)
    assert generator.num_classes == (10 if name in CONDITIONAL else 0)
    assert generator.latent(5).shape == (5, generator.z_dim)
    labels = _labels(generator, 3)
    first = generator.sample(3, labels, generator=torch.Generator().manual_seed(1))
    _check_images(first, 3)
    torch.testing.assert_close(generator.sample(3, labels, generator=torch.Generator().manual_seed(1)), first)


@pytest.mark.parametrize("name", VARIANTS)
def test_a_few_engine_steps_give_a_checkpoint_that_samples(name: str, real_data: Path, tmp_path: Path) -> None:
    n_critic = load_config(name).objective.get("n_critic", 1)
    steps = max(3, n_critic + 1)
    config = load_config(name, overrides={
        **_tiny(name),
        "data": {"limit": 128, "eval_split": None},
        "train": {"steps": steps, "batch_size": 16, "samples": True},
    })
    out = tmp_path / "run"
    assert fit(config, out, progress=False).steps == steps

    state = hub.load_tensors(out / hub.TRAINING_FILE)
    history = {k[len("history."):-len(".value")]: v for k, v in state.items() if k.startswith("history.") and k.endswith(".value")}
    assert len(history["D/loss"]) == steps and len(history["G/loss"]) == math.ceil(steps / n_critic)
    assert all(torch.isfinite(v).all() for v in history.values()), history
    assert list((out / "samples").glob("step_*.png")) and (out / "progress.gif").is_file()

    checkpoint = hub.load_checkpoint(out)
    generator = checkpoint.main
    assert checkpoint.config["model"] == name and checkpoint.config["conditional"] == (name in CONDITIONAL)
    if name in CONDITIONAL:
        _check_images(generator.sample(4, torch.tensor([0, 3, 7, 9])), 4)
        with pytest.raises(ValueError, match="conditional"):
            generator.sample(4)
    else:
        _check_images(generator.sample(4), 4)
        with pytest.raises(ValueError, match="unconditional"):
            generator.sample(4, torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize("name", VARIANTS)
def test_d_phase_leaves_g_alone_and_g_phase_leaves_d_alone(name: str) -> None:
    objective, built, batch, ctx = _setup(name)
    roles = {"discriminator": "generator", "generator": "discriminator"}
    for phase in objective.phases(ctx.hp):
        own, other = phase.optimizer, roles[phase.optimizer]
        for net in built.values():
            net.zero_grad(set_to_none=True)
        before = [p.detach().clone() for p in built[other].parameters()]
        phase.loss(built, batch, ctx)["loss"].backward()
        assert all(p.grad is None for p in built[other].parameters()), f"{phase.name} phase reached {other}"
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in built[own].parameters())
        torch.optim.Adam(built[own].parameters(), lr=0.1).step()
        assert all(torch.equal(a, b) for a, b in zip(before, built[other].parameters()))


def test_wgan_clips_every_critic_weight() -> None:
    objective, built, batch, ctx = _setup("wgan")
    critic = built["discriminator"]
    assert max(p.abs().max() for p in critic.parameters()) > 0.01  # init N(0, 0.02) and BN weights of 1
    d_phase = objective.phases(ctx.hp)[0]
    d_phase.loss(built, batch, ctx)["loss"].backward()
    torch.optim.RMSprop(critic.parameters(), lr=0.1).step()
    d_phase.after(built, ctx)
    assert max(p.abs().max() for p in critic.parameters()) <= 0.01


def test_wgan_gp_penalty_vanishes_for_a_unit_gradient_critic() -> None:
    points = torch.randn(6, 1, 28, 28)
    w = torch.randn(784)
    unit = w / w.norm()
    assert adversarial.gradient_penalty(lambda x: x.flatten(1) @ unit, points).item() == pytest.approx(0, abs=1e-6)
    scaled = torch.nn.Parameter(3 * unit)
    penalty = adversarial.gradient_penalty(lambda x: x.flatten(1) @ scaled, points)
    assert penalty.item() == pytest.approx(4.0, rel=1e-4)  # (|3 w| - 1)^2
    penalty.backward()
    assert scaled.grad.norm() > 0  # the penalty trains the critic
    assert adversarial.gradient_penalty(lambda x: x.pow(2).flatten(1).sum(1), points).item() > 1


def test_began_k_stays_in_unit_interval() -> None:
    for k0, lambda_k in ((0.0, 10.0), (1.0, 10.0), (0.5, 0.001)):
        objective, built, batch, ctx = _setup("began", k0=k0, lambda_k=lambda_k)
        d_phase = objective.phases(ctx.hp)[0]
        for _ in range(3):
            logged = d_phase.loss(built, batch, ctx)
            assert 0.0 <= ctx.state["k"].item() <= 1.0 and logged["k"].item() == ctx.state["k"].item()
    with pytest.raises(FashionGANError, match="k0"):
        load_config("began", overrides={"objective": {"k0": 2}})


def test_began_k_is_saved_in_the_checkpoint(real_data: Path, tmp_path: Path) -> None:
    config = load_config("began", overrides={
        **_tiny("began"), "objective": {"lambda_k": 0.05},
        "data": {"limit": 64, "eval_split": None}, "train": {"steps": 2, "batch_size": 16, "samples": False},
    })
    fit(config, tmp_path / "run", progress=False)
    state = hub.load_tensors(tmp_path / "run" / hub.TRAINING_FILE)
    assert 0.0 < state["state.k"].item() <= 1.0
    assert state["state.k"].item() == pytest.approx(state["history.D/k.value"][-1].item())


def test_ebgan_g_lowers_the_energy_of_its_fakes_through_both_sides_of_the_reconstruction() -> None:
    """The energy ||D(x) - x||^2 pulls x toward D(x) even where D's reconstruction ignores x."""
    objective, built, batch, ctx = _setup("ebgan", pt_weight=0.0)
    decoder = built["discriminator"].decode
    torch.nn.init.zeros_(decoder.weight)  # D(x) is a constant image: only the "- x" side has a gradient
    g_phase = objective.phases(ctx.hp)[1]
    g_phase.loss(built, batch, ctx)["loss"].backward()
    last = list(built["generator"].deconv.parameters())[-1]
    assert last.grad is not None and last.grad.abs().sum() > 0


def test_infogan_info_loss_trains_q_and_g() -> None:
    objective, built, batch, ctx = _setup("infogan", batch_size=16)
    generator, discriminator = built["generator"], built["discriminator"]
    last = list(discriminator.modules())[-1]  # D's outputs: real/fake logit, then Q: 10 classes, 2 codes

    fake, labels, z = adversarial.fake(built, batch, ctx)
    info = infogan.info_loss(discriminator(fake), generator, labels, z)[1]
    info.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.fc[0].parameters())
    assert last.weight.grad[1:].abs().sum() > 0 and last.weight.grad[0].abs().sum() == 0

    d_phase = objective.phases(ctx.hp)[0]
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    seen = []
    for _ in range(8):
        torch.manual_seed(3)  # the same fakes and codes every time: only Q's fit changes
        optimizer.zero_grad()
        losses = d_phase.loss(built, batch, ctx)
        losses["loss"].backward()
        optimizer.step()
        seen.append(losses["info_loss"].item())
    assert all(math.isfinite(v) for v in seen) and seen[-1] < seen[0], seen


def test_infogan_q_learns_the_class_of_real_images_from_their_labels() -> None:
    """What ties code k to class k: without it G and Q agree on any permutation of the classes."""
    objective, built, batch, ctx = _setup("infogan", batch_size=16)
    d_phase = objective.phases(ctx.hp)[0]
    torch.manual_seed(5)
    with_labels = d_phase.loss(built, batch, ctx)
    ctx.hp = {**ctx.hp, "real_label_weight": 0.0}
    torch.manual_seed(5)  # the same fakes and codes
    without = d_phase.loss(built, batch, ctx)
    assert with_labels["real_label_loss"] > 0
    assert (with_labels["loss"] - without["loss"]).item() == pytest.approx(with_labels["real_label_loss"].item(), rel=1e-5)

    ctx.hp = {**ctx.hp, "real_label_weight": 1.0}
    optimizer = torch.optim.Adam(built["discriminator"].parameters(), lr=2e-3, betas=(0.5, 0.999))
    seen = []
    for _ in range(8):
        optimizer.zero_grad()
        losses = d_phase.loss(built, batch, ctx)
        losses["loss"].backward()
        optimizer.step()
        seen.append(losses["real_label_loss"].item())
    assert seen[-1] < seen[0], seen


def test_acgan_fake_aux_weighs_what_d_learns_from_the_labels_of_fakes() -> None:
    """At fake_aux 0 D's heads learn from real items alone, so no labelling G settles in can train them."""
    objective, built, batch, ctx = _setup("acgan")
    loss = {}
    for weight in (0.0, 1.0, 2.0):
        ctx.hp = {**ctx.hp, "fake_aux": weight}
        torch.manual_seed(1)  # the same fakes each time
        loss[weight] = objective.phases(ctx.hp)[0].loss(built, batch, ctx)["loss"].item()
    fake_cross_entropy = loss[1.0] - loss[0.0]
    assert fake_cross_entropy > 0.5  # ten untrained class logits: about ln 10
    assert loss[2.0] - loss[0.0] == pytest.approx(2 * fake_cross_entropy, rel=1e-4)
    assert load_config("acgan-colour").objective["fake_aux"] == 0 and "fake_aux" not in load_config("acgan").objective


def test_conditional_report_has_a_row_per_class_from_fixed_noise() -> None:
    objective, built, batch, ctx = _setup("cgan")
    report = objective.report(built, ctx)
    assert report.grid.shape == (100, 28, 28) and report.grid.dtype.name == "uint8"
    assert report.nrow == 10 and report.row_labels == list(CLASSES)
    assert (objective.report(built, ctx).grid == report.grid).all()  # the same noise every epoch
    assert built["generator"].training  # the report restores the mode it found

    objective, built, batch, ctx = _setup("dcgan")
    report = objective.report(built, ctx)
    assert report.grid.shape == (64, 28, 28) and report.nrow == 8 and report.row_labels is None


@pytest.mark.parametrize(("name", "hp", "message"), [
    ("wgan", {"n_critic": 0}, "n_critic"),
    ("wgan-gp", {"n_critic": 2.5}, "n_critic"),
    ("wgan", {"clip": -0.01}, "clip"),
    ("wgan-gp", {"gp_weight": "ten"}, "gp_weight"),
    ("began", {"gamma": 1.5}, "gamma"),
    ("ebgan", {"margin": 0}, "margin"),
    ("infogan", {"info_weight": -1}, "info_weight"),
    ("infogan", {"real_label_weight": None}, "real_label_weight"),
    ("projgan", {"loss": "wasserstein"}, "objective.loss"),
    ("projgan", {"r1": -1}, "r1"),
    ("projgan", {"r1_every": 0}, "r1_every"),
    ("projgan", {"diffaugment": "translation,zoom"}, "zoom"),
    ("acgan", {"fake_aux": -1}, "fake_aux"),
])
def test_bad_hyperparameters_are_rejected_before_training(name: str, hp: dict, message: str) -> None:
    with pytest.raises(FashionGANError, match=message):
        load_config(name, overrides={"objective": hp})


def test_generator_label_checks() -> None:
    conditional = nets.build("dcgan_generator", num_classes=10, **TINY["dcgan_generator"]).eval()
    _check_images(conditional.sample(3, 7), 3)  # one label for all
    _check_images(conditional.sample(2, [1, 2]), 2)
    for bad in ([0, 10], [-1, 0], torch.tensor([0.0, 1.0]), [1, 2, 3]):
        with pytest.raises(ValueError):
            conditional.sample(2, bad)
    unconditional = nets.build("mlp_generator", **TINY["mlp_generator"]).eval()
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.sample(2, [0, 1])
    with pytest.raises(ValueError, match="conditional"):
        conditional(conditional.latent(2))
    info = nets.build("dcgan_generator", z_dim=64, continuous_codes=2, num_classes=10, **TINY["dcgan_generator"])
    codes = info.latent(500)[:, -2:]
    assert codes.min() >= -1 and codes.max() <= 1 and codes.min() < -0.9 and codes.max() > 0.9


@pytest.mark.parametrize("name", packaged_configs())
def test_every_recipe_reads_only_the_settings_its_objective_declares_with_their_defaults(name: str) -> None:
    config = load_config(name)
    objective = objectives.get(config.model)
    hp = objective.hyperparameters(config.objective)
    assert set(hp) == set(objective.settings)  # a default for every setting; nothing else
    assert objective.phases(hp) and isinstance(objective.initial_state(hp), dict)
