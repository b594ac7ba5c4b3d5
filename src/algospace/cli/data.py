"""`algospace data ...`: bundled samples and bar-file summaries."""

from __future__ import annotations

import typer

app = typer.Typer(help="Market data: bundled samples, file summaries.\n\nExample: algospace data samples", no_args_is_help=True)
