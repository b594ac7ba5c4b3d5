"""`algospace features ...`: build the 155 regime features for a bar file, describe them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from algospace.cli import read_options as ro
from algospace.config import TRAIN_SHARE
from algospace.errors import InputError
from algospace.io import atomic_write_parquet

app = typer.Typer(
    help="Regime features: build the 155 MMD regime features, describe them.\n\n"
    "Example: algospace features build --data spy-1m --out runs/features.parquet",
    no_args_is_help=True,
)



def _check_enough_bars(bars: pd.DataFrame, data: str, n_fit: int | None, min_fit: int) -> None:
    """Say plainly when the data is too short, before any work: how many 30-minute bars it gave,
    how many fitting / one feature row need, and what to pass instead."""
    from algospace.features.regime import LOOKBACK

    inst = bars.attrs.get("instrument", "?")
    span = f"{bars.index[0]} .. {bars.index[-1]}" if len(bars) else "no bars"
    got = f"--data {data} gives {len(bars)} 30-minute bars ({inst} sessions, {span})"
    if n_fit is not None and n_fit < min_fit:
        raise InputError(
            f"{got}; fitting the feature spec needs at least {min_fit} training bars (FeatureParams.min_fit_bars) and "
            f"the training part has {n_fit}. Pass a longer history (the default 70% split needs at least "
            f"{math.ceil(min_fit / TRAIN_SHARE)} 30-minute bars), or --spec with a spec fitted on other data "
            f"(then at least {LOOKBACK} bars)."
        )
    if len(bars) < LOOKBACK:
        raise InputError(
            f"{got}; every feature row reads {LOOKBACK} bars (the lookback), so no row can be built. "
            f"Pass at least {LOOKBACK} 30-minute bars."
        )


def _fit_mask(index: pd.DatetimeIndex, fit_until: str | None) -> tuple[pd.Series | slice, str]:
    if fit_until is None:
        n = int(len(index) * TRAIN_SHARE)
        return slice(0, n), f"first {TRAIN_SHARE:.0%} of bars (until {index[n - 1]})"
    try:
        ts = pd.Timestamp(fit_until)
    except ValueError as exc:
        raise InputError(f"--fit-until expects a date or timestamp like 2018-12-31; received {fit_until!r}.") from exc
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if len(fit_until.strip()) <= 10:  # a bare date includes the whole day
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return index <= ts, f"bars until {ts}"


def _write_parquet(frame: pd.DataFrame, path: Path, fingerprint: str) -> None:
    """Write features atomically with the spec fingerprint in the Parquet metadata."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=True)
    meta = dict(table.schema.metadata or {})
    meta[b"algospace.feature_spec_fingerprint"] = fingerprint.encode()
    table = table.replace_schema_metadata(meta)
    atomic_write_parquet(path, table)


