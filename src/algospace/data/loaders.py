"""Read bar and tick files (CSV or Parquet) into the bars/ticks contracts, failing loudly.

Layouts (NinjaTrader, TradingView, Sierra Chart, MetaTrader, IB, Databento, yfinance, plain) are
detected or named by `format` (`algospace.data.formats`); dotted/slashed/compact dates are read
by `formats.parse_date_layout`, day-first or month-first decided by the whole column or `dayfirst`.

Timestamps (plain layout): a column named `timestamp_column` (default from the config, "timestamp"; a
Parquet file whose index carries that name works too). Strings with a UTC offset ("...-05:00",
"...Z") are converted to UTC; naive strings or naive datetimes are local time in `timezone`
(default from the config, "UTC"); integers, as numbers (Parquet) or as CSV cells of plain digits,
are epoch times since 1970-01-01 UTC whose unit is read from the column's largest magnitude
(< 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds); 8- or 14-digit
cells that read as YYYYMMDD[HHMMSS] dates are refused as ambiguous. Column names are
matched case-insensitively. Every rule broken raises DataError naming the file, the first
offending row (0-based data row; CSV messages add the file line) and column, and the rule.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS, RepairReport, check_bars
from algospace.data.bounds import DEFAULT_BOUNDS, Bounds, bounds_of
from algospace.data.timezones import check_timezone
from algospace.data.formats import TICKS, Table, parse_date_layout, read_table, shift_close_stamps
from algospace.errors import DataError, InputError

log = logging.getLogger(__name__)

_OFFSET_RE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_EPOCH_RE = r"[+-]?\d+"  # a whole CSV cell of digits: an epoch time, not a date
TICKS_COLUMNS: tuple[str, ...] = TICKS  # the one ticks column list (formats.TICKS)
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")  # pandas decompresses these CSVs by suffix


def _defaults(timestamp_column: str | None, timezone: str | None) -> tuple[str, str]:
    from algospace.config import get_config

    cfg = get_config().data
    tz = timezone or cfg.timezone
    try:
        check_timezone(tz)  # refused even when every timestamp carries its own offset
    except ValueError as exc:
        raise InputError(f"timezone={tz!r}: {exc}.") from exc
    return timestamp_column or cfg.timestamp_column, tz


def _read_table(path: str | Path) -> tuple[pd.DataFrame, str, int | None]:
    """The raw frame, its display name and the CSV line offset (None for Parquet)."""
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"Expected a file path (str or pathlib.Path) to a CSV or Parquet file; received {type(path).__name__} {path!r}.")
    p = Path(path)
    name = str(p)
    if p.is_dir():
        raise DataError(f"{name}: is a directory; expected a CSV or Parquet file (pass the file inside it).")
    if not p.is_file():
        what = "not a regular file (a FIFO, socket or device)" if p.exists() else "file not found"
        raise DataError(f"{name}: {what}; expected an existing CSV or Parquet file.")
    suffixes = [s.lower() for s in p.suffixes]
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise DataError(f"{name}: not a readable Parquet file ({type(exc).__name__}: {exc}).") from exc
        if isinstance(frame.index, pd.DatetimeIndex) or (frame.index.name is not None):
            frame = frame.reset_index()
        return frame, name, None
    if ".csv" in suffixes or ".txt" in suffixes:
        if p.stat().st_size == 0:
            raise DataError(f"{name}: empty file (0 bytes); expected a header line and at least one row.")
        if head.startswith(b"PAR1"):
            raise DataError(f"{name}: is a Parquet file (it starts with the Parquet magic bytes PAR1), named {p.suffix}; rename it to .parquet.")
        if suffixes[-1] not in _COMPRESSED and b"\x00" in head:
            what = "holds only NUL bytes" if not head.strip(b"\x00") else "is binary (it holds NUL bytes)"
            raise DataError(f"{name}: {what}, not CSV text; expected a header line and rows of comma-separated values.")
        try:
            frame = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"{name}: not a readable CSV file ({type(exc).__name__}: {exc}).") from exc
        return frame, name, 2
    raise DataError(f"{name}: unknown file type {p.suffix!r}; expected .csv (optionally .csv.gz) or .parquet.")


def _where(name: str, row: int, line_offset: int | None) -> str:
    return f"{name}: row {row}" + (f" (file line {row + line_offset})" if line_offset is not None else "")


def _numbers(col: pd.Series, column: str, name: str, line_offset: int | None) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    num = pd.to_numeric(col, errors="coerce")
    nan_text = col.astype("string").str.strip().str.lower().isin(["nan", "+nan", "-nan"]).fillna(False).to_numpy(dtype=bool)
    bad = np.flatnonzero(num.isna().to_numpy() & col.notna().to_numpy() & ~nan_text)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{_where(name, i, line_offset)}, column '{column}': {col.iloc[i]!r} is not a number "
            f"({bad.size} such rows); expected a decimal number."
        )
    return num.to_numpy(dtype=np.float64, na_value=np.nan)


def parse_timestamps(
    col: pd.Series, timezone: str, name: str, column: str, line_offset: int | None = None, *,
    dayfirst: bool | None = None, compact_dates: bool = False,
) -> pd.DatetimeIndex:
    """Parse a timestamp column to a UTC DatetimeIndex (ns); DataError names the first bad row.

    Dotted/slashed/compact date layouts go through `formats.parse_date_layout` (never guessed;
    `dayfirst` settles dd/mm vs mm/dd when the column cannot)."""
    def fail(i: int, why: str) -> DataError:
        return DataError(f"{_where(name, i, line_offset)}, column '{column}': {why}")

    if len(col) == 0:
        return pd.DatetimeIndex([], tz="UTC", name="timestamp").as_unit("ns")
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col.dtype):
        idx = pd.DatetimeIndex(col)
        nat = np.flatnonzero(idx.isna())
        if nat.size:
            raise fail(int(nat[0]), f"missing timestamp (NaT) ({nat.size} such rows); every row needs a time.")
        idx = idx.tz_convert("UTC") if idx.tz is not None else _localize(idx, timezone, name, column, line_offset)
        return _as_ns(idx, fail)
    if pd.api.types.is_integer_dtype(col.dtype):
        nat = np.flatnonzero(col.isna().to_numpy())
        if nat.size:
            raise fail(int(nat[0]), f"missing timestamp ({nat.size} such rows); every row needs a time.")
        return _epoch_index(col.to_numpy(dtype=np.int64), fail)
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        vals = col.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(vals) | (vals != np.round(vals)) | (np.abs(vals) >= 2.0**63))
        if bad.size:
            raise fail(int(bad[0]), f"{col.iloc[int(bad[0])]!r} is not a whole-number epoch time.")
        return _epoch_index(vals.astype(np.int64), fail)
    text = col.astype("string").str.strip()
    missing = np.flatnonzero(text.isna().to_numpy() | (text == "").fillna(True).to_numpy())
    if missing.size:
        raise fail(int(missing[0]), f"missing timestamp ({missing.size} such rows); every row needs a time.")
    layout = parse_date_layout(text, dayfirst, fail, compact=compact_dates)
    if layout is not None:
        return _localize(layout[0], layout[1] or timezone, name, column, line_offset).as_unit("ns").rename("timestamp")
    digits = text.str.fullmatch(_EPOCH_RE).to_numpy(dtype=bool)
    if digits.any():
        if not digits.all():
            i = int(np.flatnonzero(digits != digits[0])[0])
            raise fail(
                i,
                f"{text.iloc[i]!r} {'is' if digits[i] else 'is not'} an integer epoch time while row 0 ({text.iloc[0]!r}) "
                f"{'is' if digits[0] else 'is not'}; use one convention for the whole column.",
            )
        _refuse_compact_dates(text, fail)
        try:
            ints = text.astype("int64").to_numpy()
        except (OverflowError, ValueError) as exc:
            big = np.flatnonzero(text.str.lstrip("+-").str.len().to_numpy() > 18)
            raise fail(int(big[0]) if big.size else 0, f"epoch time out of range ({exc}).") from exc
        return _epoch_index(ints, fail)
    has_off = text.str.contains(_OFFSET_RE).to_numpy(dtype=bool)
    if has_off.any() and not has_off.all():
        i = int(np.flatnonzero(has_off != has_off[0])[0])
        for j in (0, i):  # text that is no date at all is "cannot be parsed", whatever its offset
            if pd.isna(pd.to_datetime(text.iloc[j], errors="coerce", format="mixed")):
                raise fail(j, f"cannot parse {text.iloc[j]!r} as a date-time; expected e.g. 2019-03-01 09:30:00 or 2019-03-01T14:30:00Z.")
        raise fail(
            i,
            f"{text.iloc[i]!r} {'has' if has_off[i] else 'lacks'} a UTC offset while row 0 ({text.iloc[0]!r}) "
            f"{'has' if has_off[0] else 'lacks'} one; use one convention for the whole column.",
        )
    aware = bool(has_off[0])
    parsed = pd.to_datetime(text, errors="coerce", utc=aware, format="ISO8601")
    if parsed.isna().any():
        # Not ISO 8601 everywhere: let pandas infer other layouts row by row (slower, rare).
        retry = pd.to_datetime(text[parsed.isna()], errors="coerce", utc=aware, format="mixed")
        parsed = parsed.copy()
        parsed[retry.index] = retry
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise fail(i, f"cannot parse {text.iloc[i]!r} as a date-time ({bad.size} such rows); expected e.g. 2019-03-01 09:30:00 or 2019-03-01T14:30:00Z.")
    idx = pd.DatetimeIndex(parsed)
    idx = idx.tz_convert("UTC") if aware else _localize(idx, timezone, name, column, line_offset)
    return _as_ns(idx, fail)


_NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _as_ns(idx: pd.DatetimeIndex, fail: Callable[[int, str], DataError]) -> pd.DatetimeIndex:
    """The index in nanoseconds, the unit every frame here uses; a time outside its range
    (1677-09-21 .. 2262-04-11) is a DataError naming the row, not pandas' OutOfBoundsDatetime."""
    factor = _NS_PER_UNIT[idx.unit]
    vals = idx.asi8
    hi, lo = pd.Timestamp.max.value // factor, pd.Timestamp.min.value // factor + 1
    bad = np.flatnonzero((vals > hi) | (vals < lo))
    if bad.size:
        i = int(bad[0])
        raise fail(
            i,
            f"timestamp {idx[i]} lies outside {pd.Timestamp.min:%Y-%m-%d} .. {pd.Timestamp.max:%Y-%m-%d}, the range "
            f"of nanosecond timestamps ({bad.size} such rows); fix or remove those rows.",
        )
    return idx.as_unit("ns").rename("timestamp")


