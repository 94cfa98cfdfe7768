"""Scores per condition: how often the judge reads each asked class, colour or attribute value as asked.

A mean over conditions hides a condition that is wrong every time: a generator that drew pink for red and
red for pink scored "colour 90.6%", since red and pink are rare among the items. So every accuracy we
report comes with its value per condition, the lowest condition, and the confusion table of asked
against judged, whose off-diagonal cells say what a wrong condition turned into.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch


def condition_scores(judged: np.ndarray | torch.Tensor, asked: np.ndarray | torch.Tensor, names: Sequence[str]) -> dict[str, Any]:
    """``accuracy`` {name: share judged as asked} for every condition asked at least once, the ``lowest``
    {name, accuracy} of them, ``confusion`` (rows asked, columns judged; counts) and the ``names`` of its rows."""
    judged, asked = (np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v, dtype=np.int64) for v in (judged, asked))
    k = len(names)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (asked, judged), 1)
    counts = confusion.sum(1)
    accuracy = {names[i]: float(confusion[i, i] / counts[i]) for i in range(k) if counts[i]}
    lowest = min(accuracy, key=accuracy.__getitem__) if accuracy else None
    return {
        "accuracy": accuracy,
        "lowest": None if lowest is None else {"name": lowest, "accuracy": accuracy[lowest]},
        "confusion": confusion.tolist(),
        "names": list(names),
    }


def vocabulary(names: Sequence[str] | None, count: int) -> list[str]:
    """The names of a head's ``count`` conditions: the given ones, or the indices as text when its data
    names none (or names another number of them)."""
    return list(names) if names is not None and len(names) == count else [str(i) for i in range(count)]
