"""Checkpoints: save_pretrained / from_pretrained round trips, atomic writes, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from fashiongan import __version__, hub, nets
from fashiongan.errors import CheckpointError

SRC = Path(__file__).resolve().parents[1] / "src" / "fashiongan"


def _saved(tmp_path: Path, arch: str = "mlp", **kwargs) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    net = nets.build(arch, **kwargs)
    return hub.save_pretrained(tmp_path / "ckpt", {"classifier": net}, {"epochs": 3}), net


@pytest.mark.parametrize(("arch", "kwargs"), [("mlp", {"hidden": 32}), ("cnn", {"width": 8})])
def test_round_trip_gives_the_same_outputs(tmp_path: Path, arch: str, kwargs: dict) -> None:
    directory, net = _saved(tmp_path, arch, **kwargs)
    loaded = hub.from_pretrained(directory)
    assert type(loaded) is type(net) and not loaded.training
    assert nets.spec(loaded) == {"arch": arch, "kwargs": kwargs}
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    torch.testing.assert_close(loaded(x), net.eval()(x), rtol=0, atol=0)


def test_config_json_contents(tmp_path: Path) -> None:
    g, d = nets.build("mlp", hidden=8), nets.build("cnn", width=4, dropout=0.1)
    config = {"epochs": 3, "lr": 0.001, "data": {"name": "fashion-mnist"}, "path": Path("runs/x")}
    hub.save_pretrained(tmp_path, {"classifier": g, "critic": d}, config, main="critic")
    saved = json.loads((tmp_path / hub.CONFIG_FILE).read_text())
    assert saved == {
        "epochs": 3, "lr": 0.001, "data": {"name": "fashion-mnist"}, "path": "runs/x",
        "fashiongan_version": __version__,
        "main": "critic",
        "nets": {
            "classifier": {"arch": "mlp", "kwargs": {"hidden": 8}},
            "critic": {"arch": "cnn", "kwargs": {"width": 4, "dropout": 0.1}},
        },
    }
    assert hub.read_config(tmp_path) == saved
    assert set(load_file(tmp_path / hub.WEIGHTS_FILE)) == {f"classifier.{k}" for k in g.state_dict()} | {
        f"critic.{k}" for k in d.state_dict()
    }
    checkpoint = hub.load_checkpoint(tmp_path)
    assert set(checkpoint.nets) == {"classifier", "critic"} and checkpoint.main is checkpoint.nets["critic"]
    assert set(hub.load_checkpoint(tmp_path, roles=["critic"]).nets) == {"critic"}


def test_main_defaults_to_the_first_net_and_training_state_is_separate(tmp_path: Path) -> None:
    net = nets.build("mlp", hidden=4)
    state = {"optimizer.step": torch.tensor(7), "rng": torch.arange(5, dtype=torch.uint8)}
    hub.save_pretrained(tmp_path, {"classifier": net}, {}, training_state=state)
    assert hub.read_config(tmp_path)["main"] == "classifier"
    assert load_file(tmp_path / hub.TRAINING_FILE)["optimizer.step"].item() == 7
    assert not any(k.startswith("optimizer") for k in load_file(tmp_path / hub.WEIGHTS_FILE))


def test_writes_leave_no_temp_files(tmp_path: Path) -> None:
    net = nets.build("mlp", hidden=4)
    for _ in range(2):  # a fresh directory, then an overwrite
        hub.save_pretrained(tmp_path, {"classifier": net}, {}, training_state={"t": torch.zeros(2)})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([hub.CONFIG_FILE, hub.WEIGHTS_FILE, hub.TRAINING_FILE])


def test_a_failing_write_leaves_the_old_checkpoint_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory, _ = _saved(tmp_path)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}

    def disk_full(tensors, filename, *args, **kwargs):
        Path(filename).write_bytes(b"half a fi")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hub, "save_file", disk_full)
    with pytest.raises(OSError, match="No space left"):
        hub.save_pretrained(directory, {"classifier": nets.build("mlp", hidden=4)}, {"epochs": 9})
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_an_unserialisable_config_changes_nothing(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        hub.save_pretrained(directory, {"classifier": nets.build("mlp", hidden=4)}, {"oops": object()})
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_only_nets_from_build_can_be_saved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not made by fashiongan.nets.build"):
        hub.save_pretrained(tmp_path, {"classifier": torch.nn.Linear(2, 2)}, {})


# ---------------------------------------------------------------- errors

def _edit_config(directory: Path, edit) -> None:
    path = directory / hub.CONFIG_FILE
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def _check(source, pattern: str) -> str:
    with pytest.raises(CheckpointError, match=pattern) as info:
        hub.from_pretrained(source)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_directory_missing(tmp_path: Path) -> None:
    _check(tmp_path / "nope", "is not a directory .*config.json \\+ model.safetensors")


def test_config_missing(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    (directory / hub.CONFIG_FILE).unlink()
    _check(directory, "has no config.json; is it a fashiongan checkpoint")


def test_invalid_json(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    (directory / hub.CONFIG_FILE).write_text('{"nets": ')
    _check(directory, "config.json is not valid JSON")


@pytest.mark.parametrize("config", [[1, 2], {"main": "classifier"}, {"nets": {"classifier": {}}}])
def test_config_that_is_not_a_checkpoint(tmp_path: Path, config) -> None:
    directory, _ = _saved(tmp_path)
    (directory / hub.CONFIG_FILE).write_text(json.dumps(config))
    _check(directory, "does not describe a fashiongan checkpoint")


def test_unknown_architecture(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    _edit_config(directory, lambda c: c["nets"]["classifier"].update(arch="transformer"))
    message = _check(directory, "config.json: unknown architecture 'transformer'")
    assert all(name in message for name in nets.architectures())


@pytest.mark.parametrize("spec", ["mlp", {"kwargs": {}}, {"arch": "mlp", "kwargs": [1]}])
def test_malformed_net_spec(tmp_path: Path, spec) -> None:
    directory, _ = _saved(tmp_path)
    _edit_config(directory, lambda c: c["nets"].update(classifier=spec))
    _check(directory, 'nets.classifier should be {"arch": NAME')


def test_settings_the_architecture_does_not_take(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    _edit_config(directory, lambda c: c["nets"]["classifier"]["kwargs"].update(depth=3))
    _check(directory, "architecture 'mlp' does not take these settings")


def test_weights_missing(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    (directory / hub.WEIGHTS_FILE).unlink()
    _check(directory, "model.safetensors is missing")


def test_tensor_of_mismatched_shape(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path, hidden=16)
    _edit_config(directory, lambda c: c["nets"]["classifier"]["kwargs"].update(hidden=32))
    _check(directory, r"classifier.net.1.(weight has shape \(16, 784\)|bias has shape \(16,\)), the architecture expects \(32")


def test_missing_tensor(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    tensors = load_file(directory / hub.WEIGHTS_FILE)
    del tensors["classifier.net.3.bias"]
    save_file(tensors, directory / hub.WEIGHTS_FILE)
    _check(directory, "lacks 1 tensors of 'classifier' \\(first: net.3.bias\\)")


def test_unexpected_tensor(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    tensors = load_file(directory / hub.WEIGHTS_FILE)
    tensors["classifier.extra"] = torch.zeros(1)
    save_file(tensors, directory / hub.WEIGHTS_FILE)
    _check(directory, "has tensor classifier.extra, which 'classifier' does not have")


def test_main_net_has_no_weights(tmp_path: Path) -> None:
    directory, _ = _saved(tmp_path)
    _edit_config(directory, lambda c: c.update(main="generator"))
    _check(directory, "lacks the weights of 'generator'")


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated"])
def test_corrupt_safetensors(tmp_path: Path, damage: str) -> None:
    directory, _ = _saved(tmp_path)
    path = directory / hub.WEIGHTS_FILE
    raw = path.read_bytes()
    path.write_bytes({"garbage": b"\x00not safetensors at all", "empty": b"", "truncated": raw[: len(raw) // 2]}[damage])
    _check(directory, "model.safetensors is not a readable safetensors file")


def test_unknown_pretrained_name_lists_the_shipped_ones() -> None:
    message = _check("pretrained:nope", "no shipped model 'nope'; shipped: ")
    names = hub.shipped()
    assert message.endswith(", ".join(names) if names else "none")


def test_shipped_pretrained_models_load() -> None:
    for name in hub.shipped():
        config = hub.read_config(f"pretrained:{name}")
        assert config["main"] in config["nets"]
        assert isinstance(hub.from_pretrained(f"pretrained:{name}"), torch.nn.Module)


def test_nothing_unpickles() -> None:
    """Never unpickle a file a user hands us: no pickle or allow_pickle=True in the package, and torch.load only
    with weights_only=True (its restricted loader, used for hash-checked ImageNet weights)."""
    pattern = re.compile(r"torch\.load\b|\bimport pickle\b|\bpickle\.|\bcPickle\b|allow_pickle\s*=\s*True|\bdill\b")
    offenders = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line) and "weights_only=True" not in line
    ]
    assert offenders == []
