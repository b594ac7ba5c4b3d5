"""The file layouts traders have: detect a tool's export from its content, read dates without guessing.

`read_table(path, format="auto")` turns a CSV/Parquet file of any layout in `FORMATS` into one
frame with a `timestamp` column (raw time cells; split date and time columns joined) and the
contract's lower-case columns, plus what it decided (`Table.format`, `Table.notes`).
`parse_date_layout` reads the date layouts pandas would guess at (02.01.2017, 01/02/2017,
20190102 093000, IB's 20190102  09:30:00) with an explicit order; `load_bars`/`load_ticks` call
both. Why by hand: pandas' `dayfirst` is a per-value hint that silently falls back to the other
order, and its format inference looks at the first row only; here the whole column decides,
and a column that never shows a first or second field above 12 is refused unless told.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS
from algospace.errors import DataError, InputError

FORMATS: dict[str, str] = {
    "ninjatrader": "NinjaTrader export: no header, ';'-separated, 'yyyyMMdd HHmmss' (bars stamped at their close) "
    "or 'yyyyMMdd HHmmss fffffff;last;bid;ask;volume' (ticks)",
    "tradingview": "TradingView chart export: 'time' in Unix seconds (or ISO with offset), open/high/low/close/Volume",
    "sierra": "Sierra Chart text export: 'Date' (yyyy/m/d) and 'Time' columns, Open/High/Low/Last/Volume",
    "metatrader": "MetaTrader history: MT4 'yyyy.mm.dd,HH:MM,o,h,l,c,v' without header, or MT5 <DATE>/<TIME>/<OPEN>...",
    "ib": "Interactive Brokers historical bars: 'date' as 'yyyyMMdd  HH:mm:ss' (optionally a timezone name after it)",
    "databento": "Databento CSV: 'ts_event' (ns since 1970 or ISO), open/high/low/close/volume or price/size; "
    "fixed-point prices (1e-9 units) are scaled",
    "yfinance": "yfinance CSV: 'Datetime' or 'Date' with Open/High/Low/Close/Volume; 'Adj Close' ignored",
    "plain": "a 'timestamp', 'datetime', 'date' or 'time' column (or --time-column) with open/high/low/close/volume or price/volume",
}
BARS = BARS_COLUMNS  # the one OHLCV list
TICKS = ("price", "volume")
_TIME_NAMES = ("timestamp", "datetime", "date_time", "date time", "time", "date", "gmt time", "local time", "ts", "dt")
_ALIASES = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "last", "c"),
    "volume": ("volume", "vol", "size", "tickvol", "tick volume", "total volume", "v"),
    "price": ("price", "last", "trade price"),
}
_IGNORED_NOTE = {"adj close": "'Adj Close' ignored (yfinance's dividend-adjusted close; 'Close' is used)"}


@dataclass
class Table:
    """A file read into canonical columns: `timestamp` (raw cells) and contract names."""

    frame: pd.DataFrame
    name: str
    line_offset: int | None
    format: str
    kind: str  # "bars" or "ticks"
    time_column: str  # the file's own time column name(s), for messages
    notes: list[str] = field(default_factory=list)
    stamped_at_close: bool = False  # bar times mark the bar's end (NinjaTrader)
    timezone: str | None = None  # a zone the file itself names (IB's suffix, Dukascopy's "Gmt time")
    compact_dates: bool = False  # yyyyMMdd cells are dates here, not epoch numbers


def check_format(fmt: str | None) -> str:
    """'auto' or a known format name (case-insensitive); InputError with the list otherwise."""
    key = (fmt or "auto").strip().lower()
    if key != "auto" and key not in FORMATS:
        import difflib

        close = difflib.get_close_matches(key, list(FORMATS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise InputError(f"Unknown file format {fmt!r}; expected auto or one of {', '.join(FORMATS)}.{hint}")
    return key


# ---------------------------------------------------------------------------------- reading
def _first_line(p: Path) -> str | None:
    """The first non-empty line of a text file (None for Parquet or anything unreadable)."""
    if not p.is_file() or not any(s.lower() in (".csv", ".txt") for s in p.suffixes):
        return None
    try:
        if p.suffixes[-1].lower() == ".gz":
            import gzip

            with gzip.open(p, "rt", encoding="utf-8", errors="replace") as fh:
                return next((ln for ln in fh if ln.strip()), None)
        with p.open("r", encoding="utf-8", errors="replace") as fh:
            return next((ln for ln in fh if ln.strip()), None)
    except OSError:
        return None


def _headerless(p: Path, sep: str, names: list[str]) -> tuple[pd.DataFrame, str, int]:
    try:
        frame = pd.read_csv(p, sep=sep, header=None, names=names, dtype=str, keep_default_na=False, na_values=[""],
                            skipinitialspace=True, index_col=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{p}: not a readable {sep!r}-separated file ({type(exc).__name__}: {exc}).") from exc
    return frame, str(p), 1


def _raw(path: str | Path, fmt: str) -> tuple[pd.DataFrame, str, int | None, str | None]:
    """The file as a frame with its own column names, and the layout the first line shows."""
    from algospace.data.loaders import _read_table

    p = Path(path) if isinstance(path, (str, Path)) else None
    line = _first_line(p) if p is not None else None
    if line is not None:
        cells = [c.strip() for c in re.split(r"[;,\t]", line.strip())]
        headerless = bool(cells) and bool(re.match(r"^[+-]?\d", cells[0]))
        if ";" in line and (headerless or fmt == "ninjatrader"):
            n = len(line.split(";"))
            if n not in (5, 6):
                raise DataError(f"{p}: a ';'-separated file without header has {n} fields; a NinjaTrader export has 6 (bars) or 5 (ticks).")
            names = ["time", "open", "high", "low", "close", "volume"] if n == 6 else ["time", "price", "bid", "ask", "volume"]
            frame, name, off = _headerless(p, ";", names)
            return frame, name, off, "ninjatrader"
        if headerless and re.match(r"^\d{4}\.\d{2}\.\d{2}$", cells[0]) and len(cells) >= 6:
            sep = "\t" if "\t" in line else ","
            names = ["date", "time", "open", "high", "low", "close", "volume", "extra1", "extra2"][: len(cells)]
            frame, name, off = _headerless(p, sep, names)
            return frame, name, off, "metatrader"
        if headerless:
            raise DataError(
                f"{p}: the first line {line.strip()[:60]!r} is data, not a header, and matches no known headerless export "
                f"(NinjaTrader, MetaTrader 4); add a header line such as timestamp,open,high,low,close,volume."
            )
        if "\t" in line and "," not in line:
            frame = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
            return frame, str(p), 2, None
    frame, name, off = _read_table(path)
    return frame, name, off, None


def _norm(col: object) -> str:
    return str(col).strip().strip("<>").strip().lower()


def _yfinance_multiheader(frame: pd.DataFrame, off: int | None) -> tuple[pd.DataFrame, int | None] | None:
    """yfinance >= 0.2.51 writes 'Price,...' / 'Ticker,...' / 'Datetime,,,' header rows."""
    if _norm(frame.columns[0]) != "price" or len(frame) < 2 or str(frame.iloc[0, 0]).strip().lower() != "ticker":
        return None
    time_name = str(frame.iloc[1, 0]).strip() or "Datetime"
    out = frame.iloc[2:].reset_index(drop=True)
    out.columns = [time_name, *map(str, frame.columns[1:])]
    return out, (off + 2 if off is not None else None)


def _pick(cols: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((cols[n] for n in names if n in cols), None)


def read_table(path: str | Path, *, format: str | None = "auto", timestamp_column: str | None = None) -> Table:
    """Read `path` in `format` ("auto" detects it from the content) into a `Table`.

    Example: ``t = read_table("ES 03-19.Last.txt"); t.format == "ninjatrader"``
    """
    fmt = check_format(format)
    frame, name, off, layout = _raw(path, fmt)
    notes: list[str] = []
    if layout is None:
        multi = _yfinance_multiheader(frame, off)
        if multi is not None:
            frame, off = multi
            layout = "yfinance"
            notes.append("yfinance multi-row header read (Price/Ticker/Datetime)")
    cols: dict[str, str] = {}
    for c in frame.columns:
        key = _norm(c)
        if key in cols:
            raise DataError(f"{name}: columns {cols[key]!r} and {c!r} name the same field; keep one.")
        cols[key] = c
    detected = layout or _detect(frame, cols)
    # A named format wins over "plain" (e.g. IB daily bars: a bare yyyyMMdd date looks plain),
    # except the headerless layouts, which the first line alone decides.
    forced = detected == "plain" and fmt not in ("ninjatrader", "metatrader")
    if fmt != "auto" and detected != fmt and not (fmt == "plain" and layout is None) and not forced:
        raise DataError(
            f"{name}: --format {fmt} given, but the file looks like {detected} ({FORMATS[detected]}); expected {FORMATS[fmt]}. "
            "Drop --format to detect it, or check the file."
        )
    fmt = fmt if fmt != "auto" else detected
    table = Table(frame, name, off, fmt, "bars", "", notes)
    _columns_for(table, cols, timestamp_column)
    return table


def _detect(frame: pd.DataFrame, cols: dict[str, str]) -> str:
    """The format a headed file's columns and first cells show (see FORMATS)."""
    if "ts_event" in cols:
        return "databento"
    if "adj close" in cols:
        return "yfinance"
    if "date" in cols and "time" in cols and "last" in cols:
        return "sierra"
    if "date" in cols and any(str(c).strip().startswith("<") for c in frame.columns):
        return "metatrader"
    if "date" in cols and len(frame) and re.match(r"^\d{8}\s+\d{1,2}:\d{2}", str(frame[cols["date"]].iloc[0]).strip()):
        return "ib"
    if "time" in cols and "date" not in cols and len(frame) and re.fullmatch(r"\d{9,10}", str(frame[cols["time"]].iloc[0]).strip()):
        return "tradingview"
    return "plain"


