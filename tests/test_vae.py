"""The VAEs: shapes, conditions completed from the prior, the loss's options, a few engine steps of both
packaged configs on 64 real items, sampling by attributes (and its errors), the ELBO, exact resume.

Engine runs shrink the nets (``TINY``) and train a handful of steps, so the file stays fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from fashiongan import hub, latents, nets, sampling
from fashiongan.cli import app
from fashiongan.data import attributes as offline
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.metrics.conditioning import attribute_accuracy
from fashiongan.metrics.elbo import held_out_elbo, vae_scores
from fashiongan.nets.gan import Generator
from fashiongan.objectives import vae as objective
from fashiongan.objectives.base import Context
from fashiongan.train import Trainer, fit, load_config

runner = CliRunner()
CONFIGS = ("vae-source", "cvae")
TINY = {
    "vae-source": {"z_dim": 4, "filters": [2, 2, 2, 2], "hidden": [8, 8]},
    "cvae": {"z_dim": 4, "width": 4, "hidden": 16},
}
VOCABULARY = offline.vocabulary()


class Killed(Exception):
    """Stands in for a process killed in the middle of a step."""


def tiny_config(name: str, data_dir: Path, **train):
    return load_config(name, overrides={
        "nets": {"vae": {"kwargs": TINY[name]}},
        "data": {"data_dir": str(data_dir), "limit": 64},
        "objective": {"report_n": 16},
        "train": {"batch_size": 16, "epochs": None, "steps": 6, "checkpoint_every": 3, "track_fid": None, **train},
    })


@pytest.fixture(scope="module")
def trained(_real_data_location: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both packaged configs, tiny, trained 6 steps on the first 64 real items of the offline attribute set."""
    directory, cache = _real_data_location
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHIONGAN_CACHE", str(cache))
        mp.setenv("FASHIONGAN_OFFLINE", "1")
        for name in CONFIGS:
            runs[name] = tmp_path_factory.mktemp("vae") / name
            fit(tiny_config(name, directory), runs[name], progress=False)
    return runs


def names_of(vector: torch.Tensor) -> set[str]:
    return {name for name, on in zip(VOCABULARY.names, vector.tolist()) if on}


# ---------------------------------------------------------------- nets

@pytest.mark.parametrize("name", CONFIGS)
def test_packaged_net_encodes_decodes_and_samples_in_range(name: str) -> None:
    spec = load_config(name).nets["vae"]
    net = nets.build(spec["arch"], **spec["kwargs"]).eval()
    assert isinstance(net, Generator)
    assert net.image_shape == (3, 28, 28) and net.num_attributes == len(VOCABULARY.names) == 30
    images = torch.rand(5, 3, 28, 28) * 2 - 1
    asked = net.complete(None, 5, torch.Generator().manual_seed(0))
    mean, log_var = net.encode(images, asked)
    assert mean.shape == log_var.shape == (5, net.z_dim)
    assert net.decode(mean, asked).shape == (5, 3, 28, 28)
    first = net.sample(4, generator=torch.Generator().manual_seed(1))
    assert first.shape == (4, 3, 28, 28) and first.min() >= -1 and first.max() <= 1
    torch.testing.assert_close(net.sample(4, generator=torch.Generator().manual_seed(1)), first)
    with pytest.raises(ValueError, match="attributes"):
        net.sample(2, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"shape \(5, 30\)"):
        net.decode(mean)


