"""`fashiongan serve`: the web app (API + one page) on the shipped weights, on this machine only by default."""

from __future__ import annotations

import typer

from fashiongan.cli.common import console
from fashiongan.errors import FashionGANError


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; 0.0.0.0 exposes the app to your network."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    threads: int = typer.Option(1, "--threads", help="PyTorch threads per request; requests already run in parallel."),
) -> None:
    """Serve the web app: generate, colorize, restyle, classify (with FGSM) and build lookbooks in a browser."""
    import torch
    import uvicorn

    from fashiongan.serve import create_app

    if not 0 < port < 65536:
        raise FashionGANError(f"--port must lie in 1-65535, got {port}")
    if threads < 1:
        raise FashionGANError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    app = create_app()
    console.print(f"fashiongan at http://{host}:{port}/ (API docs at /docs); Ctrl+C stops it", highlight=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except OSError as exc:
        raise FashionGANError(f"cannot serve on {host}:{port} ({exc.strerror or exc})") from None
