"""Training data by name, as in-memory tensor dicts (small images: indexing beats a DataLoader).

Every dataset takes two per-batch options in the config's ``data`` section: ``size`` (resize every
image tensor of a batch to size x size; data is stored at its native size) and ``augment``; a user's
folder or catalogue too large for memory streams from disk (``stream``) through ``workers`` processes.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from fashiongan.data import attributes, colored, fabrics, fashion_mnist, folders, pairs, streaming
from fashiongan.data.augment import Augment
from fashiongan.data.conditions import Conditions
from fashiongan.data.decoded import decode_files
from fashiongan.data.train_data import TensorDict, TrainData, resize
from fashiongan.data.transforms import to_float
from fashiongan.errors import DataError, FashionGANError, reject_unknown

def _fashion_mnist(data_dir: str | None = None, limit: int | None = None, eval_split: str | None = "test") -> TrainData:
    def tensors(split: str) -> TensorDict:
        images, labels = fashion_mnist.load(split, data_dir).tensors(limit)
        return {"image": images, "label": labels}

    return TrainData(tensors("train"), tensors(eval_split) if eval_split else None)


def _colored(
    mode: str = "catalogue", seed: int = 0, data_dir: str | None = None, limit: int | None = None,
    eval_split: str | None = "test", fabric_items: int = 0,
) -> TrainData:
    """Coloured Fashion-MNIST: ``image`` RGB, ``gray`` its source item, ``label`` the class, ``colour`` the colour index.

    ``fabric_items``: also this many training items per fabric rendered in leather and denim (at the coloured
    items' size, colour ``colored.UNKNOWN_COLOUR``), so a judge trained on it knows a garment whatever its fabric (the
    eval split stays plain coloured items)."""

    def tensors(split: str) -> TensorDict:
        data = colored.load(split, mode, seed, data_dir, limit)
        return {
            "image": to_float(data.images), "gray": to_float(data.gray),
            "label": torch.tensor(data.labels, dtype=torch.long), "colour": torch.tensor(data.colours),
        }

    train = tensors("train")
    if fabric_items:
        size = train["image"].shape[-1]
        parts = [train, *(_in_fabric(fabric, seed, fabric_items, size, data_dir) for fabric in fabrics.FABRICS)]
        train = {key: torch.cat([part[key] for part in parts]) for key in train}
    return TrainData(train, tensors(eval_split) if eval_split else None)


def _in_fabric(fabric: str, seed: int, count: int, size: int, data_dir: str | None) -> TensorDict:
    """``count`` training items rendered in ``fabric``, in the coloured set's layout at its ``size``."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise FashionGANError(f"data.fabric_items must be a whole number of items per fabric >= 0, got {count!r}")
    part = fabrics.load("train", fabric, seed, count, data_dir)
    image = resize(to_float(part.images), size)
    return {
        "image": image, "gray": image.mean(1, keepdim=True), "label": torch.from_numpy(part.labels.copy()),
        "colour": torch.full((len(part.labels),), colored.UNKNOWN_COLOUR, dtype=torch.long),
    }


def _attributes(seed: int = 0, data_dir: str | None = None, limit: int | None = None, eval_split: str | None = "test") -> TrainData:
    """The offline attribute set: coloured items (catalogue mode) plus ``attributes``, multi-hot (N, 30)."""
    data = _colored("catalogue", seed, data_dir, limit, eval_split)
    for split in (data.train, data.eval):
        if split is not None:
            split["attributes"] = torch.from_numpy(attributes.encode(split["label"].numpy(), split["colour"].numpy()))
    return data


USER_IMAGE_SIZE = 64  # pixels a user's images are decoded at when the config names no data.size
STREAM_ABOVE = 4 * 2**30  # bytes of decoded float images above which `stream: auto` streams from disk
MAX_STREAMED_EVAL = 2000  # held-out items kept in memory for reports when the training images stream
STYLES_COLUMNS = ("subCategory", "gender")  # the third source's choice: top 20 subCategory values + the genders


