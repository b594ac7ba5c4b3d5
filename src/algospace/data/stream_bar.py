"""Reading one streamed bar: the one parser behind every `update(bar)` (indicators, matrix
assemblers, synergy, regime features) and the bar inputs of `BarBuilder`.

One error rule, the batch path's: `InputError` when the object is not a bar at all (a string,
a number, a frame of several rows); `DataError` for anything about the bar's content (a
missing field, a value that is not a number, a timestamp that is missing, unreadable or naive,
a bar that breaks the bars contract, time going backwards). A bars DataFrame with the same
problem is a DataError in `validate_bars` too.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS
from algospace.data.bounds import DEFAULT_BOUNDS
from algospace.errors import AlgoSpaceError, DataError, InputError

_B = DEFAULT_BOUNDS  # a stream knows no instrument: the package defaults
_UTC = datetime.timezone.utc  # the tz of a Timestamp taken from a UTC index
_FORMS = (
    "a bar: a pandas row (df.iloc[i]) or 1-row DataFrame, a mapping, an itertuples row or algospace.data.Bar, "
    "or a tuple (timestamp, open, high, low, close, volume)"
)


def aware_time(ts: Any, who: str, error: type[AlgoSpaceError] = DataError) -> pd.Timestamp:
    """`ts` as a tz-aware Timestamp in whatever zone it carries (no conversion: the hot path of
    BarBuilder needs only its instant); missing, unreadable or naive times raise `error`."""
    try:
        t = pd.Timestamp(ts)
    except (TypeError, ValueError, OverflowError) as exc:
        raise error(
            f"{who}: {ts!r} ({type(ts).__name__}) is not a timestamp; expected a tz-aware timestamp (UTC) or int UTC nanoseconds."
        ) from exc
    if t is pd.NaT:
        raise error(f"{who}: missing timestamp (NaT); every input needs a time.")
    if t.tz is None:
        raise error(f"{who}: timestamp {t} is naive; expected a tz-aware timestamp (UTC). Use .tz_localize('UTC').")
    return t


def bar_time(ts: Any, who: str, error: type[AlgoSpaceError] = DataError) -> pd.Timestamp:
    """A bar's timestamp as a UTC Timestamp; int values are UTC nanoseconds. Missing,
    unreadable or naive times raise `error` (DataError for a bar's own time)."""
    if type(ts) is pd.Timestamp and ts.tz is _UTC:  # the common case, a row of a UTC frame: nothing to do
        return ts
    if isinstance(ts, (int, np.integer)) and not isinstance(ts, (bool, np.bool_)):
        return pd.Timestamp(int(ts), tz="UTC")
    t = aware_time(ts, who, error)
    return t if t.tz is _UTC else t.tz_convert("UTC")  # tz_convert costs ~5 us: skip it when already UTC


def number(x: Any, name: str, who: str) -> float:
    """One field as float; strings and non-numbers are a DataError (nothing is cast from text)."""
    if isinstance(x, float):  # float and numpy float64: the hot path of every update
        return float(x)
    if isinstance(x, (str, bytes)):
        raise DataError(f"{who}: '{name}' must be a number (the bars contract is numeric OHLCV); received the string {x!r}.")
    try:
        return float(x)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{who}: '{name}' must be a number (the bars contract is numeric OHLCV); received {type(x).__name__} {x!r}."
        ) from exc


def bar_fields(bar: Any, who: str, keys: Sequence[str] = BARS_COLUMNS) -> tuple[Any, list[Any]]:
    """(raw timestamp or None, the values of `keys`) of one bar in any accepted form.

    The timestamp is a `timestamp` field, else a row's name (`df.iloc[i]`) or `Index`
    (itertuples). InputError when `bar` is no bar at all; DataError naming missing fields.
    """
    if isinstance(bar, pd.DataFrame):
        if len(bar) != 1:
            raise InputError(f"{who} expects one bar; received a DataFrame with {len(bar)} rows (feed them one at a time).")
        bar = bar.iloc[0]
    if isinstance(bar, pd.Series):
        # One pass over the row (Series.get and five lookups by label each cost more than the update).
        values = dict(zip(bar.index, bar.to_numpy()))
        ts = values["timestamp"] if "timestamp" in values else bar.name
        try:
            return ts, [values[k] for k in keys]
        except KeyError:
            return _missing(who, keys, values.__contains__)
    if isinstance(bar, Mapping):
        try:
            return bar.get("timestamp"), [bar[k] for k in keys]
        except KeyError:
            return _missing(who, keys, bar.__contains__)
    if hasattr(bar, "_fields") or hasattr(bar, "close"):  # itertuples rows, algospace.data.Bar, dataclasses
        ts = getattr(bar, "timestamp", getattr(bar, "Index", None))
        try:
            return ts, [getattr(bar, k) for k in keys]
        except AttributeError:
            return _missing(who, keys, lambda k: hasattr(bar, k))
    if isinstance(bar, (tuple, list, np.ndarray)) and len(bar) in (len(keys) + 1, len(keys) + 2):
        return bar[0], list(bar[1 : len(keys) + 1])  # (timestamp, *values[, filled])
    if isinstance(bar, (tuple, list, np.ndarray)):
        raise InputError(f"{who} expects {_FORMS}; received {len(bar)} values: {bar!r}.")
    raise InputError(f"{who} expects {_FORMS}; received {type(bar).__name__} {bar!r}.")


