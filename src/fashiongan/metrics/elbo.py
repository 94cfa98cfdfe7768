"""The test-set ELBO of a VAE checkpoint in nats per image: how well it models items it never saw.

Only VAEs with the same likelihood compare: under ``logistic`` (nets/vae.py) -ELBO bounds -log p(x) of
the 8-bit test images from above; under ``bernoulli`` (the third source's binary cross-entropy on [0, 1]
intensities) it is the source's training objective, no probability of the images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from fashiongan import hub
from fashiongan.data import attributes as offline, colored, fashion_mnist as fm
from fashiongan.data.datasets import load_training_data
from fashiongan.data.folders import TABLES
from fashiongan.data.transforms import to_float
from fashiongan.declaration import declaration, declared
from fashiongan.errors import CheckpointError, FashionGANError


def is_vae(config: Mapping[str, Any]) -> bool:
    """Whether a checkpoint's config.json declares a VAE (an encoder beside its decoder)."""
    return declaration(config).kind == "vae"


def split_of(data: Mapping[str, Any], split: str = "test", limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(images float (N, C, H, W) in [-1, 1], multi-hot attributes or None) of a split of the dataset a
    training config's ``data`` names: the offline attribute set, the coloured set, Fashion-MNIST, or a user's
    catalogue (its held-out items, at the size it trained at)."""
    name = data.get("name", "fashion_mnist")
    if name in TABLES:
        held = load_training_data({**data, "stream": False}).eval
        if held is None:
            raise FashionGANError(f"{name}:{data.get('path')} holds no held-out items (data.eval_fraction 0)")
        return held["image"][:limit], held.get("attributes", None) if held.get("attributes") is None else held["attributes"][:limit]
    if name in ("attributes", "colored"):
        mode = "catalogue" if name == "attributes" else data.get("mode", "catalogue")
        items = colored.load(split, mode, int(data.get("seed", 0)), data.get("data_dir"), limit)
        found = offline.encode(items.labels, items.colours) if name == "attributes" else None
        return to_float(items.images), None if found is None else torch.from_numpy(found)
    if name == "fashion_mnist":
        return to_float(fm.load(split, data.get("data_dir")).images[:limit]), None
    raise FashionGANError(f"the test-set ELBO knows the datasets attributes, colored and fashion_mnist, not {name!r}")


def held_out_elbo(checkpoint: str | Path | hub.Checkpoint, n: int | None = None, seed: int = 0) -> dict[str, Any]:
    """-ELBO of a VAE checkpoint on the first ``n`` test items (all when None) of the data it was trained on:
    ``neg_elbo`` (nats per image, lower is better), ``reconstruction``, ``kl``, ``bits_per_dim``, and
    ``likelihood``, ``n``. One seeded z per image, so the same seed gives the same number."""
    from fashiongan.objectives.vae import elbo

    loaded = checkpoint if isinstance(checkpoint, hub.Checkpoint) else hub.load_checkpoint(checkpoint)
    net = loaded.main
    if not is_vae(loaded.config):
        raise CheckpointError(f"{loaded.path} holds a {loaded.config.get('model', 'unknown')!r} model, not a VAE; the ELBO needs one")
    images, found = split_of(loaded.config.get("train_config", {}).get("data", {}), "test", n)
    scores = elbo(net, images, found if net.num_attributes else None, seed=seed)
    return {**scores, "likelihood": net.likelihood, "n": len(images)}


ROWS = (  # what `evaluate` shows of ``vae_scores``: key, row name, format
    ("neg_elbo", "test-set -ELBO, nats/image (lower is better)", "{:.1f}"),
    ("accuracy/category", "attribute accuracy: category", "{:.1%}"),
    ("accuracy/colour", "attribute accuracy: colour", "{:.1%}"),
)


def vae_scores(checkpoint: str | Path, seed: int = 0, n: int | None = None) -> dict[str, Any]:
    """What `evaluate` adds beyond the judge's scores: for a VAE checkpoint, the ELBO of the first ``n`` test items,
    all when None (``neg_elbo``, ``elbo_bits_per_dim``, ``elbo_likelihood``); for any generator that takes
    attributes (a cVAE, flow-attributes), when ``pretrained:attributes`` reads them, the attribute accuracy of its
    samples (``accuracy/COLUMN``); nothing for other checkpoints."""
    from fashiongan.metrics.conditioning import CLASSIFIER, attribute_accuracy
    from fashiongan.sampling import load_generator

    config = hub.read_config(checkpoint)
    found: dict[str, Any] = {}
    if is_vae(config):
        scores = held_out_elbo(hub.load_checkpoint(checkpoint, roles=[config["main"]]), n, seed)
        found.update(neg_elbo=scores["neg_elbo"], elbo_bits_per_dim=scores["bits_per_dim"], elbo_likelihood=scores["likelihood"])
    takes = declaration(config).conditions.attributes
    shipped = CLASSIFIER[len(hub.PRETRAINED_PREFIX):] in hub.shipped()
    if takes is not None and shipped and takes == declared(CLASSIFIER).conditions.attributes:  # a reader of its attributes
        accuracy = attribute_accuracy(load_generator(checkpoint), takes, seed=seed)
        found.update({key: value for key, value in accuracy.items() if key.startswith("accuracy/")})
        found["attribute_conditions"] = accuracy["conditions"]
    return found