def _refuse_compact_dates(text: pd.Series, fail: Callable[[int, str], DataError]) -> None:
    """Digits such as 20190301 or 20190301093000 are compact dates, not epoch times: as epoch
    seconds/ms they would silently land in 1970-1973. Refuse them instead of guessing."""
    width = text.str.len()
    for n, fmt in ((8, "%Y%m%d"), (14, "%Y%m%d%H%M%S")):
        if (width == n).all() and pd.to_datetime(text, format=fmt, errors="coerce").notna().all():
            raise fail(
                0,
                f"{text.iloc[0]!r} looks like a compact date ({fmt}), not an epoch time; write times as "
                "2019-03-01 09:30:00 (or epoch seconds/milliseconds since 1970-01-01 UTC).",
            )


_EPOCH_UNITS = (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1))


def _epoch_index(ints: np.ndarray, fail: Callable[[int, str], DataError]) -> pd.DatetimeIndex:
    """Integer epoch times -> UTC index; the unit follows from the largest magnitude in the column
    (< 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds)."""
    top = int(np.abs(ints).max()) if len(ints) else 0
    unit, factor = _EPOCH_UNITS[0 if top < 10**11 else 1 if top < 10**14 else 2 if top < 10**17 else 3]
    limit = np.iinfo(np.int64).max // factor  # datetime64[ns] holds 1677-09-21 .. 2262-04-11
    bad = np.flatnonzero(np.abs(ints) > limit)
    if bad.size:
        i = int(bad[0])
        raise fail(
            i,
            f"epoch time {int(ints[i])} read as {unit} (the column's largest value is {top}) lies outside "
            "1677..2262; check the unit (seconds, ms, us or ns since 1970-01-01 UTC).",
        )
    return pd.DatetimeIndex((ints * factor).astype("datetime64[ns]"), name="timestamp").tz_localize("UTC")


