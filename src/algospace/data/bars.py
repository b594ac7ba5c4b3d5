"""The bars contract: validation that names the first bad row, and opt-in repair with a report.

Contract (docs/data.md, "The bars contract"): a DataFrame indexed by a tz-aware UTC
`timestamp` (bar open time) with float64 `open, high, low, close, volume`; strictly increasing
unique timestamps; high >= low; high >= max(open, close); low <= min(open, close); prices > 0;
volume >= 0; every value finite and within the plausible magnitudes of `algospace.data.bounds`.

Repair (`repair=True`) fixes only what can be fixed without inventing a price:
- exact duplicate rows (same timestamp, same values) are dropped, the first kept;
- out-of-order rows are moved into time order (stable sort); the report names the fewest rows
  that moved (one swapped pair of rows is two moves);
- a high below the low (the two swapped) is swapped back, reported as its own rule;
- a high below max(open, close) is raised to max(open, close), a low above min(open, close) is
  lowered to min(open, close). The new value is a price that bar really traded (its open or
  close), no open/close changes, and every widened cell is reported row by row.
Duplicates with different values, NaN/inf, prices <= 0, negative volume, implausible
magnitudes and bad timestamps are never repaired: there is no honest value to put there.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from algospace.data.bounds import DEFAULT_BOUNDS, Bounds, bounds_of
from algospace.errors import DataError

BARS_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class RepairChange:
    """One change made by repair: which input row, which column, what happened, old -> new."""

    row: int
    timestamp: str
    column: str
    action: str
    old: float | None = None
    new: float | None = None


@dataclass
class RepairReport:
    """Every change `repair=True` made to a bar file, in input-row order per rule."""

    source: str
    rows_in: int = 0
    rows_out: int = 0
    changes: list[RepairChange] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.changes)

    @property
    def changed(self) -> bool:
        """True when repair changed anything at all."""
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        """Number of changes per action (e.g. {'widened high': 120, 'dropped duplicate': 2})."""
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.action] = out.get(c.action, 0) + 1
        return out

    def summary(self) -> str:
        """One line: rows in/out and the count of each kind of change."""
        if not self.changes:
            return f"{self.source}: {self.rows_in} rows, nothing repaired"
        parts = ", ".join(f"{n} {a}" for a, n in sorted(self.counts().items()))
        return f"{self.source}: {self.rows_in} rows in, {self.rows_out} out; {parts}"

    def to_frame(self) -> pd.DataFrame:
        """The changes as a DataFrame (row, timestamp, column, action, old, new)."""
        cols = ["row", "timestamp", "column", "action", "old", "new"]
        return pd.DataFrame([c.__dict__ for c in self.changes], columns=cols)


def _where(source: str, row: int, ts: pd.Timestamp | None, line_offset: int | None) -> str:
    loc = f"{source}: row {row}"
    if line_offset is not None:
        loc += f" (file line {row + line_offset})"
    if ts is not None:
        loc += f" at {ts}"
    return loc


# Repair sorts a handful of stray rows; more is not a stray row but a misread or unsorted file.
MAX_REORDER = 10
_MISREAD_DATES = (
    "{n} rows out of order usually means the dates were read in the wrong order (day-first vs month-first, "
    "e.g. 02.01.2017 as 1 February): check the date format (--dayfirst/--no-dayfirst, --format), or sort the file."
)


def check_bars(
    index: pd.DatetimeIndex,
    values: pd.DataFrame,
    source: str,
    *,
    repair: bool = False,
    line_offset: int | None = None,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> tuple[pd.DataFrame, RepairReport]:
    """Validate (and with `repair`, fix) bars given as a UTC index and float64 OHLCV columns.

    Rows are numbered from 0 in input order; `line_offset` (2 for a CSV with a header) adds
    the file line to messages; `bounds` are the plausible magnitudes (`algospace.data.bounds`).
    Returns the contract frame and the repair report.
    """
    report = RepairReport(source=source, rows_in=len(values))
    if len(values) == 0:
        raise DataError(f"{source}: no bars (empty file or frame); expected at least one row of OHLCV data.")
    arr = {c: values[c].to_numpy(dtype=np.float64) for c in BARS_COLUMNS}
    ts = index.as_unit("ns").asi8
    rows = np.arange(len(ts))
    at = lambda i: pd.Timestamp(int(ts[i]), tz="UTC")  # noqa: E731

    for c in BARS_COLUMNS:
        bad = np.flatnonzero(~np.isfinite(arr[c]))
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{_where(source, i, at(i), line_offset)}, column '{c}': value {arr[c][i]} is not finite "
                f"({bad.size} such rows); expected a finite number. Fix or remove those rows (repair cannot invent prices)."
            )
    for c in BARS_COLUMNS[:4]:
        bad = np.flatnonzero(arr[c] <= 0)
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{_where(source, i, at(i), line_offset)}, column '{c}': price <= 0 ({arr[c][i]}; {bad.size} such rows); "
                "expected a positive price. Fix or remove those rows (repair cannot invent prices)."
            )
    bad = np.flatnonzero(arr["volume"] < 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{_where(source, i, at(i), line_offset)}, column 'volume': negative volume {arr['volume'][i]} "
            f"({bad.size} such rows); expected volume >= 0. Fix the source data."
        )
    out_of_bounds = bounds.violation(arr)
    if out_of_bounds is not None:
        i, col, value, bound, count = out_of_bounds
        raise DataError(bounds.message(_where(source, i, at(i), line_offset), col, value, bound, count))

    # Time order and uniqueness.
    order_bad = np.flatnonzero(np.diff(ts) < 0) + 1
    dup_mask = pd.Index(ts).duplicated(keep="first")
    dup_bad = np.flatnonzero(dup_mask)
    if not repair and (order_bad.size or dup_bad.size):
        first_order = int(order_bad[0]) if order_bad.size else len(ts)
        first_dup = int(dup_bad[0]) if dup_bad.size else len(ts)
        i = min(first_order, first_dup)
        if i == first_dup:
            raise DataError(
                f"{_where(source, i, at(i), line_offset)}, column 'timestamp': duplicate timestamp "
                f"({dup_bad.size} duplicate rows); expected strictly increasing unique bar times. "
                "Remove the duplicates, or load with repair=True to drop exact duplicates."
            )
        n_out = int((ts < np.maximum.accumulate(ts)).sum())
        raise DataError(
            f"{_where(source, i, at(i), line_offset)}, column 'timestamp': out of order, earlier than the row before "
            f"({at(i - 1)}); expected strictly increasing bar times. "
            + (_MISREAD_DATES.format(n=n_out) if n_out > MAX_REORDER else "Sort the file, or load with repair=True.")
        )
    if repair and order_bad.size:
        moved = _moved_rows(ts)
        if moved.size > MAX_REORDER:
            i = int(moved[0])
            raise DataError(
                f"{_where(source, i, at(i), line_offset)}, column 'timestamp': {moved.size} rows are out of time order "
                f"(this one is earlier than {at(i - 1)}); repair moves at most {MAX_REORDER}. "
                + _MISREAD_DATES.format(n=moved.size)
            )
        for i in moved:
            report.changes.append(RepairChange(int(i), str(at(i)), "timestamp", "moved into time order"))
        perm = np.argsort(ts, kind="stable")
        ts, rows = ts[perm], rows[perm]
        arr = {c: v[perm] for c, v in arr.items()}
    if repair and dup_bad.size:
        same_ts = np.flatnonzero(np.diff(ts) == 0) + 1
        keep = np.ones(len(ts), dtype=bool)
        for j in same_ts:
            # The row it duplicates is the last kept row with the same timestamp (rows are sorted).
            k = j - 1
            while not keep[k]:
                k -= 1
            if all(arr[c][j] == arr[c][k] for c in BARS_COLUMNS):
                keep[j] = False
                report.changes.append(
                    RepairChange(int(rows[j]), str(pd.Timestamp(int(ts[j]), tz="UTC")), "*", f"dropped duplicate of row {int(rows[k])}")
                )
            else:
                diff_cols = [c for c in BARS_COLUMNS if arr[c][j] != arr[c][k]]
                raise DataError(
                    f"{_where(source, int(rows[j]), pd.Timestamp(int(ts[j]), tz='UTC'), line_offset)}, column '{diff_cols[0]}': "
                    f"duplicate timestamp with different values than row {int(rows[k])} ({arr[diff_cols[0]][k]} vs "
                    f"{arr[diff_cols[0]][j]}); repair drops only exact duplicates. Decide which row is right and remove the other."
                )
        ts, rows = ts[keep], rows[keep]
        arr = {c: v[keep] for c, v in arr.items()}

    swapped = np.flatnonzero(arr["high"] < arr["low"])
    if swapped.size and not repair:
        i = int(swapped[0])
        raise DataError(
            f"{_where(source, int(rows[i]), pd.Timestamp(int(ts[i]), tz='UTC'), line_offset)}, columns 'high'/'low': "
            f"high < low (high {arr['high'][i]}, low {arr['low'][i]}; {swapped.size} such rows): high and low look "
            "swapped. Fix the data, or load with repair=True to swap them back (reported row by row)."
        )
    for i in swapped:
        report.changes.append(
            RepairChange(int(rows[i]), str(pd.Timestamp(int(ts[i]), tz="UTC")), "high/low", "swapped high/low back",
                         float(arr["high"][i]), float(arr["low"][i]))
        )
    if swapped.size:
        arr["high"], arr["low"] = np.maximum(arr["high"], arr["low"]), np.minimum(arr["high"], arr["low"])
    hi_need = np.maximum(arr["open"], arr["close"])
    lo_need = np.minimum(arr["open"], arr["close"])
    for col, bad_mask, need, rule in (
        ("high", arr["high"] < hi_need, hi_need, "high < max(open, close)"),
        ("low", arr["low"] > lo_need, lo_need, "low > min(open, close)"),
    ):
        bad = np.flatnonzero(bad_mask)
        if not bad.size:
            continue
        if not repair:
            i = int(bad[0])
            raise DataError(
                f"{_where(source, int(rows[i]), pd.Timestamp(int(ts[i]), tz='UTC'), line_offset)}, column '{col}': {rule} "
                f"(open {arr['open'][i]}, high {arr['high'][i]}, low {arr['low'][i]}, close {arr['close'][i]}; "
                f"{bad.size} such rows); expected the high/low to cover open and close. Fix the data, or load with "
                "repair=True to widen high/low to the open/close (reported row by row)."
            )
        for i in bad:
            report.changes.append(
                RepairChange(int(rows[i]), str(pd.Timestamp(int(ts[i]), tz="UTC")), col, f"widened {col}", float(arr[col][i]), float(need[i]))
            )
        arr[col] = np.where(bad_mask, need, arr[col])

    out = pd.DataFrame(arr, index=pd.DatetimeIndex(ts.astype("datetime64[ns]"), name="timestamp").tz_localize("UTC"))
    report.rows_out = len(out)
    return out, report


def _moved_rows(ts: np.ndarray) -> np.ndarray:
    """The fewest rows whose moving puts `ts` in time order: every row off one longest
    non-decreasing subsequence (patience sorting, O(n log n)). One swapped pair of rows is two
    moves, not every row between them."""
    tails: list[int] = []  # tails[k]: smallest last value of a kept run of length k + 1
    tail_at: list[int] = []  # the row holding tails[k]
    parent = np.full(len(ts), -1, dtype=np.int64)
    values = ts.tolist()
    for i, t in enumerate(values):
        k = bisect.bisect_right(tails, t)
        if k == len(tails):
            tails.append(t)
            tail_at.append(i)
        else:
            tails[k], tail_at[k] = t, i
        parent[i] = tail_at[k - 1] if k else -1
    keep = np.zeros(len(ts), dtype=bool)
    j = tail_at[-1] if tail_at else -1
    while j >= 0:
        keep[j] = True
        j = int(parent[j])
    return np.flatnonzero(~keep)


def validate_bars(bars: pd.DataFrame, source: str = "bars", bounds: Bounds | None = None) -> pd.DataFrame:
    """Raise DataError unless `bars` satisfies the bars contract; returns `bars` unchanged.

    `bounds` (plausible magnitudes) default to those of the instrument `bars.attrs` names, else
    the package defaults (`algospace.data.bounds`).

    Example: ``validate_bars(df)`` before feeding a hand-built frame to features.
    """
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame of bars; found {type(bars).__name__}.")
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise DataError(
            f"{source}: the index must be a tz-aware UTC DatetimeIndex named 'timestamp'; found "
            f"{type(bars.index).__name__} (tz={getattr(bars.index, 'tz', None)}). Use algospace.data.load_bars."
        )
    if str(bars.index.tz) != "UTC":
        raise DataError(f"{source}: the timestamp index must be in UTC; found tz {bars.index.tz}. Use .tz_convert('UTC').")
    missing = [c for c in BARS_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; expected {list(BARS_COLUMNS)}.")
    for c in BARS_COLUMNS:
        if bars[c].dtype != np.float64:
            raise DataError(f"{source}, column '{c}': dtype {bars[c].dtype}; expected float64. Use .astype('float64').")
    check_bars(bars.index, bars, source, repair=False, bounds=bounds_of(bars) if bounds is None else bounds)
    return bars


__all__ = ["BARS_COLUMNS", "RepairChange", "RepairReport", "check_bars", "validate_bars"]
