"""FID while training: scores at epoch ends and intervals, best/ by FID, a budget, and no effect on training.

`fit` is given a clock that advances 10 s per training step, so that a run of a
few steps is "long" and scoring costs no time: what is checked is when scores happen, what they
are and what is kept, exactly. The judge is the shipped evaluator; its real statistics are those
of the first 1,000 real test images (the whole test set's cost 10,000 judge passes, for nothing more here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import torch
from safetensors.torch import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fashiongan import hub, metrics, sampling
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.conditions import Conditions
from fashiongan.errors import FashionGANError
from fashiongan.metrics import features as judge_features
from fashiongan.sampling import load_generator
from fashiongan.train import Trainer, fit, load_config, tracking

GREY = Conditions(1, 28, fm.CLASSES)  # what a Fashion-MNIST generator draws

SMALL_GAN = {"kwargs": {"width": 4, "hidden": 16}}
TRACK = {"n": 100, "every_minutes": 1, "max_share": 0.05}


def acgan_config(data_dir: Path, steps: int = 16, track=TRACK, **train):
    """acgan shrunk to width 4 on 64 real images, batch 8: an epoch is 8 steps."""
    return load_config("acgan", overrides={
        "nets": {"generator": SMALL_GAN, "discriminator": SMALL_GAN},
        "data": {"data_dir": str(data_dir), "limit": 64},
        "train": {"batch_size": 8, "epochs": None, "steps": steps, "ema_decay": 0.9, "track_fid": track, **train},
    })


REAL = 1000


def small_reference(mp: pytest.MonkeyPatch) -> None:
    """The judge's real statistics from the first REAL test images."""
    mp.setattr(judge_features, "reference_features",
               lambda judge, split="test", progress=False: metrics.extract(judge, fm.load(split).images[:REAL])[0])


def ten_seconds_a_step(mp: pytest.MonkeyPatch) -> Callable[[], float]:
    """A clock for ``fit`` that advances 10 s per training step and not at all while scoring."""
    clock = [1000.0]
    original = Trainer.run_phase

    def phase(self, phase_, batch):
        if phase_.name == "D":
            clock[0] += 10
        return original(self, phase_, batch)

    mp.setattr(Trainer, "run_phase", phase)
    return lambda: clock[0]


@pytest.fixture
def slow_steps(monkeypatch: pytest.MonkeyPatch) -> Callable[[], float]:
    small_reference(monkeypatch)
    return ten_seconds_a_step(monkeypatch)


def history(out: Path, name: str) -> tuple[list[int], list[float]]:
    state = load_file(out / hub.TRAINING_FILE)
    return state[f"history.{name}.step"].tolist(), state[f"history.{name}.value"].tolist()


# ---------------------------------------------------------------- a run that tracks

@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory: pytest.TempPathFactory, _real_data_location) -> Path:
    """16 steps of a tiny acgan, scored at steps 6 and 14 (every minute) and 8 and 16 (epoch ends)."""
    directory, cache = _real_data_location
    out = tmp_path_factory.mktemp("tracked") / "run"
    with pytest.MonkeyPatch.context() as mp:
        clock = ten_seconds_a_step(mp)
        small_reference(mp)
        mp.setenv("FASHIONGAN_DATA", str(directory))
        mp.setenv("FASHIONGAN_CACHE", str(cache))
        mp.setenv("FASHIONGAN_OFFLINE", "1")
        fit(acgan_config(directory), out, progress=False, clock=clock)
    return out


