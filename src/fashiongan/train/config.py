"""Training configs: YAML layers over one file of commented defaults, checked before training starts."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import torch
import yaml

from fashiongan import nets as net_registry
from fashiongan import objectives
from fashiongan.errors import FashionGANError, reject_unknown
from fashiongan.train import optimizers, tracking
from fashiongan.train.fitting import fit_nets, takes
from fashiongan.train.fitting import settings as net_settings


@dataclass
class TrainConfig:
    model: str
    seed: int
    data: dict[str, Any]
    nets: dict[str, dict[str, Any]]
    optim: dict[str, dict[str, Any]]
    objective: dict[str, Any]
    train: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.__dict__)


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        value = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise FashionGANError(f"{origin} is not valid YAML ({exc})".replace("\n", " ")) from exc
    if not isinstance(value, dict):
        raise FashionGANError(f"{origin} must hold a mapping of settings")
    return value


def _packaged(name: str, below: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A packaged config's settings; one that names a ``base`` (another packaged config) is layered
    over it, so a variant of an experiment says only what differs."""
    path = resources.files("fashiongan") / "configs" / f"{name}.yaml"
    if not path.is_file():
        return None
    settings = _read_yaml(path.read_text(), f"configs/{name}.yaml")
    base = settings.pop("base", None)
    if base is None:
        return settings
    parent = _packaged(base, (*below, name)) if base not in (*below, name) else None
    if parent is None:
        raise FashionGANError(f"configs/{name}.yaml: base {base!r} is not another packaged config (or makes a cycle)")
    return merge(parent, settings, closed=False)


def merge(base: dict[str, Any], update: Mapping[str, Any], closed: bool = True, where: str = "") -> dict[str, Any]:
    """Deep-merge ``update`` into a copy of ``base``. In a closed section (the top level and ``train``)
    an unknown key is a typo and is rejected; the other sections are open."""
    result = copy.deepcopy(base)
    for key, value in update.items():
        if closed:
            reject_unknown(where.rstrip("."), {key: value}, list(result))
        if isinstance(result.get(key), dict) and isinstance(value, Mapping):
            result[key] = merge(result[key], value, closed=closed and where == "" and key == "train", where=f"{where}{key}.")
        else:
            result[key] = copy.deepcopy(value)
    return result


def packaged_configs() -> list[str]:
    """Names of the experiment configs shipped in the package (``configs/NAME.yaml``)."""
    root = resources.files("fashiongan") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml") and p.name != "defaults.yaml")


def load_config(
    name: str | None = None, path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
    data: str | None = None,
) -> TrainConfig:
    """Defaults, then the packaged experiment ``name`` (or the bare objective ``name``), then the
    user's file, then ``overrides``; ``data`` (``--data``: a dataset name or KIND:PATH) replaces the data's
    source, keeping its size and augmentation. The nets are then fitted to the data (train/fitting.py)."""
    from fashiongan.data.datasets import conditions, with_source  # the data layer loads its readers on use

    layers = []
    if name is not None:
        if name not in packaged_configs() and name not in objectives.names():
            known = sorted(set(packaged_configs()) | set(objectives.names()))
            raise FashionGANError(f"unknown model {name!r}; choose one of: {', '.join(known)}")
        layers.append(_packaged(name) or {"model": name})
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FashionGANError(f"config file {path} does not exist")
        layers.append(_read_yaml(path.read_text(), str(path)))
    layers.append(overrides or {})
    settings = _packaged("defaults")
    for layer in layers:
        settings = merge(settings, layer)
    if not settings["model"]:
        raise FashionGANError("no model given; pass --model NAME (see `fashiongan models`) or set `model:` in the config")
    objectives.get(settings["model"])
    if data is not None:
        settings["data"] = with_source(settings["data"], data)
    nets = settings["nets"]
    settings["nets"] = {role: _initialised(role, spec, nets) for role, spec in nets.items()}
    config = TrainConfig(**settings)
    config = fit_nets(config, conditions(config.data))
    validate(config)
    return config


