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
@ro.with_read_options
def info_cmd(
    file: Annotated[str, typer.Argument(help="Bar or tick file (CSV/Parquet), or a sample name such as spy-1m.")],
    instrument: Annotated[Optional[str], typer.Option(help="Instrument whose sessions to use (default: the sample's, else config data.instrument).")] = None,
    repairs: Annotated[int, typer.Option(help="Also list up to this many repaired rows.")] = 0,
    read: ro.ReadOptions = ro.ReadOptions(),
) -> None:
    """Summarise a bar or tick file: range, rows, sessions, gaps and flaws.

    Bar files are read with repair on, so fixable flaws (duplicates, order, high/low not
    covering open/close) are counted; unfixable ones stop with an error naming the row.

    Example: algospace data info spy-1m
    """
    from algospace.data.info import describe

    info = describe(file, instrument, **read.kwargs())
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
@ro.with_read_options
def bars_cmd(
    data: Annotated[str, typer.Option("--data", help="Tick or bar file (CSV/Parquet) or a sample name (spy-1m, es-ticks).")],
    minutes: Annotated[int, typer.Option(help="Bar size in whole minutes.")] = 30,
    instrument: Annotated[Optional[str], typer.Option(help="Instrument whose sessions align the bars (default: the sample's, else config data.instrument).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output Parquet file.")] = Path("bars.parquet"),
    fill_gaps: Annotated[bool, typer.Option(help="Fill missing bars inside a session with the last close and zero volume (flagged in a 'filled' column).")] = False,
    heikin_ashi: Annotated[bool, typer.Option("--heikin-ashi", help="Write Heikin-Ashi candles instead of plain bars.")] = False,
    read: ro.ReadOptions = ro.ReadOptions(),
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
        frame = load_data(data, **read.kwargs())
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


@app.command("continuous")
@ro.with_read_options
def continuous_cmd(
    files: Annotated[list[Path], typer.Argument(help="Per-expiry contract files (bars or ticks), in any order.")],
    out: Annotated[Path, typer.Option("--out", help="Output Parquet file; the rolls go beside it as OUT-stem.rolls.csv.")],
    roll: Annotated[str, typer.Option("--roll", help="volume (the day after the next contract trades more) or calendar (--roll-days before expiry).")] = "volume",
    adjust: Annotated[str, typer.Option("--adjust", help="difference (add the roll gaps to earlier prices), ratio (multiply) or none.")] = "difference",
    roll_days: Annotated[int, typer.Option("--roll-days", help="Calendar roll: days before the front contract's last trade date.")] = 8,
    instrument: Annotated[Optional[str], typer.Option(help="Instrument whose calendar gives the trade dates (default: config data.instrument).")] = None,
    read: ro.ReadOptions = ro.ReadOptions(),
) -> None:
    """Build one continuous futures series from per-expiry contract files.

    Contracts are ordered by expiry (their last timestamp). Each roll happens at a session open;
    earlier prices are back-adjusted so the last contract's prices stay real. The rolls table
    (dates, contracts, the two closes, the adjustment) is written beside the series.

    Example: algospace data continuous ESH19.txt ESM19.txt ESU19.txt --roll volume --adjust difference --out es_cont.parquet
    """
    from algospace.data.continuous_futures import continuous, rolls_path
    from algospace.io import atomic_write_text

    if out.suffix.lower() not in (".parquet", ".pq"):
        raise InputError(f"--out must end in .parquet; received {out}.")
    series, rolls = continuous(files, roll=roll, adjust=adjust, roll_days=roll_days, instrument=instrument,
                               **read.kwargs())
    atomic_write_parquet(out, series)
    atomic_write_text(rolls_path(out), rolls.to_csv(index=False))
    typer.echo(f"wrote {len(series):,} rows ({series.attrs['kind']}) {series.index[0]} .. {series.index[-1]} from "
               f"{len(files)} contracts to {out}; {len(rolls)} rolls ({roll}, {adjust}) to {rolls_path(out)}")
    for r in rolls.itertuples():
        typer.echo(f"  {r.trade_date}: {r.from_contract} -> {r.to_contract}  {r.old_close:g} -> {r.new_close:g}  ({r.reason})")