@app.command("build")
@ro.with_read_options
def build(
    data: Annotated[str, typer.Option("--data", help="Tick or bar file (CSV/Parquet; ticks, 1-, 5- or 30-minute bars) or a sample name (spy-1m, es-ticks).")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write: one row per 30-minute bar, 155 columns.")],
    spec: Annotated[Optional[Path], typer.Option("--spec", help="A fitted spec (JSON) to use instead of fitting.")] = None,
    fit_until: Annotated[
        Optional[str], typer.Option("--fit-until", help="Fit on bars up to this date (UTC); default: first 70% of bars.")
    ] = None,
    save_spec: Annotated[
        Optional[Path], typer.Option("--save-spec", help="Where to save the fitted spec; default: OUT with .spec.json.")
    ] = None,
    instrument: Annotated[
        Optional[str],
        typer.Option("--instrument", help="Instrument whose sessions align the 30-minute bars (default: the sample's, else config data.instrument)."),
    ] = None,
    version: Annotated[
        int, typer.Option("--version", min=1, max=2, help="Feature spec version when fitting: 1, or 2 (also reads the 1-minute bars; needs 1-minute bars or ticks).")
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    read: ro.ReadOptions = ro.ReadOptions(),
) -> None:
    """Build the 155 regime features for every 30-minute bar after the warm-up.

    Ticks and finer bars are aggregated to 30-minute bars aligned to the instrument's sessions
    (--instrument; default the data's own instrument, e.g. ES for es-ticks, else the config's data.instrument).
    Without --spec, a spec is fitted on training bars only (--fit-until; default the first 70%) and saved.
    With --spec, that fitted spec is used as is (never refitted).
    The Parquet metadata records the spec fingerprint.

    Example: algospace features build --data spy-1m --out runs/features.parquet --fit-until 2018-12-31 --version 2
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from algospace.data import load_data, resolve_instrument, session_bars
    from algospace.features import FeatureSpec
    from algospace.features.regime.inputs import minute_bars_for

    if spec is not None and fit_until is not None:
        raise InputError("--spec uses an already fitted spec; --fit-until only applies when fitting. Pass one of them.")
    if out.suffix.lower() != ".parquet":
        raise InputError(f"--out must be a Parquet file ending in .parquet; received {out}. Example: --out runs/features.parquet")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=quiet, transient=True) as progress:
        task = progress.add_task("loading bars", total=None)
        frame = load_data(data, **read.kwargs())
        inst = resolve_instrument(instrument, frame)
        bars = session_bars(frame, 30, inst)
        minutes = None  # the 1-minute bars, read by a version-2 spec only
        if spec is not None:
            fitted = FeatureSpec.load(spec)
            _check_enough_bars(bars, data, None, fitted.params.min_fit_bars)
            note = f"spec {spec}"
        else:
            if len(bars) == 0:
                _check_enough_bars(bars, data, 0, FeatureSpec.default().params.min_fit_bars)
            mask, what = _fit_mask(bars.index, fit_until)
            n_fit = len(range(len(bars))[mask]) if isinstance(mask, slice) else int(mask.sum())
            _check_enough_bars(bars, data, n_fit, FeatureSpec.default().params.min_fit_bars)
            progress.update(task, description=f"fitting on {what}")
            fitted = FeatureSpec.default(version)
            minutes = minute_bars_for(frame, inst) if fitted.needs_minute_bars else None
            fitted.fit(bars.loc[mask] if not isinstance(mask, slice) else bars.iloc[mask], minute_bars=minutes)
            spec_path = save_spec if save_spec is not None else out.with_suffix(".spec.json")
            fitted.save(spec_path)
            note = f"fitted on {what}; spec saved to {spec_path}"
        progress.update(task, description="computing features", total=len(bars) - fitted.warmup, completed=0)
        if fitted.needs_minute_bars and minutes is None:
            minutes = minute_bars_for(frame, inst)
        feats = fitted.transform(bars, progress=lambda done, total: progress.update(task, completed=done), minute_bars=minutes)
        progress.update(task, description="writing")
        _write_parquet(feats, out, fitted.fingerprint)
    typer.echo(
        f"{len(feats):,} rows x {fitted.width} features from {bars.attrs.get('instrument', '?')} 30-minute bars "
        f"({feats.index[0]} .. {feats.index[-1]}) -> {out}\n"
        f"  {note}\n  fingerprint {fitted.fingerprint}"
    )


@app.command("describe")
def describe(
    spec: Annotated[Optional[Path], typer.Option("--spec", help="A fitted spec (JSON); default: the default spec.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table instead of a terminal table.")] = False,
    version: Annotated[int, typer.Option("--version", min=1, max=2, help="Feature spec version to describe (without --spec).")] = 1,
) -> None:
    """Print the feature table: name, group, window, formula and why it helps tell regimes apart.

    With --spec, also shows the spec's fingerprint and training range.

    Example: algospace features describe --markdown > features-table.md
    """
    from rich.console import Console
    from rich.table import Table

    from algospace.features import FeatureSpec

    fs = FeatureSpec.load(spec) if spec is not None else FeatureSpec.default(version)
    header = f"FeatureSpec version {fs.version}: {fs.width} features, warm-up {fs.warmup} bars"
    if fs.is_fitted:
        st = fs.state_
        header += f"; fitted on {st.fit_bars} bars {st.fit_start} .. {st.fit_end}; fingerprint {fs.fingerprint}"
    if markdown:
        lines = [header, "", "| # | name | group | window | formula | why it separates regimes |", "|---|---|---|---|---|---|"]
        def cell(text: str) -> str:
            return text.replace("|", "\\|")  # a bare pipe would end the Markdown cell

        for i, info in enumerate(fs.info):
            lines.append(f"| {i} | `{info.name}` | {info.group} | {info.window} | {cell(info.formula)} | {cell(info.why)} |")
        typer.echo("\n".join(lines))
        return
    table = Table(title=header, show_lines=False)
    for col in ("#", "name", "group", "window", "formula", "why"):
        table.add_column(col, overflow="fold")
    for i, info in enumerate(fs.info):
        table.add_row(str(i), info.name, info.group, str(info.window), info.formula, info.why)
    Console(width=200).print(table)
