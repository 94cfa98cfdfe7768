"""User-facing errors: the CLI prints their message as one line and exits non-zero."""

from __future__ import annotations

from typing import Any, Mapping


class FashionGANError(Exception):
    """Something the user can fix (a path, a value, a file); not a bug."""


class DataError(FashionGANError):
    """The dataset is missing, truncated, corrupt or not what it claims to be."""


class CheckpointError(FashionGANError):
    """A checkpoint directory cannot be read or does not fit the model asked for."""


def reject_unknown(section: str, given: Mapping[str, Any], known: Any, what: str = "") -> None:
    """One line for the first key of ``given`` that is not in ``known``: a typo must never train silently."""
    unknown = sorted(str(key) for key in given if key not in known)
    if unknown:
        name = f"{section}.{unknown[0]}" if section else unknown[0]
        raise FashionGANError(f"unknown setting {name}{what}; known: {', '.join(map(str, known)) or 'none'}")
