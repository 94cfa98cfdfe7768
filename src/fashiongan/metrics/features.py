"""The one fixed judge: the evaluator's features and logits, batched, with the real data's features cached.

Every generative score in this package is measured in the feature space of one network, the evaluator
trained on Fashion-MNIST (Inception weights cannot be fetched here, and Inception never saw clothing at
28x28 anyway). A judge is any module laid out like :class:`fashiongan.nets.classifiers.Evaluator`:
``features(x)`` gives the (N, d) penultimate layer and ``head(features)`` the (N, 10) logits, so one
pass yields both. Scores are only comparable under the same judge, hence the fingerprint of its weights
in every result and in the cache key.
"""

from __future__ import annotations

import copy
import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from fashiongan import hub
from fashiongan.atomic import atomic_write
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.transforms import to_float
from fashiongan.errors import CheckpointError
from fashiongan.metrics.inputs import SIZE, check_images

JUDGE = "pretrained:evaluator"
BATCH_SIZE = 500


def load_judge(source: str | Path | None = JUDGE) -> nn.Module:
    """The evaluator checkpoint that scores images (``pretrained:evaluator`` unless told otherwise), in eval mode."""
    source = JUDGE if source is None else source
    try:
        judge = hub.from_pretrained(source)
    except CheckpointError as exc:
        raise CheckpointError(
            f"cannot load the judge {source} ({exc}); pass a trained evaluator checkpoint (--judge DIR)"
        ) from exc
    check_judge(judge, str(source))
    return judge.eval()


def check_judge(judge: nn.Module, name: str = "the judge") -> nn.Module:
    """Refuse a net without the evaluator's ``features``/``head`` layout (a plain classifier, say)."""
    if not (callable(getattr(judge, "features", None)) and callable(getattr(judge, "head", None))):
        raise CheckpointError(
            f"{name} is a {type(judge).__name__}, not an evaluator: a judge needs features() and head "
            "(use the 'evaluator' architecture)"
        )
    return judge


def judge_fingerprint(judge: nn.Module) -> str:
    """sha256 of the judge's weights and buffers: scores and cached statistics belong to exactly this judge."""
    digest = hashlib.sha256()
    for key, value in sorted(judge.state_dict().items()):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.flatten().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _prepare(images: torch.Tensor, judge: nn.Module) -> torch.Tensor:
    """uint8 or [-1, 1] float images -> float (N, 1, 28, 28) on the judge's device and in its dtype."""
    x = to_float(images) if images.dtype == torch.uint8 else images
    if x.dim() == 3:
        x = x.unsqueeze(1)
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


def extract(
    judge: nn.Module,
    images: np.ndarray | torch.Tensor,
    batch_size: int = BATCH_SIZE,
    progress: bool = False,
    description: str = "judge features",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The judge's features (N, d) and logits (N, 10) for ``images``, in one batched pass, as float32 on CPU."""
    check_judge(judge)
    x = check_images(images)
    was_training = judge.training
    judge.eval()
    features, logits = [], []
    try:
        with torch.inference_mode(), progress_bar(progress, len(x), description) as advance:
            for batch in x.split(batch_size):
                f = judge.features(_prepare(batch, judge))
                features.append(f.float().cpu())
                logits.append(judge.head(f).float().cpu())
                advance(len(batch))
    finally:
        judge.train(was_training)
    return torch.cat(features), torch.cat(logits)


class JudgeFeatures(nn.Module):
    """The judge as torchmetrics' ``feature=`` module: images -> (N, num_features) features (or logits for IS).

    Takes uint8 or [-1, 1] float images. It holds its own copy of the judge, kept in eval mode whatever
    the metric does: torchmetrics' ``set_dtype(torch.float64)`` converts a metric's children and
    ``train()`` would switch BatchNorm to batch statistics, neither of which may touch the caller's judge.
    """

    def __init__(self, judge: nn.Module, output: str = "features") -> None:
        super().__init__()
        if output not in ("features", "logits"):
            raise ValueError(f"output must be 'features' or 'logits', not {output!r}")
        self.judge = copy.deepcopy(check_judge(judge)).eval().requires_grad_(False)
        self.output = output
        self.num_features = int(self(torch.zeros(2, 1, SIZE, SIZE)).shape[1])

    def train(self, mode: bool = True) -> "JudgeFeatures":
        super().train(mode)
        self.judge.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.judge.features(_prepare(images, self.judge))
            return features if self.output == "features" else self.judge.head(features)


def reference_features(judge: nn.Module, split: str = "test", progress: bool = False) -> torch.Tensor:
    """The judge's features of a whole Fashion-MNIST split, computed once per (judge, data) and cached on disk.

    The cache lives under ``cache_dir()/metrics`` as safetensors, named by a hash of the judge's weights
    and of the images, so a retrained judge or different data can never reuse stale statistics.
    """
    data = fm.load(split)
    data_hash = hashlib.sha256(np.ascontiguousarray(data.images).tobytes()).hexdigest()
    key = hashlib.sha256(f"{judge_fingerprint(judge)}|{data_hash}".encode()).hexdigest()[:24]
    path = fm.cache_dir() / "metrics" / f"{split}-{key}.safetensors"
    if path.is_file():
        try:
            cached = load_file(str(path))["features"]
            if len(cached) == len(data):
                return cached
        except (OSError, SafetensorError, KeyError):
            pass  # unreadable cache: recompute and overwrite it
    features, _ = extract(judge, data.images, progress=progress, description=f"judge features of the {split} set")
    try:
        atomic_write(path, lambda tmp: save_file({"features": features.contiguous()}, tmp))
    except OSError:
        pass  # a read-only cache only costs time
    return features
