"""What a checkpoint declares (kind, roles, conditions) and how nets are fitted to the data they train on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from catalogue import CLASSES, write_folder
from fashiongan import hub, nets
from fashiongan.data import colored
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.conditions import Conditions
from fashiongan.declaration import declared
from fashiongan.errors import FashionGANError
from fashiongan.images import UserImage, letterboxed
from fashiongan.nets import sizing
from fashiongan.train import load_config

SHIPPED = {  # name: (kind, image shape, classes, colours, attribute columns)
    "acgan": ("generator", (1, 28, 28), fm.CLASSES, None, None),
    "acgan-fast": ("generator", (1, 28, 28), fm.CLASSES, None, None),
    "acgan-narrow": ("generator", (1, 28, 28), fm.CLASSES, None, None),
    "acgan-colour": ("generator", (3, 28, 28), fm.CLASSES, tuple(colored.colour_names()), None),
    "flow": ("generator", (1, 28, 28), fm.CLASSES, None, None),
    "flow-fast": ("generator", (1, 28, 28), fm.CLASSES, None, None),
    "flow-colour": ("generator", (3, 28, 28), fm.CLASSES, tuple(colored.colour_names()), None),
    "flow-attributes": ("generator", (3, 28, 28), None, None, ("category", "group", "colour", "tone")),
    "cvae": ("vae", (3, 28, 28), None, None, ("category", "group", "colour", "tone")),
    "colorizer": ("colorizer", (3, 28, 28), None, tuple(colored.colour_names()), None),
    "fabric-cyclegan": ("translation", (3, 64, 64), None, None, None),
    "evaluator": ("classifier", (1, 28, 28), fm.CLASSES, None, None),
    "cnn": ("classifier", (1, 28, 28), fm.CLASSES, None, None),
    "mlp": ("classifier", (1, 28, 28), fm.CLASSES, None, None),
    "colour-judge": ("classifier", (3, 28, 28), fm.CLASSES, tuple(colored.colour_names()), None),
    "fabric-classifier": ("classifier", (3, 64, 64), ("leather", "denim"), None, None),
    "attributes": ("attribute classifier", (3, 28, 28), None, None, ("category", "group", "colour", "tone")),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_checkpoint_declares_what_it_is_and_takes(name: str) -> None:
    stored = hub.read_config(f"pretrained:{name}")
    assert "kind" in stored and "conditions" in stored  # written in config.json, not worked out
    found = declared(f"pretrained:{name}")
    kind, shape, classes, colours, columns = SHIPPED[name]
    assert (found.kind, found.conditions.image_shape, found.conditions.classes, found.conditions.colours) == (kind, shape, classes, colours)
    assert (found.conditions.attributes.columns if found.conditions.attributes else None) == columns
    assert set(found.roles.values()) <= set(stored["nets"])


def test_the_shipped_list_covers_every_shipped_checkpoint() -> None:
    assert sorted(hub.shipped()) == sorted(SHIPPED)


def test_names_are_matched_without_case_or_punctuation_and_unknown_ones_list_the_names() -> None:
    shape = Conditions(1, 28, fm.CLASSES)
    assert [shape.class_index(x) for x in ("sneaker", "t-shirt", "top", "boot", "ANKLE BOOT", "9")] == [7, 0, 0, 9, 9, 9]
    with pytest.raises(FashionGANError, match="no class 'gown'; its classes: T-shirt/top, Trouser"):
        shape.class_index("gown")
    with pytest.raises(FashionGANError, match="class index 10 is outside this model's 10 classes"):
        shape.class_index(10)
    assert Conditions.from_dict(shape.to_dict()) == shape


def test_a_built_in_config_is_left_as_written_and_a_folder_refits_every_net(tmp_path: Path) -> None:
    for name in ("acgan-narrow", "acgan-colour", "cvae", "evaluator", "colour-judge", "colorizer"):  # trained by these recipes
        assert load_config(name).nets == hub.read_config(f"pretrained:{name}")["train_config"]["nets"], name
    shop = write_folder(tmp_path / "shop", per_class=2)
    fitted = load_config("acgan-narrow", data=f"folder:{shop}").nets
    assert {k: fitted["generator"]["kwargs"][k] for k in ("channels", "size", "num_classes")} == {"channels": 3, "size": 64, "num_classes": 4}
    assert fitted["discriminator"]["kwargs"]["outputs"] == 5 and fitted["discriminator"]["kwargs"]["size"] == 64
    judge = load_config("evaluator", data=f"folder:{shop}", overrides={"data": {"size": 32}}).nets["classifier"]["kwargs"]
    assert judge == {"classes": 4, "channels": 3, "size": 32}
    with pytest.raises(FashionGANError, match="conditioned on colours, and data folder:.* has none"):
        load_config("acgan-colour", data=f"folder:{shop}")


@pytest.mark.parametrize("size", [28, 32, 64, 128])
def test_the_conditional_gan_recipe_and_the_cvae_are_built_for_any_size(size: int) -> None:
    generator = nets.build("dcgan_generator", z_dim=8, num_classes=4, channels=3, width=4, hidden=16, size=size)
    critic = nets.build("dcgan_discriminator", outputs=5, channels=3, width=4, hidden=16, size=size)
    vae = nets.build("cvae", width=4, hidden=16, size=size, attribute_set=None,
                     vocabulary={"columns": ["class"], "values": [list(CLASSES)]},
                     prior={"items": [[0], [1], [2], [3]], "weights": [0.25] * 4})
    images = generator(generator.latent(2), torch.tensor([0, 3]))
    assert images.shape == (2, 3, size, size) and critic(images).shape == (2, 5)
    assert vae(vae.latent(2), torch.eye(4)[:2]).shape == (2, 3, size, size)
    with pytest.raises(ValueError, match="size 60 px cannot be made by halving to 4..7 px; use one of 16, 20, 24, 28"):
        sizing.plan(60)


def test_letterboxing_keeps_a_garments_proportions_on_its_own_backdrop() -> None:
    rgb = np.full((80, 40, 3), 250, dtype=np.uint8)
    rgb[10:70, 5:35] = (200, 0, 0)  # a red garment on near-white, twice as tall as wide
    boxed = letterboxed(UserImage(rgb, None, "tall.png"), 32)
    assert boxed.shape == (32, 32, 3)
    assert (boxed[:, :4] == 250).all() and (boxed[:, -4:] == 250).all()  # side bars in the backdrop's colour
    red = (boxed[..., 0] > 150) & (boxed[..., 1] < 60)
    rows, cols = np.flatnonzero(red.any(1)), np.flatnonzero(red.any(0))
    assert abs((rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1) - 2) < 0.25  # still twice as tall as wide


def test_data_given_on_the_command_line_keeps_the_configs_stream_and_workers(tmp_path: Path) -> None:
    from fashiongan.data.datasets import with_source

    shop = write_folder(tmp_path / "shop", per_class=1)
    spec = {"name": "styles", "path": "x", "stream": True, "workers": 3, "size": 32, "top": 5}
    assert with_source(spec, f"folder:{shop}") == {"name": "folder", "path": str(shop), "stream": True, "workers": 3, "size": 32}
    assert with_source(spec, "fashion_mnist") == {"name": "fashion_mnist", "workers": 3, "size": 32}  # it cannot stream
