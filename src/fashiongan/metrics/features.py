"""The fixed judges: their features and logits, batched, with the real data's features cached per judge.

Every generative score in this package is measured in the feature space of a network we trained
(Inception weights cannot be fetched here, and Inception never saw clothing at 28x28 anyway): the
evaluator for grayscale images, the colour judge for RGB. A judge is any module laid out like
:class:`fashiongan.nets.classifiers.Evaluator`: ``features(x)`` gives the (N, d) penultimate layer and
``head(features)`` the (N, 10) class logits, so one pass yields both; the colour judge adds
``colour_head(features)``, colour logits. A judge declares its ``in_channels`` (1 when it does not say)
and sees 28x28 images; :func:`fashiongan.metrics.inputs.judge_input` brings any image there.
Its real data is the dataset it was trained on (its checkpoint's ``train_config.data``).
Scores are only comparable under the same judge, hence the fingerprint of its weights in every
result and in the cache key.
"""

from __future__ import annotations

import copy
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from fashiongan import hub, judges
from fashiongan.atomic import atomic_write
from fashiongan.data import colored
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.conditions import Conditions
from fashiongan.data.datasets import conditions, load_training_data
from fashiongan.data.folders import TABLES
from fashiongan.declaration import declaration
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.metrics.conditions import vocabulary
from fashiongan.metrics.inputs import SIZE, check_images, judge_input

JUDGE, COLOUR_JUDGE = judges.EVALUATOR, judges.COLOUR_JUDGE
BATCH_SIZE = 500


def judge_for(channels: int) -> str:
    """The shipped judge for images of ``channels`` channels: the evaluator (1) or the colour judge (3)."""
    return judges.for_channels(channels).source


def load_judge(source: str | Path | None = JUDGE) -> nn.Module:
    """The judge checkpoint that scores images (``pretrained:evaluator`` unless told otherwise), in eval mode.

    The module remembers where it came from (``judge_source``), the data it was trained on (``judge_data``,
    from config.json), which is the real set it scores against, and what its checkpoint declares
    (``judge_conditions``: the image shape it takes, its class and colour names).
    """
    source = JUDGE if source is None else source
    try:
        checkpoint = hub.load_checkpoint(source)
        declared = declaration(checkpoint.config, source)
    except CheckpointError as exc:
        raise CheckpointError(
            f"cannot load the judge {source} ({exc}); pass a trained evaluator or colour judge checkpoint (--judge DIR)"
        ) from exc
    if declared.kind != "classifier":
        raise CheckpointError(f"{source} holds a {declared.kind}, not a judge; train one with fashiongan classify train --data ...")
    judge = check_judge(checkpoint.main, str(source))
    judge.judge_source = str(source)
    judge.judge_conditions = declared.conditions
    data = checkpoint.config.get("train_config", {}).get("data")
    if isinstance(data, Mapping) and isinstance(data.get("name"), str):
        judge.judge_data = dict(data)
    return judge.eval()


def check_judge(judge: nn.Module, name: str = "the judge") -> nn.Module:
    """Refuse a net without the evaluator's ``features``/``head`` layout (a plain classifier, say)."""
    if not (callable(getattr(judge, "features", None)) and callable(getattr(judge, "head", None))):
        raise CheckpointError(
            f"{name} is a {type(judge).__name__}, not an evaluator: a judge needs features() and head "
            "(use the 'evaluator' or 'colour_judge' architecture)"
        )
    return judge


def judge_channels(judge: nn.Module) -> int:
    """The channel count a judge takes (its ``in_channels``; 1 when it does not declare one)."""
    return int(getattr(judge, "in_channels", 1))


def judge_name(judge: nn.Module) -> str:
    """How results name a judge: its checkpoint source when it was loaded from one."""
    return getattr(judge, "judge_source", None) or f"in-memory {type(judge).__name__}"


def judge_data(judge: nn.Module) -> dict[str, Any]:
    """The dataset spec of a judge's real data: from its checkpoint, else the shipped judge's for its channels."""
    return dict(getattr(judge, "judge_data", None) or judges.for_channels(judge_channels(judge)).data)


def judge_conditions(judge: nn.Module) -> Conditions:
    """What a judge takes and names: its checkpoint's declaration, else (a judge built in memory) its data's."""
    found = getattr(judge, "judge_conditions", None)
    return found if isinstance(found, Conditions) else conditions(judge_data(judge))


def judge_classes(judge: nn.Module, outputs: int) -> list[str]:
    """The names of the judge's ``outputs`` classes, in label order (the indices as text when it names none)."""
    return vocabulary(judge_conditions(judge).classes, outputs)


def judge_colours(judge: nn.Module, outputs: int) -> list[str]:
    """The names of the ``outputs`` colours the judge's colour head reads, in index order."""
    return vocabulary(judge_conditions(judge).colours, outputs)


def judge_fingerprint(judge: nn.Module) -> str:
    """sha256 of the judge's weights and buffers: scores and cached statistics belong to exactly this judge."""
    digest = hashlib.sha256()
    for key, value in sorted(judge.state_dict().items()):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.flatten().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def check_compatible(judge: nn.Module, images: torch.Tensor) -> None:
    """Fail before any work when the judge cannot see these images (grayscale for a colour judge)."""
    judge_input(images[:1], judge_channels(judge))


def _prepare(images: torch.Tensor, judge: nn.Module) -> torch.Tensor:
    """A checked batch -> float (N, judge's channels, size, size) on the judge's device and in its dtype."""
    x = judge_input(images, judge_channels(judge), judge_conditions(judge).size)
    parameter = next(judge.parameters())
    return x.to(parameter.device, parameter.dtype)


