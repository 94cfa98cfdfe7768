"""Checkpoints survive kill -9 at any moment, come every `checkpoint_minutes`, and files get normal permissions.

A checkpoint is a set of files (weights, training state, config) that must always belong together:
a real training process is killed with SIGKILL and resumed exactly, and a writer loop is killed at
random moments, many times, with every file stamped so that a mixed set would show.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import write_idx_dir
from fashiongan import atomic, hub, nets
from fashiongan.train import Trainer, fit, load_config
from fashiongan.viz import save_grid

SMALL_GAN = {"kwargs": {"width": 4, "hidden": 16}}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_idx_dir(tmp_path_factory.mktemp("idx") / "data", train=64, test=16)


def gan_overrides(data_dir: Path, steps: int, **train) -> dict:
    return {
        "nets": {"generator": SMALL_GAN, "discriminator": SMALL_GAN},
        "data": {"data_dir": str(data_dir), "limit": 64},
        "train": {"batch_size": 8, "epochs": None, "steps": steps, "samples": False, "track_fid": None, **train},
    }


def assert_consistent(directory: Path) -> int:
    """The three files of a training checkpoint belong to one save; returns its step."""
    hub.read_config(directory)  # what every reader does first: finish a save that a kill cut short
    config = json.loads((directory / hub.CONFIG_FILE).read_text())
    weights = load_file(directory / hub.WEIGHTS_FILE)
    state = load_file(directory / hub.TRAINING_FILE)
    step = config["training"]["step"]
    assert state["history.D/loss.step"][-1].item() == step - 1  # training state written at that step
    for key, value in weights.items():  # the inference weights are the training state's nets
        role, name = key.split(".", 1)
        assert torch.equal(value, state[f"net.{'ema.module' if role.endswith('_ema') else role}.{name}"]), key
    return step


# ---------------------------------------------------------------- kill -9

def test_a_training_process_killed_with_sigkill_resumes_exactly(data_dir: Path, tmp_path: Path) -> None:
    steps = 30
    out = tmp_path / "killed"
    config = load_config("dcgan", overrides=gan_overrides(data_dir, steps, ema_decay=0.9))
    pid = os.fork()  # a training process of its own (forked: no second start-up of torch)
    if pid == 0:
        try:
            fit(load_config("dcgan", overrides=gan_overrides(data_dir, steps, ema_decay=0.9, checkpoint_every=1)),
                out, progress=False)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 60
    while not (out / hub.CONFIG_FILE).exists():  # the first checkpoint: training is under way
        assert time.monotonic() < deadline, "no checkpoint within a minute"
        time.sleep(0.005)
    time.sleep(random.Random(0).uniform(0.05, 0.3))  # a checkpoint is written every step: kill mid-run
    os.kill(pid, signal.SIGKILL)
    assert os.waitpid(pid, 0)[1] == signal.SIGKILL

    killed_at = assert_consistent(out)
    assert 0 < killed_at < steps
    fit(config, out, resume=out, progress=False)
    fit(config, tmp_path / "whole", progress=False)
    resumed = {**load_file(out / hub.WEIGHTS_FILE), **load_file(out / hub.TRAINING_FILE)}
    whole = {**load_file(tmp_path / "whole" / hub.WEIGHTS_FILE), **load_file(tmp_path / "whole" / hub.TRAINING_FILE)}
    assert sorted(resumed) == sorted(whole)
    assert all(torch.equal(resumed[k], whole[k]) for k in whole)


def _stamp(net: torch.nn.Module, value: int) -> None:
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)


def test_sigkill_at_random_moments_of_a_save_never_leaves_a_mixed_or_unloadable_checkpoint(tmp_path: Path) -> None:
    directory = tmp_path / "checkpoint"
    net = nets.build("mlp", hidden=512)  # 1.6 MB of weights: a save takes a few milliseconds

    def save(step: int) -> None:
        _stamp(net, step)
        hub.save_pretrained(directory, {"classifier": net}, {"step": step},
                            training_state={"step": torch.tensor(step), "bulk": torch.full((100_000,), step)})

    save(0)
    rng = random.Random(0)
    interrupted, steps = 0, []
    for trial in range(1, 13):
        pid = os.fork()
        if pid == 0:  # the writer: saves as fast as it can until killed
            try:
                for step in range(trial * 100_000, trial * 100_000 + 10_000):
                    save(step)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.02, 0.2))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        interrupted += any(p.name.startswith((atomic.STAGING, atomic.READY)) for p in directory.iterdir())
        checkpoint = hub.load_checkpoint(directory)  # finishes a commit the kill interrupted
        step = checkpoint.config["step"]
        assert all((p == step).all() for p in checkpoint.main.parameters())
        state = load_file(directory / hub.TRAINING_FILE)
        assert state["step"].item() == step and (state["bulk"] == step).all()
        steps.append(step)
    assert interrupted, "no kill landed inside a save: the test proved nothing"
    assert len(set(steps)) > 1


def test_a_kill_while_the_new_set_moves_into_place_is_finished_by_the_next_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = nets.build("mlp", hidden=4)
    _stamp(net, 1)
    hub.save_pretrained(tmp_path, {"classifier": net}, {"step": 1}, training_state={"step": torch.tensor(1)})
    moved = []
    original = os.replace

    def killed_after_one_move(source, target):
        if moved:
            raise KeyboardInterrupt  # stands in for the kill: nothing after this point runs
        moved.append(target)
        original(source, target)

    monkeypatch.setattr(atomic.os, "replace", killed_after_one_move)
    _stamp(net, 2)
    with pytest.raises(KeyboardInterrupt):
        hub.save_pretrained(tmp_path, {"classifier": net}, {"step": 2}, training_state={"step": torch.tensor(2)})
    monkeypatch.undo()
    assert moved == [tmp_path / hub.WEIGHTS_FILE]  # new weights beside the old config and training state
    assert json.loads((tmp_path / hub.CONFIG_FILE).read_text())["step"] == 1

    checkpoint = hub.load_checkpoint(tmp_path)
    assert checkpoint.config["step"] == 2 and all((p == 2).all() for p in checkpoint.main.parameters())
    assert load_file(tmp_path / hub.TRAINING_FILE)["step"].item() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([hub.CONFIG_FILE, hub.WEIGHTS_FILE, hub.TRAINING_FILE])


def test_a_write_that_fails_midway_leaves_the_previous_set_and_the_next_save_cleans_up(tmp_path: Path) -> None:
    net = nets.build("mlp", hidden=4)
    hub.save_pretrained(tmp_path, {"classifier": net}, {"step": 1}, training_state={"step": torch.tensor(1)})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def half_then_fail(path: str) -> None:
        Path(path).write_bytes(b"half a fi")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic.write_together(tmp_path, {hub.WEIGHTS_FILE: lambda p: Path(p).write_bytes(b"new"),
                                         hub.TRAINING_FILE: half_then_fail})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    (tmp_path / f"{atomic.STAGING}leftover").mkdir()  # what a kill during a write leaves
    hub.save_pretrained(tmp_path, {"classifier": net}, {"step": 2})
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


# ---------------------------------------------------------------- checkpoints by time

def saved_steps(data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, minutes, every: int | None = 1000) -> list[tuple[int, float]]:
    """(step, clock) of every checkpoint of a 24-step GAN run whose every step takes 25 fake seconds."""
    clock = [1000.0]
    original_phase, original_save = Trainer.run_phase, hub.save_pretrained
    saves = []

    def slow_phase(self, phase, batch):
        if phase.name == "D":
            clock[0] += 25
        return original_phase(self, phase, batch)

    def recorded(directory, modules, config, **kwargs):
        saves.append((config["training"]["step"], clock[0]))
        return original_save(directory, modules, config, **kwargs)

    monkeypatch.setattr(Trainer, "run_phase", slow_phase)
    monkeypatch.setattr(hub, "save_pretrained", recorded)
    config = load_config("dcgan", overrides=gan_overrides(data_dir, 24, checkpoint_every=every, checkpoint_minutes=minutes))
    fit(config, tmp_path / f"run-{minutes}", progress=False, clock=lambda: clock[0])
    return saves


def test_checkpoint_minutes_bounds_the_work_a_kill_can_lose(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    by_steps = [step for step, _ in saved_steps(data_dir, monkeypatch, tmp_path, None)]
    assert by_steps == [8, 16, 24]  # epoch ends only (8 steps an epoch)
    assert [step for step, _ in saved_steps(data_dir, monkeypatch, tmp_path, None, every=None)] == by_steps  # null: none by steps
    saves = saved_steps(data_dir, monkeypatch, tmp_path, 1)
    assert [step for step, _ in saves] == [3, 6, 8, 11, 14, 16, 19, 22, 24]
    times = [1000.0] + [at for _, at in saves]
    assert max(b - a for a, b in zip(times, times[1:])) <= 60 + 25  # at most a minute and a step unsaved


def test_checkpoint_minutes_is_checked(data_dir: Path) -> None:
    for bad in (0, -1, "2", True):
        with pytest.raises(Exception, match="train.checkpoint_minutes must be positive"):
            load_config("dcgan", overrides={"train": {"checkpoint_minutes": bad}})
    assert load_config("dcgan").train["checkpoint_minutes"] == 2


# ---------------------------------------------------------------- permissions

@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_written_files_get_the_users_normal_permissions(tmp_path: Path, mask: int) -> None:
    previous = os.umask(mask)
    try:
        text = atomic.atomic_write(tmp_path / "note.txt", lambda p: Path(p).write_text("x"))
        grid = save_grid(np.zeros((4, 28, 28), np.uint8), tmp_path / "grid.png", nrow=2)
        checkpoint = hub.save_pretrained(tmp_path / "checkpoint", {"classifier": nets.build("mlp", hidden=4)}, {},
                                         training_state={"t": torch.zeros(2)})
        assert atomic.umask() == mask
    finally:
        os.umask(previous)
    files = [text, grid, *(checkpoint / name for name in (hub.CONFIG_FILE, hub.WEIGHTS_FILE, hub.TRAINING_FILE))]
    assert {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {f.name: oct(0o666 & ~mask) for f in files}