def _initialised(role: str, spec: Any, nets: Mapping[str, Any]) -> Any:
    """A net spec that starts from a checkpoint's weights (``init``: a run, pretrained:NAME, or another role's
    ``init`` by the role's name; its sampling net) with that net's architecture and settings under the spec's own
    ``kwargs``, so the weights fit (the Trainer loads them); or (``like``: a role) a fresh net of that role's
    architecture and settings under its own kwargs: a distillation student of another width than its teacher."""
    from fashiongan import hub  # hub imports the nets; keep this module light to import

    if not isinstance(spec, Mapping) or not {"init", "like"} & set(spec):
        return spec
    if "like" in spec:
        if spec["like"] not in nets or spec["like"] == role:
            raise FashionGANError(f"nets.{role}.like names another net of this config ({', '.join(nets)}), "
                                  f"not {spec['like']!r}")
        model = _initialised(spec["like"], nets[spec["like"]], nets)
        own = {k: v for k, v in spec.items() if k != "like"}
        return _initialised(role, {**own, "arch": model["arch"], "kwargs": {**model.get("kwargs", {}),
                                                                            **spec.get("kwargs", {})}}, nets)
    source = spec["init"]
    if source in nets and source != role:  # another role's checkpoint (a missing one is an error naming that role)
        resolved = _initialised(source, nets[source], nets)
        source = resolved.get("init") if isinstance(resolved, Mapping) else None
    if source is None:
        raise FashionGANError(f"nets.{role} starts from a checkpoint and none is named: pass --teacher CHECKPOINT "
                              f"(a flow run, or pretrained:NAME) or set nets.{role}.init")
    saved = hub.read_config(source)
    stored = saved.get("nets", {}).get(saved.get("main"))
    if not isinstance(stored, Mapping) or not isinstance(stored.get("arch"), str):
        raise FashionGANError(f"nets.{role}.init: {source} names no main net to start from")
    if spec.get("arch") not in (None, stored["arch"]):
        raise FashionGANError(f"nets.{role}.init: {source} holds a {stored['arch']} net, and this role takes {spec['arch']}")
    return {**spec, "arch": stored["arch"], "kwargs": {**stored.get("kwargs", {}), **spec.get("kwargs", {})}, "init": str(source)}


def saved_config(directory: str | Path, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """The config a checkpoint directory was trained with (its config.json's ``train_config``),
    with ``overrides`` on top: what ``--resume DIR`` continues when no model or file is given."""
    from fashiongan import hub  # hub imports the nets; keep this module light to import

    saved = hub.read_config(directory).get("train_config")
    if not isinstance(saved, dict):
        raise FashionGANError(f"{directory} holds no training config (was it written by `fashiongan train`?)")
    settings = merge(_packaged("defaults"), merge(saved, overrides or {}, closed=False), closed=False)
    objectives.get(settings["model"])
    config = TrainConfig(**{k: settings[k] for k in TrainConfig.__dataclass_fields__})
    validate(config)
    return config


def validate(config: TrainConfig) -> None:
    """Reject bad option combinations before any work is done (StudioGAN's compatibility check): every section
    rejects keys it does not know, and every net is built (on the meta device: no memory, no init cost)."""
    from fashiongan.data.datasets import check_spec  # the data layer loads its readers on use

    objective = objectives.get(config.model)
    missing = [role for role in objective.roles if role not in config.nets]
    if missing:
        raise FashionGANError(f"model {config.model!r} needs nets {', '.join(missing)} in the config's `nets`")
    reject_unknown("objective", config.objective, objective.settings, f" (model {config.model!r})")
    check_spec(config.data)
    _check_nets(config.nets)
    for name, opt in config.optim.items():
        if not isinstance(opt, Mapping):
            raise FashionGANError(f"optim.{name} must be a mapping of settings ({', '.join(optimizers.SETTINGS)})")
        reject_unknown(f"optim.{name}", opt, optimizers.SETTINGS)
        for role in opt.get("nets", [name]):
            if role not in config.nets:
                raise FashionGANError(f"optim.{name} updates net {role!r}, which is not in `nets`")
        if opt.get("type", "adam") not in optimizers.OPTIMIZERS:
            raise FashionGANError(f"optim.{name}.type must be one of: {', '.join(optimizers.OPTIMIZERS)}")
        if opt.get("schedule", "constant") not in optimizers.SCHEDULES:
            raise FashionGANError(f"optim.{name}.schedule must be one of: {', '.join(optimizers.SCHEDULES)}")
        if not float(opt.get("lr", 1e-3)) > 0:
            raise FashionGANError(f"optim.{name}.lr must be positive")
    _check_combinations(config)
    for phase in objective.phases(objective.hyperparameters(config.objective)):
        if phase.optimizer not in config.optim:
            raise FashionGANError(f"model {config.model!r} needs an optimiser {phase.optimizer!r} in `optim`")
    t = config.train
    for key in ("batch_size", "epochs", "steps", "checkpoint_every", "log_every"):
        if t.get(key) is not None and (not isinstance(t[key], int) or t[key] < 1):
            raise FashionGANError(f"train.{key} must be a positive whole number, got {t[key]!r}")
    if not (t.get("epochs") or t.get("steps") or t.get("minutes")):
        raise FashionGANError("set a training budget: train.epochs, train.steps or train.minutes")
    for key in ("minutes", "checkpoint_minutes"):
        value = t.get(key)
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0):
            raise FashionGANError(f"train.{key} must be positive (minutes), got {value!r}")
    tracking.check_settings(t.get("track_fid"))
    if t.get("judge") is not None:
        _check_judge(str(t["judge"]), config)
    decay = t.get("ema_decay")
    if decay is not None and not 0 < float(decay) < 1:
        raise FashionGANError("train.ema_decay must lie strictly between 0 and 1")


