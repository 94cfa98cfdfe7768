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
