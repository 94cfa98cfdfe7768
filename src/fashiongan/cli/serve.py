"""`fashiongan serve`: the web app (API + one page) on the shipped weights and your own generators, on this
machine only by default."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fashiongan.cli.common import console, err_console
from fashiongan.errors import FashionGANError


def served(models: list[str]) -> dict[str, str]:
    """``--model`` values as name -> checkpoint directory: NAME=RUN, or RUN named by its folder."""
    found = {}
    for text in models:
        name, sep, source = text.partition("=")
        name, source = (name.strip(), source.strip()) if sep else (Path(text).name, text)
        if not name or not source:
            raise FashionGANError(f"--model {text!r} should be RUN or NAME=RUN")
        if not Path(source).is_dir():
            raise FashionGANError(f"--model {text!r}: {source} is not a checkpoint directory")
        found[name] = source
    return found


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; 0.0.0.0 exposes the app to your network."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    threads: int = typer.Option(1, "--threads", help="PyTorch threads per request; requests already run in parallel."),
    model: Optional[list[str]] = typer.Option(None, "--model", help="Offer your generator beside the shipped ones: RUN (named by its folder) or NAME=RUN; repeatable."),
    judge: Optional[str] = typer.Option(None, "--judge", help="Make the Lookbook tab's outfits with the first --model, keeping the items this classifier of its classes is sure of (needs --rules naming its classes)."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Outfit rules for the Lookbook tab (with --judge: slots and outfits naming your model's classes)."),
    quiet: bool = typer.Option(False, "--quiet", help="No access log (one line per request on stderr: method, path, status, time)."),
) -> None:
    """Serve the web app: generate, colorize, restyle, classify (with FGSM) and build lookbooks in a browser."""
    import torch
    import uvicorn

    from fashiongan.lookbook import detect, load_rules
    from fashiongan.serve import create_app

    if not 0 < port < 65536:
        raise FashionGANError(f"--port must lie in 1-65535, got {port}")
    if threads < 1:
        raise FashionGANError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    log = None if quiet else (lambda line: err_console.print(line, highlight=False, soft_wrap=True, markup=False))
    yours = served(model or [])
    capabilities = detect().with_generators(yours)
    if judge is not None:
        if not yours:
            raise FashionGANError("--judge judges the items of your generator: give it with --model NAME=RUN")
        capabilities = capabilities.for_outfits(next(iter(yours.values())), judge)
    app = create_app(capabilities, log=log, rules=load_rules(rules, capabilities.generator.conditions.classes))
    console.print(f"fashiongan at http://{host}:{port}/ (API docs at /docs); Ctrl+C stops it", highlight=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except OSError as exc:
        raise FashionGANError(f"cannot serve on {host}:{port} ({exc.strerror or exc})") from None
