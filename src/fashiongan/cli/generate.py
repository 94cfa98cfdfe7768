"""`fashiongan models`, `train` and `sample`: list the GANs, train one, draw images from a checkpoint."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Optional

import typer
from PIL import Image
from rich.markup import escape
from rich.table import Table

from fashiongan.cli.common import budget, console, err_console, print_json
from fashiongan.errors import FashionGANError

MIN_SIZE, MAX_SIZE = 8, 1024


def _is_main_process() -> bool:
    """Under torchrun only rank 0 prints."""
    return os.environ.get("RANK", "0") == "0"


def models(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """The GAN variants you can `train` and `sample` (packaged configs whose main net is a generator)."""
    from fashiongan.sampling import generator_models

    found = generator_models()
    if as_json:
        print_json([m.__dict__ for m in found])
        return
    table = Table("model", "conditional", "colour", "batch", "shipped", "description")
    for m in found:
        colour = "chosen" if m.colour_conditional else ("RGB" if m.channels == 3 else "")  # chosen: takes --colour
        conditional = "attributes" if m.attribute_conditional else ("yes" if m.conditional else "")
        table.add_row(f"[bold]{m.name}", conditional, colour, str(m.batch_size), " ".join(m.shipped),
                      escape(m.description))
    console.print(table)
    console.print("train one: [bold]fashiongan train --model NAME[/] (add --minutes 5 for a quick run)")
    for source in (source for m in found for source in m.shipped):
        console.print(f"or sample a shipped one: [bold]fashiongan sample --checkpoint {source} --out samples.png")


def _overrides(
    epochs: int | None, steps: int | None, minutes: float | None, batch_size: int | None, seed: int | None,
    ema: float | None, data_dir: Path | None, device: str | None,
) -> dict[str, Any]:
    """Command-line flags as a config layer: the budget flags replace the config's budget."""
    train = budget(epochs, steps, minutes, batch_size)
    if ema is not None:
        train["ema_decay"] = ema
    if device is not None:
        if device not in ("cpu", "cuda", "auto") and not device.startswith("cuda:"):
            raise FashionGANError(f"unknown device {device!r}; use cpu, cuda or auto")
        train["device"] = device
    layer: dict[str, Any] = {"train": train} if train else {}
    if seed is not None:
        layer["seed"] = seed
    if data_dir is not None:
        layer["data"] = {"data_dir": str(data_dir)}
    return layer