def _localize(idx: pd.DatetimeIndex, timezone: str, name: str, column: str, line_offset: int | None) -> pd.DatetimeIndex:
    try:
        return idx.tz_localize(timezone, ambiguous="raise", nonexistent="raise").tz_convert("UTC")
    except Exception as exc:  # pytz/zoneinfo raise several types for DST edges and unknown zones
        # Find the first offending row for the message (only on the error path).
        for i, t in enumerate(idx):
            try:
                pd.Timestamp(t).tz_localize(timezone, ambiguous="raise", nonexistent="raise")
            except Exception:
                raise DataError(
                    f"{_where(name, i, line_offset)}, column '{column}': naive time {t} does not exist or is ambiguous in "
                    f"timezone {timezone!r} ({exc}); store times with a UTC offset or in UTC."
                ) from exc
        raise DataError(f"{name}: cannot localize timestamps to timezone {timezone!r} ({exc}); pass a valid IANA zone.") from exc


@overload
def load_bars(path: str | Path, *, timestamp_column: str | None = ..., timezone: str | None = ..., repair: Literal[False] = ...,
              format: str | None = ..., dayfirst: bool | None = ..., bounds: Bounds | None = ...) -> pd.DataFrame: ...
@overload
def load_bars(path: str | Path, *, timestamp_column: str | None = ..., timezone: str | None = ..., repair: Literal[True],
              format: str | None = ..., dayfirst: bool | None = ..., bounds: Bounds | None = ...) -> tuple[pd.DataFrame, RepairReport]: ...
