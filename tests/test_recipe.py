"""The fast conditional recipe's pieces: the projection discriminator, DiffAugment, the projgan losses
(hinge, class head, lazy R1) and the check that rejects recipe pieces that do not combine."""

from __future__ import annotations

import pytest
import torch

from fashiongan import nets, objectives
from fashiongan.errors import FashionGANError
from fashiongan.objectives import diffaugment
from fashiongan.objectives.base import Context
from fashiongan.train import load_config

SMALL = {"width": 8, "hidden": 32}


def _images(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_spectral_norm_keeps_every_layer_at_unit_gain() -> None:
    torch.manual_seed(0)
    D = nets.build("projection_discriminator", aux_classes=10, **SMALL)
    for _ in range(20):  # power iterations run in training-mode forwards
        D(_images(), torch.arange(6))
    fc = D.body[5]
    assert abs(torch.linalg.matrix_norm(fc.weight.detach(), 2).item() - 1) < 0.05
    plain = nets.build("projection_discriminator", spectral_norm=False, **SMALL)
    assert torch.linalg.matrix_norm(plain.body[5].weight.detach(), 2).item() < 0.8  # N(0, 0.02) init: not normalised


def test_the_projection_makes_the_score_depend_on_the_label() -> None:
    torch.manual_seed(0)
    D = nets.build("projection_discriminator", aux_classes=10, **SMALL).eval()
    x = _images(2)
    out = D(x, torch.tensor([0, 0]))
    assert out.shape == (2, 11)
    assert not torch.allclose(out[:, 0], D(x, torch.tensor([5, 5]))[:, 0])
    torch.testing.assert_close(out[:, 1:], D(x, torch.tensor([5, 5]))[:, 1:])  # the class head does not read the label
    with pytest.raises(ValueError, match="pass labels"):
        D(x)
    blind = nets.build("projection_discriminator", projection=False, **SMALL).eval()
    torch.testing.assert_close(blind(x, torch.tensor([0, 0])), blind(x, torch.tensor([5, 5])))


@pytest.mark.parametrize("op", list(diffaugment.OPS))
def test_each_diffaugment_op_is_differentiable_and_seeded(op: str) -> None:
    x = _images().requires_grad_(True)
    torch.manual_seed(1)
    out = diffaugment.augment(x, (op,))
    assert out.shape == x.shape and not torch.equal(out, x)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.manual_seed(1)
    torch.testing.assert_close(diffaugment.augment(x, (op,)), out)


def test_translation_and_cutout_fill_with_the_background() -> None:
    x = torch.full((16, 1, 28, 28), 0.5)
    torch.manual_seed(0)
    cut = diffaugment.augment(x, ("cutout",))
    assert ((cut == -1).flatten(1).sum(1) == 14 * 14).all()
    moved = diffaugment.augment(x, ("translation",))
    assert set(moved.unique().tolist()) <= {-1.0, 0.5}
    assert ((moved == -1).flatten(1).sum(1) <= 28 * 28 - 24 * 24).all()  # at most 4 px (1/8 of 28) each way


def test_diffaugment_policy_is_checked() -> None:
    assert diffaugment.policy("") == () and diffaugment.policy(" translation, cutout ") == ("translation", "cutout")
    with pytest.raises(FashionGANError, match="unknown op 'zoom'; known: translation"):
        diffaugment.policy("zoom")


def _setup(**hp):
    torch.manual_seed(0)
    config = load_config("projgan", overrides={
        "nets": {"generator": {"kwargs": SMALL}, "discriminator": {"kwargs": SMALL}}, "objective": hp})
    built = {role: nets.build(s["arch"], **s["kwargs"]) for role, s in config.nets.items()}
    batch = {"image": _images(8), "label": torch.arange(8) % 10}
    return objectives.get("projgan"), built, batch, objectives.get("projgan").hyperparameters(config.objective)


def test_r1_is_applied_lazily_and_scaled_by_its_interval() -> None:
    objective, built, batch, hp = _setup(r1=1.0, r1_every=4)
    d_phase = objective.phases(hp)[0]
    logs = {step: d_phase.loss(built, batch, Context(step, hp, {}, 0, torch.device("cpu"))) for step in (0, 1, 4)}
    assert "r1" in logs[0] and "r1" not in logs[1] and "r1" in logs[4]
    assert logs[0]["r1"] > 0
    extra = logs[0]["loss"] - logs[0]["adversarial"] - (logs[1]["loss"] - logs[1]["adversarial"])  # the class terms cancel
    torch.testing.assert_close(extra.detach(), 1.0 / 2 * 4 * logs[0]["r1"], rtol=1e-4, atol=1e-4)


def test_hinge_loss_is_zero_for_a_confidently_right_d_and_linear_beyond_the_margin() -> None:
    objective, built, batch, hp = _setup(aux_weight=0.0)
    # D scores +2 on the real half of its input and -2 on the fake half
    built["discriminator"].forward = lambda x, labels=None: torch.tensor([[2.0]] * 8 + [[-2.0]] * 8)
    ctx = Context(1, hp, {}, 0, torch.device("cpu"))
    assert objective.phases(hp)[0].loss(built, batch, ctx)["loss"].item() == 0.0
    built["discriminator"].forward = lambda x, labels=None: torch.tensor([[-2.0]] * 8 + [[2.0]] * 8)  # confidently wrong
    assert objective.phases(hp)[0].loss(built, batch, ctx)["loss"].item() == 6.0  # relu(1 + 2) twice


def test_a_class_head_weight_without_a_head_is_a_clear_error() -> None:
    objective, built, batch, hp = _setup()
    built["discriminator"] = nets.build("projection_discriminator", **SMALL)
    with pytest.raises(FashionGANError, match="aux_classes"):
        objective.phases(hp)[0].loss(built, batch, Context(1, hp, {}, 0, torch.device("cpu")))


def test_spectral_norm_with_weight_clipping_is_rejected_naming_both() -> None:
    projection = {"discriminator": {"arch": "projection_discriminator", "kwargs": {"num_classes": 10}}}
    with pytest.raises(FashionGANError, match=r"spectral norm .* and weight clipping \(model wgan\) do not combine"):
        load_config("wgan", overrides={"nets": projection})
    plain = {"discriminator": {"arch": "projection_discriminator", "kwargs": {"num_classes": 10, "spectral_norm": False}}}
    assert load_config("wgan", overrides={"nets": plain}).model == "wgan"


def test_minibatch_std_lets_the_discriminator_tell_a_batch_without_spread() -> None:
    """A generator that ignores its noise gives a batch of one item repeated: with minibatch_std D scores it
    differently from the same item among varied ones; without, each item's score is its own."""
    torch.manual_seed(0)
    x = torch.rand(6, 3, 64, 64) * 2 - 1
    same = x[:1].expand(6, -1, -1, -1)
    for spread in (False, True):
        D = nets.build("dcgan_discriminator", channels=3, size=64, norm="layer", minibatch_std=spread, **SMALL).eval()
        assert torch.allclose(D(x)[0], D(same)[0]) != spread
    assert D(x[:1]).shape == (1, 1)  # a batch of one has no spread to measure, and still scores


def test_mode_seeking_charges_a_generator_that_ignores_its_noise() -> None:
    from fashiongan.objectives import adversarial as adv

    torch.manual_seed(0)
    G = nets.build("dcgan_generator", num_classes=10, **SMALL)
    batch = {"image": _images(8), "label": torch.arange(8)}
    ctx = Context(0, {}, {}, 0, torch.device("cpu"))
    images, _, z = adv.fake({"generator": G}, batch, ctx)
    assert adv.mode_seeking({"generator": G}, batch, ctx, images, z).item() < 1e3
    with torch.no_grad():
        G.fc[0].weight[:, :G.z_dim] = 0  # the noise no longer reaches the image
    images, _, z = adv.fake({"generator": G}, batch, ctx)
    assert adv.mode_seeking({"generator": G}, batch, ctx, images, z).item() > 1e4
    config = load_config("acgan-catalogue")
    assert config.objective["mode_seeking"] > 0 and config.nets["discriminator"]["kwargs"]["minibatch_std"]
    with pytest.raises(FashionGANError, match="objective.mode_seeking"):
        load_config("acgan-narrow", overrides={"objective": {"mode_seeking": -1}})
