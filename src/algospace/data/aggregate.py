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
- Every input value must be finite, prices > 0 and volume >= 0: a bad value is a DataError
  naming the row (batch) or input number (stream), its time and column; no NaN bar is built.
- Input bars must each fit inside one output bar. Their length is inferred causally, the same
  way in both paths: the smallest spacing seen so far between two input bars of the same
  session (bars before the first such pair use the first spacing found). An input bar that
  would span an output bar boundary is a DataError ("would span"), e.g. 5m bars into 7m bars.
Streaming emits exactly the bars the batch path builds, and raises where it raises (tests
check both). `BarBuilder.advance(now)` adds a clock: a tick older than the clock, or any input
falling in a bar already closed by `advance`/`flush`, is late data and a DataError.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS
from algospace.data.bounds import Bounds
from algospace.data.instruments import Instrument, resolve_instrument
from algospace.data.stream_bar import aware_time, bar_fields, number
from algospace.errors import AlgoSpaceError, DataError, InputError

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


def _kind(frame: Any) -> str:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"make_bars expects a pandas DataFrame of ticks (price, volume) or bars (OHLCV) indexed by UTC "
            f"timestamps; found {type(frame).__name__}. Load files with load_ticks/load_bars."
        )
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
    kind = _kind(data)
    inst = resolve_instrument(instrument, data)
    ts = _utc_ns(data, kind)
    arrays = _arrays(data, kind)
    _check_values(kind, arrays, ts, inst.bounds, inst.name)
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
    return aggregate_checked(kind, ts, arrays, minutes, inst, fill_gaps=fill_gaps, outside=outside)


def _arrays(data: pd.DataFrame, kind: str) -> tuple[np.ndarray, ...]:
    """(open, high, low, close, volume) as float64 arrays; a tick's price is all four prices."""
    if kind == "ticks":
        price = data["price"].to_numpy(dtype=np.float64)
        return price, price, price, price, data["volume"].to_numpy(dtype=np.float64)
    return tuple(data[k].to_numpy(dtype=np.float64) for k in BARS_COLUMNS)


def aggregate_checked(
    kind: str,
    ts: np.ndarray,
    arrays: tuple[np.ndarray, ...],
    minutes: int,
    inst: Instrument,
    *,
    fill_gaps: bool = False,
    outside: str = "drop",
) -> pd.DataFrame:
    """The aggregation of `make_bars` for input already checked (finite, positive, in time order):
    `algospace.data.session_bars` validates its input once and calls this directly."""
    cal = inst.calendar
    o, h, l, c, v = arrays
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
        _check_fit(ts, so, bopen, sc, step, minutes)
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


def _value_problem(col: str, x: float) -> str | None:
    """Why one input value breaks the rules (None when it is fine); shared by batch and stream."""
    if not np.isfinite(x):
        return f"value {x} is not finite; expected a finite number"
    if col == "volume":
        return f"negative volume {x}; expected volume >= 0" if x < 0 else None
    return f"price {x} <= 0; expected a positive price" if x <= 0 else None


def _check_values(kind: str, arrays: tuple[np.ndarray, ...], ts: np.ndarray, bounds: Bounds, who: str) -> None:
    """DataError for the first input row holding a NaN/inf, a price <= 0, a negative volume or an
    implausible magnitude (`bounds`)."""
    names = ("price", "volume") if kind == "ticks" else BARS_COLUMNS
    cols = (arrays[0], arrays[4]) if kind == "ticks" else arrays
    bad_rows = [np.flatnonzero(~np.isfinite(a) | ((a < 0) if n == "volume" else (a <= 0))) for n, a in zip(names, cols)]
    firsts = [int(b[0]) if b.size else len(ts) for b in bad_rows]
    i = min(firsts, default=len(ts))
    if i == len(ts):
        out_of_bounds = bounds.violation(dict(zip(names, cols)))
        if out_of_bounds is not None:
            i, col, value, bound, count = out_of_bounds
            raise DataError(bounds.message(f"make_bars input row {i} at {pd.Timestamp(int(ts[i]), tz='UTC')}", col, value, bound, count, who))
        return
    j = firsts.index(i)
    total = len(np.unique(np.concatenate(bad_rows)))
    raise DataError(
        f"make_bars input row {i} at {pd.Timestamp(int(ts[i]), tz='UTC')}, column '{names[j]}': "
        f"{_value_problem(names[j], float(cols[j][i]))} ({total} such rows). No bar is built from it; fix or "
        "remove those rows (load_bars/load_ticks reject them with file line numbers)."
    )


