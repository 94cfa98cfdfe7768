"""Shared test set-up: hermetic data-layer environment, tiny IDX writers, the real Fashion-MNIST.

Every test runs with ``FASHIONGAN_OFFLINE=1`` (no test may touch the network), no
``FASHIONGAN_DATA`` and a fresh ``FASHIONGAN_CACHE`` under its tmp_path, so parsed-array caches
never leak between tests or into the user's cache. Tests that need the real data request the
``real_data`` fixture (or carry ``@pytest.mark.real_data``): they get the directory holding it,
``FASHIONGAN_DATA`` pointing there and one cache shared by the session, so the 60k parse happens once.
If the real data cannot be found those tests fail (never skip): run ``make test``, which installs it.
"""

from __future__ import annotations

import gzip
import os
import socket
import struct
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pytest
import torch
import uvicorn

from fashiongan.data import fashion_mnist as fm
from fashiongan.errors import DataError

CHROMIUM = Path("/usr/bin/chromium")
# The environment as the user started pytest, before any fixture changes it.
_ORIGINAL_ENV = {k: os.environ.get(k) for k in ("FASHIONGAN_DATA", "FASHIONGAN_CACHE", "FASHIONGAN_OFFLINE")}


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Test tensors are small: one thread beats two, by far when another job shares the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_data: the test uses the real Fashion-MNIST (see the real_data fixture)")


def declared(model: str, channels: int = 1, size: int = 28, classes: bool = False, colours: bool = False, **extra) -> dict:
    """config.json settings of a checkpoint saved by hand, declaring what it takes as training would: the
    Fashion-MNIST classes and the catalogue's colours when asked."""
    from fashiongan.data import colored
    from fashiongan.data.conditions import Conditions

    taken = Conditions(channels, size, fm.CLASSES if classes else None, tuple(colored.colour_names()) if colours else None)
    return {"model": model, "conditions": taken.to_dict(), **extra}


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free local port, in a thread, for as long as the block runs: its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    live = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not live.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        live.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, driven by Playwright (which cannot download its own browser here)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; make test does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


# ---------------------------------------------------------------- tiny IDX files

def idx_bytes(array: np.ndarray, magic: int | None = None, shape: Sequence[int] | None = None) -> bytes:
    """IDX bytes for a uint8 ``array``; ``magic``/``shape`` override the header to make broken files."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    shape = tuple(array.shape if shape is None else shape)
    if magic is None:
        magic = 0x00000800 | len(shape)
    return struct.pack(">I", magic) + struct.pack(f">{len(shape)}I", *shape) + array.tobytes()


def write_file(path: Path, raw: bytes, gz: bool) -> Path:
    """Write ``raw`` to ``path`` (``path.gz`` gzip-compressed when ``gz``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw, mtime=0))
    else:
        path.write_bytes(raw)
    return path


def tiny_split(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 28x28 uint8 images and labels cycling through the ten classes."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_idx_dir(
    directory: Path,
    train: tuple[np.ndarray, np.ndarray] | int = 20,
    test: tuple[np.ndarray, np.ndarray] | int = 10,
    gz: bool = True,
) -> Path:
    """A folder with the four Fashion-MNIST IDX files (official names), holding tiny given splits.

    ``train``/``test`` are (images, labels) or a count for ``tiny_split``.
    """
    directory = Path(directory)
    for seed, (split, data) in enumerate((("train", train), ("test", test))):
        images, labels = tiny_split(data, seed) if isinstance(data, int) else data
        write_file(directory / fm.FILES[(split, "images")], idx_bytes(images), gz)
        write_file(directory / fm.FILES[(split, "labels")], idx_bytes(labels), gz)
    return directory


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    """A complete tiny Fashion-MNIST folder: 20 train and 10 test images, gzip-compressed."""
    return write_idx_dir(tmp_path / "tiny")


# ---------------------------------------------------------------- environment

@pytest.fixture(autouse=True)
def _hermetic_data_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Offline, no FASHIONGAN_DATA, and a per-test cache (the real-data tests get the session cache)."""
    monkeypatch.setenv("FASHIONGAN_OFFLINE", "1")
    monkeypatch.delenv("FASHIONGAN_DATA", raising=False)
    if request.node.get_closest_marker("real_data") or "real_data" in request.fixturenames:
        request.getfixturevalue("real_data")  # sets the shared cache and FASHIONGAN_DATA
    else:
        monkeypatch.setenv("FASHIONGAN_CACHE", str(tmp_path / "fashiongan-cache"))


@pytest.fixture(scope="session")
def _real_data_location(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Where the real Fashion-MNIST is (searched with the user's own environment) and a session cache."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in _ORIGINAL_ENV.items():
            if value is None:
                mp.delenv(key, raising=False)
            else:
                mp.setenv(key, value)
        try:
            directory, problem = fm.locate(download=False), None
        except DataError as exc:
            directory, problem = None, str(exc)
    if problem is not None:  # fail, never skip: a suite that skips its real-data tests proves little
        pytest.fail(
            f"the real Fashion-MNIST is needed by this test and was not found ({problem}). "
            "Run `make test`, which installs it (Debian's dataset-fashion-mnist, or a download "
            "into the cache), or set FASHIONGAN_DATA to a folder with the four official IDX files.",
            pytrace=False,
        )
    return directory, tmp_path_factory.mktemp("real-data-cache")


def train_small_mlp(location: tuple[Path, Path], out: Path, steps: int, limit: int, seed: int | None = None):
    """An MLP trained by the engine for ``steps`` batches of 64 on the first ``limit`` real training
    images (``location``: the ``_real_data_location`` fixture), offline, into ``out``."""
    from fashiongan import classify

    directory, cache = location
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHIONGAN_CACHE", str(cache))
        mp.setenv("FASHIONGAN_OFFLINE", "1")
        config = classify.train_config(
            "mlp", seed=seed, data_dir=directory, limit=limit, overrides={"train": {"steps": steps, "batch_size": 64}}
        )
        return classify.train(config, out, progress=False)


@pytest.fixture
def real_data(_real_data_location: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory holding the real Fashion-MNIST; FASHIONGAN_DATA points there, the cache is shared."""
    directory, cache = _real_data_location
    monkeypatch.setenv("FASHIONGAN_DATA", str(directory))
    monkeypatch.setenv("FASHIONGAN_CACHE", str(cache))
    return directory