@pytest.mark.real_data
def test_scores_at_epoch_ends_and_every_interval_go_to_history_config_tensorboard_and_plots(tracked_run: Path) -> None:
    steps, fids = history(tracked_run, "judge/fid")
    assert steps == [6, 8, 14, 16]
    assert all(0 < fid < 1000 for fid in fids)
    for name in ("label_accuracy", "label_accuracy_lowest", "precision", "recall"):
        assert history(tracked_run, f"judge/{name}")[0] == steps
        assert all(0 <= v <= 1 for v in history(tracked_run, f"judge/{name}")[1])
    config = hub.read_config(tracked_run)
    assert config["metrics"]["fid"] == fids[-1]  # the checkpoint carries the latest scores
    assert config["metrics"]["label_accuracy"] == history(tracked_run, "judge/label_accuracy")[1][-1]
    assert config["metrics"]["label_accuracy_lowest"] <= config["metrics"]["label_accuracy"]
    events = EventAccumulator(str(tracked_run / "tensorboard")).Reload()
    assert [e.step for e in events.Scalars("judge/fid")] == steps
    assert {"judge/recall", "judge/label_accuracy"} <= set(events.Tags()["scalars"])
    assert (tracked_run / "fid.png").stat().st_size and (tracked_run / "judge_scores.png").stat().st_size


@pytest.mark.real_data
def test_best_holds_the_ema_generator_with_the_lowest_fid_and_rescoring_it_gives_that_fid(tracked_run: Path) -> None:
    steps, fids = history(tracked_run, "judge/fid")
    best = hub.read_config(tracked_run / tracking.BEST_DIR)
    assert best["main"] == "generator_ema"
    assert best["metrics"]["fid"] == min(fids) and best["metrics"]["fid_n"] == TRACK["n"]
    assert best["training"]["step"] == steps[fids.index(min(fids))]
    assert best["judge"]["source"] == "pretrained:evaluator" and "param_groups" not in best["training"]
    assert not (tracked_run / tracking.BEST_DIR / hub.TRAINING_FILE).exists()

    generator = load_generator(tracked_run / tracking.BEST_DIR)
    judge = metrics.load_judge()
    images, labels, colours = tracking._samples(generator, sampling.offers(generator), TRACK["n"], seed=0)
    assert colours is None
    features, logits = metrics.extract(judge, images)
    real = metrics.extract(judge, fm.load("test").images[:REAL])[0]
    assert metrics.fid(real, features) == pytest.approx(min(fids), rel=1e-6)


@pytest.mark.real_data
def test_tracking_changes_nothing_in_the_training_itself(tracked_run: Path, real_data: Path, tmp_path: Path,
                                                         slow_steps: Callable[[], float]) -> None:
    fit(acgan_config(real_data, track=None), tmp_path / "untracked", progress=False, clock=slow_steps)
    for name in (hub.WEIGHTS_FILE, hub.TRAINING_FILE):  # weights, optimiser moments, RNG state, loss history
        tracked = {k: v for k, v in load_file(tracked_run / name).items() if "judge/" not in k}
        untracked = load_file(tmp_path / "untracked" / name)
        assert sorted(tracked) == sorted(untracked) and all(torch.equal(tracked[k], untracked[k]) for k in tracked)
    assert not (tmp_path / "untracked" / tracking.BEST_DIR).exists()


@pytest.mark.real_data
def test_a_better_generator_already_in_best_is_kept(real_data: Path, tmp_path: Path, slow_steps: Callable[[], float]) -> None:
    out = tmp_path / "run"
    incumbent = load_generator("pretrained:acgan")  # recorded with FID 0: no score can beat it
    hub.save_pretrained(out / tracking.BEST_DIR, {"generator_ema": incumbent},
                        {"metrics": {"fid": 0.0, "fid_n": TRACK["n"]}, "judge": {"source": "pretrained:evaluator"}},
                        main="generator_ema")
    fit(acgan_config(real_data, steps=8), out, progress=False, clock=slow_steps)
    assert history(out, "judge/fid")[0] == [6, 8]
    assert hub.read_config(out / tracking.BEST_DIR)["metrics"]["fid"] == 0.0  # scores above 0 replaced nothing


# ---------------------------------------------------------------- the budget and the switches

