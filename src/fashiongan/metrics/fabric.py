"""Did the fabric change and the garment stay? Scores for a translation (CycleGAN) checkpoint, per direction.

- ``fabric_accuracy``: the fabric judge (``pretrained:fabric-classifier``, a small CNN trained on the two
  built-in domains) names the target fabric. Only for checkpoints whose domains are its fabrics.
- ``garment_kept``: the colour judge's class head gives the output the input's class (the true class on
  the built-in domains; on a user's, the class the judge gives the input), bounded by the judge's own accuracy;
  ``garment_agreed``: it gives the output the class it gives the input (the garment unchanged, whether or
  not the judge names it right: what a translation alone decides); ``mask_iou``: intersection over
  union of the input's and the output's foreground (pixels whose luminance is above the black background).
- ``kid_mean``/``kid_std``: KID between the outputs and the target domain's test images, in the colour
  judge's features (lower is better; compare at the same n).
- ``cycle_l1``: mean |A -> B -> A - A| on pixels in [0, 1].
- on the built-in domains, ``truth_l1`` and ``truth_ssim`` against the paired ground truth (the same
  item rendered in the target fabric), which no unpaired data set has.

Every direction is also scored for the identity mapping (the input handed in unchanged: the floor to
beat) and, on the built-in domains, for the ground truth itself (the ceiling of the judges).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics.functional.image import structural_similarity_index_measure

from fashiongan import hub
from fashiongan.data import fabrics, pairs
from fashiongan.data.transforms import to_float
from fashiongan.errors import CheckpointError, FashionGANError
from fashiongan.metrics.colour import foreground_mask
from fashiongan.metrics.features import COLOUR_JUDGE, judge_name, judge_outputs, load_judge
from fashiongan.metrics.generative import kid

FABRIC_JUDGE = "pretrained:fabric-classifier"
DEFAULT_N = 500
MIN_N = 2  # KID needs two images a side
BATCH = 250


@dataclass
class Domain:
    """Test images of one domain, uint8 (N, C, H, W); ``labels`` their garment classes where known;
    ``truth`` the same items rendered in the other domain (built-in fabrics only)."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None = None
    truth: torch.Tensor | None = None


def load_fabric_judge(source: str | Path = FABRIC_JUDGE) -> nn.Module:
    """The fabric classifier (``fabric_classifier`` architecture), in eval mode; ``fabrics`` its class names."""
    checkpoint = hub.load_checkpoint(source)
    net = checkpoint.main
    if not (hasattr(net, "image_size") and getattr(net, "head", None) is not None and net.head.out_features == len(fabrics.FABRICS)):
        raise CheckpointError(f"{source} is not a fabric classifier (train one: fashiongan train --model fabric-classifier)")
    net.judge_source = str(source)
    return net.eval()