def _check_judge(source: str, config: TrainConfig) -> None:
    """``train.judge`` must be a classifier checkpoint that knows the model's classes: checked from its config.json,
    before any data loads."""
    from fashiongan import judges
    from fashiongan.data.datasets import conditions
    from fashiongan.declaration import declared  # reads checkpoints: imported when a judge is named

    judge = declared(source)
    if judge.kind != "classifier":
        raise FashionGANError(f"train.judge {source} holds a {judge.kind}, not a judge; train one with fashiongan classify train --data ...")
    judges.check_fits(judge.conditions, takes(config, conditions(config.data)), source)


def _check_nets(specs: Mapping[str, Any]) -> None:
    """Build every net on the meta device, so a setting a net refuses is one line naming the role, in
    seconds and before any data loads."""
    known = set(net_registry.architectures())
    for role, spec in specs.items():
        if not isinstance(spec, Mapping) or spec.get("arch") not in known:
            raise FashionGANError(f"nets.{role}.arch must be one of: {', '.join(sorted(known))}")
        reject_unknown(f"nets.{role}", spec, ("arch", "kwargs", "init"))
        kwargs = spec.get("kwargs", {})
        if not isinstance(kwargs, Mapping):
            raise FashionGANError(f"nets.{role}.kwargs must be a mapping of the {spec['arch']!r} net's settings")
        try:
            with torch.device("meta"):
                net_registry.build(spec["arch"], **kwargs)
        except FashionGANError as exc:
            raise FashionGANError(f"nets.{role}: {exc}") from None


def _check_student(student: Mapping[str, Any], teacher: Mapping[str, Any], role: str) -> None:
    """A distilled flow student takes Euler steps, a whole number of its teacher's each."""
    if student.get("solver") != "euler":
        raise FashionGANError(f"a distilled student takes Euler steps (its loss matches one per teacher walk); set "
                              f"nets.{role}.kwargs.solver: euler, not {student.get('solver')!r}")
    if teacher["steps"] % student["steps"]:
        raise FashionGANError(f"the student's {student['steps']} steps (nets.{role}.kwargs.steps) must divide its "
                              f"teacher's {teacher['steps']}: each student step matches a whole teacher walk")


def _check_combinations(config: TrainConfig) -> None:
    """Recipe pieces that each work but not together: one line naming both."""
    objective = objectives.get(config.model)
    main = config.nets.get(objective.main)
    if objective.ode and isinstance(main, Mapping):
        flow = net_settings(main)
        if flow.get("guidance", 1.0) != 1.0 and not objective.hyperparameters(config.objective).get("drop"):
            fix = "set guidance: 1.0 or objective.drop: 0.1" if "drop" in objective.settings else "set guidance: 1.0"
            raise FashionGANError(
                f"guidance {flow['guidance']:g} (nets.{objective.main}.kwargs.guidance) needs condition dropout "
                f"(objective.drop > 0), which trains the unconditional velocity it guides by; {fix}"
            )
        if "teacher" in objective.roles:
            _check_student(flow, net_settings(config.nets["teacher"]), objective.main)
    spec = config.nets.get("discriminator")
    if not isinstance(spec, Mapping):
        return
    if net_settings(spec).get("spectral_norm") and config.model == "wgan":
        raise FashionGANError(
            "spectral norm (nets.discriminator.kwargs.spectral_norm) and weight clipping (model wgan) do not combine: "
            "both bound the critic's Lipschitz constant; set spectral_norm: false or use another model"
        )
