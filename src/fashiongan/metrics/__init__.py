"""Honest metrics, one fixed judge: generated images scored in the evaluator's feature space.

``evaluate_images`` scores images (FID, KID, precision/recall, Inception-style score, label accuracy)
against the Fashion-MNIST test set; ``floor`` scores real training images the same way, which is what a
perfect generator would get at that n. ``load_images`` reads images other programs made.

Names load on first use, so ``import fashiongan.metrics.robustness`` does not pay for torchmetrics.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "features": ("JUDGE", "JudgeFeatures", "extract", "judge_fingerprint", "load_judge", "reference_features"),
    "generative": (
        "evaluate_images", "fid", "floor", "inception_style_score", "kid", "label_accuracy", "precision_recall",
    ),
    "inputs": ("check_images", "check_labels", "load_images"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_HOME_OF)


def __getattr__(name: str) -> Any:
    if name not in _HOME_OF:
        raise AttributeError(f"module 'fashiongan.metrics' has no attribute {name!r}")
    return getattr(import_module(f"fashiongan.metrics.{_HOME_OF[name]}"), name)