def test_requests_are_completed_from_the_prior_consistently() -> None:
    net = nets.build("cvae", **TINY["cvae"])
    rng = torch.Generator().manual_seed(0)
    drawn = net.complete(net.request(["colour=navy"]), 400, rng)
    categories = set()
    for row in drawn:
        found = names_of(row)
        assert "colour=navy" in found and "tone=dark" in found and len(found) == 4  # one value per column
        category = next(v for v in found if v.startswith("category="))
        group = offline.GROUP_OF_CLASS[VOCABULARY.values[0].index(category.split("=")[1])]
        assert f"group={group}" in found
        categories.add(category)
    assert len(categories) >= 5  # navy items of mixed categories
    shoes = net.values(net.complete(net.request(["group=shoes"]), 200, rng), "category")
    assert set(shoes.tolist()) == {5, 7, 9}  # sandal, sneaker, ankle boot
    everything = net.complete(None, 3000, rng)
    shares = np.bincount(net.values(everything, "category").numpy(), minlength=10) / 3000
    assert np.allclose(shares, 0.1, atol=0.03)  # categories as often as in the data
    with pytest.raises(ValueError, match="no item of the training data is category=dress and group=shoes"):
        net.complete(net.request(["category=dress", "group=shoes"]), 2, rng)
    with pytest.raises(ValueError, match="multi-hot"):
        net.complete(torch.full((30,), 0.5), 2, rng)


def test_learned_prior_starts_at_the_standard_normal_and_moves_the_draws() -> None:
    torch.manual_seed(0)
    net = nets.build("cvae", **TINY["cvae"])
    asked = net.complete(net.request(["category=sandal", "colour=red"]), 3)
    mean, log_var = net.prior(asked, 3)
    assert torch.equal(mean, torch.zeros(3, 4)) and torch.equal(log_var, torch.zeros(3, 4))
    noise = torch.randn(3, 4)
    before = net(noise, asked)
    torch.nn.init.constant_(net.prior_net[-1].bias, 1.0)  # m(a) = 1, s(a) = exp(1/2)
    torch.testing.assert_close(net(noise, asked), net.to_image(net.decode(1 + noise * math.exp(0.5), asked)))
    assert not torch.equal(before, net(noise, asked))
    _, kl = objective.terms(net, _batch(3)["image"], asked, torch.zeros(3, 4))
    mean_q, log_var_q = net.encode(_batch(3)["image"], asked)
    expected = 0.5 * (1 - log_var_q + (log_var_q.exp() + (mean_q - 1) ** 2) / math.e - 1)
    torch.testing.assert_close(kl, expected)
    assert nets.build("vae_source", **TINY["vae-source"]).prior_net is None  # the source's N(0, I)


def test_temperature_scales_the_noise_of_samples_only() -> None:
    cold = nets.build("cvae", **TINY["cvae"], temperature=0.5)
    warm = nets.build("cvae", **TINY["cvae"])
    torch.testing.assert_close(cold.latent(3, generator=torch.Generator().manual_seed(2)),
                               0.5 * warm.latent(3, generator=torch.Generator().manual_seed(2)))
    with pytest.raises(CheckpointError, match="temperature must lie in"):
        nets.build("cvae", **TINY["cvae"], temperature=0)


def test_an_exploding_encoder_keeps_the_loss_finite() -> None:
    net = nets.build("cvae", **TINY["cvae"])
    torch.nn.init.constant_(net.encoder_head[-1].bias, 100.0)  # log-variances of 100: std exp(50) unbounded
    _, log_var = net.encode(_batch(4)["image"], _batch(4)["attributes"])
    assert log_var.max() <= 10
    ctx = Context(step=0, hp=objective.OBJECTIVE.hyperparameters({}), state={}, seed=0, device=torch.device("cpu"))
    assert torch.isfinite(objective.loss({"vae": net}, _batch(4), ctx)["loss"])


def test_unconditional_vae_takes_no_attributes() -> None:
    net = nets.build("cvae", **TINY["cvae"], attribute_set=None, channels=1, conditional_prior=False)
    assert net.num_attributes == 0 and net.sample(2).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="unconditional"):
        net.sample(2, attributes=torch.zeros(30))


# ---------------------------------------------------------------- objective

