"""Checkpoints as directories: config.json beside model.safetensors (diffusers' split).

``model.safetensors`` holds the nets needed for inference, each under its role
(``classifier.``, ``generator.``); ``training_state.safetensors`` holds what resume needs
(other nets, optimiser moments, RNG). Nothing is ever unpickled. ``pretrained:NAME``
names a checkpoint shipped inside the package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from fashiongan import __version__, nets
from fashiongan.atomic import finish_interrupted, write_together
from fashiongan.errors import CheckpointError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TRAINING_FILE = "training_state.safetensors"
PRETRAINED_PREFIX = "pretrained:"
EMA_SUFFIX = "_ema"  # the stored name of a role's exponential moving average


@dataclass
class Checkpoint:
    """A loaded checkpoint: its config and its inference nets by role."""

    path: Path
    config: dict[str, Any]
    nets: dict[str, nn.Module] = field(default_factory=dict)

    @property
    def main(self) -> nn.Module:
        """The net a user means by 'the model': the one named by config['main']."""
        return self.nets[self.config["main"]]

    def role(self, name: str) -> nn.Module:
        """The net that plays inference role ``name`` (its EMA copy where training kept one)."""
        return self.nets[role_nets(self.config)[name]]


def shipped() -> list[str]:
    """Names usable as ``pretrained:NAME``."""
    root = resources.files("fashiongan") / "pretrained"
    if not root.is_dir():  # git keeps no empty folder: a checkout without shipped weights has none
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / CONFIG_FILE).is_file())


def resolve(source: str | Path) -> Path:
    """A checkpoint directory from a path or ``pretrained:NAME``."""
    text = str(source)
    if text.startswith(PRETRAINED_PREFIX):
        name = text[len(PRETRAINED_PREFIX):]
        if name not in shipped():
            raise CheckpointError(f"no shipped model {name!r}; shipped: {', '.join(shipped()) or 'none'}")
        return Path(str(resources.files("fashiongan") / "pretrained" / name))
    path = Path(text).expanduser()
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} is not a directory (expected {CONFIG_FILE} + {WEIGHTS_FILE})")
    try:
        finish_interrupted(path)  # a save that a kill cut short after its files were complete
    except OSError as exc:
        raise CheckpointError(f"{path} holds a checkpoint write that was cut short; finishing it failed ({exc})") from exc
    return path


def _flatten(modules: Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    return {
        f"{role}.{key}": value.detach().cpu().contiguous()
        for role, module in modules.items()
        for key, value in module.state_dict().items()
    }


def save_pretrained(
    directory: str | Path,
    modules: Mapping[str, nn.Module],
    config: Mapping[str, Any],
    main: str | None = None,
    training_state: Mapping[str, torch.Tensor] | None = None,
    half: bool = False,
) -> Path:
    """Write ``modules`` (built by ``nets.build``) and ``config`` into ``directory``, all files as one set.

    A kill at any moment leaves the previous set or the new one, never new weights beside an old
    config.json or training state (``atomic.write_together``); config.json lands last.
    ``half`` stores floating-point weights as float16 (half the bytes); loading casts them back.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    full = dict(config)
    full["fashiongan_version"] = __version__
    full["nets"] = {role: nets.spec(module) for role, module in modules.items()}
    full["main"] = main or next(iter(modules))
    # Serialise the config first: a config that cannot be written must not leave new weights
    # beside an old config.json.
    text = json.dumps(full, indent=2, sort_keys=True, default=_json_default)
    weights = _flatten(modules)
    if half:
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    writers = {WEIGHTS_FILE: lambda path: save_file(weights, path)}
    if training_state is not None:
        state = {k: v.detach().cpu().contiguous() for k, v in training_state.items()}
        writers[TRAINING_FILE] = lambda path: save_file(state, path)
    writers[CONFIG_FILE] = lambda path: Path(path).write_text(text + "\n")
    return write_together(directory, writers)


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_config(source: str | Path) -> dict[str, Any]:
    path = resolve(source) / CONFIG_FILE
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path.parent} has no {CONFIG_FILE}; is it a fashiongan checkpoint?") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(config, dict) or not isinstance(config.get("nets"), dict) or "main" not in config:
        raise CheckpointError(f"{path} does not describe a fashiongan checkpoint (no 'nets'/'main')")
    return config


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file as a dict, with one-line errors for missing or corrupt files."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc})") from exc


