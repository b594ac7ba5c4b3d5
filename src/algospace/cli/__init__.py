"""The `algospace` command line: one typer sub-app per area, joined here."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from algospace import __version__
from algospace.cli import check as check_cli
from algospace.cli import data as data_cli
from algospace.cli import demo as demo_cli
from algospace.cli import features as features_cli
from algospace.cli import infer as infer_cli
from algospace.cli import models as models_cli
from algospace.cli import report as report_cli
from algospace.cli import eval as eval_cli
from algospace.cli import runtime as runtime_cli
from algospace.cli import train as train_cli
from algospace.config import load_config, set_config
from algospace.cli.contract import DEBUG_ENV, run

app = typer.Typer(
    name="algospace",
    help="algospace: regime detection, risk management and a decision core for ES/MES futures.\n\n"
    "Example: algospace data samples",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_cli.app, name="data")
app.add_typer(features_cli.app, name="features")
app.add_typer(models_cli.app, name="models")
app.add_typer(train_cli.app, name="train")
app.add_typer(eval_cli.app, name="eval")
app.add_typer(infer_cli.app, name="infer")
demo_cli.register(app)
check_cli.register(app)
runtime_cli.register(app)
report_cli.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"algospace {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="YAML configuration file (see README).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """algospace command line."""
    if debug:
        os.environ[DEBUG_ENV] = "1"
    set_config(load_config(config))


def main(argv: list[str] | None = None) -> None:
    """Console entry point under the exit contract of `cli.contract` (0 ok, 1 error, 2 usage):
    every error is one line on stderr; --debug shows the traceback."""
    sys.exit(run(app, argv))