def load_bars(
    path: str | Path, *, timestamp_column: str | None = None, timezone: str | None = None, repair: bool = False,
    format: str | None = "auto", dayfirst: bool | None = None, bounds: Bounds | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, RepairReport]:
    """Load an OHLCV CSV/Parquet file as contract bars; DataError on any broken rule.

    With `repair=True` returns `(bars, RepairReport)` after dropping exact duplicates, sorting,
    swapping back swapped high/low and widening high/low to cover open/close (see
    `algospace.data.bars`); never invents prices. `bounds`: plausible magnitudes (default
    `algospace.data.bounds.DEFAULT_BOUNDS`; an instrument's are `get_instrument(name).bounds`).
    `format` names the file's layout (`algospace.data.formats.FORMATS`; "auto" detects it) and
    `dayfirst` the order of ambiguous dates such as 02.01.2017 (None: inferred from the whole
    column, refused when it stays ambiguous). `attrs` hold the format and what it changed.

    Example: ``bars = load_bars("spy.csv", timezone="America/New_York")``
    """
    table, index = _read_any(path, "bars", timestamp_column, timezone, format, dayfirst)
    name, line_offset = table.name, table.line_offset
    values = pd.DataFrame({c: _numbers(table.frame[c], c, name, line_offset) for c in BARS_COLUMNS})
    bars, report = check_bars(index, values, name, repair=repair, line_offset=line_offset, bounds=bounds or DEFAULT_BOUNDS)
    bars.attrs.update({"format": table.format, "notes": list(table.notes)})
    return (bars, report) if repair else bars


def _read_any(
    path: str | Path, kind: str, timestamp_column: str | None, timezone: str | None, format: str | None, dayfirst: bool | None
) -> tuple[Table, pd.DatetimeIndex]:
    """Read a file of any layout in `formats.FORMATS` and parse its times (see `formats`)."""
    tcol, tz = _defaults(timestamp_column, timezone)
    table = read_table(path, format=format, timestamp_column=timestamp_column or (tcol if tcol != "timestamp" else None))
    if table.kind != kind:
        other = "load_ticks" if table.kind == "ticks" else "load_bars"
        raise DataError(f"{table.name}: holds {table.kind} ({table.format} layout), not {kind}; use {other} (or pass the file where {table.kind} go).")
    if len(table.frame) == 0:
        raise DataError(f"{table.name}: no rows (header only); expected at least one {kind[:-1]}.")
    if table.timezone is not None and timezone is not None and table.timezone != timezone:
        raise DataError(f"{table.name}: the file's times are in {table.timezone} ({table.time_column}) but --timezone {timezone} was given; drop --timezone.")
    index = parse_timestamps(table.frame["timestamp"], table.timezone or tz, table.name, table.time_column, table.line_offset,
                             dayfirst=dayfirst, compact_dates=table.compact_dates)
    if table.stamped_at_close:
        index, note = shift_close_stamps(index, table.name)
        table.notes.append(note)
    for note in table.notes:
        log.info("%s (%s): %s", table.name, table.format, note)
    return table, index


