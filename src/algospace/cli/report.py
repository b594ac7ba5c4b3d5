"""`algospace report`: rebuild a run's HTML page from its saved outputs (no retraining)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def report_cmd(
    run: Annotated[Path, typer.Option("--run", help="Run directory: models/, backtest/, baselines/, check.json, regimes.parquet.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="HTML file to write (default RUN/report.html).")] = None,
    data: Annotated[Optional[str], typer.Option("--data", help="Bars the regimes were inferred on (default: the backtest's data).")] = None,
) -> None:
    """Write one self-contained HTML page of a run: regimes over the price, regime map, equity and
    drawdown against the baselines, trades, readiness, training curves and data provenance.

    Figures are embedded; the page fetches nothing. A section whose inputs are missing says
    which command makes them (docs/report.md).

    Example: algospace report --run runs/demo
    """
    from algospace.report import build_report

    path = build_report(run, out, data=data)
    typer.echo(f"report written: {path}")


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