def _columns_for(t: Table, cols: dict[str, str], timestamp_column: str | None) -> None:
    """Fill `t.frame` with `timestamp` + contract columns; record notes and the kind."""
    f = t.frame
    if timestamp_column:
        key = _norm(timestamp_column)
        if key not in cols:
            raise DataError(f"{t.name}: no time column {timestamp_column!r}; found {list(map(str, f.columns))}. Pass --time-column NAME.")
        time_cols = [cols[key]]
    elif t.format == "databento":
        time_cols = [cols["ts_event"]]
    elif "date" in cols and "time" in cols and t.format != "tradingview":
        # Separate date and time columns are joined; a date column that already holds times wins.
        time_cols = [cols["date"]] if _has_time(f[cols["date"]]) else [cols["date"], cols["time"]]
    else:
        found = _pick(cols, _TIME_NAMES)
        if found is None:
            raise DataError(
                f"{t.name}: no time column; found {list(map(str, f.columns))}. Expected one of {', '.join(_TIME_NAMES)} "
                "(case-insensitive), separate date and time columns, or a tool's export (see docs/data.md); "
                "pass --time-column NAME (timestamp_column= in Python) to name it."
            )
        time_cols = [found]
    t.time_column = "+".join(map(str, time_cols))
    stamp = f[time_cols[0]].astype("string").str.strip() if len(time_cols) == 2 else f[time_cols[0]]
    if len(time_cols) == 2:
        stamp = stamp + " " + f[time_cols[1]].astype("string").str.strip()
    if _norm(time_cols[0]) == "gmt time":
        t.timezone = "UTC"
        t.notes.append("'Gmt time' read as UTC")
    rest = {k: v for k, v in cols.items() if v not in time_cols}
    if t.format == "metatrader" and "tickvol" in rest:
        vol = rest.get("vol")
        if vol is None or pd.to_numeric(f[vol], errors="coerce").fillna(0).eq(0).all():
            rest["volume"] = rest["tickvol"]
            t.notes.append("volume from <TICKVOL> (the real volume column is empty or zero)")
    out: dict[str, object] = {"timestamp": stamp}
    bar_cols = {k: _pick(rest, _ALIASES[k]) for k in BARS}
    if all(bar_cols.values()):
        t.kind = "bars"
        out.update({k: f[c] for k, c in bar_cols.items()})
        used = set(bar_cols.values())
    else:
        price, vol = _pick(rest, _ALIASES["price"]), _pick(rest, _ALIASES["volume"])
        if price is None or vol is None:
            missing = [k for k, c in bar_cols.items() if c is None]
            raise DataError(
                f"{t.name}: missing column(s) {missing} for bars (or price/volume for ticks); found {list(map(str, f.columns))}. "
                f"Expected open/high/low/close/volume (close may be 'Last') or price/volume (volume may be 'size')."
            )
        t.kind = "ticks"
        out.update({"price": f[price], "volume": f[vol]})
        used = {price, vol}
    for key, col in rest.items():
        if col not in used and key in _IGNORED_NOTE:
            t.notes.append(_IGNORED_NOTE[key])
    if t.format == "databento":
        _databento_prices(t, out)
    if t.format == "ninjatrader":
        t.stamped_at_close = t.kind == "bars"
        t.compact_dates = True
    if t.format == "ib":
        t.compact_dates = True
    t.frame = pd.DataFrame(out)


