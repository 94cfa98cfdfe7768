"""Honest metrics, fixed judges: generated images scored in the feature space of a judge we trained.

Grayscale images meet the evaluator, RGB images the colour judge (``judge_for``). ``evaluate_images``
scores images (FID, KID, precision/recall, Inception-style score, label and colour accuracy) against the
judge's real test set; ``floor`` scores real training images the same way, which is what a perfect
generator would get at that n. ``load_images`` reads images other programs made; ``colorizer_scores``
(and the colour functions beside it) score a colorizer's outputs against ground truth.

Names load on first use, so ``import fashiongan.metrics.robustness`` does not pay for torchmetrics.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "colour": (
        "ciede2000", "colorizer_scores", "colourfulness", "dominant_lab", "foreground_mask", "nearest_colour",
        "shading_correlation",
    ),
    "conditions": ("condition_scores",),
    "features": (
        "COLOUR_JUDGE", "JUDGE", "JudgeFeatures", "extract", "judge_channels", "judge_conditions", "judge_data", "judge_fingerprint", "judge_for",
        "judge_name", "judge_outputs", "load_judge", "reference_features", "reference_set",
    ),
    "generative": (
        "colour_accuracy", "evaluate_images", "fid", "floor", "inception_style_score", "kid", "label_accuracy",
        "precision_recall",
    ),
    "inputs": ("check_colours", "check_images", "check_labels", "load_images"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_HOME_OF)


def __getattr__(name: str) -> Any:
    if name not in _HOME_OF:
        raise AttributeError(f"module 'fashiongan.metrics' has no attribute {name!r}")
    return getattr(import_module(f"fashiongan.metrics.{_HOME_OF[name]}"), name)
