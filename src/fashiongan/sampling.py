"""New images from a generator checkpoint: the library behind `fashiongan sample`, the web app and evaluate.

A generator is any net with ``z_dim``, ``num_classes`` (0 = unconditional) and
``sample(n, labels=None, generator=None) -> float (n, C, H, W) in [-1, 1]``; every GAN in
``fashiongan models`` has one. Colour generators draw RGB; those with ``num_colours`` > 0 also take
a colour per image (``sample(..., colours=...)``, indices into the coloured set's catalogue).
The same seed gives the same images (on the same device).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from fashiongan import hub, nets as net_registry, objectives
from fashiongan.data import colored
from fashiongan.data.fashion_mnist import CLASSES, label_index, label_name
from fashiongan.data.transforms import to_uint8
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.nets.gan import is_generator

MAX_SAMPLES = 10_000  # per call; the CLI caps larger requests and says so
CHUNK = 500           # images generated per forward pass
NATIVE_SIZE = 28

Label = int | str
Labels = Label | Sequence[Label] | np.ndarray | None
Colours = Label | Sequence[Label] | np.ndarray | None
Attributes = str | Sequence[str] | np.ndarray | torch.Tensor | None


@dataclass(frozen=True)
class Samples:
    """uint8 images (n, H, W), or (n, H, W, 3) from colour generators; the class of each image (int64, n)
    for conditional models, else None; its colour index (int64, n) for models that take a colour, else None.
    Unpacks as ``images, labels``, as it did before colours existed."""

    images: np.ndarray
    labels: np.ndarray | None
    colours: np.ndarray | None = None

    def __iter__(self) -> Iterator[np.ndarray | None]:
        return iter((self.images, self.labels))


@dataclass(frozen=True)
class GeneratorModel:
    """A packaged config whose main net is a generator: a row of `fashiongan models`."""

    name: str
    objective: str
    description: str
    conditional: bool
    batch_size: int
    shipped: tuple[str, ...] = ()  # pretrained:NAME checkpoints of this model inside the package
    channels: int = 1  # 3: it draws RGB
    colour_conditional: bool = False  # it takes a colour per image (`sample --colour`)
    attribute_conditional: bool = False  # it takes attributes (`sample --attr`)


def _main_net(config) -> nn.Module:
    """A training config's main net, built on the meta device (no memory, no init cost)."""
    spec = config.nets[objectives.get(config.model).main]
    with torch.device("meta"):
        return net_registry.build(spec["arch"], **spec.get("kwargs", {}))


def config_is_generator(config) -> bool:
    """Whether a TrainConfig trains a generator (its objective's main net has the generator interface)."""
    return is_generator(_main_net(config))


def generator_models() -> list[GeneratorModel]:
    """The packaged configs whose objective's main net is a generator, each with the shipped checkpoints it
    trains (the same objective and nets as the training config a checkpoint records; its name is not kept)."""
    from fashiongan.train.config import load_config, packaged_configs

    trained_by = {}
    for name in hub.shipped():
        recorded = hub.read_config(f"{hub.PRETRAINED_PREFIX}{name}").get("train_config", {})
        trained_by[f"{hub.PRETRAINED_PREFIX}{name}"] = (recorded.get("model"), recorded.get("nets"))
    found = []
    for name in packaged_configs():
        config = load_config(name)
        net = _main_net(config)
        if is_generator(net):
            objective = objectives.get(config.model)
            shipped = tuple(source for source, recorded in trained_by.items() if recorded == (config.model, config.nets))
            found.append(GeneratorModel(
                name, objective.name, objective.description, int(getattr(net, "num_classes", 0)) > 0,
                int(config.train["batch_size"]), shipped,
                int(getattr(net, "image_shape", (1,))[0]), int(getattr(net, "num_colours", 0)) > 0,
                getattr(net, "attribute_set", None) is not None,
            ))
    return found


def shipped_generators() -> list[str]:
    """``pretrained:NAME`` of the generators shipped in the package (ready to sample offline)."""
    return sorted(source for model in generator_models() for source in model.shipped)


