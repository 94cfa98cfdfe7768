"""FID while training: any generator is scored by the judge that fits it, and the best one is kept.

At each epoch end, at the end of training and every ``every_minutes`` in between, ``n`` samples of
the generator (its EMA when the run keeps one) from fixed noise meet the judge: FID against the
judge's cached real statistics, precision/recall, and label accuracy for conditional generators.
The scores go to TensorBoard, the run's history and ``fid.png``; the best generator by FID is
exported into ``best/`` beside the checkpoint, ready for ``sample`` and ``evaluate``. Scoring must
stay cheap: a score that would take the time spent scoring past ``max_share`` of the time spent
training is skipped, with one note. A mechanism of the engine, not of any objective.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from fashiongan import hub, judges
from fashiongan.data import colored
from fashiongan.data.conditions import Conditions
from fashiongan.errors import FashionGANError
from fashiongan.train.state import History
from fashiongan.viz import plot_curves

BEST_DIR = "best"
PREFIX = "judge/"            # history and TensorBoard names of the scores
MIN_N, MAX_N = 50, 10_000
PILOT = 100                  # samples timed before the first score, to budget it at this machine's speed
GUESS_SECONDS_PER_IMAGE = 1e-3  # before the pilot: half what a 2-core CPU takes, so nothing loads in short runs
CHUNK = 500


@dataclass(frozen=True)
class Judge:
    """Who scores a generator: a judge checkpoint and the split of its data whose cached features are the real
    statistics (a user's catalogue gives all its items)."""

    source: str
    reference: str = "test"


def check_settings(value: Any) -> None:
    """Reject a bad ``train.track_fid`` before training (null or false: off)."""
    if value in (None, False):
        return
    if not isinstance(value, Mapping):
        raise FashionGANError(f"train.track_fid must be a mapping {{n, every_minutes, max_share}} or null, got {value!r}")
    unknown = set(value) - {"n", "every_minutes", "max_share"}
    if unknown:
        raise FashionGANError(f"unknown setting train.track_fid.{sorted(unknown)[0]}; known: n, every_minutes, max_share")
    n = value.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or not MIN_N <= n <= MAX_N:
        raise FashionGANError(f"train.track_fid.n must be a whole number of samples in {MIN_N}..{MAX_N}, got {n!r}")
    minutes = value.get("every_minutes")
    if minutes is not None and not (isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and minutes > 0):
        raise FashionGANError(f"train.track_fid.every_minutes must be a positive number or null, got {minutes!r}")
    share = value.get("max_share")
    if not (isinstance(share, (int, float)) and not isinstance(share, bool) and 0 < share <= 1):
        raise FashionGANError(
            f"train.track_fid.max_share must lie in (0, 1], got {share!r}: scoring may not cost more than the training itself"
        )


class Tracker:
    """Scores one run's generator; lives on the main process only (the others never wait on it)."""

    def __init__(self, settings: Mapping[str, Any], judge: Judge, shape: Conditions, out: Path, seed: int,
                 note: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.shape = shape
        self.n = int(settings["n"])
        self.interval = 60 * float(settings["every_minutes"]) if settings.get("every_minutes") else None
        self.max_share = float(settings["max_share"])
        self.judge_spec, self.out, self.seed, self.note, self.clock = judge, out, seed, note, clock
        self.began = self.last = clock()
        self.spent = 0.0  # seconds spent scoring (setup excluded)
        self.per_image, self.measured = GUESS_SECONDS_PER_IMAGE, False  # seconds a score takes per sample
        self.judge: nn.Module | None = None
        self.real: torch.Tensor | None = None
        self.capped = self.off = False
        self.best = _best_fid(out / BEST_DIR, self.n, judge.source)

    def wanted(self, epoch_end: bool) -> bool:
        """An epoch end (or the end of training), or ``every_minutes`` since the last score."""
        return not self.off and (epoch_end or (self.interval is not None and self.clock() - self.last >= self.interval))

    def affordable(self) -> bool:
        """Whether one more score keeps scoring within ``max_share`` of the training time (one note when not)."""
        cost = self.n * self.per_image
        trained = self.clock() - self.began - self.spent
        if self.spent + cost <= self.max_share * trained:
            return True
        if not self.capped:
            self.capped = True
            self.note(
                f"FID tracking skips scores that would take more than {self.max_share:.0%} of the training time "
                f"(one score of {self.n} samples takes about {cost:.1f} s{' here' if self.measured else ''}); "
                "lower train.track_fid.n or raise train.track_fid.max_share to score more often"
            )
        return False

    def maybe_score(self, generator: nn.Module, step: int, epoch_end: bool, role: str,
                    describe: Callable[[], dict[str, Any]]) -> dict[str, float] | None:
        """Score ``generator`` (exported under ``role``) when wanted and affordable; export it into best/
        when its FID is the lowest yet. Returns the scores, or None when nothing was scored."""
        if not (self.wanted(epoch_end) and self.affordable()):
            return None
        from fashiongan import metrics  # torchmetrics and the judge load only when a run scores

        with torch.random.fork_rng(devices=[]):  # building the judge draws an init: training's noise must not move
            if not self._ready(metrics, next(generator.parameters()).device):
                return None
            if not self.measured:
                self._calibrate(metrics, generator)
                if not self.affordable():
                    return None
            started = self.clock()
            images, labels, colours = _samples(generator, self.shape, self.n, self.seed)
            judged = metrics.judge_outputs(self.judge, images)
            precision, recall = metrics.precision_recall(self.real[: self.n], judged.features)
            scores = {"fid": metrics.fid(self.real, judged.features), "precision": precision, "recall": recall}
            if labels is not None:
                scores.update(_accuracies(metrics, "label", judged.logits, labels))
            if colours is not None and judged.colour_logits is not None:
                scores.update(_accuracies(metrics, "colour", judged.colour_logits, colours))
        if self.best is None or scores["fid"] < self.best:
            self.best = scores["fid"]
            config = describe()
            config["metrics"] = {**scores, "fid_n": self.n}
            config["judge"] = {"source": self.judge_spec.source, "reference": self.judge_spec.reference,
                               "fingerprint": metrics.judge_fingerprint(self.judge)[:16]}
            hub.save_pretrained(self.out / BEST_DIR, {role: generator}, config, main=role)
        now = self.clock()
        self.spent += now - started
        self.per_image, self.measured, self.last = (now - started) / self.n, True, now
        return scores

    def _calibrate(self, metrics, generator: nn.Module) -> None:
        """Time a pilot of PILOT samples through generator and judge, so that the first score is budgeted
        at this machine's speed (the pilot counts as scoring time)."""
        started = self.clock()
        images = _samples(generator, self.shape, PILOT, self.seed)[0]
        metrics.extract(self.judge, images)
        elapsed = self.clock() - started
        self.spent += elapsed
        self.per_image, self.measured = elapsed / PILOT, True

    def _ready(self, metrics, device: torch.device) -> bool:
        """Load the judge (onto the generator's device) and the real statistics once (cached on disk;
        not counted in the budget). On failure tracking stops, with one note."""
        if self.real is not None:
            return True
        started = self.clock()
        try:
            self.judge = metrics.load_judge(self.judge_spec.source).to(device)
            judges.check_fits(metrics.judge_conditions(self.judge), self.shape, self.judge_spec.source)
            self.real = metrics.reference_features(self.judge, self.judge_spec.reference)
        except FashionGANError as exc:
            self.note(f"FID tracking is off for this run: {exc}")
            self.off = True
            return False
        setup = self.clock() - started
        self.began += setup
        self.last += setup
        return True

    def finish(self, history: History) -> None:
        """The scores over the run (earlier runs' too, after a resume): fid.png, and judge_scores.png for the shares."""
        fid = history.get(f"{PREFIX}fid")
        if not (fid and fid[0]):
            return
        plot_curves({"FID": fid}, self.out / "fid.png", xlabel="step", ylabel=f"FID ({self.n} samples)",
                    title="FID while training (lower is better)")
        names = ("label_accuracy", "label_accuracy_lowest", "colour_accuracy", "colour_accuracy_lowest", "precision", "recall")
        shares = {name.replace("_", " "): history[f"{PREFIX}{name}"] for name in names
                  if history.get(f"{PREFIX}{name}", ([], []))[0]}
        plot_curves(shares, self.out / "judge_scores.png", xlabel="step", ylabel="share", title="the judge's scores while training")


def _accuracies(metrics, kind: str, logits: torch.Tensor, asked: torch.Tensor) -> dict[str, float]:
    """``KIND_accuracy`` over the samples and ``KIND_accuracy_lowest``, that of the condition judged right least often."""
    found = metrics.condition_scores(logits.argmax(1), asked, [str(i) for i in range(logits.shape[1])])
    return {f"{kind}_accuracy": metrics.label_accuracy(logits, asked), f"{kind}_accuracy_lowest": found["lowest"]["accuracy"]}


@torch.no_grad()
def _samples(generator: nn.Module, shape: Conditions, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``n`` uint8 images from noise fixed by ``seed`` (every score sees the same z), classes in turn, and the
    colour each was asked for (from its class's prior) when the generator takes one (its conditions:
    ``shape``); eval mode for the draw, the net's own mode restored; the global RNG is not touched."""
    was_training = generator.training
    generator.eval()
    rng = torch.Generator(device=next(generator.parameters()).device).manual_seed(seed)
    classes = len(shape.classes or ())
    colours = len(shape.colours or ())
    labels = torch.arange(n) % classes if classes else None
    colour_rng = torch.Generator().manual_seed(seed)
    chunks, asked = [], []
    try:
        for start in range(0, n, CHUNK):
            count = min(CHUNK, n - start)
            extra = {"colours": _prior_colours(labels[start : start + count], colour_rng)} if colours else {}
            asked += list(extra.values())
            part = None if labels is None else labels[start : start + count]
            x = generator.sample(count, part, generator=rng, **extra)
            chunks.append(x.float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu())
    finally:
        generator.train(was_training)
    return torch.cat(chunks), labels, torch.cat(asked) if asked else None


def _prior_colours(labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """A colour per item drawn from its class's prior, as the catalogue set's real items have them."""
    priors = torch.from_numpy(colored.class_priors()).float()
    return torch.multinomial(priors[labels.cpu()], 1, generator=rng).squeeze(1)


def _best_fid(directory: Path, n: int, source: str) -> float | None:
    """The FID of the generator already in best/ (a resumed run), when it was scored the same way."""
    try:
        config = hub.read_config(directory)
    except FashionGANError:
        return None
    scored, judge = config.get("metrics") or {}, config.get("judge") or {}
    if scored.get("fid_n") != n or judge.get("source") != source or not isinstance(scored.get("fid"), (int, float)):
        return None
    return float(scored["fid"])


def start(settings: Any, kind: str, shape: Conditions, data: Mapping[str, Any], out: Path, seed: int,
          note: Callable[[str], None], clock: Callable[[], float] = time.monotonic, judge: str | None = None) -> Tracker | None:
    """A Tracker for a run of a model of ``kind`` that draws ``shape`` from ``data``, scored by ``judge`` (a
    checkpoint trained on that data) or the shipped judge that fits; None when tracking is off, the model
    draws nothing (silently), or no judge fits (one note saying how to get one)."""
    if settings in (None, False) or kind not in ("generator", "vae"):
        return None
    if judge is None:
        try:
            judge = judges.shipped_for(shape, data)
        except FashionGANError as exc:
            note(f"FID tracking is off for this run: {exc}")
            return None
    return Tracker(settings, Judge(judge), shape, out, seed, note, clock)

