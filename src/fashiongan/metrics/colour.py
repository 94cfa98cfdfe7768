"""Colour metrics for coloured items: CIEDE2000, dominant garment colour, colourfulness, shading kept.

Images follow the package's convention: uint8 in [0, 255] or float in [-1, 1], (N, 3, H, W) or (N, H, W, 3)
for RGB, (N, H, W) or (N, 1, H, W) for grayscale. Lab is CIE L*a*b* (D65) from kornia, L* in [0, 100].
The garment (foreground) is where the grayscale source item is not black background: grey above
``colored.FOREGROUND`` (0.05 on the [0, 1] scale), the pixels the coloured set paints fully.
:func:`colorizer_scores` puts them together for a colorizer, on items whose ground truth we have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from kornia.color import rgb_to_lab
from torch import nn

from fashiongan.data import colored
from fashiongan.data.lab import ciede2000, dominant, garment, nearest_colour
from fashiongan.errors import FashionGANError
from fashiongan.images import luminance
from fashiongan.metrics.inputs import check_colours, check_labels, to_unit

def foreground_mask(gray: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Bool (N, H, W): where a grayscale item is garment, grey >= ``colored.FOREGROUND`` on the [0, 1] scale.
    RGB images are judged by their luminance."""
    x = to_unit(gray, "grayscale items")
    return garment(luminance(x) if x.shape[1] == 3 else x)


def _mask(mask: np.ndarray | torch.Tensor | None, images: torch.Tensor) -> torch.Tensor:
    """A given mask (N, H, W) or (N, 1, H, W) as bool, or the images' own foreground."""
    if mask is None:
        return garment(luminance(images))
    m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask).cpu()
    m = m[:, 0] if m.dim() == 4 else m
    if tuple(m.shape) != (images.shape[0], *images.shape[2:]):
        raise FashionGANError(
            f"the mask has shape {tuple(m.shape)}; expected one {images.shape[2]}x{images.shape[3]} mask per image"
        )
    return m.bool() if m.dtype == torch.bool else m > 0.5


def _rgb(images: np.ndarray | torch.Tensor, what: str) -> torch.Tensor:
    x = to_unit(images, what)
    if x.shape[1] != 3:
        raise FashionGANError(f"{what} are grayscale; colour metrics need RGB images")
    return x


def dominant_lab(images_rgb: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor | None = None) -> torch.Tensor:
    """The garment's colour, Lab (N, 3): the per-channel median over foreground pixels.

    ``mask`` (N, H, W) marks the garment, best taken from the grayscale source (:func:`foreground_mask`);
    without one, pixels whose own luminance is above the background's count. The median ignores shading,
    highlights and anti-aliased edges. An image with no foreground pixel takes the median of all its pixels.
    """
    x = _rgb(images_rgb, "images")
    return dominant(x, _mask(mask, x))