def check_ticks(
    index: pd.DatetimeIndex, price: np.ndarray, volume: np.ndarray, name: str, line_offset: int | None = None,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> pd.DataFrame:
    """Validate ticks (finite, price > 0, volume >= 0, plausible magnitudes, non-decreasing time);
    return the contract frame."""
    if len(price) == 0:
        raise DataError(f"{name}: no ticks (empty file or frame); expected at least one row.")
    for col, arr in (("price", price), ("volume", volume)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{_where(name, i, line_offset)}, column '{col}': value {arr[i]} is not finite ({bad.size} such rows); expected a finite number.")
    bad = np.flatnonzero(price <= 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{_where(name, i, line_offset)}, column 'price': {price[i]} is not > 0 ({bad.size} such rows); expected a positive trade price.")
    bad = np.flatnonzero(volume < 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{_where(name, i, line_offset)}, column 'volume': negative volume {volume[i]} ({bad.size} such rows); expected volume >= 0.")
    out_of_bounds = bounds.violation({"price": price, "volume": volume})
    if out_of_bounds is not None:
        i, col, value, bound, count = out_of_bounds
        raise DataError(bounds.message(f"{_where(name, i, line_offset)} at {index[i]}", col, value, bound, count))
    ts = index.as_unit("ns").asi8
    bad = np.flatnonzero(np.diff(ts) < 0) + 1
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{_where(name, i, line_offset)}, column 'timestamp': {index[i]} is earlier than the row before ({index[i - 1]}); "
            "ticks must be in non-decreasing time order. Sort the file by time (stable) first."
        )
    return pd.DataFrame({"price": price, "volume": volume}, index=pd.DatetimeIndex(index, name="timestamp").tz_convert("UTC").as_unit("ns"))


def validate_ticks(ticks: pd.DataFrame, source: str = "ticks", bounds: Bounds | None = None) -> pd.DataFrame:
    """Raise DataError unless `ticks` is a ticks frame (UTC index, finite price > 0, volume >= 0,
    plausible magnitudes, non-decreasing time); returns `ticks` unchanged. `bounds` default to
    the instrument `ticks.attrs` names, else the package defaults."""
    if not isinstance(ticks, pd.DataFrame) or not isinstance(ticks.index, pd.DatetimeIndex) or ticks.index.tz is None:
        raise DataError(f"{source}: expected a DataFrame indexed by a tz-aware UTC DatetimeIndex; found {type(ticks).__name__}. Use load_ticks.")
    missing = [c for c in TICKS_COLUMNS if c not in ticks.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; expected {list(TICKS_COLUMNS)}.")
    check_ticks(ticks.index, ticks["price"].to_numpy(dtype=np.float64), ticks["volume"].to_numpy(dtype=np.float64), source,
                bounds=bounds_of(ticks) if bounds is None else bounds)
    return ticks


def load_ticks(
    path: str | Path, *, timestamp_column: str | None = None, timezone: str | None = None, format: str | None = "auto",
    dayfirst: bool | None = None, bounds: Bounds | None = None,
) -> pd.DataFrame:
    """Load a trades file (timestamp, price, volume) as ticks: UTC index, float64 price/volume.

    Ticks may share a timestamp (several trades in one millisecond) but must not go back in time.

    Example: ``ticks = load_ticks("es_ticks.csv", timezone="America/Chicago")``
    """
    table, index = _read_any(path, "ticks", timestamp_column, timezone, format, dayfirst)
    name, line_offset = table.name, table.line_offset
    price = _numbers(table.frame["price"], "price", name, line_offset)
    volume = _numbers(table.frame["volume"], "volume", name, line_offset)
    ticks = check_ticks(index, price, volume, name, line_offset, bounds or DEFAULT_BOUNDS)
    ticks.attrs.update({"format": table.format, "notes": list(table.notes)})
    return ticks


def detect_kind(path: str | Path, timestamp_column: str | None = None, format: str | None = "auto") -> str:
    """'bars' or 'ticks' from a file's columns in its layout (used by `algospace data info`)."""
    return read_table(path, format=format, timestamp_column=timestamp_column).kind


__all__ = ["load_bars", "load_ticks", "validate_ticks", "check_ticks", "parse_timestamps", "detect_kind", "TICKS_COLUMNS"]