def train(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="A name from `fashiongan models`."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML file layered over the model's packaged config."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Train this many passes over the data."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Train this many steps (batches)."),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Stop after this many minutes (alone, or capping --epochs/--steps)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Images per step (per process under torchrun)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="One seed for init, batch order and noise."),
    ema: Optional[float] = typer.Option(None, "--ema", help="Keep an EMA of the generator with this decay (e.g. 0.999) and sample from it."),
    out: Optional[Path] = typer.Option(None, "--out", help="Checkpoint directory [default: runs/MODEL-TIMESTAMP, or the --resume directory]."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this checkpoint directory."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder with the Fashion-MNIST IDX files."),
    data: Optional[str] = typer.Option(None, "--data", help="Train on this instead of the config's data: a dataset (colored, attributes, ...), folder:DIR or styles:DIR; the nets take its channels, size and classes."),
    size: Optional[int] = typer.Option(None, "--size", help="Train at this many pixels a side (e.g. 32, 64, 128) [default: the data's; 64 for a folder or styles.csv]."),
    judge: Optional[str] = typer.Option(None, "--judge", help="Track FID (and keep best/) with this judge: a classifier trained on the same data (fashiongan classify train --data ...)."),
    teacher: Optional[str] = typer.Option(None, "--teacher", help="flow-distill: the flow checkpoint to distil (a run or pretrained:NAME); the student learns from it (starting from its weights unless the config says otherwise) on its data unless --data says otherwise."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda or auto [default: the config's, auto]."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for PyTorch [default: one per core]; 1 is much faster for small nets when other jobs share the cores."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (implies --quiet)."),
) -> None:
    """Train a model; under `torchrun --nproc_per_node=N` every process trains a slice of each batch."""
    import torch

    from fashiongan import hub, objectives
    from fashiongan.sampling import config_is_generator
    from fashiongan.train import fit, load_config
    from fashiongan.train.config import saved_config

    overrides = _overrides(epochs, steps, minutes, batch_size, seed, ema, data_dir, device)
    if judge is not None:
        overrides.setdefault("train", {})["judge"] = judge
    if size is not None:
        overrides.setdefault("data", {})["size"] = size
    if teacher is not None:
        overrides["nets"] = {"teacher": {"init": teacher}}
        if data is None:  # the student learns on what its teacher learnt on (its conditions come from there)
            overrides["data"] = {**hub.read_config(teacher).get("train_config", {}).get("data", {}), **overrides.get("data", {})}
    if threads is not None:
        if threads < 1:
            raise FashionGANError(f"--threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)  # a property of the machine, not of the run: not saved, not checked on resume
    if resume is not None and model is None and config is None:
        if data is not None or size is not None or teacher is not None:
            raise FashionGANError("a resumed run keeps its data and teacher; drop --data/--size/--teacher (or give --model to start anew)")
        settings = saved_config(resume, overrides)  # continue exactly what the directory was trained with
    else:
        if model is None and config is None:
            raise FashionGANError("no model given; pass --model NAME (see `fashiongan models`), --config FILE or --resume DIR")
        settings = load_config(model, config, overrides, data)
        if teacher is not None and "teacher" not in objectives.get(settings.model).roles:
            raise FashionGANError(f"--teacher is for a model that learns from one (flow-distill), not {settings.model}")
    if out is None:
        out = resume if resume is not None else Path("runs") / f"{settings.model if model is None else model}-{time.strftime('%Y%m%d-%H%M%S')}"
    if resume is None and (out / "config.json").exists():
        raise FashionGANError(f"{out} already holds a checkpoint; continue it with --resume {out} or pick another --out")
    already = _saved_step(resume) if resume is not None else 0
    result = fit(settings, out, resume=resume, progress=not (quiet or as_json))
    if not _is_main_process():
        return
    files = _outputs(Path(result.out))
    if as_json:
        print_json({"model": model or settings.model, "steps": result.steps, "seconds": round(result.seconds, 3),
                    "metrics": result.metrics, **{k: str(v) for k, v in files.items()}})
        return
    if resume is not None and result.steps <= already:
        console.print(f"{escape(str(resume))} is already at step {result.steps}, its budget; "
                      "pass a larger --steps or --epochs (or --minutes) to train further", soft_wrap=True)
    else:
        console.print(f"trained [bold]{escape(model or settings.model)}[/] to step {result.steps} in {result.seconds:.1f} s", soft_wrap=True)
    labels = {"checkpoint": "checkpoint", "samples": "sample grids", "progress_gif": "progress GIF",
              "losses_png": "loss curves", "tensorboard": "TensorBoard logs"}
    for key, path in files.items():
        console.print(f"  {labels[key]:<16} {escape(str(path))}", soft_wrap=True, highlight=False)
    if files.get("checkpoint") and config_is_generator(settings):
        console.print(f"draw images: fashiongan sample --checkpoint {escape(str(result.out))} --out samples.png",
                      soft_wrap=True, highlight=False)
    elif files.get("checkpoint") and objectives.get(settings.model).kind == "translation":
        console.print(f"restyle images: fashiongan restyle --checkpoint {escape(str(result.out))} --input IMAGE "
                      f"--to {escape(str(settings.objective['domains'][1]))}", soft_wrap=True, highlight=False)


def _saved_step(directory: Path) -> int:
    from fashiongan import hub

    return int(hub.read_config(directory).get("training", {}).get("step", 0))


def _outputs(out: Path) -> dict[str, Path]:
    """What a run left in ``out`` (only what exists)."""
    found = {
        "checkpoint": out if (out / "config.json").is_file() else None,
        "samples": out / "samples" if any((out / "samples").glob("*.png")) else None,
        "progress_gif": out / "progress.gif",
        "losses_png": out / "losses.png",
        "tensorboard": out / "tensorboard",
    }
    return {k: v for k, v in found.items() if v is not None and v.exists()}


def sample(
    checkpoint: str = typer.Option(..., "--checkpoint", "-c", help="Checkpoint directory or pretrained:NAME."),
    label: Optional[str] = typer.Option(None, "--label", help="Class name or index, as the model names its classes: sneaker or 7 for the shipped models, gown for a model of your folder (conditional models only)."),
    colour: Optional[str] = typer.Option(None, "--colour", help="Colour name, e.g. burgundy, or auto (models that take a colour; see `fashiongan models`)."),
    attr: Optional[list[str]] = typer.Option(None, "--attr", help="NAME=VALUE, repeatable, e.g. --attr category=dress --attr colour=navy (models conditioned on attributes, the cVAEs); attributes not named are drawn from the data."),
    interpolate: Optional[int] = typer.Option(None, "--interpolate", metavar="STEPS", help="VAEs: n walks of STEPS images between two draws, a grid with a walk per row (--attr holds at both ends)."),
    reconstruct: bool = typer.Option(False, "--reconstruct", help="VAEs: n random test items over their reconstructions, as a grid."),
    n: int = typer.Option(6, "--n", help="How many images."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Flow models: ODE steps [default: the checkpoint's]; fewer is faster."),
    guidance: Optional[float] = typer.Option(None, "--guidance", help="Flow models: classifier-free guidance scale (1: none) [default: the checkpoint's]."),
    precision: str = typer.Option("float32", "--precision", help="float32, or bfloat16: the same images to within a grey level, 1.25x as fast for pretrained:acgan-narrow on a CPU with AVX-512 BF16."),
    size: Optional[int] = typer.Option(None, "--size", help="Pixel size of each image as shown [default: twice the model's, 56 for 28-px models]. Multiples of the model's size scale by nearest neighbour (crisp pixels), others bicubically."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same images."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write one grid PNG here."),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="Write one PNG per image into this folder."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Draw new images from a generator checkpoint, as a grid (--out) or one file per image (--out-dir);
    colour generators write RGB."""
    from fashiongan import sampling
    from fashiongan.viz import save_grid

    if out is None and out_dir is None:
        raise FashionGANError("say where to write: --out FILE.png (a grid) or --out-dir DIR (one PNG per image)")
    if n < 1:
        raise FashionGANError(f"--n must be at least 1, got {n}")
    if size is not None and not MIN_SIZE <= size <= MAX_SIZE:
        raise FashionGANError(f"--size must lie in {MIN_SIZE}-{MAX_SIZE} pixels, got {size}")
    if n > sampling.MAX_SAMPLES:
        err_console.print(f"note: --n {n} is more than {sampling.MAX_SAMPLES}; writing {sampling.MAX_SAMPLES} images",
                          highlight=False)
        n = sampling.MAX_SAMPLES
    if interpolate is not None or reconstruct:
        if precision != "float32":
            raise FashionGANError("--precision sets how new images are drawn; --interpolate and --reconstruct run in float32")
        from fashiongan.cli.vae import latent_grid

        latent_grid(checkpoint, n, attr or [], interpolate, reconstruct, size, seed, out, out_dir, as_json)
        return
    drawn = sampling.sample(checkpoint, n=n, label=label, seed=seed, device=device, colour=colour, attributes=attr or None,
                            steps=steps, guidance=guidance, precision=precision)
    images, names, colours = drawn.images, drawn.label_names, drawn.colour_names
    size = 2 * images.shape[1] if size is None else size
    shown = sampling.resize(images, size)
    written: dict[str, Any] = {"n": n, "size": size, "seed": seed, "labels": names, "colours": colours}
    if out is not None:
        cycled = label is None and names is not None and not attr  # classes in turn: one class per column (and a colour per row)
        nrow = min(n, len(drawn.classes)) if cycled else max(min(n, 10), math.ceil(math.sqrt(n)))
        path = save_grid(shown, out, nrow=nrow, scale=1)
        written["out"] = str(path)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        files = []
        for i, image in enumerate(shown):
            tags = ([] if names is None else [names[i]]) + ([] if colours is None else [colours[i]])
            tag = "".join("-" + t.lower().replace("/", "-").replace(" ", "-") for t in tags)
            files.append(out_dir / f"{i:05d}{tag}.png")
            Image.fromarray(image).save(files[-1], format="PNG")
        written["out_dir"] = str(out_dir)
        written["files"] = [str(p) for p in files]
    if as_json:
        print_json(written)
        return
    what = f"{n} {'RGB ' if images.ndim == 4 else ''}image{'s' if n > 1 else ''}" + (f" of {names[0]}" if label is not None else "")
    what += f" in {colours[0]}" if colour is not None and len(set(colours)) == 1 else ""
    what += f" ({', '.join(attr)})" if attr else ""
    for key in ("out", "out_dir"):
        if key in written:
            console.print(f"wrote {what} ({size}x{size} px each) to {escape(written[key])}", soft_wrap=True, highlight=False)