def _has_time(col: pd.Series) -> bool:
    first = str(col.iloc[0]).strip() if len(col) else ""
    return bool(re.search(r"\d[ T]+\d{1,2}:\d{2}", first)) or bool(re.fullmatch(r"[+-]?\d{9,}", first))


def _databento_prices(t: Table, out: dict[str, object]) -> None:
    """Databento writes prices as int64 in 1e-9 units unless asked for decimals: scale those."""
    keys = [k for k in ("open", "high", "low", "close", "price") if k in out]
    nums = {k: pd.to_numeric(out[k], errors="coerce") for k in keys}  # type: ignore[arg-type]
    whole = all((v.dropna() == v.dropna().round()).all() for v in nums.values())
    if whole and all(len(v.dropna()) and v.dropna().abs().median() >= 1e6 for v in nums.values()):
        for k, v in nums.items():
            out[k] = v / 1e9
        t.notes.append("prices in Databento fixed-point (1e-9 units) scaled to decimals")


# ----------------------------------------------------------------------------- date layouts
_AMBIG = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})(?:[ T]+(.*))?$")
_YMD = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})(?:[ T]+(.*))?$")
_YMD_DASH = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(.*))?$")
_NINJA = re.compile(r"^(\d{4})(\d{2})(\d{2})\s+(\d{2})(\d{2})(\d{2})(?:\s+(\d{1,7}))?$")
_IB = re.compile(r"^(\d{4})(\d{2})(\d{2})\s+(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:\s+([A-Za-z][A-Za-z_/+\-]*))?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def _assemble(y: pd.Series, m: pd.Series, d: pd.Series, rest: pd.Series) -> pd.Series:
    rest = rest.fillna("").str.strip()
    hh = rest.str.extract(r"^(\d{1,2})(:.*)?$")
    rest = (hh[0].str.zfill(2) + hh[1].fillna("")).where(hh[0].notna(), rest).fillna("")
    return y + "-" + m.str.zfill(2) + "-" + d.str.zfill(2) + (" " + rest).where(rest != "", "")


def parse_date_layout(
    text: pd.Series, dayfirst: bool | None, fail: Callable[[int, str], DataError], compact: bool = False
) -> tuple[pd.DatetimeIndex, str | None] | None:
    """Naive times (and a zone named in the cells) for the layouts listed in the module doc;
    None when the column is in none of them (ISO and the rest are left to the caller)."""
    first = str(text.iloc[0])
    if _TIME_ONLY.match(first):
        raise fail(0, f"{first!r} is a time of day without a date; give the date too (a separate date column is "
                      "joined with it), or name the right column with --time-column.")
    for rx, kind in ((_AMBIG, "dmy?"), (_YMD, "ymd"), (_NINJA, "ninja"), (_IB, "ib"), (_COMPACT, "compact"), (_YMD_DASH, "ymd-")):
        if rx.match(first):
            break
    else:
        return None
    if kind == "compact" and not compact:
        return None  # 8-digit cells: the caller refuses them as ambiguous with epoch times
    if kind == "ymd-" and re.match(r"^\d{4}-\d{2}-\d{2}", first):
        return None  # zero-padded ISO dates: pandas reads those exactly
    parts = text.str.extract(rx)
    bad = np.flatnonzero(parts[0].isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise fail(i, f"{text.iloc[i]!r} is not in the date layout of row 0 ({first!r}); use one layout for the whole column.")
    zone = None
    if kind == "dmy?":
        a, b = parts[0].astype(int).to_numpy(), parts[1].astype(int).to_numpy()
        order = _day_first(text, a, b, dayfirst, fail)
        yy = parts[2].astype(int)
        # Two-digit years follow the POSIX/pandas pivot: 00-68 -> 20xx, 69-99 -> 19xx.
        y = parts[2].where(parts[2].str.len() == 4, (yy + np.where(yy < 69, 2000, 1900)).astype(str))
        d, m = (parts[0], parts[1]) if order else (parts[1], parts[0])
        iso = _assemble(y, m, d, parts[3])
        hint = f"read as {'day' if order else 'month'}-first"
    elif kind in ("ymd", "ymd-"):
        iso, hint = _assemble(parts[0], parts[1], parts[2], parts[3]), "year-month-day"
    elif kind == "ninja":
        frac = parts[6].fillna("0").str.ljust(7, "0")
        iso = parts[0] + "-" + parts[1] + "-" + parts[2] + " " + parts[3] + ":" + parts[4] + ":" + parts[5] + "." + frac
        hint = "yyyyMMdd HHmmss"
    elif kind == "ib":
        iso = _assemble(parts[0], parts[1], parts[2], parts[3])
        zones = parts[4].dropna().unique()
        if len(zones) > 1:
            raise fail(0, f"the column names several timezones {list(zones)[:3]}; use one.")
        zone = str(zones[0]) if len(zones) else None
        hint = "yyyyMMdd  HH:mm:ss"
    else:
        iso, hint = parts[0] + "-" + parts[1] + "-" + parts[2], "yyyyMMdd"
    parsed = pd.to_datetime(iso, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise fail(i, f"{text.iloc[i]!r} is not a valid date-time ({hint}; {bad.size} such rows).")
    return pd.DatetimeIndex(parsed), zone


def _day_first(text: pd.Series, a: np.ndarray, b: np.ndarray, dayfirst: bool | None, fail: Callable[[int, str], DataError]) -> bool:
    """Day-first (True) or month-first from the whole column: a first field above 12 can only be
    a day, a second field above 12 only a day too; none of either is ambiguous and refused."""
    big_a, big_b = np.flatnonzero(a > 12), np.flatnonzero(b > 12)
    if big_a.size and big_b.size:
        i, j = int(big_a[0]), int(big_b[0])
        raise fail(j, f"{text.iloc[j]!r} has a second field above 12 (so month-first) but row {i} {text.iloc[i]!r} has a first "
                      "field above 12 (so day-first); the column mixes date orders. Fix the file.")
    inferred = True if big_a.size else False if big_b.size else None
    if dayfirst is not None and inferred is not None and dayfirst != inferred:
        i = int((big_b if dayfirst else big_a)[0])
        raise fail(i, f"{text.iloc[i]!r} cannot be {'day' if dayfirst else 'month'}-first as requested "
                      f"(its {'second' if dayfirst else 'first'} field is above 12); drop --{'dayfirst' if dayfirst else 'monthfirst'}.")
    if inferred is None and dayfirst is None:
        ex = str(text.iloc[0])
        raise fail(0, f"dates such as {ex!r} are ambiguous: no row has a first or second field above 12, so day-first "
                      f"({int(a[0])} {_MONTHS[int(b[0]) - 1] if 1 <= b[0] <= 12 else '?'}) and month-first "
                      f"({_MONTHS[int(a[0]) - 1] if 1 <= a[0] <= 12 else '?'} {int(b[0])}) both fit. "
                      "Say which: --dayfirst or --monthfirst (dayfirst=True/False in Python).")
    return inferred if inferred is not None else bool(dayfirst)


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


def shift_close_stamps(index: pd.DatetimeIndex, name: str) -> tuple[pd.DatetimeIndex, str]:
    """Bars stamped at their close -> labelled by their open: back by the smallest spacing."""
    d = np.diff(index.asi8)
    pos = d[d > 0]
    if not pos.size:
        raise DataError(f"{name}: one bar (or one time) only; a NinjaTrader bar's length comes from the spacing of its bars.")
    step = int(pos.min())
    length = str(pd.Timedelta(step, unit="ns")).replace("0 days ", "")
    return index - pd.Timedelta(step, unit="ns"), f"bars stamped at their close shifted back one bar ({length}) to their open"


__all__ = ["FORMATS", "Table", "read_table", "parse_date_layout", "check_format", "shift_close_stamps"]
