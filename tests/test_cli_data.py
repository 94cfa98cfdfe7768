"""`fashiongan data ...` through Typer's test runner: output, --json, files written, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import idx_bytes, tiny_split, write_file, write_idx_dir
from fashiongan.cli import app
from fashiongan.data import fashion_mnist as fm

runner = CliRunner()


def _ok(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def _user_error(*args: str) -> str:
    """Run a command that must fail as a user error: exit 1, one 'error:' line on stderr, no traceback."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # not an uncaught exception
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_help_lists_the_data_group() -> None:
    assert "data" in _ok("--help").stdout
    help_text = _ok("data", "--help").stdout
    assert "info" in help_text and "show" in help_text


def test_info_json_on_a_tiny_dir(tmp_path: Path) -> None:
    write_idx_dir(tmp_path, train=30, test=10)
    result = json.loads(_ok("data", "info", "--json", "--data-dir", str(tmp_path)).stdout)
    assert result["source"] == str(tmp_path.resolve())
    assert result["splits"]["train"] == {
        "count": 30, "verified": False, "per_class": {name: 3 for name in fm.CLASSES},
    }
    assert result["splits"]["test"]["count"] == 10


def test_info_table_on_a_tiny_dir(tmp_path: Path) -> None:
    write_idx_dir(tmp_path, train=30, test=10)
    out = _ok("data", "info", "--data-dir", str(tmp_path)).stdout
    assert "not the official files" in out and "checksums verified" not in out
    assert "Ankle boot" in out and "30" in out


def test_info_uses_fashiongan_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASHIONGAN_DATA", str(write_idx_dir(tmp_path, train=20, test=10)))
    assert json.loads(_ok("data", "info", "--json").stdout)["splits"]["train"]["count"] == 20


def test_show_writes_a_labelled_grid(tmp_path: Path) -> None:
    write_idx_dir(tmp_path / "data", train=30, test=10)
    out = tmp_path / "out" / "classes.png"
    result = _ok("data", "show", "--out", str(out), "--per-class", "3", "--data-dir", str(tmp_path / "data"))
    assert str(out) in result.stdout
    with Image.open(out) as image:
        assert image.format == "PNG"
    assert image.height == 10 * (28 * 2 + 2) + 2  # a row per class
    assert image.width > 3 * (28 * 2 + 2) + 2  # three tiles plus the labels


def test_show_on_too_small_a_subset(tmp_path: Path) -> None:
    write_idx_dir(tmp_path, train=30, test=10)
    line = _user_error("data", "show", "--out", str(tmp_path / "x.png"), "--data-dir", str(tmp_path))
    assert "only 3 images of 'T-shirt/top'; use --per-class 3 or less" in line
    assert not (tmp_path / "x.png").exists()


def test_missing_data_dir_is_one_line() -> None:
    line = _user_error("data", "info", "--data-dir", "/nonexistent")
    assert "/nonexistent does not exist" in line and "dataset-fashion-mnist" in line


def test_corrupt_data_is_one_line(tmp_path: Path) -> None:
    write_idx_dir(tmp_path)
    labels = tiny_split(20)[1].copy()
    labels[0] = 42
    write_file(tmp_path / fm.FILES[("train", "labels")], idx_bytes(labels), gz=True)
    assert "holds label 42" in _user_error("data", "info", "--data-dir", str(tmp_path))


def test_offline_and_no_data_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    assert "Fashion-MNIST not found in" in _user_error("data", "info")


def test_error_text_is_printed_literally(tmp_path: Path) -> None:
    odd = tmp_path / "[/bold] [red]x"  # rich markup in a path must not be interpreted (or crash)
    assert f"{odd} does not exist" in _user_error("data", "info", "--data-dir", str(odd))


def test_bad_split(tmp_path: Path) -> None:
    write_idx_dir(tmp_path)
    line = _user_error("data", "show", "--out", str(tmp_path / "x.png"), "--split", "val", "--data-dir", str(tmp_path))
    assert "unknown split 'val'" in line


def test_info_on_the_real_data(real_data: Path) -> None:
    result = json.loads(_ok("data", "info", "--json").stdout)
    assert {s: (v["count"], v["verified"]) for s, v in result["splits"].items()} == {
        "train": (60000, True), "test": (10000, True),
    }
    assert set(result["splits"]["test"]["per_class"].values()) == {1000}
    assert "checksums verified" in _ok("data", "info").stdout


def test_show_on_the_real_data(real_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "classes.png"
    _ok("data", "show", "--out", str(out), "--split", "test")
    with Image.open(out) as image:
        assert image.format == "PNG"
    assert image.height == 10 * 58 + 2 and image.width > 10 * 58 + 2