def _held_out(count: int, eval_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Seeded (train, eval) indices: ``eval_fraction`` of the items, at least one, held out for eval."""
    if not isinstance(eval_fraction, (int, float)) or not 0 <= eval_fraction < 1:
        raise FashionGANError(f"data.eval_fraction must lie in [0, 1), got {eval_fraction!r}")
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    held = min(max(round(count * eval_fraction), 1), count - 1) if eval_fraction > 0 and count > 1 else 0
    return order[held:].sort().values, (order[:held].sort().values if held else None)


def _user_images(
    table: folders.ImageTable, size: int | None, limit: int | None, eval_fraction: float, seed: int,
    targets: Callable[[np.ndarray], TensorDict], stream: bool | str = "auto",
) -> TrainData:
    """``table``'s images at ``size`` with ``targets(rows)`` beside them, and a seeded held-out eval split.

    In memory (decoded once, cached) unless ``stream`` is true, or "auto" and the decoded set would
    pass STREAM_ABOVE bytes: then training images are decoded per batch in DataLoader workers, and only
    the eval split (at most MAX_STREAMED_EVAL items) is held in memory. ``limit`` takes a seeded random
    subset (a folder lists one class after another)."""
    size = size or USER_IMAGE_SIZE
    rows = np.arange(len(table))
    if limit is not None:
        rows = np.sort(np.random.default_rng(seed).permutation(len(table))[:limit])
    if stream not in (True, False, "auto"):
        raise FashionGANError(f"data.stream must be true, false or auto, got {stream!r}")
    if stream is True or (stream == "auto" and len(rows) * 3 * size * size * 4 > STREAM_ABOVE):
        train, held = _held_out(len(rows), eval_fraction, seed)
        files = [table.files[i] for i in rows[train.numpy()]]
        stream_set = streaming.ImageFiles(files, {k: v.numpy() for k, v in targets(rows[train.numpy()]).items()}, size)
        held_rows = rows[held.numpy()][:MAX_STREAMED_EVAL] if held is not None else rows[:0]
        found = decode_files([table.files[i] for i in held_rows], size)
        held_rows = held_rows[found.readable]
        evaluation = {"image": to_float(np.ascontiguousarray(found.images.transpose(0, 3, 1, 2))), **targets(held_rows)}
        return TrainData({}, evaluation if len(held_rows) else None, stream=stream_set)
    found = decode_files([table.files[i] for i in rows], size)
    rows = rows[found.readable]
    if not len(rows):
        raise DataError(f"none of the {len(found.readable)} images in {table.root} could be decoded")
    tensors = {"image": to_float(np.ascontiguousarray(found.images.transpose(0, 3, 1, 2))), **targets(rows)}
    train, held = _held_out(len(rows), eval_fraction, seed)
    return TrainData({k: v[train] for k, v in tensors.items()}, {k: v[held] for k, v in tensors.items()} if held is not None else None)


def _folder(
    path: str, size: int | None = None, limit: int | None = None, eval_fraction: float = 0.1, seed: int = 0,
    stream: bool | str = "auto",
) -> TrainData:
    """``folder:DIR``: ``image`` RGB, ``label`` the sub-folder's index, ``attributes`` its one-hot (column ``class``)."""
    table = folders.read_folder(Path(path))

    def targets(rows: np.ndarray) -> TensorDict:
        labels = torch.from_numpy(table.labels[rows])
        return {"label": labels, "attributes": F.one_hot(labels, len(table.classes)).float()}

    return _user_images(table, size, limit, eval_fraction, seed, targets, stream)


def _styles(
    path: str, attributes: list[str] | str = STYLES_COLUMNS, top: int | None = 20, other: bool = False,
    vocabulary: Mapping[str, Any] | None = None, size: int | None = None, limit: int | None = None,
    eval_fraction: float = 0.1, seed: int = 0, stream: bool | str = "auto",
) -> TrainData:
    """``styles:DIR``: ``image`` RGB and ``attributes`` multi-hot over the ``top`` values of each chosen
    column (plus ``other``), or over a pinned ``vocabulary`` {columns, values} (what a checkpoint stores);
    ``label`` is the item's value of the first column (its class: subCategory by default). Items with no
    value in that column's vocabulary are left out."""
    table = folders.read_styles(Path(path))
    vocab = _styles_vocabulary(table, attributes, top, other, vocabulary)
    table = _with_class(table, vocab)

    def targets(rows: np.ndarray) -> TensorDict:
        encoded = torch.from_numpy(vocab.encode({c: [table.columns[c][i] for i in rows] for c in vocab.columns}))
        return {"attributes": encoded, "label": encoded[:, : len(vocab.values[0])].argmax(1)}

    return _user_images(table, size, limit, eval_fraction, seed, targets, stream)


def _with_class(table: folders.ImageTable, vocab: folders.AttributeVocabulary) -> folders.ImageTable:
    """``table`` less the rows whose value of the vocabulary's first column (the class) it does not hold."""
    first = vocab.columns[0]
    classes = folders.AttributeVocabulary((first,), vocab.values[:1])
    known = np.flatnonzero(classes.encode({first: table.columns[first]}).sum(1) > 0)
    if not len(known):
        raise DataError(f"no item of {table.root} has a {first} among {', '.join(vocab.values[0])}")
    skipped = [folders.Skipped(str(table.files[i]), f"no {first}") for i in sorted(set(range(len(table))) - set(known.tolist()))]
    return replace(table, files=[table.files[i] for i in known], skipped=table.skipped + skipped,
                   columns={c: [v[i] for i in known] for c, v in table.columns.items()})


def _styles_vocabulary(
    table: folders.ImageTable, columns: list[str] | str, top: int | None, other: bool, pinned: Mapping[str, Any] | None,
) -> folders.AttributeVocabulary:
    if pinned is not None:
        vocab = folders.AttributeVocabulary.from_dict(pinned)
        folders.vocabulary(table, list(vocab.columns))  # its columns must exist in this styles.csv
        return vocab
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if isinstance(columns, str) else list(columns)
    return folders.vocabulary(table, chosen, top, other)


_DATASETS: dict[str, Callable[..., TrainData]] = {
    "fashion_mnist": _fashion_mnist, "colored": _colored, "attributes": _attributes, "folder": _folder, "styles": _styles,
    "fabrics": fabrics.training_data, "fabric_classes": fabrics.classifier_data, "pair": pairs.training_data,
}
_DECODED_AT_SIZE = ("folder", "styles", "pair")  # user images are decoded once, at the model's size


def dataset_names() -> list[str]:
    return sorted(_DATASETS)


_BATCH_OPTIONS = ("name", "size", "augment", "workers")  # what every dataset takes besides its loader's options


def check_spec(spec: Mapping[str, Any]) -> None:
    """Reject a ``data`` section naming an unknown dataset or an option its loader does not take, before anything loads."""
    name = spec.get("name", "fashion_mnist")
    if name not in _DATASETS:
        raise FashionGANError(f"unknown dataset {name!r}; choose one of: {', '.join(dataset_names())}")
    options = [p for p in inspect.signature(_DATASETS[name]).parameters if p != "size" or name in _DECODED_AT_SIZE]
    reject_unknown("data", spec, (*_BATCH_OPTIONS, *(p for p in options if p not in _BATCH_OPTIONS)), f" (dataset {name!r})")


def load_training_data(spec: Mapping[str, Any]) -> TrainData:
    """``spec`` is the config's ``data`` section: {"name": ..., "augment": {...}, other keys passed to the loader}."""
    check_spec(spec)
    options = dict(spec)
    name = options.pop("name", "fashion_mnist")
    augment = Augment.from_spec(options.pop("augment", None))
    size = options.pop("size", None)
    workers = options.pop("workers", 2)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise FashionGANError(f"data.workers must be a whole number >= 0, got {workers!r}")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 8 <= size <= 1024):
        raise FashionGANError(f"data.size must be a whole number of pixels in 8..1024, got {size!r}")
    if name in _DECODED_AT_SIZE:
        options["size"] = size
    data = _DATASETS[name](**options)
    data.augment, data.size, data.workers = augment, size, workers
    return data