def _fit_lengths(ts: np.ndarray, so: np.ndarray) -> np.ndarray | None:
    """Causal input-bar length per row: the smallest spacing so far between two rows of the same
    session, back-filled before the first such pair (None when there is no such pair).

    The streaming builder can compute exactly this one row at a time, so both paths agree on
    which input first fails the fit check. (A global minimum would need the whole input.)
    """
    big = np.iinfo(np.int64).max
    spacing = np.where(so[1:] == so[:-1], np.diff(ts), big)
    f = np.empty(len(ts), dtype=np.int64)
    f[0] = big
    f[1:] = np.minimum.accumulate(spacing)
    known = f < big
    if not known.any():
        return None
    f[: int(np.argmax(known))] = f[known][0]
    return f


def _span_error(ts: int, freq: int, end: int, minutes: int, where: str) -> DataError:
    return DataError(
        f"{where}: input bar at {pd.Timestamp(int(ts), tz='UTC')} ({freq / _MIN_NS:g}-minute bars) would span "
        f"the {minutes}-minute bar boundary at {pd.Timestamp(int(end), tz='UTC')}; choose minutes that are a "
        "multiple of the input bar length, with input bars aligned to the session open."
    )


def _check_fit(ts: np.ndarray, so: np.ndarray, bopen: np.ndarray, sc: np.ndarray, step: int, minutes: int) -> None:
    """Input bars must each fit inside one output bar (their length inferred by `_fit_lengths`)."""
    freq = _fit_lengths(ts, so)
    if freq is None:
        return
    end = np.minimum(bopen + step, sc)
    bad = np.flatnonzero(ts + freq > end)
    if bad.size:
        i = int(bad[0])
        raise _span_error(int(ts[i]), int(freq[i]), int(end[i]), minutes, "make_bars")


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
    for k in BARS_COLUMNS[:4]:
        base = cols[k][pos]
        out[k] = np.where(filled, cols["close"][pos], base)
    out["volume"] = np.where(filled, 0.0, cols["volume"][pos])
    out["filled"] = filled
    return new_index, out


def _to_ns(ts: Any, what: str, error: type[AlgoSpaceError]) -> int:
    if isinstance(ts, (int, np.integer)) and not isinstance(ts, bool):
        return int(ts)
    t = aware_time(ts, what, error)
    return t.value if t.unit == "ns" else int(t.as_unit("ns").value)  # as_unit costs ~6 us per tick


_STR = (str, bytes)
_TICK_KEYS = ("timestamp", "price", "volume")
_BAR_KEYS = ("timestamp", *BARS_COLUMNS)
_EXPECTED = (
    "a tick (timestamp, price, volume) or a bar (timestamp, open, high, low, close, volume) as a tuple, "
    "Tick/Bar, mapping with those keys, or a DataFrame row"
)