def _missing(who: str, keys: Sequence[str], has: Any) -> Any:
    missing = [k for k in keys if not has(k)]
    raise DataError(f"{who}: the bar lacks {missing}; a bar needs numeric {list(keys)} and a timestamp.")


def check_bar_values(who: str, ts: object, o: float, h: float, lo: float, c: float, v: float) -> None:
    """The bars contract for one streamed bar (the batch paths get it from `validate_bars`), so a
    bar a batch call refuses is refused by the streams too."""
    # One chained comparison for a sound bar (NaN and inf fail it; min_price > 0 keeps prices positive).
    if _B.min_price <= lo <= o <= h <= _B.max_price and lo <= c <= h and 0.0 <= v <= _B.max_volume:
        return
    for name, x in zip(BARS_COLUMNS, (o, h, lo, c, v)):
        if not math.isfinite(x):
            problem = f"non-finite {name}={x!r}"
            break
    else:
        if min(o, h, lo, c) <= 0:
            problem = f"a price <= 0 (open {o}, high {h}, low {lo}, close {c})"
        elif h < max(o, c) or lo > min(o, c):
            problem = f"high/low not covering open/close (open {o}, high {h}, low {lo}, close {c})"
        elif v < 0:
            problem = f"negative volume {v}"
        elif not (_B.min_price <= lo and h <= _B.max_price and v <= _B.max_volume):  # scalars: numpy here costs ~10 us a bar
            problem = (
                f"an implausible magnitude (prices {_B.min_price:g}..{_B.max_price:g}, volume <= {_B.max_volume:g}; "
                f"open {o}, high {h}, low {lo}, close {c}, volume {v})"
            )
        else:
            return
    raise DataError(
        f"{who}: bar {ts} breaks the bars contract: {problem}; expected finite values, prices > 0, "
        "high >= max(open, close), low <= min(open, close), volume >= 0. Repair the data before streaming it."
    )


def read_bar(bar: Any, who: str, *, need_time: bool = False) -> tuple[pd.Timestamp | None, float, float, float, float, float]:
    """(UTC timestamp or None, open, high, low, close, volume) of one bar, checked against the
    bars contract. `need_time` makes a missing timestamp a DataError."""
    raw_ts, raw = bar_fields(bar, who)
    vals = [number(x, k, who) for k, x in zip(BARS_COLUMNS, raw)]
    if raw_ts is None:
        if need_time:
            raise DataError(f"{who} needs the bar's timestamp (a 'timestamp' field, the row name, or Index).")
        ts = None
    else:
        ts = bar_time(raw_ts, who)
    check_bar_values(who, ts, *vals)
    return (ts, *vals)  # type: ignore[return-value]


class StreamClock:
    """Enforces strictly increasing timestamps in a stream (the bars contract, bar by bar)."""

    def __init__(self, who: str, need_time: bool = False) -> None:
        self.who = who
        self.need_time = need_time
        self.last: pd.Timestamp | None = None

    def read(self, bar: Any) -> tuple[pd.Timestamp | None, float, float, float, float, float]:
        """`read_bar` under this stream's name, then the time-order check: the one call an
        `update(bar)` makes before its arithmetic."""
        out = read_bar(bar, self.who, need_time=self.need_time)
        self.check(out[0])
        return out

    def check(self, ts: pd.Timestamp | None) -> None:
        if ts is None:
            if self.need_time:
                raise DataError(f"{self.who} needs the bar's timestamp (a 'timestamp' field, the row name, or Index).")
            return
        if self.last is not None and ts <= self.last:
            raise DataError(f"{self.who}: bars must arrive in strictly increasing time; received {ts} after {self.last}.")
        self.last = ts


class FromCloses:
    """Mixin of the incremental indicators that read only each bar's close: `update(bar)` reads
    and orders the bar (`self._clock`, a StreamClock), then advances `self.step(close)`."""

    _clock: StreamClock
    step: Callable[[float], Any]  # each indicator defines it: one close in, its new value out

    def update(self, bar: Any) -> Any:
        """Add one bar (any form `read_bar` accepts); return `step` of its close."""
        return self.step(self._clock.read(bar)[4])


__all__ = ["FromCloses", "StreamClock", "aware_time", "bar_fields", "bar_time", "check_bar_values", "number", "read_bar"]