def data_layer(source: str) -> dict[str, Any]:
    """``--data`` as a config's data section: 'folder:DIR' -> {"name": "folder", "path": DIR}, 'styles:DIR'
    likewise, a dataset's name -> {"name": NAME}; one-line errors for an unknown kind or a missing folder."""
    kind, sep, _ = str(source).partition(":")
    if not sep and kind in _DATASETS:
        return {"name": kind}
    if sep and kind in folders.SOURCES:
        kind, root = folders.parse_source(source)
        return {"name": kind, "path": str(root)}
    raise FashionGANError(
        f"data {source!r} should be a dataset ({', '.join(dataset_names())}) or KIND:PATH with KIND one of: {', '.join(folders.SOURCES)}"
    )


def with_source(spec: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The config's data section with its source replaced by ``--data``: the per-batch options (size, augment,
    workers) stay, and so does ``stream`` where the new source can stream."""
    new = data_layer(source)
    kept = ("size", "augment", "workers", *(("stream",) if new["name"] in folders.TABLES else ()))
    return {**{k: spec[k] for k in kept if k in spec}, **new}


def attribute_vocabulary(spec: Mapping[str, Any]) -> folders.AttributeVocabulary | None:
    """What each column of a dataset's ``attributes`` stands for, read without decoding an image (None: it has none)."""
    name = spec.get("name", "fashion_mnist")
    if name == "attributes":
        return attributes.vocabulary()
    if name == "folder":
        return folders.AttributeVocabulary(("class",), (tuple(folders.read_folder(_path(spec)).classes),))
    if name == "styles":
        return _styles_vocabulary(
            folders.read_styles(_path(spec)), spec.get("attributes", STYLES_COLUMNS), spec.get("top", 20),
            bool(spec.get("other", False)), spec.get("vocabulary"),
        )
    return None