@contextmanager
def progress_bar(enabled: bool, total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (stdout stays clean for --json); a no-op when off or stderr is no terminal."""
    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        yield lambda _: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.advance(task, done)


@dataclass
class JudgeOutputs:
    """One pass of a judge: features (N, d), class logits (N, 10), colour logits (N, colours) or None."""

    features: torch.Tensor
    logits: torch.Tensor
    colour_logits: torch.Tensor | None


def judge_outputs(
    judge: nn.Module,
    images: np.ndarray | torch.Tensor,
    batch_size: int = BATCH_SIZE,
    progress: bool = False,
    description: str = "judge features",
) -> JudgeOutputs:
    """Everything the judge says about ``images`` in one batched pass, as float32 on CPU."""
    check_judge(judge)
    x = check_images(images)
    colour_head = getattr(judge, "colour_head", None)
    was_training = judge.training
    judge.eval()
    features, logits, colours = [], [], []
    try:
        with torch.inference_mode(), progress_bar(progress, len(x), description) as advance:
            for batch in x.split(batch_size):
                f = judge.features(_prepare(batch, judge))
                features.append(f.float().cpu())
                logits.append(judge.head(f).float().cpu())
                if callable(colour_head):
                    colours.append(colour_head(f).float().cpu())
                advance(len(batch))
    finally:
        judge.train(was_training)
    return JudgeOutputs(torch.cat(features), torch.cat(logits), torch.cat(colours) if colours else None)


def extract(
    judge: nn.Module,
    images: np.ndarray | torch.Tensor,
    batch_size: int = BATCH_SIZE,
    progress: bool = False,
    description: str = "judge features",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The judge's features (N, d) and class logits (N, 10) for ``images``, in one batched pass."""
    out = judge_outputs(judge, images, batch_size, progress, description)
    return out.features, out.logits


class JudgeFeatures(nn.Module):
    """The judge as torchmetrics' ``feature=`` module: images -> (N, num_features) features (or logits for IS).

    Takes uint8 or [-1, 1] float images, at any size. It holds its own copy of the judge, kept in eval mode
    whatever the metric does: torchmetrics' ``set_dtype(torch.float64)`` converts a metric's children and
    ``train()`` would switch BatchNorm to batch statistics, neither of which may touch the caller's judge.
    """

    def __init__(self, judge: nn.Module, output: str = "features") -> None:
        super().__init__()
        if output not in ("features", "logits"):
            raise ValueError(f"output must be 'features' or 'logits', not {output!r}")
        self.judge = copy.deepcopy(check_judge(judge)).eval().requires_grad_(False)
        self.output = output
        self.num_features = int(self(torch.zeros(2, judge_channels(judge), SIZE, SIZE)).shape[1])  # _prepare resizes

    def train(self, mode: bool = True) -> "JudgeFeatures":
        super().train(mode)
        self.judge.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.judge.features(_prepare(images, self.judge))
            return features if self.output == "features" else self.judge.head(features)


@dataclass(frozen=True)
class RealSet:
    """A split of a judge's real data: uint8 images (N, H, W) or (N, 3, H, W), labels, colours (or None)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    colours: np.ndarray | None


def reference_set(judge: nn.Module, split: str = "test") -> RealSet:
    """The ``split`` of the data the judge was trained on: Fashion-MNIST, or the coloured set in its mode and seed."""
    spec = judge_data(judge)
    name = spec.get("name")
    if name == "fashion_mnist":
        data = fm.load(split)
        return RealSet(f"fashion-mnist {split}", data.images, data.labels, None)
    if name == "colored":
        mode, seed = spec.get("mode", "catalogue"), int(spec.get("seed", 0))
        data = colored.load(split, mode, seed)
        return RealSet(f"coloured fashion-mnist ({mode}, seed {seed}) {split}", data.images, data.labels, data.colours)
    if name in TABLES:  # a user's catalogue: every item it holds, at the judge's size, whatever the split
        loaded = load_training_data({**spec, "size": judge_conditions(judge).size, "eval_fraction": 0.0, "stream": False})
        images = loaded.train["image"].add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).numpy()
        return RealSet(f"{name}:{spec.get('path')} ({len(images)} items)", images, loaded.train["label"].numpy(), None)
    raise FashionGANError(
        f"{judge_name(judge)} was trained on dataset {name!r}, which has no built-in reference set; "
        "pass reference images instead"
    )


def reference_features(judge: nn.Module, split: str = "test", progress: bool = False) -> torch.Tensor:
    """The judge's features of a whole split of its real data, computed once per (judge, data) and cached on disk.

    The cache lives under ``cache_dir()/metrics`` as safetensors, named by a hash of the judge's weights
    and of the images, so a retrained judge or different data can never reuse stale statistics.
    """
    data = reference_set(judge, split)
    data_hash = hashlib.sha256(np.ascontiguousarray(data.images).tobytes()).hexdigest()
    key = hashlib.sha256(f"{judge_fingerprint(judge)}|{data_hash}".encode()).hexdigest()[:24]
    path = fm.cache_dir() / "metrics" / f"{split}-{key}.safetensors"
    if path.is_file():
        try:
            cached = load_file(str(path))["features"]
            if len(cached) == len(data.images):
                return cached
        except (OSError, SafetensorError, KeyError):
            pass  # unreadable cache: recompute and overwrite it
    features, _ = extract(
        judge, data.images, progress=progress, description=f"judge features of the {data.name} set"
    )
    try:
        atomic_write(path, lambda tmp: save_file({"features": features.contiguous()}, tmp))
    except OSError:
        pass  # a read-only cache only costs time
    return features
