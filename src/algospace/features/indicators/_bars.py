"""Shared plumbing for indicators: bar coercion for streams, parameter sets, and the kernels
that the batch and the incremental path of every indicator both call (so they agree by
construction). Bars frames are checked by `algospace.features._bars.check_bars`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from algospace.errors import DataError, InputError
from algospace.features._bars import BAR_COLUMNS, check_bar_values
from algospace.features._params import StrictParams


def coerce_bar(bar: Any, who: str) -> tuple[pd.Timestamp | None, float, float, float, float, float]:
    """Read one bar (a row `bars.iloc[i]`, a mapping, an itertuples row, or an object with
    open/high/low/close/volume attributes such as `algospace.data.Bar`) into plain floats.

    The timestamp comes from the row name (`bars.iloc[i]`), a `timestamp` key or attribute, or
    `Index` (itertuples); it may be None for indicators that do not need time.
    """
    ts: Any = None
    if isinstance(bar, pd.Series):
        ts = bar.name
        get = bar.__getitem__
    elif isinstance(bar, Mapping):
        ts = bar.get("timestamp")
        get = bar.__getitem__
    elif hasattr(bar, "_fields") or hasattr(bar, "close"):  # itertuples rows, algospace.data.Bar, dataclasses
        ts = getattr(bar, "Index", getattr(bar, "timestamp", None))

        def get(k: str) -> Any:
            return getattr(bar, k)
    else:
        raise InputError(f"{who}.update expects a bar (pandas row, mapping or itertuples row); received {type(bar).__name__}.")
    try:
        vals = tuple(float(get(c)) for c in BAR_COLUMNS)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise DataError(f"{who}.update: a bar needs numeric {list(BAR_COLUMNS)}; could not read them ({exc}).") from exc
    check_bar_values(f"{who}.update", ts, *vals)
    if ts is not None and not isinstance(ts, pd.Timestamp):
        try:
            ts = pd.Timestamp(ts)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{who}.update: bar timestamp {ts!r} is not a timestamp.") from exc
    return (ts, *vals)  # type: ignore[return-value]


class StreamClock:
    """Enforces strictly increasing timestamps in a stream (the bars contract, bar by bar)."""

    def __init__(self, who: str, need_time: bool = False) -> None:
        self.who = who
        self.need_time = need_time
        self.last: pd.Timestamp | None = None

    def check(self, ts: pd.Timestamp | None) -> None:
        if ts is None:
            if self.need_time:
                raise InputError(f"{self.who}.update needs the bar's timestamp (row name, 'timestamp' key or Index).")
            return
        if ts.tz is None:
            raise DataError(f"{self.who}.update: bar timestamp {ts} is naive; bars are tz-aware UTC.")
        if self.last is not None and ts <= self.last:
            raise DataError(
                f"{self.who}.update: bars must arrive in strictly increasing time; received {ts} after {self.last}."
            )
        self.last = ts


def check_int(value: Any, name: str, owner: str, minimum: int) -> int:
    """Parameter check with the one error shape used package-wide."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"The {name!r} parameter of {owner} must be an int >= {minimum}; received {value!r}.")
    return int(value)


# ---------------------------------------------------------------------------- kernels
def wma_weights(length: int) -> np.ndarray:
    """Linear weights of a weighted moving average, oldest first: 1, 2, ..., n over their sum."""
    w = np.arange(1, length + 1, dtype=np.float64)
    return w / w.sum()


def wma(x: np.ndarray, length: int) -> np.ndarray:
    """Weighted moving average (NaN until `length` values; any NaN inside a window gives NaN)."""
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] >= length:
        win = np.lib.stride_tricks.sliding_window_view(x, length)  # (n - length + 1, length)
        out[length - 1 :] = wma_rows(win, wma_weights(length))
    return out


def wma_rows(win: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted sum written as multiply + sum so the batch and the one-row streaming call
    reduce in the same order (a BLAS dot may reorder the sum and break exact agreement)."""
    return (win * weights).sum(axis=-1)


def wilder_rma(x: np.ndarray, period: int, first: int) -> np.ndarray:
    """Wilder's running average of `x` starting at index `first`: seeded with the mean of
    x[first : first + period], then avg = (avg * (period - 1) + x) / period.

    Hand-written loop on purpose: scipy.signal.lfilter would be vectorised but rounds
    differently from the streaming update; a plain float loop keeps batch == stream bit for
    bit and costs ~0.1 us per bar.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = first + period - 1
    if n <= start:
        return out
    avg = float(np.mean(x[first : first + period]))
    out[start] = avg
    keep = float(period - 1)
    p = float(period)
    vals = x.tolist()
    res = out.tolist()
    for i in range(start + 1, n):
        avg = (avg * keep + vals[i]) / p
        res[i] = avg
    return np.asarray(res, dtype=np.float64)


def seed_mean(values: list[float]) -> float:
    """The seed of a Wilder average, computed exactly as `wilder_rma` does."""
    return float(np.mean(np.asarray(values, dtype=np.float64)))


def crosses(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """+1 where `a` crosses above `b` at t (a[t] > b[t], a[t-1] <= b[t-1]), -1 below, else 0."""
    out = np.zeros(a.shape[0])
    if a.shape[0] < 2:
        return out
    a0, b0, a1, b1 = a[:-1], b[:-1], a[1:], b[1:]
    with np.errstate(invalid="ignore"):
        up = (a1 > b1) & (a0 <= b0)
        dn = (a1 < b1) & (a0 >= b0)
    out[1:][up] = 1.0
    out[1:][dn] = -1.0
    return out


def cross_step(a_prev: float, b_prev: float, a: float, b: float) -> float:
    """Streaming form of `crosses` for one bar (NaN compares False, as in the batch path)."""
    if a > b and a_prev <= b_prev:
        return 1.0
    if a < b and a_prev >= b_prev:
        return -1.0
    return 0.0


class Params(StrictParams):
    """Base of indicator / assembler parameter sets: frozen, unknown keys rejected, and invalid
    values raised as InputError naming the field on every construction path."""


def layout_fingerprint(kind: str, version: int, names: Sequence[str], params: BaseModel) -> str:
    """sha256 of a model-input layout (kind, version, value names in order, every parameter).

    Model artifacts store it so an engine can refuse inputs built under another layout (the
    original's training and inference synergy vectors silently disagreed).
    """
    doc = {"kind": kind, "version": version, "names": list(names), "params": params.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