def _batch(n: int = 32) -> dict[str, torch.Tensor]:
    """Items drawn from their attributes: a block placed by the category, painted in the colour, on black."""
    labels, colours = torch.arange(n) % 10, torch.arange(n) % 12
    images = -torch.ones(n, 3, 28, 28)
    palette = torch.tensor([c.rgb for c in offline.colored.catalogue()]).float() / 127.5 - 1
    for i, (label, colour) in enumerate(zip(labels.tolist(), colours.tolist())):
        images[i, :, 2 + label : 16 + label, 6:22] = palette[colour][:, None, None]
    return {"image": images, "attributes": torch.from_numpy(offline.encode(labels.numpy(), colours.numpy()))}


def test_discretised_logistic_is_a_distribution_over_the_256_levels() -> None:
    levels = torch.arange(256).float() / 127.5 - 1
    for mean, log_scale in ((0.3, -3.0), (-0.99, -5.0), (0.9, 0.5)):
        log_p = objective._discretised_logistic(torch.tensor(mean), torch.tensor(log_scale), levels)
        assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-3)


def test_kl_warmup_and_free_bits_shape_the_loss() -> None:
    assert objective.kl_weight({"beta": 2.0, "warmup": 100}, 0) == pytest.approx(0.02)
    hp = objective.OBJECTIVE.hyperparameters
    assert objective.kl_weight(hp({"beta": 2.0, "warmup": 100}), 99) == objective.kl_weight(hp({"beta": 2.0}), 5000) == 2.0
    torch.manual_seed(0)
    net = nets.build("cvae", **TINY["cvae"])
    batch = _batch()
    ctx = Context(step=0, hp=objective.OBJECTIVE.hyperparameters({"free_bits": 50.0}), state={}, seed=0, device=torch.device("cpu"))
    torch.manual_seed(1)
    logged = objective.loss({"vae": net}, batch, ctx)
    # every dimension's KL is far below 50 nats, so each one costs exactly the free bits
    assert logged["loss"].item() == pytest.approx(logged["reconstruction"].item() + 50.0 * net.z_dim, rel=1e-5)
    assert logged["neg_elbo"].item() == pytest.approx(logged["reconstruction"].item() + logged["kl"].item(), rel=1e-5)
    with pytest.raises(FashionGANError, match="unknown setting objective.gamma"):
        load_config("cvae", overrides={"objective": {"gamma": 1}})
    with pytest.raises(FashionGANError, match="objective.free_bits"):
        load_config("cvae", overrides={"objective": {"free_bits": -1}})


@pytest.mark.parametrize("name", CONFIGS)
def test_elbo_is_finite_and_improves_over_a_few_steps(name: str) -> None:
    torch.manual_seed(0)
    spec = load_config(name).nets["vae"]
    net = nets.build(spec["arch"], **{**spec["kwargs"], **TINY[name]})
    batch = _batch()
    before = objective.elbo(net, batch["image"], batch["attributes"], seed=0)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    ctx = Context(step=0, hp=objective.OBJECTIVE.hyperparameters({}), state={}, seed=0, device=torch.device("cpu"))
    for _ in range(15):
        optimizer.zero_grad()
        objective.loss({"vae": net}, batch, ctx)["loss"].backward()
        optimizer.step()
    after = objective.elbo(net, batch["image"], batch["attributes"], seed=0)
    assert all(math.isfinite(v) for v in (*before.values(), *after.values()))
    assert after["neg_elbo"] < 0.99 * before["neg_elbo"], (before, after)
    assert after["bits_per_dim"] == pytest.approx(after["neg_elbo"] / (3 * 28 * 28 * math.log(2)))


# ---------------------------------------------------------------- engine, sampling, scores

