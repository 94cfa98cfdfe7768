"""Streamed and in-memory batches follow one seeded order, from any step on (what exact resume needs)."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from PIL import Image

from fashiongan.data import streaming
from fashiongan.data.transforms import to_float


def _folder(tmp_path, n=23, size=12):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    files = []
    for i, image in enumerate(pixels):
        files.append(tmp_path / f"{i:03d}.png")
        Image.fromarray(image).save(files[-1])
    return files, pixels


def test_streamed_batches_equal_memory_batches_from_any_step(tmp_path):
    files, pixels = _folder(tmp_path)
    labels = np.arange(len(files)) % 5
    memory = {"image": to_float(pixels.transpose(0, 3, 1, 2)), "label": torch.tensor(labels)}
    stream = streaming.ImageFiles(files, {"label": labels}, size=12)
    per_epoch = len(files) // 4
    for start in (0, 7):  # 7: a resumed run, mid-epoch of the second epoch
        expected = list(itertools.islice(streaming.memory_batches(memory, 3, start, per_epoch, 4), 6))
        got = list(itertools.islice(streaming.stream_batches(stream, 3, start, per_epoch, 4, workers=1), 6))
        for a, b in zip(expected, got):
            assert torch.equal(a["label"], b["label"])
            torch.testing.assert_close(a["image"], b["image"])


def test_ranks_take_disjoint_slices_and_epochs_reshuffle():
    first = [streaming.batch_indices(40, 0, 0, 5, 4, rank, 2) for rank in (0, 1)]
    assert not set(first[0].tolist()) & set(first[1].tolist())
    epoch0 = torch.cat([streaming.batch_indices(40, 0, s, 10, 4) for s in range(10)])
    epoch1 = torch.cat([streaming.batch_indices(40, 0, s, 10, 4) for s in range(10, 20)])
    assert sorted(epoch0.tolist()) == list(range(40)) == sorted(epoch1.tolist())
    assert not torch.equal(epoch0, epoch1)


def _class_folder(root, broken=False, per_class=12, size=20):
    rng = np.random.default_rng(1)
    for name in ("coats", "hats", "shoes"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (size, size + 3, 3), dtype=np.uint8)).save(root / name / f"{i}.jpg")
    if broken:
        (root / "hats" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return root


def _folder_config(root, stream):
    from fashiongan.train import load_config

    return load_config("attributes", overrides={
        "data": {"name": "folder", "path": str(root), "size": 16, "stream": stream, "workers": 1},
        "nets": {"classifier": {"kwargs": {"outputs": 3, "width": 8, "hidden": 16}}},
        "optim": {"classifier": {"schedule": "constant"}},  # so a 6-step run is the first 6 steps of a 10-step one
        "train": {"batch_size": 4, "epochs": None, "steps": 10, "checkpoint_every": 4, "track_fid": None},
    })


def test_a_streamed_folder_trains_like_the_same_folder_in_memory(tmp_path):
    from safetensors.torch import load_file

    from fashiongan import hub
    from fashiongan.train import fit

    root = _class_folder(tmp_path / "shop")
    fit(_folder_config(root, True), tmp_path / "streamed", progress=False)
    fit(_folder_config(root, False), tmp_path / "memory", progress=False)
    torch.testing.assert_close(load_file(tmp_path / "streamed" / hub.WEIGHTS_FILE), load_file(tmp_path / "memory" / hub.WEIGHTS_FILE))


def test_a_streamed_folder_with_a_corrupt_jpeg_resumes_exactly(tmp_path):
    from safetensors.torch import load_file

    from fashiongan import hub
    from fashiongan.train import fit

    root = _class_folder(tmp_path / "shop", broken=True)
    streamed, resumed = tmp_path / "streamed", tmp_path / "resumed"
    fit(_folder_config(root, True), streamed, progress=False)
    config = _folder_config(root, True)
    config.train["steps"] = 6
    fit(config, resumed, progress=False)
    fit(_folder_config(root, True), resumed, resume=resumed, progress=False)
    final = load_file(resumed / hub.TRAINING_FILE)
    for key, value in load_file(streamed / hub.TRAINING_FILE).items():
        if not key.startswith("history.eval/"):  # the shorter first run also reported at its own end
            assert torch.equal(value, final[key]), key
