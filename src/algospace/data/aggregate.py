"""Time bars from ticks or finer bars, aligned to the instrument's sessions (batch and streaming).

Rules shared by `make_bars` (vectorised) and `BarBuilder` (one tick/bar at a time):
- A bar of `minutes` starts at session_open + k * minutes and is labelled by that open time
  (SPY 30m: 09:30, 10:00, ... New York; ES 30m: 17:00, 17:30, ... Chicago).
- A bar never spans a session break: the last bar of a session ends at the session close and
  is shorter when the session length is not a multiple of `minutes` (ES 23 h = 1380 min, so
  7-minute bars end with a 1-minute bar; SPY 390 min, so 60-minute bars end with a 30-minute
  15:30 bar).
- Input rows outside every session (SPY after-hours bars, weekend ticks, the Globex
  16:00-17:00 halt) are dropped and counted (`bars.attrs["dropped_outside_session"]`,
  `BarBuilder.dropped`) by default, or raise DataError with `outside="raise"`.
- Gaps stay gaps: no bar is made for an interval without input. `fill_gaps=True` fills only
  the missing bars BETWEEN two real bars of the same session, with the previous close as
  OHLC and zero volume, and adds a bool column `filled` marking them.
Streaming emits exactly the bars the batch path builds (tests check exact equality).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS
from algospace.data.instruments import Instrument, get_instrument
from algospace.errors import DataError, InputError

log = logging.getLogger(__name__)

_MIN_NS = 60 * 10**9


class Tick(NamedTuple):
    """One trade: UTC timestamp, price, size."""

    timestamp: pd.Timestamp
    price: float
    volume: float


class Bar(NamedTuple):
    """One OHLCV bar labelled by its UTC open time; `filled` marks a gap-fill bar."""

    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float
    filled: bool = False


def _check_minutes(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, (int, np.integer)) or minutes < 1:
        raise InputError(f"The 'minutes' parameter must be a whole number of minutes >= 1; received {minutes!r}.")
    return int(minutes)


def _check_outside(outside: str) -> str:
    if outside not in ("drop", "raise"):
        raise InputError(f"The 'outside' parameter must be 'drop' or 'raise'; received {outside!r}.")
    return outside


def _instrument(instrument: str | Instrument | None, data: pd.DataFrame | None = None) -> Instrument:
    if instrument is None:
        from algospace.config import get_config

        instrument = (data.attrs.get("instrument") if data is not None else None) or get_config().data.instrument
    return get_instrument(instrument)


def _kind(frame: pd.DataFrame) -> str:
    cols = set(frame.columns)
    if set(BARS_COLUMNS) <= cols:
        return "bars"
    if {"price", "volume"} <= cols:
        return "ticks"
    raise InputError(
        f"make_bars needs ticks (columns price, volume) or bars (columns {list(BARS_COLUMNS)}); "
        f"found columns {list(frame.columns)}. Load files with load_ticks/load_bars."
    )


def _utc_ns(frame: pd.DataFrame, what: str) -> np.ndarray:
    idx = frame.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
        raise InputError(f"{what} must be indexed by a tz-aware DatetimeIndex (UTC); found {type(idx).__name__} tz={getattr(idx, 'tz', None)}.")
    return idx.as_unit("ns").asi8


def make_bars(
    data: pd.DataFrame,
    minutes: int,
    instrument: str | Instrument | None = None,
    *,
    fill_gaps: bool = False,
    outside: str = "drop",
) -> pd.DataFrame:
    """Build `minutes`-minute bars from ticks or finer bars, aligned to `instrument`'s sessions.

    `data` is a ticks frame (price, volume; non-decreasing UTC index) or a bars frame (OHLCV;
    strictly increasing). Returns contract bars (plus a `filled` column when `fill_gaps`).
    `attrs` holds instrument, minutes and dropped_outside_session. `instrument=None` uses
    `data.attrs["instrument"]` (set by `sample()` and by make_bars itself), else the config's
    `data.instrument`.

    Example: ``make_bars(sample("spy-1m"), 30, "SPY")``
    """
    minutes = _check_minutes(minutes)
    _check_outside(outside)
    inst = _instrument(instrument, data)
    cal = inst.calendar
    kind = _kind(data)
    ts = _utc_ns(data, kind)
    if kind == "ticks":
        price = data["price"].to_numpy(dtype=np.float64)
        o = h = l = c = price
    else:
        o, h, l, c = (data[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close"))
    v = data["volume"].to_numpy(dtype=np.float64)
    if len(ts) > 1:
        d = np.diff(ts)
        bad = np.flatnonzero(d < 0) if kind == "ticks" else np.flatnonzero(d <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            rule = "non-decreasing" if kind == "ticks" else "strictly increasing"
            raise DataError(
                f"make_bars input row {i} at {pd.Timestamp(int(ts[i]), tz='UTC')}: timestamps must be {rule}; "
                f"the row before is {pd.Timestamp(int(ts[i - 1]), tz='UTC')}. Sort/deduplicate (load_bars(..., repair=True))."
            )
    so, sc, inside = cal.locate(pd.DatetimeIndex(ts.astype("datetime64[ns]")).tz_localize("UTC"))
    dropped = int((~inside).sum())
    if dropped:
        if outside == "raise":
            i = int(np.flatnonzero(~inside)[0])
            raise DataError(
                f"make_bars input row {i} at {pd.Timestamp(int(ts[i]), tz='UTC')} is outside every {cal.name} session "
                f"({dropped} such rows); pass outside='drop' to drop them, or use an instrument with another calendar."
            )
        log.info("make_bars: dropped %d of %d input rows outside %s sessions", dropped, len(ts), cal.name)
        ts, so, sc, o, h, l, c, v = (a[inside] for a in (ts, so, sc, o, h, l, c, v))
    step = minutes * _MIN_NS
    bopen = so + (ts - so) // step * step
    if kind == "bars" and len(ts) > 1:
        _check_fit(ts, bopen, sc, step, minutes)
    if len(ts) == 0:
        out = pd.DataFrame({k: np.empty(0) for k in BARS_COLUMNS}, index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
    else:
        starts = np.flatnonzero(np.r_[True, bopen[1:] != bopen[:-1]])
        ends = np.r_[starts[1:], len(ts)] - 1
        cols = {
            "open": o[starts],
            "high": np.maximum.reduceat(h, starts),
            "low": np.minimum.reduceat(l, starts),
            "close": c[ends],
            "volume": _seq_sum(v, starts),
        }
        index_ns = bopen[starts]
        if fill_gaps:
            index_ns, cols = _fill(index_ns, so[starts], sc[starts], cols, step)
        out = pd.DataFrame(cols, index=pd.DatetimeIndex(index_ns.astype("datetime64[ns]"), name="timestamp").tz_localize("UTC"))
    if fill_gaps and "filled" not in out.columns:
        out["filled"] = False
    out.attrs = {"instrument": inst.name, "minutes": minutes, "dropped_outside_session": dropped}
    return out


def _seq_sum(v: np.ndarray, starts: np.ndarray) -> np.ndarray:
    # np.add.reduceat adds left to right within each group, like the streaming builder does.
    return np.add.reduceat(v, starts)


def _check_fit(ts: np.ndarray, bopen: np.ndarray, sc: np.ndarray, step: int, minutes: int) -> None:
    """Input bars must each fit inside one output bar (their length inferred as the smallest spacing)."""
    d = np.diff(ts)
    freq = int(d[d > 0].min()) if (d > 0).any() else 0
    if freq == 0:
        return
    end = np.minimum(bopen + step, sc)
    bad = np.flatnonzero(ts + freq > end)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"make_bars: input bar at {pd.Timestamp(int(ts[i]), tz='UTC')} ({freq / _MIN_NS:g}-minute bars) would span "
            f"the {minutes}-minute bar boundary at {pd.Timestamp(int(end[i]), tz='UTC')}; choose minutes that are a "
            "multiple of the input bar length, with input bars aligned to the session open."
        )


def _fill(index_ns: np.ndarray, so: np.ndarray, sc: np.ndarray, cols: dict[str, np.ndarray], step: int):
    """Insert carried-close, zero-volume bars between real bars of the same session."""
    n = len(index_ns)
    gap = np.zeros(n, dtype=np.int64)
    if n > 1:
        same = so[1:] == so[:-1]
        gap[:-1] = np.where(same, (index_ns[1:] - index_ns[:-1]) // step - 1, 0)
    reps = gap + 1
    pos = np.repeat(np.arange(n), reps)
    offset = np.arange(len(pos)) - np.repeat(np.cumsum(reps) - reps, reps)
    filled = offset > 0
    new_index = index_ns[pos] + offset * step
    out = {}
    for k in ("open", "high", "low", "close"):
        base = cols[k][pos]
        out[k] = np.where(filled, cols["close"][pos], base)
    out["volume"] = np.where(filled, 0.0, cols["volume"][pos])
    out["filled"] = filled
    return new_index, out


def _to_ns(ts: Any) -> int:
    if isinstance(ts, (int, np.integer)) and not isinstance(ts, bool):
        return int(ts)
    t = pd.Timestamp(ts)
    if t.tz is None:
        raise InputError(f"BarBuilder needs tz-aware timestamps (UTC); received naive {t}. Use .tz_localize('UTC').")
    return int(t.as_unit("ns").value)


class BarBuilder:
    """Streaming `make_bars`: feed ticks or bars one at a time, get completed bars back.

    `update(item)` accepts a `Tick`/`Bar`, a tuple `(timestamp, price, volume)` or
    `(timestamp, open, high, low, close, volume)`, a mapping with those keys, or a DataFrame
    row (`df.iloc[i]`, its name is the timestamp); timestamps
    are tz-aware or int UTC nanoseconds. It returns the bars this item completed (a bar
    completes when the first item at or after its end arrives). `flush()` returns the bar in
    progress; `advance(now)` closes bars whose end is <= `now` (clock-driven runtimes).

    Example: ``b = BarBuilder(30, "SPY"); done = [x for row in rows for x in b.update(row)] + b.flush()``
    """

    def __init__(self, minutes: int, instrument: str | Instrument | None = None, *, fill_gaps: bool = False, outside: str = "drop") -> None:
        self.minutes = _check_minutes(minutes)
        self.instrument = _instrument(instrument)
        self.fill_gaps = fill_gaps
        self.outside = _check_outside(outside)
        self.dropped = 0
        self._cal = self.instrument.calendar
        self._step = self.minutes * _MIN_NS
        self._last: int | None = None
        self._kind: str | None = None
        self._so = self._sc = -1  # current session bounds (ns)
        self._cur: list[Any] | None = None  # [open_ns, end_ns, session_open, o, h, l, c, v]

    def _parse(self, item: Any) -> tuple[int, float, float, float, float, float, str]:
        if isinstance(item, pd.Series):  # a row from df.iloc[i] / iterrows: the name is the time
            item = {"timestamp": item.name, **item.to_dict()}
        if isinstance(item, Mapping):
            if "price" in item:
                p = float(item["price"])
                return _to_ns(item["timestamp"]), p, p, p, p, float(item["volume"]), "ticks"
            return (_to_ns(item["timestamp"]), float(item["open"]), float(item["high"]), float(item["low"]),
                    float(item["close"]), float(item["volume"]), "bars")
        n = len(item)
        if n == 3:
            p = float(item[1])
            return _to_ns(item[0]), p, p, p, p, float(item[2]), "ticks"
        if n in (6, 7):
            return _to_ns(item[0]), float(item[1]), float(item[2]), float(item[3]), float(item[4]), float(item[5]), "bars"
        raise InputError(
            f"BarBuilder.update expects a tick (timestamp, price, volume) or a bar (timestamp, open, high, low, close, volume); received {item!r}."
        )

    def _emit(self) -> Bar:
        cur = self._cur  # only called while a bar is in progress
        return Bar(pd.Timestamp(cur[0], tz="UTC"), cur[3], cur[4], cur[5], cur[6], cur[7], False)

    def update(self, item: Any) -> list[Bar]:
        """Add one tick or bar; return the bars it completed (oldest first)."""
        ts, o, h, l, c, v, kind = self._parse(item)
        if self._kind is None:
            self._kind = kind
        elif kind != self._kind:
            raise InputError(f"BarBuilder was fed {self._kind} and now a {kind[:-1]}; feed one kind per builder.")
        if self._last is not None and (ts < self._last or (kind == "bars" and ts == self._last)):
            rule = "non-decreasing" if kind == "ticks" else "strictly increasing"
            raise DataError(
                f"BarBuilder: timestamp {pd.Timestamp(ts, tz='UTC')} arrived after {pd.Timestamp(self._last, tz='UTC')}; "
                f"{kind} must be {rule}."
            )
        self._last = ts
        cur = self._cur
        if cur is not None and cur[0] <= ts < cur[1]:
            if h > cur[4]:
                cur[4] = h
            if l < cur[5]:
                cur[5] = l
            cur[6] = c
            cur[7] += v
            return []
        if not (self._so <= ts < self._sc):
            so, sc, inside = self._cal.locate_one(ts)
            if not inside:
                if self.outside == "raise":
                    raise DataError(
                        f"BarBuilder: input at {pd.Timestamp(ts, tz='UTC')} is outside every {self._cal.name} session; "
                        "use outside='drop' to drop such rows."
                    )
                self.dropped += 1
                return []
            self._so, self._sc = so, sc
        bopen = self._so + (ts - self._so) // self._step * self._step
        out: list[Bar] = []
        if cur is not None:
            out.append(self._emit())
            if self.fill_gaps and cur[2] == self._so:
                t = cur[0] + self._step
                while t < bopen:
                    out.append(Bar(pd.Timestamp(t, tz="UTC"), cur[6], cur[6], cur[6], cur[6], 0.0, True))
                    t += self._step
        self._cur = [bopen, min(bopen + self._step, self._sc), self._so, o, h, l, c, v]
        return out

    def advance(self, now: Any) -> list[Bar]:
        """Close the bar in progress if its end is <= `now` (no input needed); returns it."""
        if self._cur is not None and _to_ns(now) >= self._cur[1]:
            done = [self._emit()]
            self._cur = None
            return done
        return []

    def flush(self) -> list[Bar]:
        """Return the bar in progress (if any) and clear it; call at end of data."""
        if self._cur is None:
            return []
        done = [self._emit()]
        self._cur = None
        return done


def bars_to_frame(bars: list[Bar], with_filled: bool | None = None) -> pd.DataFrame:
    """Turn a list of `Bar`s (BarBuilder output) into a contract bars DataFrame.

    The `filled` column is added when `with_filled` is True (default: when any bar is filled).
    """
    idx = pd.DatetimeIndex([b.timestamp for b in bars], name="timestamp")
    idx = idx.tz_convert("UTC").as_unit("ns") if len(bars) else pd.DatetimeIndex([], tz="UTC", name="timestamp").as_unit("ns")
    cols = {k: np.array([getattr(b, k) for b in bars], dtype=np.float64) for k in BARS_COLUMNS}
    out = pd.DataFrame(cols, index=idx)
    if with_filled or (with_filled is None and any(b.filled for b in bars)):
        out["filled"] = np.array([b.filled for b in bars], dtype=bool)
    return out


__all__ = ["Tick", "Bar", "make_bars", "BarBuilder", "bars_to_frame"]
