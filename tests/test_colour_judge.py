"""The colour judge: its net's layout, its two-head objective trained through the engine, the shipped weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fashiongan import hub, metrics, nets, objectives
from fashiongan.data import colored, fabrics
from fashiongan.data.datasets import load_training_data
from fashiongan.data.transforms import to_float
from fashiongan.errors import FashionGANError
from fashiongan.objectives.base import Context
from fashiongan.objectives.colour_judge import two_head_loss
from fashiongan.train import fit, load_config


def test_colour_judge_net_has_the_judge_layout() -> None:
    torch.manual_seed(0)
    judge = nets.build("colour_judge").eval()
    x = torch.rand(5, 3, 28, 28) * 2 - 1
    features = judge.features(x)
    assert features.shape == (5, 256) and judge.head(features).shape == (5, 10)
    assert judge.colour_head(features).shape == (5, len(colored.catalogue()))
    assert torch.equal(judge(x), judge.head(features)) and metrics.judge_channels(judge) == 3
    assert sum(p.numel() for p in judge.parameters()) < 1_000_000  # ships in about 1 MB as float16


def test_standardised_shading_ignores_the_paint(real_data: Path) -> None:
    items = colored.load("test", "catalogue", 0, limit=20)
    judge = nets.build("colour_judge")
    light = judge.standardised_shading(to_float(colored.paint_items(items.gray, np.full(20, 1))))  # white
    dark = judge.standardised_shading(to_float(colored.paint_items(items.gray, np.full(20, 3))))  # navy
    garment = torch.tensor(items.gray >= 0.05 * 255)
    agreement = [
        torch.corrcoef(torch.stack([light[i, 0][garment[i]], dark[i, 0][garment[i]]]))[0, 1] for i in range(20)
    ]
    assert min(agreement) > 0.9 and sum(agreement) / 20 > 0.95  # the same folds and outline, item by item
    assert (light[:, 0][torch.tensor(items.gray == 0)] == 0).all()  # the background stays 0


def test_colour_judge_trains_through_the_engine_and_scores(tmp_path: Path, real_data: Path) -> None:
    config = load_config("colour-judge", overrides={
        "data": {"limit": 256, "fabric_items": 16}, "nets": {"classifier": {"kwargs": {"width": 8, "feature_dim": 32}}},
        "train": {"steps": 6, "batch_size": 32},
    })
    assert config.data["name"] == "colored" and config.data["mode"] == "catalogue"
    result = fit(config, tmp_path / "judge", progress=False)
    assert result.steps == 6 and set(result.metrics) == {"test_accuracy", "test_colour_accuracy"}
    assert all(0 <= value <= 1 for value in result.metrics.values())
    judge = metrics.load_judge(tmp_path / "judge")
    assert metrics.judge_data(judge)["name"] == "colored" and metrics.judge_channels(judge) == 3
    hub.export(tmp_path / "judge", tmp_path / "shipped", half=True)
    assert metrics.judge_fingerprint(metrics.load_judge(tmp_path / "shipped")) != metrics.judge_fingerprint(judge)
    with pytest.raises(FashionGANError, match="colour_weight must be positive"):
        load_config("colour-judge", overrides={"objective": {"colour_weight": 0}})


def test_fabric_items_teach_the_class_head_only(real_data: Path) -> None:
    data = load_training_data({"name": "colored", "limit": 40, "fabric_items": 6, "eval_split": None})
    train = data.train
    assert len(train["label"]) == 40 + 2 * 6 and train["image"].shape[1:] == (3, 28, 28)
    fabric = train["colour"] == colored.UNKNOWN_COLOUR
    assert fabric.sum() == 12 and not fabric[:40].any()
    for i, name in enumerate(fabrics.FABRICS):  # each fabric's items, at the coloured items' 28 px, with their classes
        rendered = fabrics.load("train", name, 0, 6)
        assert torch.equal(train["label"][40 + 6 * i: 46 + 6 * i], torch.from_numpy(rendered.labels.copy()))

    torch.manual_seed(0)
    judge = nets.build("colour_judge", width=8, feature_dim=32)
    ctx = Context(0, objectives.get("colour-judge").hyperparameters({}), {}, 0, torch.device("cpu"))
    judge.eval()  # no dropout or batch statistics: the same features in every call
    both = two_head_loss({"classifier": judge}, {k: v[30:46] for k, v in train.items()}, ctx)
    known = two_head_loss({"classifier": judge}, {k: v[30:40] for k, v in train.items()}, ctx)
    torch.testing.assert_close(both["colour_loss"], known["colour_loss"])  # fabric items add nothing to the colour head
    torch.testing.assert_close(both["colour_accuracy"], known["colour_accuracy"])
    assert not torch.isclose(both["class_loss"], known["class_loss"])  # ...but they do to the class head
    with pytest.raises(FashionGANError, match="fabric_items must be a whole number"):
        load_training_data({"name": "colored", "limit": 8, "fabric_items": -3})


def test_the_shipped_colour_judge_knows_class_and_colour(real_data: Path) -> None:
    judge = metrics.load_judge(metrics.COLOUR_JUDGE)
    assert metrics.judge_data(judge) == {
        "name": "colored", "mode": "catalogue", "fabric_items": 10000, "augment": {"flip": True, "shift": 2}}
    items = colored.load("test", "catalogue", 0, limit=1000)
    out = metrics.judge_outputs(judge, items.images)
    assert metrics.label_accuracy(out.logits, items.labels) >= 0.92
    assert metrics.colour_accuracy(out.colour_logits, items.colours) >= 0.98
    for fabric in fabrics.FABRICS:  # it knows the garment in leather and denim too (restyle's garment kept)
        rendered = fabrics.load("test", fabric, 0, 300)
        judged = metrics.judge_outputs(judge, rendered.images).logits
        assert metrics.label_accuracy(judged, rendered.labels) >= 0.85
    weights = hub.resolve(metrics.COLOUR_JUDGE) / hub.WEIGHTS_FILE
    assert weights.stat().st_size < 3 * 2**20
