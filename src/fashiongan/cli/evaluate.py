"""`fashiongan evaluate`: score images from any program against real data, with a fixed judge: the evaluator
for grayscale images, the colour judge for RGB (or the one given with --judge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from fashiongan import hub, judges, sampling
from fashiongan.declaration import declared
from fashiongan.cli.common import console, err_console, print_json
from fashiongan.cli import restyle
from fashiongan.errors import FashionGANError
from fashiongan.metrics.inputs import MAX_FLOOR, MIN_IMAGES


def checked_n(n: int) -> int:
    """``--n`` within [10, 60000]: below is an error, above is capped (with a note) at the training set's size."""
    if n < MIN_IMAGES:
        raise FashionGANError(f"--n must be at least {MIN_IMAGES}, got {n}")
    if n > MAX_FLOOR:
        err_console.print(f"note: --n {n} capped at {MAX_FLOOR}, the size of the training set")
        return MAX_FLOOR
    return n


def evaluate(
    checkpoint: Optional[str] = typer.Option(
        None, "--checkpoint", "-c", help="A generator checkpoint directory or pretrained:NAME to sample n images from."
    ),
    images: Optional[Path] = typer.Option(
        None,
        "--images",
        help="A folder of PNGs (grayscale or RGB, all one size), or an .npz with 'images' (uint8 N x H x W, or "
        "N x H x W x 3 for RGB) and optional 'labels' (0-9) and 'colours' (catalogue colour indices).",
    ),
    n: int = typer.Option(
        10_000, "--n", help=f"How many images to score (a seeded random subset; at most {MAX_FLOOR})."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    show_floor: bool = typer.Option(
        False, "--floor", help="Also score n real training images: what a perfect generator would get."
    ),
    inception: bool = typer.Option(
        False, "--inception", help="Also report standard Inception FID (needs to download the Inception v3 weights)."
    ),
    judge: Optional[str] = typer.Option(
        None, "--judge",
        help="Judge checkpoint whose features define every score: one trained on your catalogue (fashiongan classify "
        "train --data ...) for its models [default: pretrained:evaluator for grayscale Fashion-MNIST, "
        "pretrained:colour-judge for the coloured set].",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for subsets; the same seed gives the same numbers."),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help="Also write the confusion tables of asked against judged (class, colour) as a figure (PNG)."
    ),
    steps: Optional[int] = typer.Option(None, "--steps", help="Flow models: ODE steps to sample with [default: the checkpoint's]."),
    guidance: Optional[float] = typer.Option(None, "--guidance", help="Flow models: guidance scale to sample with [default: the checkpoint's]."),
    precision: str = typer.Option("float32", "--precision", help="Sample in float32 or bfloat16 (see `fashiongan sample --help`)."),
) -> None:
    """FID, KID, precision/recall, Inception-style score, label and colour accuracy, all measured by one judge."""
    from fashiongan.metrics import evaluate_images, floor, judge_for, load_images, load_judge  # torchmetrics: only when scoring
    from fashiongan.metrics.features import judge_conditions
    from fashiongan.metrics.inputs import channels_of

    if checkpoint is not None and images is not None:
        raise FashionGANError("score either --checkpoint or --images, not both")
    if checkpoint is None and images is None and not show_floor:
        raise FashionGANError("nothing to score: pass --checkpoint DIR, --images PATH (PNG folder or .npz), or --floor")
    if precision != "float32" and checkpoint is None:
        raise FashionGANError("--precision sets how a generator samples: pass it with --checkpoint")
    kind = declared(checkpoint).kind if checkpoint is not None else None
    if (steps, guidance) != (None, None) and (checkpoint is None or not declared(checkpoint).integrates):
        raise FashionGANError("--steps and --guidance set how a flow model samples: pass them with a flow checkpoint")
    if kind == "translation":  # CycleGAN: per-direction fabric and garment scores
        restyle.evaluate(checkpoint, n, judge, seed, as_json)
        return
    if kind == "colorizer":
        _colorizer(checkpoint, checked_n(n), judge, as_json, plot)
        return
    n = checked_n(n)
    pixels, labels, colours = load_images(images) if images is not None else (None, None, None)
    if checkpoint is not None:
        n = min(n, sampling.MAX_SAMPLES)
        judge = judge or judge_of(checkpoint)
        pixels, labels, colours = generated(checkpoint, n, seed, steps, guidance, precision)
    judge_net = load_judge(judge or judge_for(channels_of(pixels) if pixels is not None else 1))
    if checkpoint is not None:
        judges.check_fits(judge_conditions(judge_net), declared(checkpoint).conditions, judge)
    results: dict[str, dict[str, Any]] = {}
    if pixels is not None:
        if len(pixels) < n:
            err_console.print(f"note: scoring all {len(pixels)} images in {images} (fewer than --n {n})")
        source = checkpoint if checkpoint is not None else str(images)
        results["images"] = evaluate_images(
            pixels, labels, colours, judge=judge_net, n=min(n, len(pixels)), seed=seed, inception=inception,
            progress=True,
        )
        results["images"]["source"] = source
        if checkpoint is not None:  # a VAE adds its test-set ELBO, a model of attributes their accuracy in its samples
            from fashiongan.metrics.elbo import vae_scores

            results["images"].update(vae_scores(checkpoint, seed))
    if show_floor:
        results["floor"] = floor(n, judge=judge_net, seed=seed, inception=inception, progress=True)
    if plot is not None and "images" in results:
        _plot_conditions(results["images"], plot)
    if as_json:
        print_json(results)
    else:
        console.print(_table(results))
        if "images" in results:
            _print_conditions(results["images"])


def judge_of(checkpoint: str) -> str:
    """The shipped judge that fits a generator checkpoint (its image shape, its training data), or a one-line
    error saying how to train one: a 64 px catalogue model is never scored by the Fashion-MNIST evaluator."""
    try:
        return judges.shipped_for(declared(checkpoint).conditions, hub.read_config(checkpoint).get("train_config", {}).get("data"))
    except FashionGANError as exc:
        raise FashionGANError(f"{checkpoint}: {exc}") from None


def generated(checkpoint: str, n: int, seed: int, steps: int | None = None, guidance: float | None = None,
              precision: str = "float32") -> tuple[Any, Any, Any]:
    """``n`` images from a generator checkpoint with the class (and colour) each was asked for, or None:
    conditional models cycle through their classes; colour models draw each item's colour from its
    class's prior (``auto``), as the judge's real set does, so FID compares like with like. A flow model samples
    with ``steps`` and ``guidance`` when given; every generator in ``precision`` (sampling.PRECISIONS)."""
    net = sampling.load_generator(checkpoint)
    colour = "auto" if sampling.offers(net).colours is not None else None
    samples = sampling.sample(net, n=n, seed=seed, colour=colour, steps=steps, guidance=guidance,
                             precision=precision)
    return samples.images, samples.labels, samples.colours


def _table(results: dict[str, dict[str, Any]]) -> Table:
    first = next(iter(results.values()))
    names = {"images": "images", "floor": "floor (real train)"}
    table = Table(
        "metric", *(names.get(key, key) for key in results),
        title=f"scored by judge {first['judge_name']} ({first['judge']}) against {first['reference']} "
        f"({first['n_reference']} images)",
        caption=None if "floor" in results else "FID and KID grow as n shrinks: compare with --floor at the same n",
    )
    rows = [
        ("n", lambda r: str(r["n"])),
        ("FID (lower is better)", lambda r: f"{r['fid']:.3f}"),
        ("KID (lower is better)", lambda r: f"{r['kid_mean']:.5f} ± {r['kid_std']:.5f}"),
        ("precision", lambda r: f"{r['precision']:.3f}"),
        ("recall", lambda r: f"{r['recall']:.3f}"),
        ("Inception-style score", lambda r: f"{r['is_mean']:.3f} ± {r['is_std']:.3f}"),
        ("label accuracy", lambda r: "—" if r["label_accuracy"] is None else f"{r['label_accuracy']:.1%}"),
    ]
    if any("colour_accuracy" in r for r in results.values()):
        rows.append(
            ("colour accuracy", lambda r: f"{r['colour_accuracy']:.1%}" if "colour_accuracy" in r else "—")
        )
    for key, name in CONDITIONS:
        if any(key in r for r in results.values()):
            rows.append((f"lowest {name}", lambda r, key=key: _lowest(r.get(key))))
    if "inception_fid" in first:
        rows.append(("Inception FID", lambda r: f"{r['inception_fid']:.3f}"))
    from fashiongan.metrics.elbo import ROWS

    rows += [(name, lambda r, key=key, fmt=fmt: fmt.format(r[key]) if key in r else "—") for key, name, fmt in ROWS if key in first]
    for name, cell in rows:
        table.add_row(name, *(cell(r) for r in results.values()))
    return table


CONDITIONS = (("label_conditions", "class"), ("colour_conditions", "colour"), ("attribute_conditions", "attribute value"))


def _lowest(conditions: dict[str, Any] | None) -> str:
    lowest = (conditions or {}).get("lowest")
    return "—" if not lowest else f"{lowest['name']} {lowest['accuracy']:.1%}"


def _print_conditions(scores: dict[str, Any]) -> None:
    """Accuracy per asked class and colour, each with what it was most often judged as when wrong."""
    for key, name in CONDITIONS[:2]:
        if key not in scores:
            continue
        table = Table(name, "asked", "judged as asked", "most often instead", title=f"per {name} (asked vs judged)")
        found = scores[key]
        for row, label in enumerate(found["names"]):
            counts = found["confusion"][row]
            if label not in found["accuracy"]:
                continue
            wrong = [(n, found["names"][j]) for j, n in enumerate(counts) if j != row and n]
            instead = max(wrong)[1] if wrong else "—"
            table.add_row(label, str(sum(counts)), f"{found['accuracy'][label]:.1%}", instead)
        console.print(table)


COLORIZER_ROWS = (  # what `evaluate` shows of a colorizer's scores: key, row name, format
    ("n", "test items", "{}"),
    ("colour_accuracy", "colour accuracy (colour judge)", "{:.1%}"),
    ("colour_accuracy_nearest", "colour accuracy (nearest catalogue colour)", "{:.1%}"),
    ("delta_e", "mean CIEDE2000 to the truth (lower is better)", "{:.2f}"),
    ("class_accuracy", "class accuracy of the outputs", "{:.1%}"),
    ("class_accuracy_truth", "class accuracy of the truth", "{:.1%}"),
    ("shading_correlation", "shading correlation", "{:.3f}"),
    ("colourfulness", "colourfulness", "{:.1f}"),
    ("colourfulness_truth", "colourfulness of the truth", "{:.1f}"),
)


def _colorizer(checkpoint: str, n: int, judge: str | None, as_json: bool, plot: Path | None) -> None:
    """`evaluate` on a colorizer: the coloured test items painted (asked their true colour) and scored."""
    from fashiongan import colorize

    scores = colorize.evaluate(colorize.load_colorizer(checkpoint), n, judge)
    if plot is not None:
        _plot_conditions(scores, plot)
    if as_json:
        print_json({"colorizer": scores})
        return
    table = Table("metric", "value", title=f"{checkpoint} on the coloured test items, asked {scores['asked']}, "
                  f"judged by {scores['judge_name']}")
    for key, name, fmt in COLORIZER_ROWS:
        table.add_row(name, "—" if scores.get(key) is None else fmt.format(scores[key]))
    for key, name in CONDITIONS[:2]:
        table.add_row(f"lowest {name}", _lowest(scores.get(key)))
    console.print(table)
    _print_conditions(scores)


def _plot_conditions(scores: dict[str, Any], path: Path) -> None:
    from fashiongan.viz import plot_confusions

    panels = [(scores[key]["confusion"], scores[key]["names"], f"{name}: lowest {_lowest(scores[key])}")
              for key, name in CONDITIONS[:2] if key in scores]
    if not panels:
        raise FashionGANError("--plot draws the confusion of asked against judged conditions; these images were asked for none")
    plot_confusions(panels, path, xlabel="judged", ylabel="asked")
    err_console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the top-level app."""
    app.command("evaluate")(evaluate)