@torch.no_grad()
def fabric_predictions(classifier: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The fabric index (into ``fabrics.FABRICS``) the classifier gives each image (uint8 or [-1, 1] float)."""
    classifier.eval()
    device = next(classifier.parameters()).device
    out = [classifier(_float(chunk).to(device)).argmax(1).cpu() for chunk in images.split(BATCH)]
    return torch.cat(out)


def mask_iou(inputs: torch.Tensor, outputs: torch.Tensor) -> float:
    """Mean over images of the IoU of the two foregrounds (luminance above the background's, as metrics.colour)."""
    a, b = foreground_mask(_rgb(inputs)), foreground_mask(_rgb(outputs))
    union = (a | b).flatten(1).sum(1)
    iou = (a & b).flatten(1).sum(1) / union.clamp_min(1)
    return float(torch.where(union > 0, iou, torch.ones_like(iou)).mean())


def l1(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute difference on pixels in [0, 1]."""
    return float((_unit(a) - _unit(b)).abs().mean())


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM (Gaussian window 11, sigma 1.5) on pixels in [0, 1]."""
    return float(structural_similarity_index_measure(_unit(a), _unit(b), data_range=1.0))


def _float(images: torch.Tensor) -> torch.Tensor:
    return to_float(images) if images.dtype == torch.uint8 else images.float()


def _unit(images: torch.Tensor) -> torch.Tensor:
    return (_float(images) + 1) / 2


def _rgb(images: torch.Tensor) -> torch.Tensor:
    x = _float(images)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def score_outputs(
    inputs: Domain, outputs: torch.Tensor, target: Domain, judge: nn.Module, classifier: nn.Module | None,
    target_fabric: int | None, reconstructed: torch.Tensor | None = None, seed: int = 0,
) -> dict[str, Any]:
    """The scores of ``outputs`` (translations of ``inputs`` into ``target``'s domain); see the module."""
    out = judge_outputs(judge, _rgb(outputs))
    judged_out = out.logits.argmax(1)
    judged_in = judge_outputs(judge, _rgb(inputs.images)).logits.argmax(1)
    reference = inputs.labels if inputs.labels is not None else judged_in
    target_features = judge_outputs(judge, _rgb(target.images)).features
    kid_mean, kid_std = kid(target_features, out.features, seed=seed)
    result: dict[str, Any] = {
        "n": len(outputs),
        "fabric_accuracy": None,
        "garment_kept": float((judged_out == reference).float().mean()),
        "garment_agreed": float((judged_out == judged_in).float().mean()),
        "mask_iou": mask_iou(inputs.images, outputs),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
    }
    if classifier is not None and target_fabric is not None:
        result["fabric_accuracy"] = float((fabric_predictions(classifier, outputs) == target_fabric).float().mean())
    if reconstructed is not None:
        result["cycle_l1"] = l1(reconstructed, inputs.images)
    if inputs.truth is not None:
        result["truth_l1"] = l1(outputs, inputs.truth)
        result["truth_ssim"] = ssim(outputs, inputs.truth)
    return result


def test_domains(config: dict[str, Any], n: int) -> tuple[Domain, Domain]:
    """The first ``n`` test images of each domain a checkpoint was trained on (built-in fabrics or pair:DIR)."""
    train_config = config.get("train_config", {})
    data = train_config.get("data", {})
    names = train_config.get("objective", {}).get("domains", ("A", "B"))
    if data.get("name") == "fabrics":
        seed = int(data.get("seed", 0))
        a, b = (fabrics.load("test", fabric, seed, n, data.get("data_dir")) for fabric in fabrics.FABRICS)
        tensors = [torch.from_numpy(part.images.copy()) for part in (a, b)]
        labels = torch.from_numpy(a.labels.copy())
        return (Domain(names[0], tensors[0], labels, tensors[1]), Domain(names[1], tensors[1], labels, tensors[0]))
    if data.get("name") == "pair":
        root = Path(str(data.get("path", "")))
        size, channels = int(data.get("size") or pairs.DEFAULT_SIZE), int(data.get("channels", 3))
        found = []
        for domain in pairs.DOMAINS:
            files = pairs.domain_files(root, "test", domain)[:n]
            found.append(pairs.decode_domain(files, size, channels))
        return Domain(names[0], found[0]), Domain(names[1], found[1])
    raise FashionGANError(
        f"evaluate knows the test images of the built-in fabrics and of pair:DIR folders; this model was trained on "
        f"{data.get('name')!r}"
    )


def evaluate_translation(
    translator: Any, n: int = DEFAULT_N, judge: nn.Module | str | Path | None = None,
    classifier: nn.Module | str | Path | None = None, seed: int = 0,
) -> dict[str, Any]:
    """Every score of a loaded translator (``restyle.load``), per direction ("leather->denim": {model, identity, truth})."""
    if n < MIN_N:
        raise FashionGANError(f"--n must be at least {MIN_N}, got {n}")
    checkpoint = translator.source
    domain_a, domain_b = test_domains(hub.read_config(checkpoint), n)
    judge = judge if isinstance(judge, nn.Module) else load_judge(COLOUR_JUDGE if judge is None else judge)
    fabric_names = [d.lower() for d in translator.domains]
    judged_fabrics = all(name in fabrics.FABRICS for name in fabric_names)
    if judged_fabrics and not isinstance(classifier, nn.Module):
        classifier = load_fabric_judge(FABRIC_JUDGE if classifier is None else classifier)
    results: dict[str, Any] = {"checkpoint": str(checkpoint), "judge": judge_name(judge),
                               "fabric_judge": getattr(classifier, "judge_source", None) if judged_fabrics else None}
    for source, target in ((domain_a, domain_b), (domain_b, domain_a)):
        target_fabric = fabrics.FABRICS.index(target.name.lower()) if judged_fabrics else None
        scored = classifier if judged_fabrics else None
        moved, again = translator.translate(_float(source.images), target.name)
        direction = {
            "model": score_outputs(source, moved, target, judge, scored, target_fabric, again, seed),
            "identity": score_outputs(source, _float(source.images), target, judge, scored, target_fabric, None, seed),
        }
        if source.truth is not None:  # the judges' ceiling (its KID and distances to itself say nothing)
            truth = score_outputs(source, source.truth, target, judge, scored, target_fabric, None, seed)
            direction["truth"] = {k: truth[k] for k in ("n", "fabric_accuracy", "garment_kept", "garment_agreed", "mask_iou")}
        results[f"{source.name}->{target.name}"] = direction
    return results