def load_generator(checkpoint: str | Path | hub.Checkpoint, device: str | torch.device = "cpu") -> nn.Module:
    """The generator of a checkpoint directory or ``pretrained:NAME`` (the EMA copy when training kept one),
    in eval mode; a checkpoint of another family (a classifier) is a CheckpointError.

    Its conv weights are stored channels-last: the shipped generators then sample 1.0-1.6x as fast on CPU
    (benchmarks/sampling.py), the same images to within one grey level in 10^5 pixels."""
    if isinstance(checkpoint, hub.Checkpoint):
        loaded = checkpoint
    else:
        config = hub.read_config(checkpoint)
        loaded = hub.load_checkpoint(checkpoint, roles=[config["main"]])
    net = loaded.main
    if not is_generator(net):
        model = loaded.config.get("model", "unknown")
        arch = loaded.config["nets"].get(loaded.config["main"], {}).get("arch", "?")
        raise CheckpointError(
            f"{loaded.path} holds a {model!r} model (main net {arch!r}), not a generator; "
            "sampling needs a GAN checkpoint (see `fashiongan models`)"
        )
    return net.to(device, memory_format=torch.channels_last).eval()


def _choose_labels(net: nn.Module, n: int, label: Labels) -> torch.Tensor | None:
    classes = int(getattr(net, "num_classes", 0))
    if classes == 0:
        if label is not None:
            models = [m for m in generator_models() if m.conditional]
            shipped = sorted(source for m in models for source in m.shipped)
            raise FashionGANError(
                f"this generator is unconditional, so it takes no label; conditional models: "
                f"{', '.join(m.name for m in models) or 'none packaged'}"
                + (f" (ready to sample: {', '.join(shipped)})" if shipped else "")
            )
        return None
    if label is None:  # every class in turn: balanced, and a grid of 10 columns shows one class per column
        return torch.arange(n) % classes
    if isinstance(label, (str, int, np.integer)):
        chosen = [label_index(label)] * n
    else:
        chosen = [label_index(item) for item in label]
        if len(chosen) != n:
            raise FashionGANError(f"{len(chosen)} labels were given for {n} images; give one label or one per image")
    for index in chosen:
        if index >= classes:
            raise FashionGANError(f"label {index} ({label_name(index)}) is outside this model's {classes} classes")
    return torch.tensor(chosen, dtype=torch.long)


def _choose_colours(
    net: nn.Module, n: int, colour: Colours, labels: torch.Tensor | None, seed: int, cycle: int = 1
) -> torch.Tensor | None:
    """Colour indices (n,) for a model that takes colours: ``colour`` for every image or one per image
    (``auto``: drawn from the item's class prior, as the catalogue set does), or None: cycling through
    the colours, each held for ``cycle`` images (the classes' cycle, when they cycle too: n = classes x
    colours then covers every pair, and a grid of one row per cycle shows a colour per row)."""
    count = int(getattr(net, "num_colours", 0))
    if count == 0:
        if colour is not None:
            models = [m for m in generator_models() if m.colour_conditional]
            shipped = sorted(source for m in models for source in m.shipped)
            kind = "RGB items in colours of its own" if int(getattr(net, "image_shape", (1,))[0]) == 3 else "grayscale items"
            raise FashionGANError(
                f"this generator draws {kind}, so it takes no colour; "
                f"models that take a colour: {', '.join(m.name for m in models) or 'none packaged'}"
                + (f" (ready to sample: {', '.join(shipped)})" if shipped else "")
            )
        return None
    if colour is None:
        return torch.arange(n) // cycle % count
    if isinstance(colour, (str, int, np.integer)):
        chosen = [colored.colour_index(colour, allow_auto=True)] * n
    else:
        chosen = [colored.colour_index(item, allow_auto=True) for item in colour]
        if len(chosen) != n:
            raise FashionGANError(f"{len(chosen)} colours were given for {n} images; give one colour or one per image")
    auto = len(colored.catalogue())
    for index in chosen:
        if auto > index >= count:
            raise FashionGANError(f"colour {index} ({colored.colour_name(index)}) is outside this model's {count} colours")
    chosen_array = np.array(chosen, dtype=np.int64)
    where = chosen_array == auto
    if where.any():
        priors = colored.class_priors()[:, :count]
        rows = priors[labels.numpy()[where]] if labels is not None else np.broadcast_to(priors.mean(0), (int(where.sum()), count))
        cumulative = (rows / rows.sum(1, keepdims=True)).cumsum(1)
        draws = np.random.default_rng(seed).random(int(where.sum()))
        chosen_array[where] = np.minimum((draws[:, None] > cumulative).sum(1), count - 1)
    return torch.from_numpy(chosen_array)


def check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise FashionGANError(f"the number of images must be a whole number of at least 1, got {n!r}")
    if n > MAX_SAMPLES:
        raise FashionGANError(f"at most {MAX_SAMPLES} images per call; asked for {n}")
    return int(n)