def colourfulness(images: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor | None = None) -> torch.Tensor:
    """Hasler & Süsstrunk's (2003) colourfulness per image (N,), on the 0-255 scale:
    ``sqrt(std(rg)^2 + std(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)`` with rg = R - G, yb = (R + G) / 2 - B,
    over every pixel (or the ``mask``'s). 0 is grey; ~15 slightly, ~60 quite, >100 extremely colourful."""
    x = _rgb(images, "images") * 255
    weight = torch.ones_like(x[:, 0]) if mask is None else _mask(mask, x).float()
    weight = weight.flatten(1)
    count = weight.sum(1).clamp_min(1)
    r, g, b = x.flatten(2).unbind(1)
    rg, yb = r - g, (r + g) / 2 - b

    def moments(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = (weight * v).sum(1) / count
        return mean, ((weight * (v - mean[:, None]) ** 2).sum(1) / count).sqrt()

    (mean_rg, std_rg), (mean_yb, std_yb) = moments(rg), moments(yb)
    return torch.hypot(std_rg, std_yb) + 0.3 * torch.hypot(mean_rg, mean_yb)


def shading_correlation(
    gray_in: np.ndarray | torch.Tensor,
    rgb_out: np.ndarray | torch.Tensor,
    mask: np.ndarray | torch.Tensor | None = None,
) -> float:
    """Mean over images of the Pearson correlation between the input's grey and the output's lightness L*
    on the garment (``mask``, default :func:`foreground_mask` of the input): near 1 when folds, seams and
    prints survive the colouring, 0 for flat paint. Inputs without shading (a flat garment) have no
    correlation and are left out; NaN if all are."""
    gray = to_unit(gray_in, "grayscale items")
    gray = luminance(gray) if gray.shape[1] == 3 else gray
    out = _rgb(rgb_out, "outputs")
    if gray.shape[2:] != out.shape[2:]:
        raise FashionGANError(
            f"inputs are {tuple(gray.shape[2:])} but outputs {tuple(out.shape[2:])}; give both at one size"
        )
    where = (foreground_mask(gray_in) if mask is None else _mask(mask, out)).flatten(1).double()
    x, y = gray[:, 0].flatten(1).double(), rgb_to_lab(out)[:, 0].flatten(1).double()
    count = where.sum(1).clamp_min(1)
    x = x - (where * x).sum(1, keepdim=True) / count[:, None]
    y = y - (where * y).sum(1, keepdim=True) / count[:, None]
    covariance = (where * x * y).sum(1)
    spread_in, spread_out = (where * x * x).sum(1).sqrt(), (where * y * y).sum(1).sqrt()
    correlation = covariance / (spread_in * spread_out).clamp_min(1e-12)  # a flat output keeps no shading: 0
    return float(torch.where(spread_in > 1e-9, correlation, torch.full_like(correlation, float("nan"))).nanmean())


def _share(hits: torch.Tensor) -> float | None:
    return float(hits.float().mean()) if len(hits) else None


def colorizer_scores(
    gray: np.ndarray | torch.Tensor,
    outputs: np.ndarray | torch.Tensor,
    asked_colours: np.ndarray | torch.Tensor,
    truth: np.ndarray | torch.Tensor | None = None,
    labels: np.ndarray | torch.Tensor | None = None,
    judge: nn.Module | str | Path | None = None,
) -> dict[str, Any]:
    """How well a colorizer painted ``gray`` items (N, H, W) into ``outputs`` (N, 3, H, W) in the colours asked.

    - ``colour_accuracy``: the colour judge's colour head names the colour asked;
      ``colour_accuracy_nearest``: the dominant garment colour's nearest catalogue name (CIEDE2000) is it.
      Items asked ``auto`` (index len(catalogue)) have no right answer and are left out of both.
    - ``delta_e`` (with ``truth``, the real coloured items): mean CIEDE2000 between the dominant colours of
      output and truth; meaningful when the colours asked are the true ones.
    - ``class_accuracy`` (with ``labels``): the colour judge's class head on the outputs, and
      ``class_accuracy_truth`` on the truth (the garment kept: the two should match).
    - ``colour_conditions`` and (with ``labels``) ``label_conditions``: both accuracies per colour asked and
      per class (:func:`fashiongan.metrics.conditions.condition_scores`).
    - ``shading_correlation``: see :func:`shading_correlation`; ``colourfulness`` (and ``colourfulness_truth``)
      the mean of :func:`colourfulness` over whole images.

    ``judge`` is the colour judge (a module or checkpoint; default ``pretrained:colour-judge``).
    Returns plain numbers, ready for JSON.
    """
    from fashiongan.metrics.conditions import condition_scores
    from fashiongan.metrics.features import COLOUR_JUDGE, judge_classes, judge_colours, judge_name, judge_outputs, load_judge

    out = _rgb(outputs, "outputs")
    n = len(out)
    mask = foreground_mask(gray)
    if tuple(mask.shape) != (n, *out.shape[2:]):
        raise FashionGANError(
            f"{len(mask)} grayscale items of {tuple(mask.shape[1:])} for {n} outputs of {tuple(out.shape[2:])}; "
            "give one input per output, at the output's size"
        )
    asked = torch.from_numpy(check_colours(asked_colours, n, "asked colours", allow_auto=True))
    y = check_labels(labels, n)
    judge = judge if isinstance(judge, nn.Module) else load_judge(COLOUR_JUDGE if judge is None else judge)
    if not callable(getattr(judge, "colour_head", None)):
        raise FashionGANError(f"{judge_name(judge)} has no colour head; colour accuracy needs the colour judge")
    named = asked < len(colored.catalogue())
    dominant = dominant_lab(outputs, mask)
    judged = judge_outputs(judge, outputs)
    result: dict[str, Any] = {
        "n": n,
        "n_colour_asked": int(named.sum()),
        "judge_name": judge_name(judge),
        "colour_accuracy": _share((judged.colour_logits.argmax(1) == asked)[named]),
        "colour_accuracy_nearest": _share((nearest_colour(dominant) == asked)[named]),
        "delta_e": None,
        "class_accuracy": None if y is None else _share(judged.logits.argmax(1) == torch.from_numpy(y)),
        "class_accuracy_truth": None,
        "shading_correlation": shading_correlation(gray, outputs, mask),
        "colourfulness": float(colourfulness(outputs).mean()),
    }
    if named.any():
        result["colour_conditions"] = condition_scores(
            judged.colour_logits.argmax(1)[named], asked[named], judge_colours(judge, judged.colour_logits.shape[1])
        )
    if y is not None:
        result["label_conditions"] = condition_scores(judged.logits.argmax(1), y, judge_classes(judge, judged.logits.shape[1]))
    if truth is not None:
        real = _rgb(truth, "ground-truth items")
        if real.shape != out.shape:
            raise FashionGANError(
                f"ground truth has shape {tuple(real.shape)}, outputs {tuple(out.shape)}; they must match"
            )
        result["delta_e"] = float(ciede2000(dominant, dominant_lab(truth, mask)).mean())
        result["colourfulness_truth"] = float(colourfulness(truth).mean())
        if y is not None:
            truth_logits = judge_outputs(judge, truth).logits
            result["class_accuracy_truth"] = _share(truth_logits.argmax(1) == torch.from_numpy(y))
    return result