_NATIVE = {  # (channels, size, classes) of the built-in sets, read without loading them
    "fashion_mnist": (1, fashion_mnist.SIZE, fashion_mnist.CLASSES), "colored": (3, fashion_mnist.SIZE, fashion_mnist.CLASSES),
    "attributes": (3, fashion_mnist.SIZE, fashion_mnist.CLASSES), "fabrics": (3, fabrics.SIZE, None),
    "fabric_classes": (3, fabrics.SIZE, fabrics.FABRICS),
}


def conditions(spec: Mapping[str, Any]) -> Conditions:
    """What a dataset's items are (channels, the size batches come at) and the conditions it labels them with
    (class names, colour names, attribute vocabulary), read without decoding an image."""
    check_spec(spec)
    name = spec.get("name", "fashion_mnist")
    if name in folders.SOURCES:
        channels, size, classes = int(spec.get("channels", 3)), pairs.DEFAULT_SIZE if name == "pair" else USER_IMAGE_SIZE, None
        if name == "folder":
            classes = tuple(folders.read_folder(_path(spec)).classes)
    else:
        channels, size, classes = _NATIVE[name]
    colours = tuple(colored.colour_names()) if name in ("colored", "attributes") else None
    vocabulary = attribute_vocabulary(spec)
    if name == "styles":
        classes = vocabulary.values[0]  # the first attribute column's values: subCategory's by default
    return Conditions(channels, int(spec.get("size") or size), None if classes is None else tuple(classes), colours,
                      vocabulary)


def attribute_prior(spec: Mapping[str, Any]) -> dict[str, list] | None:
    """A catalogue's attribute combinations as a conditional VAE stores its prior: {items: the on-indices of
    each combination the data holds, weights: its share of the items}; None for the built-in sets."""
    name = spec.get("name")
    if name not in folders.TABLES:
        return None
    table = folders.read_table(f"{name}:{_path(spec)}")
    vocab = attribute_vocabulary(spec)
    if name == "folder":
        vectors = np.eye(len(table.classes), dtype=np.float32)[table.labels]
    else:
        table = _with_class(table, vocab)
        vectors = vocab.encode({c: table.columns[c] for c in vocab.columns})
    combinations, counts = np.unique(vectors, axis=0, return_counts=True)
    return {"items": [np.flatnonzero(row).tolist() for row in combinations],
            "weights": [round(float(c) / len(vectors), 6) for c in counts]}


def _path(spec: Mapping[str, Any]) -> Path:
    if not spec.get("path"):
        raise FashionGANError(f"dataset {spec.get('name')!r} needs data.path (or --data {spec.get('name')}:DIR)")
    return Path(str(spec["path"]))