@pytest.mark.parametrize("name", CONFIGS)
def test_engine_steps_give_a_checkpoint_that_samples_by_attributes(name: str, trained: dict[str, Path], real_data: Path) -> None:
    saved = hub.read_config(trained[name])
    assert saved["model"] == "vae" and saved["main"] == "vae" and saved["training"]["step"] == 6
    assert math.isfinite(saved["metrics"]["neg_elbo"]) and saved["metrics"]["kl"] >= 0
    assert any((trained[name] / "samples").glob("step_*.png"))
    drawn = sampling.sample(str(trained[name]), n=7, attributes=["category=dress", "colour=navy"], seed=3)
    assert drawn.images.shape == (7, 28, 28, 3) and drawn.images.dtype == np.uint8
    assert drawn.labels.tolist() == [3] * 7 and drawn.colours.tolist() == [offline.colored.colour_index("navy")] * 7
    again = sampling.sample(str(trained[name]), n=7, attributes=["category=dress", "colour=navy"], seed=3)
    assert np.array_equal(drawn.images, again.images)
    mixed = sampling.sample(str(trained[name]), n=40, attributes="colour=navy")
    assert set(mixed.colours.tolist()) == {3} and len(set(mixed.labels.tolist())) > 1
    free = sampling.sample(str(trained[name]), n=20)  # what evaluate asks for: everything from the prior
    assert free.labels is not None and free.colours is not None


def test_bad_attribute_requests_are_one_line_errors(trained: dict[str, Path], tmp_path: Path) -> None:
    checkpoint = str(trained["cvae"])
    with pytest.raises(FashionGANError, match="NAME one of: category, group, colour, tone"):
        sampling.sample(checkpoint, n=2, attributes=["size=xl"])
    with pytest.raises(FashionGANError, match="unknown colour 'mauve'; choose one of: black, white"):
        sampling.sample(checkpoint, n=2, attributes=["colour=mauve"])
    with pytest.raises(FashionGANError, match="not a label or colour"):
        sampling.sample(checkpoint, n=2, label="dress")
    with pytest.raises(FashionGANError, match="takes no attributes"):
        sampling.sample("pretrained:acgan", n=2, attributes=["colour=navy"])
    for args in (["--attr", "category=gown"], ["--attr", "category=dress", "--attr", "group=shoes"], ["--attr", "colour"]):
        result = runner.invoke(app, ["sample", "-c", checkpoint, *args, "--out", str(tmp_path / "x.png")])
        assert result.exit_code == 1 and result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert "category=dress and group=shoes" in runner.invoke(
        app, ["sample", "-c", checkpoint, "--attr", "category=dress", "--attr", "group=shoes", "--out", str(tmp_path / "x.png")]
    ).output