def test_the_budget_skips_costly_scores_with_one_note(tmp_path: Path) -> None:
    now, notes = [0.0], []
    tracker = tracking.Tracker({"n": 1000, "every_minutes": 1, "max_share": 0.05}, tracking.Judge("pretrained:evaluator"), GREY, tmp_path,
                               seed=0, note=notes.append, clock=lambda: now[0])
    tracker.per_image = 1e-3  # a score: 1 s
    now[0] = 10.0
    assert tracker.wanted(epoch_end=True) and not tracker.affordable()  # 1 s of scoring after 10 s of training: 10%
    assert len(notes) == 1 and "more than 5% of the training time" in notes[0] and "about 1.0 s" in notes[0]
    now[0] = 15.0
    assert not tracker.affordable() and len(notes) == 1  # still too costly; noted once only
    now[0] = 30.0
    assert tracker.affordable() and not tracker.wanted(epoch_end=False)  # no epoch end, and the minute has not passed
    now[0] = 61.0
    assert tracker.wanted(epoch_end=False)
    tracker.spent = 2.5
    assert not tracker.affordable()  # 2.5 s spent + 1 s more > 5% of the 58.5 s trained


def test_a_short_run_loads_no_judge_and_scores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notes: list[str] = []
    tracker = tracking.start({"n": 2000, "every_minutes": 5, "max_share": 0.05}, "generator", GREY, {"name": "fashion_mnist"},
                             tmp_path, 0, notes.append)
    monkeypatch.setattr(metrics, "load_judge", lambda *a: pytest.fail("a 0.1 s run must not load the judge"))
    assert tracker.maybe_score(load_generator("pretrained:acgan"), 10, True, "generator", dict) is None
    assert len(notes) == 1 and not (tmp_path / tracking.BEST_DIR).exists()


def test_bad_tracking_settings_are_refused_before_training() -> None:
    for bad, expected in [
        ({"n": 2000, "every_minutes": 5, "max_share": 2}, "may not cost more than the training itself"),
        ({"n": 5, "every_minutes": 5, "max_share": 0.05}, "train.track_fid.n must be a whole number of samples in 50..10000"),
        ({"n": 2000, "every_minutes": 0, "max_share": 0.05}, "train.track_fid.every_minutes must be a positive number"),
        ({"n": 2000, "every_minutes": 5, "max_share": 0.05, "often": True}, "unknown setting train.track_fid.often"),
        ("yes", "train.track_fid must be a mapping"),
    ]:
        with pytest.raises(FashionGANError, match=expected):
            load_config("dcgan", overrides={"train": {"track_fid": bad}})
    assert load_config("dcgan", overrides={"train": {"track_fid": None}}).train["track_fid"] is None
    assert load_config("dcgan", overrides={"train": {"track_fid": {"n": 500}}}).train["track_fid"] == {
        "n": 500, "every_minutes": 5, "max_share": 0.05}


def test_tracking_is_off_for_non_generators_and_noted_once_without_a_judge(tmp_path: Path) -> None:
    notes: list[str] = []
    settings = {"n": 100, "every_minutes": 5, "max_share": 0.05}
    fashion = {"name": "fashion_mnist"}
    assert tracking.start(settings, "classifier", GREY, fashion, tmp_path, 0, notes.append) is None
    assert notes == []  # a classifier: nothing to score, nothing to say
    folder = {"name": "folder", "path": "shop"}
    assert tracking.start(settings, "generator", Conditions(3, 64, ("gown", "tee")), folder, tmp_path, 0, notes.append) is None
    assert notes == ["FID tracking is off for this run: no shipped judge scores 3x64x64 images of 'folder' data; "
                     "fashiongan classify train --data folder:shop --out JUDGE, then pass --judge JUDGE"]
    assert tracking.start(settings, "generator", GREY, {"name": "colored"}, tmp_path, 0, notes.append) is None  # grey, not the colour set
    assert tracking.start(None, "generator", GREY, fashion, tmp_path, 0, notes.append) is None
    tracker = tracking.start(settings, "generator", GREY, fashion, tmp_path, 0, notes.append)
    assert isinstance(tracker, tracking.Tracker) and tracker.judge_spec.source == "pretrained:evaluator"
    user = tracking.start(settings, "vae", Conditions(3, 64, ("gown", "tee")), folder, tmp_path, 0, notes.append, judge="J")
    assert user.judge_spec.source == "J"
