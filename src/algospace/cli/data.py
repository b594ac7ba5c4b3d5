"""`algospace data ...`: bundled samples, file summaries, bar building."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from algospace.cli import read_options as ro
from algospace.errors import DataError, InputError
from algospace.io import atomic_write_parquet

app = typer.Typer(help="Market data: bundled samples, file summaries.\n\nExample: algospace data samples", no_args_is_help=True)


def _console() -> Console:
    return Console(soft_wrap=True)


@app.command("samples")
def samples_cmd() -> None:
    """List the bundled real data samples.

    Shows name, kind, rows, UTC range, source package/file and licence of each sample; load
    one in Python with algospace.data.sample(NAME) or pass NAME wherever a data file goes.

    Example: algospace data samples
    """
    from algospace.data import samples

    console = _console()
    table = Table(title="bundled samples")
    for col in ("name", "kind", "instrument", "rows", "range (UTC)", "licence"):
        table.add_column(col, no_wrap=col != "range (UTC)")
    for s in samples():
        span = f"{s.start:%Y-%m-%d %H:%M} .. {s.end:%Y-%m-%d %H:%M}"
        table.add_row(s.name, s.kind, s.instrument, f"{s.rows:,}", span, s.licence)
    console.print(table)
    for s in samples():
        console.print(f"{s.name}: {s.description}. Source: {s.source}.")


@app.command("info")
def info_cmd(
    file: Annotated[str, typer.Argument(help="Bar or tick file (CSV/Parquet), or a sample name such as spy-1m.")],
    instrument: Annotated[Optional[str], typer.Option(help="Instrument whose sessions to use (default: the sample's, else config data.instrument).")] = None,
    repairs: Annotated[int, typer.Option(help="Also list up to this many repaired rows.")] = 0,
    format: ro.Format = "auto",
    time_column: ro.TimeColumn = None,
    timezone: ro.Timezone = None,
    dayfirst: ro.Dayfirst = None,
) -> None:
    """Summarise a bar or tick file: range, rows, sessions, gaps and flaws.

    Bar files are read with repair on, so fixable flaws (duplicates, order, high/low not
    covering open/close) are counted; unfixable ones stop with an error naming the row.

    Example: algospace data info spy-1m
    """
    from algospace.data.info import describe

    info = describe(file, instrument, **ro.read_options(format, time_column, timezone, dayfirst))
    table = Table(title=f"data info: {file}", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value")
    for k, v in info.lines():
        table.add_row(k, v)
    console = _console()
    console.print(table)
    if repairs > 0 and info.repair_report is not None and info.repair_report.changed:
        console.print(info.repair_report.to_frame().head(repairs).to_string(index=False))


@app.command("bars")
def bars_cmd(
    data: Annotated[str, typer.Option("--data", help="Tick or bar file (CSV/Parquet) or a sample name (spy-1m, es-ticks).")],
    minutes: Annotated[int, typer.Option(help="Bar size in whole minutes.")] = 30,
    instrument: Annotated[Optional[str], typer.Option(help="Instrument whose sessions align the bars (default: the sample's, else config data.instrument).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output Parquet file.")] = Path("bars.parquet"),
    fill_gaps: Annotated[bool, typer.Option(help="Fill missing bars inside a session with the last close and zero volume (flagged in a 'filled' column).")] = False,
    heikin_ashi: Annotated[bool, typer.Option("--heikin-ashi", help="Write Heikin-Ashi candles instead of plain bars.")] = False,
    format: ro.Format = "auto",
    time_column: ro.TimeColumn = None,
    timezone: ro.Timezone = None,
    dayfirst: ro.Dayfirst = None,
) -> None:
    """Build session-aligned time bars from ticks or finer bars and write them to Parquet.

    Bars open at the session open plus multiples of --minutes, never span a session break,
    and are labelled by their open time; input outside sessions is dropped and counted.

    Example: algospace data bars --data spy-1m --minutes 30 --instrument SPY --out spy_30m.parquet
    """
    from algospace.data import heikin_ashi as ha_fn
    from algospace.data import load_data, make_bars

    if out.suffix.lower() not in (".parquet", ".pq"):
        raise InputError(f"--out must end in .parquet; received {out}.")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as progress:
        task = progress.add_task(f"loading {data}", total=3)
        frame = load_data(data, **ro.read_options(format, time_column, timezone, dayfirst))
        progress.update(task, advance=1, description=f"building {minutes}-minute bars")
        bars = make_bars(frame, minutes, instrument, fill_gaps=fill_gaps)
        if len(bars) == 0:
            raise DataError(f"{data}: no bars inside the sessions of {bars.attrs['instrument']}; check --instrument.")
        if heikin_ashi:
            extra = bars[["filled"]] if "filled" in bars.columns else None
            attrs = dict(bars.attrs)
            bars = ha_fn(bars)
            if extra is not None:
                bars["filled"] = extra["filled"]
            bars.attrs = attrs
        progress.update(task, advance=1, description=f"writing {out}")
        atomic_write_parquet(out, bars)
        progress.update(task, advance=1)
    typer.echo(
        f"wrote {len(bars):,} {minutes}-minute {'Heikin-Ashi ' if heikin_ashi else ''}bars "
        f"({bars.attrs['instrument']}) {bars.index[0]} .. {bars.index[-1]} to {out}; "
        f"dropped {bars.attrs['dropped_outside_session']:,} input rows outside sessions"
    )