@torch.inference_mode()
def sample(
    checkpoint: str | Path | hub.Checkpoint | nn.Module,
    n: int = 6,
    label: Labels = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    colour: Colours = None,
    attributes: Attributes = None,
) -> Samples:
    """``n`` images from a generator checkpoint (or a loaded generator), deterministic in ``seed``.

    ``label`` (conditional models only): a class name or index for every image, or one per image;
    None cycles through the classes (0, 1, ..., 9, 0, ...). Unconditional models return labels None.
    ``colour`` (models that take a colour only): a catalogue colour name or index, or ``auto`` (drawn
    from the item's class prior), for every image or one per image; None cycles through the colours.
    Colour generators give RGB images (n, H, W, 3).
    ``attributes`` (models conditioned on attributes, the cVAEs, instead of label and colour): NAME=VALUE
    requests such as ``["category=dress", "colour=navy"]``, or a multi-hot row or one per image; columns
    not named are drawn from the data's prior (None: all of them), and labels and colours are read back.
    """
    n = check_count(n)
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise FashionGANError(f"unknown device {device!r}; use cpu or cuda") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise FashionGANError(f"device {device!r} was asked for, but PyTorch sees no CUDA device; use cpu")
    net = checkpoint if isinstance(checkpoint, nn.Module) else load_generator(checkpoint, device)
    if not is_generator(net):
        raise CheckpointError(f"{type(net).__name__} is not a generator (it lacks z_dim/sample)")
    net.eval()
    device = next(net.parameters()).device
    if int(getattr(net, "num_attributes", 0)) or attributes is not None:
        return _attribute_samples(net, n, label, colour, attributes, int(seed))
    labels = _choose_labels(net, n, label)
    cycle = int(getattr(net, "num_classes", 0)) if label is None else 1
    colours = _choose_colours(net, n, colour, labels, int(seed), max(cycle, 1))
    rng = torch.Generator(device=device).manual_seed(int(seed))
    chunks = []
    for start in range(0, n, CHUNK):
        part = None if labels is None else labels[start : start + CHUNK].to(device)
        if colours is None:
            chunks.append(to_uint8(net.sample(min(CHUNK, n - start), part, generator=rng)))
        else:
            tint = colours[start : start + CHUNK].to(device)
            chunks.append(to_uint8(net.sample(min(CHUNK, n - start), part, generator=rng, colours=tint)))
    return Samples(
        np.concatenate(chunks), None if labels is None else labels.numpy().astype(np.int64),
        None if colours is None else colours.numpy().astype(np.int64),
    )


def _attribute_samples(net: nn.Module, n: int, label: Labels, colour: Colours, attributes: Attributes, seed: int) -> Samples:
    """Images from a generator conditioned on attributes (see ``sample``), with the category and colour drawn."""
    if not int(getattr(net, "num_attributes", 0)):
        raise FashionGANError("this generator takes no attributes; one that does: fashiongan train --model cvae")
    if label is not None or colour is not None:
        raise FashionGANError("this model takes attributes, not a label or colour: ask for e.g. category=dress, colour=navy (--attr NAME=VALUE)")
    rng = torch.Generator(device=next(net.parameters()).device).manual_seed(seed)
    named = isinstance(attributes, str) or (
        isinstance(attributes, Sequence) and all(isinstance(pair, str) for pair in attributes)
    )
    try:
        asked = net.request([attributes] if isinstance(attributes, str) else attributes) if named else attributes
        vectors = net.complete(asked, n, rng)
        chunks = [to_uint8(net.sample(len(part), generator=rng, attributes=part)) for part in vectors.split(CHUNK)]
    except ValueError as exc:
        raise FashionGANError(str(exc)) from None
    labels, colours = (net.values(vectors, column) for column in ("category", "colour"))
    return Samples(np.concatenate(chunks), *(None if v is None else v.cpu().numpy().astype(np.int64) for v in (labels, colours)))


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (n, h, w) or RGB (n, h, w, 3) -> (n, size, size[, 3]). Whole multiples of the native size are
    upscaled by nearest neighbour (every pixel stays a crisp square); any other size is resampled bicubically."""
    images = np.asarray(images)
    if images.shape[1] == size and images.shape[2] == size:
        return images
    method = Image.NEAREST if size % images.shape[1] == 0 else Image.BICUBIC
    return np.stack([np.asarray(Image.fromarray(img).resize((size, size), method)) for img in images])


def class_names(labels: np.ndarray | None) -> list[str] | None:
    return None if labels is None else [CLASSES[int(i)] for i in labels]


def colour_names(colours: np.ndarray | None) -> list[str] | None:
    return None if colours is None else [colored.colour_name(int(i)) for i in colours]