def test_sample_cli_writes_attribute_grids_reconstructions_and_walks(trained: dict[str, Path], real_data: Path, tmp_path: Path) -> None:
    checkpoint = str(trained["cvae"])
    result = runner.invoke(app, ["sample", "-c", checkpoint, "--attr", "category=dress", "--attr", "colour=navy",
                                 "--n", "6", "--out", str(tmp_path / "x.png"), "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.output)
    assert written["labels"] == ["dress"] * 6 and written["colours"] == ["navy"] * 6 and (tmp_path / "x.png").is_file()
    result = runner.invoke(app, ["sample", "-c", checkpoint, "--interpolate", "5", "--n", "3", "--attr", "category=coat",
                                 "--out", str(tmp_path / "walk.png")])
    assert result.exit_code == 0 and "3 walks of 5 steps" in result.output, result.output
    result = runner.invoke(app, ["sample", "-c", checkpoint, "--reconstruct", "--n", "4", "--out", str(tmp_path / "r.png")])
    assert result.exit_code == 0 and "4 test items over their reconstructions" in result.output, result.output
    walks = latents.interpolations(checkpoint, n=2, steps=4, attributes=["colour=red"], seed=1)
    assert walks.shape == (8, 28, 28, 3)
    items, rebuilt = latents.reconstructions(checkpoint, n=3)
    assert items.shape == rebuilt.shape == (3, 28, 28, 3)
    with pytest.raises(CheckpointError, match="not a VAE"):
        latents.reconstructions("pretrained:acgan")
    with pytest.raises(FashionGANError, match="2 to 32 steps"):
        latents.interpolations(checkpoint, steps=1)


def test_test_set_elbo_of_a_checkpoint(trained: dict[str, Path], real_data: Path) -> None:
    scores = held_out_elbo(str(trained["cvae"]), n=32)
    assert scores["n"] == 32 and scores["likelihood"] == "logistic" and math.isfinite(scores["neg_elbo"])
    assert scores == held_out_elbo(str(trained["cvae"]), n=32)  # seeded
    assert held_out_elbo(str(trained["vae-source"]), n=32)["likelihood"] == "bernoulli"
    with pytest.raises(CheckpointError, match="not a VAE"):
        held_out_elbo("pretrained:acgan")


def test_evaluate_scores_of_a_vae_and_attribute_accuracy_of_its_samples(
    trained: dict[str, Path], real_data: Path, tmp_path: Path
) -> None:
    from fashiongan import attributes as attribute_models

    scores = vae_scores(str(trained["cvae"]), n=32)
    assert scores["elbo_likelihood"] == "logistic" and math.isfinite(scores["neg_elbo"])
    assert ("accuracy/category" in scores) == ("attributes" in hub.shipped())
    assert vae_scores("pretrained:acgan") == {}
    config = attribute_models.train_config(
        "attributes", limit=64, data_dir=real_data,
        overrides={"train": {"steps": 2, "batch_size": 16, "epochs": None, "samples": False, "track_fid": None}},
    )
    attribute_models.train(config, tmp_path / "reader", progress=False)
    generator = sampling.load_generator(trained["cvae"])
    accuracy = attribute_accuracy(generator, sampling.offers(generator).attributes, tmp_path / "reader", n=40)
    assert {"accuracy/category", "accuracy/group", "accuracy/colour", "accuracy/tone"} <= set(accuracy)
    assert all(0 <= accuracy[f"accuracy/{c}"] <= 1 for c in VOCABULARY.columns) and accuracy["n"] == 40
    per_value = accuracy["conditions"]
    assert set(per_value["columns"]) == set(VOCABULARY.columns)
    for column, values in zip(VOCABULARY.columns, VOCABULARY.values):
        found = per_value["columns"][column]
        assert found["names"] == list(values) and sum(map(sum, found["confusion"])) == 40  # every sample asks one value
        right = sum(found["confusion"][i][i] for i in range(len(values)))
        assert right / 40 == pytest.approx(accuracy[f"accuracy/{column}"])
    column, value = per_value["lowest"]["name"].split("=")
    assert per_value["columns"][column]["accuracy"][value] == per_value["lowest"]["accuracy"]
    with pytest.raises(FashionGANError, match="conditioned on attributes"):
        grey = sampling.load_generator("pretrained:acgan")
        attribute_accuracy(grey, sampling.offers(grey).attributes, tmp_path / "reader")


def test_resume_after_a_crash_is_exact(real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config("cvae", real_data, samples=False)
    fit(config, tmp_path / "whole", progress=False)
    original = Trainer.run_phase

    def dying(self, phase, batch):
        if self.ctx.step == 5:  # after the checkpoint at the epoch end (64 items, batches of 16)
            raise Killed
        return original(self, phase, batch)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "run_phase", dying)
        with pytest.raises(Killed):
            fit(config, tmp_path / "crashed", progress=False)
    assert hub.read_config(tmp_path / "crashed")["training"]["step"] == 4
    fit(config, tmp_path / "crashed", resume=tmp_path / "crashed", progress=False)
    for file in (hub.WEIGHTS_FILE, hub.TRAINING_FILE):
        whole, resumed = load_file(tmp_path / "whole" / file), load_file(tmp_path / "crashed" / file)
        assert sorted(whole) == sorted(resumed)
        assert not [k for k in whole if not torch.equal(whole[k], resumed[k])]