def load_state(module: nn.Module, tensors: Mapping[str, torch.Tensor], role: str, path: Path) -> None:
    """Copy ``role.*`` tensors into ``module``, naming any missing key or shape mismatch."""
    prefix = f"{role}."
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise CheckpointError(f"{path} lacks {len(missing)} tensors of {role!r} (first: {missing[0]})")
    for key, value in state.items():
        if key not in expected:
            raise CheckpointError(f"{path} has tensor {prefix}{key}, which {role!r} does not have")
        if value.shape != expected[key].shape:
            raise CheckpointError(
                f"{path}: {prefix}{key} has shape {tuple(value.shape)}, the architecture expects "
                f"{tuple(expected[key].shape)}"
            )
    module.load_state_dict(state)


def load_checkpoint(source: str | Path, roles: list[str] | None = None) -> Checkpoint:
    """Rebuild the nets a checkpoint's config.json describes and load their weights."""
    directory = resolve(source)
    config = read_config(directory)
    weights = load_tensors(directory / WEIGHTS_FILE)
    built = {}
    stored_roles = {k.split(".", 1)[0] for k in weights}
    for role, net_spec in config["nets"].items():
        if role not in stored_roles or (roles is not None and role not in roles):
            continue
        config_path = directory / CONFIG_FILE
        if not (isinstance(net_spec, dict) and isinstance(net_spec.get("arch"), str)
                and isinstance(net_spec.get("kwargs", {}), dict)):
            raise CheckpointError(f'{config_path}: nets.{role} should be {{"arch": NAME, "kwargs": {{...}}}}')
        try:
            module = nets.build(net_spec["arch"], **net_spec.get("kwargs", {}))
        except CheckpointError as exc:
            raise CheckpointError(f"{config_path}: {exc}") from None
        load_state(module, weights, role, directory / WEIGHTS_FILE)
        built[role] = module.eval()
    if config["main"] not in built:
        raise CheckpointError(f"{directory / WEIGHTS_FILE} lacks the weights of {config['main']!r}")
    return Checkpoint(directory, config, built)


def role_nets(config: Mapping[str, Any]) -> dict[str, str]:
    """Each inference role of a checkpoint (the main one first, then its companions, such as CycleGAN's second
    generator) and the stored net that plays it: the EMA copy where training kept one. config.json's ``roles``
    says so; a checkpoint written before it existed had one EMA at most, of its main net."""
    declared = config.get("roles")
    if isinstance(declared, Mapping):
        return {str(role): str(stored) for role, stored in declared.items()}
    main = str(config["main"])
    return {main.removesuffix(EMA_SUFFIX): main, **{role: role for role in companions(config)}}


def companions(config: Mapping[str, Any]) -> list[str]:
    """The nets a checkpoint's model needs besides its main one (CycleGAN's second generator), as its
    objective declares them (``inference_roles``)."""
    from fashiongan import objectives  # imported when called: objectives import the data layer

    model = config.get("model")
    return list(objectives.get(model).inference_roles) if model in objectives.names() else []


def export(source: str | Path, out: str | Path, half: bool = False) -> Path:
    """Copy the nets that play a checkpoint's inference roles (its main net and the nets its model needs beside
    it, each the EMA copy where training kept one) into ``out``, without discriminators, optimiser moments or
    RNG: what shipping or sharing a model needs."""
    stored = read_config(source)
    playing = role_nets(stored)
    checkpoint = load_checkpoint(source, roles=list(playing.values()))
    out = Path(out).expanduser()
    if out.resolve() == checkpoint.path.resolve():
        raise CheckpointError(f"export {checkpoint.path} into another directory, not onto itself")
    if (out / TRAINING_FILE).exists():
        raise CheckpointError(f"{out} holds a training run ({TRAINING_FILE}); export into a new directory")
    config = {k: v for k, v in checkpoint.config.items() if k not in ("nets", "main", "fashiongan_version")}
    if isinstance(config.get("training"), dict):  # how long and how far it trained, not its optimiser layout
        config["training"] = {k: v for k, v in config["training"].items() if k != "param_groups"}
    config["roles"] = playing
    kept = {net: checkpoint.nets[net] for net in playing.values()}
    return save_pretrained(out, kept, config, main=checkpoint.config["main"], half=half)


def from_pretrained(source: str | Path) -> nn.Module:
    """The main net of a checkpoint directory or ``pretrained:NAME``, in eval mode."""
    return load_checkpoint(source).main