class BarBuilder:
    """Streaming `make_bars`: feed ticks or bars one at a time, get completed bars back.

    `update(item)` accepts a `Tick`/`Bar`, a tuple `(timestamp, price, volume)` or
    `(timestamp, open, high, low, close, volume)`, a mapping with those keys, or a DataFrame
    row (`df.iloc[i]`, its name is the timestamp); timestamps
    are tz-aware or int UTC nanoseconds. It returns the bars this item completed (a bar
    completes when the first item at or after its end arrives). `flush()` returns the bar in
    progress; `advance(now)` closes bars whose end is <= `now` (clock-driven runtimes) and
    remembers `now`: a later tick older than it is late data (DataError), as is any input
    for a bar already closed by `advance` or `flush`. With `fill_gaps`, the filled bars
    between two real bars are emitted when the second real bar starts (as in batch, a gap is
    only known to be inside the data once data after it arrives).

    Example: ``b = BarBuilder(30, "SPY"); done = [x for row in rows for x in b.update(row)] + b.flush()``
    """

    def __init__(self, minutes: int, instrument: str | Instrument | None = None, *, fill_gaps: bool = False, outside: str = "drop") -> None:
        self.minutes = _check_minutes(minutes)
        self.instrument = resolve_instrument(instrument)
        self.fill_gaps = fill_gaps
        self.outside = _check_outside(outside)
        self.dropped = 0
        self._cal = self.instrument.calendar
        b = self.instrument.bounds
        self._pmin, self._pmax, self._vmax = b.min_price, b.max_price, b.max_volume
        self._step = self.minutes * _MIN_NS
        self._n = 0  # inputs seen (for messages)
        self._last: int | None = None
        self._kind: str | None = None
        self._so = self._sc = -1  # current session bounds (ns)
        self._cur: list[Any] | None = None  # [open_ns, end_ns, session_open, o, h, l, c, v]
        self._prev: tuple[int, int, float] | None = None  # last emitted real bar: (open_ns, session_open, close)
        self._clock: int | None = None  # latest `now` given to advance()
        self._closed_end: int | None = None  # end of the last bar closed by advance()/flush()
        # Causal input-bar length for the fit check (see `_fit_lengths`).
        self._fit_len: int | None = None
        self._fit_prev: tuple[int, int] | None = None  # (ts, session_open) of the last in-session input bar
        self._fit_pending: list[tuple[int, int]] = []  # (ts, end) of input bars seen before the length is known

    def _parse(self, item: Any) -> tuple[int, float, float, float, float, float, str]:
        # Hot path (called per tick): plain tuples are unpacked inline; everything else is
        # normalised to (keys, values) first.
        if isinstance(item, (tuple, list, np.ndarray)) and not isinstance(item, (str, bytes)):
            n = len(item)
            if n == 7:  # a Bar with its `filled` flag
                item, n = tuple(item)[:6], 6
            if n == 3:
                keys: tuple[str, ...] = _TICK_KEYS
            elif n == 6:
                keys = _BAR_KEYS
            else:
                raise InputError(f"BarBuilder.update expects {_EXPECTED}; received {n} values: {item!r}.")
            values = item
        elif isinstance(item, (Mapping, pd.Series)):
            keys = _TICK_KEYS if "price" in item else _BAR_KEYS
            ts_raw, vals = bar_fields(item, "BarBuilder.update", keys[1:])
            values = [ts_raw, *vals]
        else:
            raise InputError(f"BarBuilder.update expects {_EXPECTED}; received {type(item).__name__} {item!r}.")
        ts = _to_ns(values[0], "BarBuilder.update", DataError)
        try:
            if len(keys) == 3:
                p, v = values[1], values[2]
                if isinstance(p, _STR) or isinstance(v, _STR):
                    raise TypeError("a string")
                p, v = float(p), float(v)
            else:
                o, h, l, c, v = values[1], values[2], values[3], values[4], values[5]
                if isinstance(o, _STR) or isinstance(h, _STR) or isinstance(l, _STR) or isinstance(c, _STR) or isinstance(v, _STR):
                    raise TypeError("a string")
                o, h, l, c, v = float(o), float(h), float(l), float(c), float(v)
        except (TypeError, ValueError):
            for k, x in zip(keys[1:], values[1:]):
                number(x, k, "BarBuilder.update")  # raises the DataError naming the value
            raise
        if len(keys) == 3:
            lo_p, hi_p, hi_v = self._pmin, self._pmax, self._vmax
            if not (lo_p <= p <= hi_p and 0.0 <= v <= hi_v):
                self._bad_value(ts, keys[1:], [p, v])
            return ts, p, p, p, p, v, "ticks"
        lo_p, hi_p, hi_v = self._pmin, self._pmax, self._vmax
        if not (lo_p <= o <= hi_p and lo_p <= h <= hi_p and lo_p <= l <= hi_p and lo_p <= c <= hi_p and 0.0 <= v <= hi_v):
            self._bad_value(ts, keys[1:], [o, h, l, c, v])
        return ts, o, h, l, c, v, "bars"

    def _bad_value(self, ts: int, names: tuple[str, ...], nums: list[float]) -> None:
        where = f"BarBuilder input #{self._n} at {pd.Timestamp(ts, tz='UTC')}"
        for k, x in zip(names, nums):
            why = _value_problem(k, x)
            if why is not None:
                raise DataError(f"{where}, column '{k}': {why}. No bar is built from it; fix or drop that input.")
        bounds = self.instrument.bounds
        i, col, value, bound, count = bounds.violation({k: np.array([x]) for k, x in zip(names, nums)})  # type: ignore[misc]
        raise DataError(bounds.message(where, col, value, bound, count, self.instrument.name))

    def _emit(self) -> Bar:
        cur = self._cur  # only called while a bar is in progress
        self._prev = (cur[0], cur[2], cur[6])
        return Bar(pd.Timestamp(cur[0], tz="UTC"), cur[3], cur[4], cur[5], cur[6], cur[7], False)

    def _check_fit(self, ts: int, end: int) -> None:
        """Streaming twin of `_check_fit`/`_fit_lengths` for input bars (same order, same error)."""
        prev = self._fit_prev
        self._fit_prev = (ts, self._so)
        if prev is not None and prev[1] == self._so:
            d = ts - prev[0]
            self._fit_len = d if self._fit_len is None else min(self._fit_len, d)
        if self._fit_len is None:
            self._fit_pending.append((ts, end))
            return
        checks, self._fit_pending = self._fit_pending + [(ts, end)], []
        for t, e in checks:
            if t + self._fit_len > e:
                raise _span_error(t, self._fit_len, e, self.minutes, "BarBuilder")

    def update(self, item: Any) -> list[Bar]:
        """Add one tick or bar; return the bars it completed (oldest first)."""
        ts, o, h, l, c, v, kind = self._parse(item)
        self._n += 1
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
        if kind == "ticks" and self._clock is not None and ts < self._clock:
            raise DataError(
                f"BarBuilder: late data: tick at {pd.Timestamp(ts, tz='UTC')} is older than the clock "
                f"(advance({pd.Timestamp(self._clock, tz='UTC')})); feed every tick before advancing past its time."
            )
        if self._closed_end is not None and ts < self._closed_end:
            raise DataError(
                f"BarBuilder: late data: input at {pd.Timestamp(ts, tz='UTC')} belongs to a bar already closed "
                f"(by advance() or flush()) that ended at {pd.Timestamp(self._closed_end, tz='UTC')}; "
                "feed every input before closing its bar."
            )
        self._last = ts
        cur = self._cur
        if cur is not None and cur[0] <= ts < cur[1]:
            if kind == "bars":
                self._check_fit(ts, cur[1])
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
        end = min(bopen + self._step, self._sc)
        if kind == "bars":
            self._check_fit(ts, end)
        out: list[Bar] = []
        if cur is not None:
            out.append(self._emit())
        prev = self._prev
        if self.fill_gaps and prev is not None and prev[1] == self._so:
            t = prev[0] + self._step
            while t < bopen:
                out.append(Bar(pd.Timestamp(t, tz="UTC"), prev[2], prev[2], prev[2], prev[2], 0.0, True))
                t += self._step
        self._cur = [bopen, end, self._so, o, h, l, c, v]
        return out

    def advance(self, now: Any) -> list[Bar]:
        """Set the clock to `now`; close and return the bar in progress if its end is <= `now`.

        After this, a tick older than `now` (or any input for the closed bar) is late data.
        """
        t = _to_ns(now, "BarBuilder.advance", InputError)
        self._clock = t if self._clock is None else max(self._clock, t)
        if self._cur is not None and self._clock >= self._cur[1]:
            return self.flush()
        return []

    def flush(self) -> list[Bar]:
        """Return the bar in progress (if any) and close it; call at end of data."""
        if self._cur is None:
            return []
        done = [self._emit()]
        self._closed_end = self._cur[1]
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
