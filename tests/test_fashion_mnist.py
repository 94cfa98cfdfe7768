"""The Fashion-MNIST data layer: locating, verifying, parsing, caching; labels; transforms."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import idx_bytes, tiny_split, write_file, write_idx_dir
from fashiongan.data import fashion_mnist as fm
from fashiongan.data.transforms import to_float, to_uint8
from fashiongan.errors import DataError, FashionGANError

TRAIN_IMAGES = fm.FILES[("train", "images")]
TRAIN_LABELS = fm.FILES[("train", "labels")]


# ---------------------------------------------------------------- loading tiny files

@pytest.mark.parametrize("gz", [True, False])
def test_load_tiny_split_round_trips(tmp_path: Path, gz: bool) -> None:
    images, labels = tiny_split(20, seed=3)
    write_idx_dir(tmp_path, train=(images, labels), test=10, gz=gz)
    data = fm.load("train", tmp_path)
    assert len(data) == 20 and data.name == "train" and data.source == tmp_path.resolve()
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.images.dtype == np.uint8 and data.images.shape == (20, 28, 28)
    x, y = data.tensors()
    assert x.shape == (20, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() >= -1 and x.max() <= 1
    assert len(fm.load("test", tmp_path)) == 10


def test_loaded_arrays_are_read_only_so_the_shared_cache_cannot_be_corrupted(tiny_dir: Path) -> None:
    data = fm.load("train", tiny_dir)
    with pytest.raises(ValueError):
        data.images[0, 0, 0] = 1
    fm._load_cached.cache_clear()
    cached = fm.load("train", tiny_dir)  # now from the .npy cache: the same guarantee
    with pytest.raises(ValueError):
        cached.labels[0] = 1
    data.tensors()[0].add_(1)  # tensors are copies, free to change
    np.testing.assert_array_equal(fm.load("train", tiny_dir).images, data.images)


def test_unknown_split(tiny_dir: Path) -> None:
    with pytest.raises(FashionGANError, match="unknown split 'val'.*train, test"):
        fm.load("val", tiny_dir)


# ---------------------------------------------------------------- corruption

def _break(tmp_path: Path, stem: str, raw: bytes | None = None, gz: bool = True, gz_bytes: bytes | None = None) -> Path:
    """A tiny complete folder, then file ``stem`` replaced by ``raw`` (or by ``gz_bytes`` verbatim)."""
    write_idx_dir(tmp_path, gz=gz)
    if gz_bytes is not None:
        (tmp_path / f"{stem}.gz").write_bytes(gz_bytes)
    else:
        write_file(tmp_path / stem, raw, gz)
    return tmp_path


def test_missing_files_say_where_and_how(tmp_path: Path) -> None:
    write_idx_dir(tmp_path)
    (tmp_path / f"{TRAIN_LABELS}.gz").unlink()
    with pytest.raises(DataError) as info:
        fm.load("train", tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and TRAIN_LABELS in message
    assert "apt-get install dataset-fashion-mnist" in message and "--data-dir" in message


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"does not exist.*dataset-fashion-mnist"):
        fm.load("train", tmp_path / "nowhere")


def test_truncated_gzip(tmp_path: Path) -> None:
    whole = gzip.compress(idx_bytes(tiny_split(20)[0]))
    _break(tmp_path, TRAIN_IMAGES, gz_bytes=whole[: len(whole) // 2])
    with pytest.raises(DataError, match=f"{TRAIN_IMAGES}.gz is truncated or not valid gzip"):
        fm.load("train", tmp_path)


@pytest.mark.parametrize("damage", ["not gzip", "flipped bytes"])
def test_corrupt_gzip(tmp_path: Path, damage: str) -> None:
    whole = bytearray(gzip.compress(idx_bytes(tiny_split(20)[0])))
    if damage == "not gzip":
        whole[:2] = b"PK"
    else:
        whole[20:40] = bytes(255 - b for b in whole[20:40])
    _break(tmp_path, TRAIN_IMAGES, gz_bytes=bytes(whole))
    with pytest.raises(DataError, match="truncated or not valid gzip.*fetch it again"):
        fm.load("train", tmp_path)


@pytest.mark.parametrize("gz", [True, False])
def test_wrong_magic(tmp_path: Path, gz: bool) -> None:
    images, labels = tiny_split(20)
    _break(tmp_path, TRAIN_LABELS, idx_bytes(images), gz=gz)  # an image file where labels belong
    with pytest.raises(DataError, match=r"not an IDX file of the expected kind \(magic 00000801, found 00000803\)"):
        fm.load("train", tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    _break(tmp_path, TRAIN_IMAGES, b"", gz=False)
    with pytest.raises(DataError, match="found nothing"):
        fm.load("train", tmp_path)


def test_wrong_image_shape(tmp_path: Path) -> None:
    images = np.zeros((20, 32, 32), np.uint8)
    _break(tmp_path, TRAIN_IMAGES, idx_bytes(images))
    with pytest.raises(DataError, match="images of 32x32, expected 28x28"):
        fm.load("train", tmp_path)


@pytest.mark.parametrize("delta", [-5, 7])
def test_data_length_does_not_match_header(tmp_path: Path, delta: int) -> None:
    raw = idx_bytes(tiny_split(20)[0])
    raw = raw[:delta] if delta < 0 else raw + bytes(delta)
    _break(tmp_path, TRAIN_IMAGES, raw)
    with pytest.raises(DataError, match=f"holds {20 * 784 + delta} bytes of data, its header promises {20 * 784}"):
        fm.load("train", tmp_path)


def test_truncated_header(tmp_path: Path) -> None:
    _break(tmp_path, TRAIN_IMAGES, idx_bytes(tiny_split(20)[0])[:9])
    with pytest.raises(DataError, match="truncated IDX header"):
        fm.load("train", tmp_path)


def test_image_label_count_mismatch(tmp_path: Path) -> None:
    _break(tmp_path, TRAIN_LABELS, idx_bytes(tiny_split(19)[1]))
    with pytest.raises(DataError, match="holds 20 images but .* holds 19 labels"):
        fm.load("train", tmp_path)


def test_label_out_of_range(tmp_path: Path) -> None:
    labels = tiny_split(20)[1].copy()
    labels[5] = 10
    _break(tmp_path, TRAIN_LABELS, idx_bytes(labels))
    with pytest.raises(DataError, match="holds label 10, but there are only 10 classes"):
        fm.load("train", tmp_path)


# ---------------------------------------------------------------- checksums

def test_checksums_are_of_the_decompressed_bytes_of_the_official_files() -> None:
    assert set(fm.CHECKSUMS) == set(fm.FILES.values())
    assert fm.OFFICIAL_COUNTS == {"train": 60000, "test": 10000}


def test_checksum_mismatch_on_a_file_claiming_to_be_official(tmp_path: Path) -> None:
    labels = (np.arange(60000) % 10).astype(np.uint8)  # valid IDX with the official count, not the official bytes
    path = write_file(tmp_path / TRAIN_LABELS, idx_bytes(labels), gz=True)
    with pytest.raises(DataError, match=f"{path.name} fails its checksum.*should start {fm.CHECKSUMS[TRAIN_LABELS]}"):
        fm._verified(path, verify=True)
    assert len(fm._verified(path, verify=False)) == 8 + 60000  # verify=False skips the check
    write_idx_dir(tmp_path, train=(np.zeros((60000, 28, 28), np.uint8), labels), test=10)
    with pytest.raises(DataError, match="fails its checksum"):
        fm.load("train", tmp_path)


def test_users_own_subset_in_the_official_format_loads_unverified(tiny_dir: Path) -> None:
    raw = fm._verified(tiny_dir / f"{TRAIN_IMAGES}.gz", verify=True)  # not the official count: no checksum
    assert hashlib.sha256(raw).hexdigest()[:16] != fm.CHECKSUMS[TRAIN_IMAGES]
    assert len(fm.load("train", tiny_dir, verify=True)) == 20
    info = fm.info(tiny_dir)
    assert info["splits"]["train"]["verified"] is False


def test_checksum_applies_only_to_official_names(tmp_path: Path) -> None:
    labels = (np.arange(60000) % 7).astype(np.uint8)
    path = write_file(tmp_path / "my-labels-idx1-ubyte", idx_bytes(labels), gz=False)
    assert len(fm._verified(path, verify=True)) == 8 + 60000


# ---------------------------------------------------------------- search order

def _count_dir(root: Path, name: str, n: int) -> Path:
    """A tiny complete folder whose train split has ``n`` images, so the test can tell folders apart."""
    return write_idx_dir(root / name, train=n, test=10)


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = _count_dir(tmp_path, "explicit", 11)
    env = _count_dir(tmp_path, "env", 12)
    cache = tmp_path / "cache"
    _count_dir(cache, "fashion-mnist", 13)
    debian = _count_dir(tmp_path, "debian", 14)
    monkeypatch.setattr(fm, "DEBIAN_DIR", debian)
    monkeypatch.setenv("FASHIONGAN_CACHE", str(cache))
    monkeypatch.setenv("FASHIONGAN_DATA", str(env))

    assert fm.locate(explicit) == explicit
    assert len(fm.load("train", explicit)) == 11
    assert fm.locate() == env
    assert len(fm.load("train")) == 12
    monkeypatch.delenv("FASHIONGAN_DATA")
    assert fm.locate() == cache / "fashion-mnist"
    assert len(fm.load("train")) == 13
    (cache / "fashion-mnist" / f"{TRAIN_IMAGES}.gz").unlink()  # an incomplete cache is passed over
    assert fm.locate() == debian
    assert len(fm.load("train")) == 14


def test_explicit_directory_is_not_silently_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fm, "DEBIAN_DIR", write_idx_dir(tmp_path / "debian"))
    incomplete = write_idx_dir(tmp_path / "mine")
    (incomplete / f"{TRAIN_IMAGES}.gz").unlink()
    with pytest.raises(DataError, match=f"{incomplete} lacks {TRAIN_IMAGES}"):
        fm.locate(incomplete)
    monkeypatch.setenv("FASHIONGAN_DATA", str(incomplete))
    with pytest.raises(DataError, match="lacks"):
        fm.locate()


def test_offline_and_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("FASHIONGAN_OFFLINE", "1")
    with pytest.raises(DataError) as info:
        fm.load("train")
    message = str(info.value)
    assert str(tmp_path / "no-debian") in message and str(fm.cache_dir() / "fashion-mnist") in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_failed_download_is_a_data_error_and_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")

    class Broken:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, *args):
            raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(fm.urllib.request, "urlopen", lambda url, timeout: Broken())
    with pytest.raises(DataError, match="download of .*train-images-idx3-ubyte.gz failed.*connection reset"):
        fm.locate(download=True)
    assert list((fm.cache_dir() / "fashion-mnist").iterdir()) == []


# ---------------------------------------------------------------- parse-once cache

@pytest.fixture
def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = fm.read_split

    def counting(directory, split, verify=True):
        calls.append(split)
        return real(directory, split, verify)

    monkeypatch.setattr(fm, "read_split", counting)
    fm._load_cached.cache_clear()
    yield calls
    fm._load_cached.cache_clear()


def test_second_load_reads_the_npy_cache(tiny_dir: Path, count_parses: list[str]) -> None:
    first = fm.load("train", tiny_dir)
    assert count_parses == ["train"]
    assert list((fm.cache_dir() / "parsed").glob("*/images.npy"))
    fm._load_cached.cache_clear()  # a new process, as far as the cache can tell
    second = fm.load("train", tiny_dir)
    assert count_parses == ["train"]
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    fm.load("train", tiny_dir)  # in memory
    assert count_parses == ["train"]


def test_changing_the_source_invalidates_the_cache(tiny_dir: Path, count_parses: list[str]) -> None:
    assert len(fm.load("train", tiny_dir)) == 20
    write_idx_dir(tiny_dir, train=15)
    path = tiny_dir / f"{TRAIN_IMAGES}.gz"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert len(fm.load("train", tiny_dir)) == 15  # no cache_clear: the in-memory cache notices too
    assert count_parses == ["train", "train"]
    fm._load_cached.cache_clear()
    assert len(fm.load("train", tiny_dir)) == 15
    assert count_parses == ["train", "train"]


def test_a_damaged_cache_is_parsed_again(tiny_dir: Path, count_parses: list[str]) -> None:
    fm.load("train", tiny_dir)
    for npy in (fm.cache_dir() / "parsed").glob("*/images.npy"):
        npy.write_bytes(b"")
    fm._load_cached.cache_clear()
    assert len(fm.load("train", tiny_dir)) == 20
    assert count_parses == ["train", "train"]


def test_a_corrupt_file_is_not_served_from_a_cache_of_its_good_version(tmp_path: Path) -> None:
    write_idx_dir(tmp_path)
    fm.load("train", tmp_path)
    _break(tmp_path, TRAIN_IMAGES, idx_bytes(tiny_split(20)[0])[:-3])
    fm._load_cached.cache_clear()
    with pytest.raises(DataError, match="header promises"):
        fm.load("train", tmp_path)


# ---------------------------------------------------------------- labels

@pytest.mark.parametrize(
    ("label", "index"),
    [("sneaker", 7), ("Sneaker", 7), ("Ankle boot", 9), ("ankle-boot", 9), (9, 9), ("9", 9), (" 3 ", 3),
     (0, 0), ("t-shirt", 0), ("T-shirt/top", 0), ("tshirt", 0), ("trouser", 1), ("bag", 8), (np.uint8(7), 7)],
)
def test_label_index(label, index: int) -> None:
    assert fm.label_index(label) == index


@pytest.mark.parametrize("label", ["hat", 10, -1, "-1", "10", True, False, "", 2.0, None, "²"])
def test_bad_labels_list_the_classes(label) -> None:
    with pytest.raises(FashionGANError, match="not a Fashion-MNIST class.*T-shirt/top, Trouser, .*Ankle boot"):
        fm.label_index(label)


def test_label_name() -> None:
    assert [fm.label_name(i) for i in range(10)] == list(fm.CLASSES)
    assert fm.label_name(np.int64(9)) == "Ankle boot"


# ---------------------------------------------------------------- transforms

def test_to_float_to_uint8_round_trip_exactly() -> None:
    images = np.arange(256, dtype=np.uint8).repeat(4).reshape(1, 32, 32)
    x = to_float(images)
    assert x.shape == (1, 1, 32, 32) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    back = to_uint8(x)
    assert back.dtype == np.uint8 and back.shape == (1, 32, 32)
    np.testing.assert_array_equal(back, images)
    np.testing.assert_array_equal(to_uint8(to_float(torch.from_numpy(images))), images)


def test_to_uint8_clamps_and_handles_colour() -> None:
    assert to_uint8(torch.tensor([[[[-3.0, 3.0]]]])).tolist() == [[[0, 255]]]
    colour = np.random.default_rng(0).integers(0, 256, size=(2, 5, 6, 3), dtype=np.uint8)
    x = to_float(torch.from_numpy(colour).permute(0, 3, 1, 2))
    assert x.shape == (2, 3, 5, 6)
    np.testing.assert_array_equal(to_uint8(x), colour)


# ---------------------------------------------------------------- the real data

@pytest.fixture
def real_splits(real_data: Path) -> dict[str, fm.Split]:
    return {split: fm.load(split, real_data, verify=True) for split in fm.SPLITS}


def test_real_data_counts_and_balance(real_splits: dict[str, fm.Split]) -> None:
    for split, n in (("train", 60000), ("test", 10000)):
        data = real_splits[split]
        assert len(data) == n
        assert data.images.shape == (n, 28, 28) and data.images.dtype == np.uint8
        assert data.labels.shape == (n,) and data.labels.dtype == np.uint8
        assert np.bincount(data.labels, minlength=10).tolist() == [n // 10] * 10


def test_real_data_passes_its_checksums(real_data: Path) -> None:
    for stem in fm.FILES.values():
        path = fm._file_in(real_data, stem)
        raw = fm._verified(path, verify=True)
        assert fm._claims_official(stem, raw)  # so the checksum was really checked
        assert hashlib.sha256(raw).hexdigest().startswith(fm.CHECKSUMS[stem])
    info = fm.info()
    assert info["source"] == str(real_data.resolve())
    assert {s: v["verified"] for s, v in info["splits"].items()} == {"train": True, "test": True}


def test_a_corrupted_copy_of_the_real_data_is_caught(real_data: Path, tmp_path: Path) -> None:
    raw = bytearray(fm._read_bytes(fm._file_in(real_data, TRAIN_LABELS)))
    raw[-1] = (raw[-1] + 1) % 10  # still valid IDX with valid labels: only the checksum can tell
    path = write_file(tmp_path / TRAIN_LABELS, bytes(raw), gz=True)
    with pytest.raises(DataError, match="fails its checksum"):
        fm._verified(path, verify=True)
