"""New images from a generator checkpoint: the library behind `fashiongan sample`, the web app and evaluate.

A generator is a checkpoint whose declaration (fashiongan/declaration.py) says it draws: a GAN or a VAE.
What it can be asked for (its classes, colours or attributes, by name) is what it declares, from the data
it trained on: a model of a user's folder takes "gown", not "Dress". Its net offers
``sample(n, labels=None, generator=None, colours=None) -> float (n, C, H, W) in [-1, 1]``.
The same seed gives the same images (on the same device).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from fashiongan import hub, objectives
from fashiongan.data import colored
from fashiongan.data.conditions import Conditions
from fashiongan.data.datasets import conditions
from fashiongan.data.transforms import to_uint8
from fashiongan.declaration import DRAWS, Declaration, declaration, shipped
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.nets.flow import SAMPLING
from fashiongan.train.fitting import takes

MAX_SAMPLES = 10_000  # per call; the CLI caps larger requests and says so
MAX_STEPS, MAX_GUIDANCE = 256, 10.0  # a flow model's sampling settings
PRECISIONS = ("float32", "bfloat16")  # bfloat16: the net runs under autocast, the same scores at 1.25x the images/s
# of a GAN, 1.04x of a one-step flow, on a CPU with AVX-512 BF16 (BENCHMARKS.md, "Sampling in bfloat16")
CHUNK = 128  # images generated per forward pass: a flow U-Net makes 1.3x the images/s of 500 (its activations stay
# in cache); the GANs and VAEs are indifferent

Label = int | str
Labels = Label | Sequence[Label] | np.ndarray | None
Colours = Label | Sequence[Label] | np.ndarray | None
Attributes = str | Sequence[str] | np.ndarray | torch.Tensor | None


@dataclass(frozen=True)
class Samples:
    """uint8 images (n, H, W), or (n, H, W, 3) from colour generators; the class of each image (int64, n)
    for conditional models, else None; its colour index (int64, n) for models that take a colour, else None;
    the names those indices stand for, as the model declares them. Unpacks as ``images, labels``."""

    images: np.ndarray
    labels: np.ndarray | None
    colours: np.ndarray | None = None
    classes: tuple[str, ...] | None = None
    colour_vocabulary: tuple[str, ...] | None = None

    def __iter__(self) -> Iterator[np.ndarray | None]:
        return iter((self.images, self.labels))

    @property
    def label_names(self) -> list[str] | None:
        """Each image's class by the model's own name for it."""
        return None if self.labels is None or self.classes is None else [self.classes[int(i)] for i in self.labels]

    @property
    def colour_names(self) -> list[str] | None:
        return None if self.colours is None or self.colour_vocabulary is None else [self.colour_vocabulary[int(i)] for i in self.colours]


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


def config_is_generator(config) -> bool:
    """Whether a TrainConfig trains a model that draws new images (its objective's kind: generator or vae)."""
    return objectives.get(config.model).kind in DRAWS


def generator_models() -> list[GeneratorModel]:
    """The packaged configs that train a generator, each with the shipped checkpoints it trains: the config with
    the same objective and nets as the training config a checkpoint records (its name is not kept), else (a
    checkpoint trained with a layer on top, as a distillation round is) the config of its objective and data with
    the same net (its sampling settings aside), else one that trains a net of its architecture on the same data (a
    distilled colour flow is listed under flow-colour: it draws what flow-colour draws), else the config named after
    its objective."""
    from fashiongan.train.config import load_config, packaged_configs  # the training layer imports this module's users

    configs = {name: config for name in packaged_configs() if config_is_generator(config := load_config(name))}

    def arch(nets: dict, model: str) -> str | None:
        return nets.get(objectives.get(model).main, {}).get("arch")

    def net(nets: dict, model: str) -> tuple:
        kwargs = nets.get(objectives.get(model).main, {}).get("kwargs", {})
        return arch(nets, model), {k: v for k, v in kwargs.items() if k not in SAMPLING}

    trained_by = {}
    for source in shipped_generators():
        recorded = hub.read_config(source).get("train_config", {})
        model, nets, data = recorded.get("model"), recorded.get("nets", {}), recorded.get("data")
        candidates = (
            [name for name, config in configs.items() if (model, nets) == (config.model, config.nets)],
            [name for name, config in configs.items()
             if (model, data) == (config.model, config.data) and net(nets, model) == net(config.nets, config.model)],
            [name for name, config in configs.items()
             if data == config.data and arch(nets, model) == arch(config.nets, config.model)],
        )
        trained_by[source] = next((names for names in candidates if names), [model])
    found = []
    for name, config in configs.items():
        objective = objectives.get(config.model)
        shipped = tuple(source for source, names in trained_by.items() if name in names)
        offers = takes(config, conditions(config.data))
        found.append(GeneratorModel(
            name, objective.name, objective.description, offers.classes is not None, int(config.train["batch_size"]),
            shipped, offers.channels, offers.colours is not None, offers.attributes is not None,
        ))
    return found


def shipped_generators() -> list[str]:
    """``pretrained:NAME`` of the generators shipped in the package (ready to sample offline)."""
    return sorted(source for source, declared in shipped().items() if declared.draws)


def load_generator(checkpoint: str | Path | hub.Checkpoint, device: str | torch.device = "cpu") -> nn.Module:
    """The generator of a checkpoint directory or ``pretrained:NAME`` (the EMA copy when training kept one),
    in eval mode, carrying its checkpoint's :class:`~fashiongan.declaration.Declaration` (``declaration``); a
    checkpoint of another kind (a classifier) is a CheckpointError.

    Its conv weights are stored channels-last: the shipped generators then sample 1.0-1.6x as fast on CPU
    (benchmarks/sampling.py), the same images to within one grey level in 10^5 pixels."""
    if isinstance(checkpoint, hub.Checkpoint):
        loaded = checkpoint
        declared = declaration(loaded.config, loaded.path)
    else:
        declared = declaration(hub.read_config(checkpoint), checkpoint)
        if declared.draws:
            loaded = hub.load_checkpoint(checkpoint, roles=list(declared.roles.values()))
    if not declared.draws:
        raise CheckpointError(
            f"{checkpoint if not isinstance(checkpoint, hub.Checkpoint) else checkpoint.path} holds a {declared.kind} "
            f"({declared.model!r}), not a generator; sampling needs a generator checkpoint (see `fashiongan models`)"
        )
    net = loaded.role(next(iter(declared.roles)))
    net.declaration = declared
    return net.to(device, memory_format=torch.channels_last).eval()


def offers(net: nn.Module) -> Conditions:
    """The conditions a generator loaded by :func:`load_generator` takes, as its checkpoint declares them."""
    found = getattr(net, "declaration", None)
    if not isinstance(found, Declaration):
        raise CheckpointError(f"this {type(net).__name__} was not loaded from a checkpoint (sampling.load_generator)")
    return found.conditions


def _choose_labels(offered: Conditions, n: int, label: Labels) -> torch.Tensor | None:
    classes = offered.classes
    if classes is None:
        if label is not None:
            models = [m for m in generator_models() if m.conditional]
            shipped = sorted(source for m in models for source in m.shipped)
            raise FashionGANError(
                f"this generator is unconditional, so it takes no label; conditional models: "
                f"{', '.join(m.name for m in models) or 'none packaged'}"
                + (f" (ready to sample: {', '.join(shipped)})" if shipped else "")
            )
        return None
    if label is None:  # every class in turn: balanced, and a grid of one column per class shows them all
        return torch.arange(n) % len(classes)
    if isinstance(label, (str, int, np.integer)):
        chosen = [offered.class_index(label)] * n
    else:
        chosen = [offered.class_index(item) for item in label]
        if len(chosen) != n:
            raise FashionGANError(f"{len(chosen)} labels were given for {n} images; give one label or one per image")
    return torch.tensor(chosen, dtype=torch.long)


def _choose_colours(
    offered: Conditions, channels: int, n: int, colour: Colours, labels: torch.Tensor | None, seed: int, cycle: int = 1
) -> torch.Tensor | None:
    """Colour indices (n,) for a model that takes colours: ``colour`` for every image or one per image
    (``auto``: drawn from the item's class prior, as the catalogue set does), or None: cycling through
    the colours, each held for ``cycle`` images (the classes' cycle, when they cycle too: n = classes x
    colours then covers every pair, and a grid of one row per cycle shows a colour per row)."""
    if offered.colours is None:
        if colour is not None:
            models = [m for m in generator_models() if m.colour_conditional]
            shipped = sorted(source for m in models for source in m.shipped)
            kind = "RGB items in colours of its own" if channels == 3 else "grayscale items"
            raise FashionGANError(
                f"this generator draws {kind}, so it takes no colour; "
                f"models that take a colour: {', '.join(m.name for m in models) or 'none packaged'}"
                + (f" (ready to sample: {', '.join(shipped)})" if shipped else "")
            )
        return None
    count = len(offered.colours)
    if colour is None:
        return torch.arange(n) // cycle % count
    asked = [colour] * n if isinstance(colour, (str, int, np.integer)) else list(colour)
    if len(asked) != n:
        raise FashionGANError(f"{len(asked)} colours were given for {n} images; give one colour or one per image")
    auto = np.array([str(item).strip().lower() == colored.AUTO for item in asked])
    catalogue = tuple(offered.colours) == tuple(colored.colour_names())  # the coloured set's colours: auto draws by class
    try:
        chosen_array = np.array([0 if a else offered.colour_index(item) for item, a in zip(asked, auto)], dtype=np.int64)
    except FashionGANError as exc:
        raise FashionGANError(f"{exc}{', or auto' if catalogue else ''}") from None
    if auto.any():
        if not catalogue:
            raise FashionGANError(f"colour {colored.AUTO!r} draws from the coloured set's priors; name one of: {', '.join(offered.colours)}")
        priors = colored.class_priors()[:, :count]
        rows = priors[labels.numpy()[auto]] if labels is not None else np.broadcast_to(priors.mean(0), (int(auto.sum()), count))
        cumulative = (rows / rows.sum(1, keepdims=True)).cumsum(1)
        draws = np.random.default_rng(seed).random(int(auto.sum()))
        chosen_array[auto] = np.minimum((draws[:, None] > cumulative).sum(1), count - 1)
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
    steps: int | None = None,
    guidance: float | None = None,
    precision: str = "float32",
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
    ``precision``: one of PRECISIONS, the arithmetic the net runs in (its weights stay float32).
    """
    n = check_count(n)
    if precision not in PRECISIONS:
        raise FashionGANError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise FashionGANError(f"unknown device {device!r}; use cpu or cuda") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise FashionGANError(f"device {device!r} was asked for, but PyTorch sees no CUDA device; use cpu")
    net = checkpoint if isinstance(checkpoint, nn.Module) else load_generator(checkpoint, device)
    offered = offers(net)
    with _sampling_settings(net, steps, guidance), torch.autocast(
        next(net.parameters()).device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16"
    ):
        return _drawn(net, offered, n, label, seed, colour, attributes)


@contextmanager
def _sampling_settings(net: nn.Module, steps: int | None, guidance: float | None) -> Iterator[None]:
    """A flow model's ODE ``steps`` and ``guidance`` for one call (its checkpoint's own otherwise)."""
    asked = {key: value for key, value in (("steps", steps), ("guidance", guidance)) if value is not None}
    if not asked:
        yield
        return
    if not net.declaration.integrates:
        raise FashionGANError("only flow models take steps and guidance; this one draws in one pass (see `fashiongan models`)")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS):
        raise FashionGANError(f"steps must be a whole number in 1..{MAX_STEPS}, got {steps!r}")
    if guidance is not None and not 0 <= guidance <= MAX_GUIDANCE:
        raise FashionGANError(f"guidance must lie in 0..{MAX_GUIDANCE}, got {guidance!r}")
    if guidance not in (None, 1.0) and not net.declaration.hyperparameters.get("drop"):
        raise FashionGANError("this flow model was trained without condition dropout (objective.drop 0), so it has no "
                              "unconditional velocity to guide by: sample without --guidance")
    before = {key: getattr(net, key) for key in asked}
    for key, value in asked.items():
        setattr(net, key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            setattr(net, key, value)


def _drawn(net: nn.Module, offered: Conditions, n: int, label: Labels, seed: int, colour: Colours,
           attributes: Attributes) -> Samples:
    net.eval()
    device = next(net.parameters()).device
    if offered.attributes is not None or attributes is not None:
        return _attribute_samples(net, offered, n, label, colour, attributes, int(seed))
    labels = _choose_labels(offered, n, label)
    cycle = len(offered.classes) if label is None and offered.classes else 1
    colours = _choose_colours(offered, offered.channels, n, colour, labels, int(seed), cycle)
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
        None if colours is None else colours.numpy().astype(np.int64), offered.classes, offered.colours,
    )


def _attribute_samples(
    net: nn.Module, offered: Conditions, n: int, label: Labels, colour: Colours, attributes: Attributes, seed: int,
) -> Samples:
    """Images from a generator conditioned on attributes (see ``sample``). Each image's class is its value of
    the vocabulary's first column (the category), its colour its value of a ``colour`` column where one exists."""
    vocabulary = offered.attributes
    if vocabulary is None:
        raise FashionGANError("this generator takes no attributes; one that does: fashiongan train --model cvae")
    if label is not None or colour is not None:
        example = f"{vocabulary.columns[0]}={vocabulary.values[0][0]}"
        raise FashionGANError(f"this model takes attributes, not a label or colour: ask for e.g. {example} (--attr NAME=VALUE)")
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
    columns = [vocabulary.columns[0], "colour" if "colour" in vocabulary.columns else None]
    found = [None if column is None else net.values(vectors, column) for column in columns]
    names = [None if column is None else vocabulary.values[vocabulary.columns.index(column)] for column in columns]
    return Samples(np.concatenate(chunks), *(None if v is None else v.cpu().numpy().astype(np.int64) for v in found), *names)


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (n, h, w) or RGB (n, h, w, 3) -> (n, size, size[, 3]). Whole multiples of the native size are
    upscaled by nearest neighbour (every pixel stays a crisp square); any other size is resampled bicubically."""
    images = np.asarray(images)
    if images.shape[1] == size and images.shape[2] == size:
        return images
    method = Image.NEAREST if size % images.shape[1] == 0 else Image.BICUBIC
    return np.stack([np.asarray(Image.fromarray(img).resize((size, size), method)) for img in images])
