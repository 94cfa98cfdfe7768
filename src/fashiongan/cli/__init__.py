"""The `fashiongan` command: a thin shell over library calls, one module per command group."""

from __future__ import annotations

import typer
from rich.markup import escape
from typer.core import TyperGroup

from fashiongan.cli import classify, data, evaluate, export, generate
from fashiongan.cli import attributes
from fashiongan.cli import colorize
from fashiongan.cli import restyle
from fashiongan.cli import lookbook, serve
from fashiongan.cli.common import err_console
from fashiongan.errors import FashionGANError


class _FriendlyErrors(TyperGroup):
    """Turn user errors into one line on stderr and exit code 1; tracebacks stay for bugs."""

    def invoke(self, ctx):  # noqa: ANN001 - click's signature
        try:
            return super().invoke(ctx)
        except FashionGANError as exc:
            err_console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_FriendlyErrors,
    help="Classify, generate, colorize and restyle fashion imagery.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data")
app.command("models")(generate.models)
app.command("train")(generate.train)
app.command("sample")(generate.sample)
app.add_typer(classify.app, name="classify")
app.add_typer(attributes.app, name="attributes")
app.command("robustness")(classify.robustness)
evaluate.register(app)
app.command("export")(export.export)
app.command("colorize")(colorize.colorize)
app.command("restyle")(restyle.restyle)
app.command("lookbook")(lookbook.lookbook)
app.command("serve")(serve.serve)


def main() -> None:
    app()
