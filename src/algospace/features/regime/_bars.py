"""Bar input checks and the per-bar base series every regime feature is built from.

Kept separate so the batch path and the stream share one definition of "a valid bar" and of
the per-bar quantities (log close, log return, log range, ...): the same code computes them in
both paths, which is what makes streaming equal batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from algospace.data import validate_bars
from algospace.errors import DataError, InputError

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


def check_bars(bars: object, min_rows: int, what: str) -> pd.DataFrame:
    """Validate a bars DataFrame for feature computation; return it unchanged.

    Raises InputError for the wrong type/shape/too few rows, DataError for values that break
    the bars contract (`algospace.data.validate_bars`: NaN/inf, unsorted or duplicate
    timestamps, high/low not covering open/close, negative volume) or non-positive prices.
    Nothing is repaired or sorted silently.
    """
    if not isinstance(bars, pd.DataFrame):
        raise InputError(f"{what} expects a pandas DataFrame of bars; got {type(bars).__name__}.")
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise InputError(
            f"{what} expects bar columns {list(BAR_COLUMNS)}; missing {missing}. "
            "Load bars with algospace.data (e.g. algospace.data.make_bars) to get the standard layout."
        )
    idx = bars.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
        raise InputError(
            f"{what} expects a tz-aware UTC DatetimeIndex named 'timestamp'; got {type(idx).__name__}"
            f"{'' if not isinstance(idx, pd.DatetimeIndex) else ' without timezone'}. "
            "Use bars.tz_localize('UTC') or load bars with algospace.data."
        )
    if len(bars) < min_rows:
        raise InputError(
            f"{what} needs at least {min_rows} bars (the longest feature window plus one); got {len(bars)}. "
            "Pass a longer history."
        )
    validate_bars(bars, source=what)  # the project's bars contract: finite, ordered, unique, float64, OHLC consistent
    prices = bars.loc[:, list(BAR_COLUMNS[:4])].to_numpy(dtype=np.float64)
    if (prices <= 0).any():
        r, c = np.argwhere(prices <= 0)[0]
        raise DataError(
            f"{what}: row {r} at {idx[r]}, column {BAR_COLUMNS[c]!r}: price {prices[r, c]!r}; features take logarithms "
            "of prices, so every price must be > 0. Fix the source data."
        )
    return bars


def _safe_div(a: np.ndarray, b: np.ndarray, fill: float) -> np.ndarray:
    """a / b where b != 0, `fill` elsewhere (degenerate windows get a neutral value, not NaN)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.full(np.broadcast_shapes(a.shape, b.shape), fill, dtype=np.float64)
    np.divide(a, b, out=out, where=b != 0)
    return out


@dataclass(frozen=True)
class BarSeries:
    """Per-bar quantities of a bar array; index 0 has no previous close (NaN where needed)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    logc: np.ndarray  # log close
    r: np.ndarray  # log return close-to-close, NaN at 0
    lr: np.ndarray  # log range log(high / low)
    oc: np.ndarray  # log(close / open)
    logv: np.ndarray  # log(1 + volume)
    clv: np.ndarray  # close location value in [-1, 1]; 0 when high == low
    gap: np.ndarray  # log(open / previous close), NaN at 0

    @property
    def n(self) -> int:
        return len(self.close)


def bar_series(values: np.ndarray) -> BarSeries:
    """Build the base series from an (N, 5) float64 array of open, high, low, close, volume."""
    o, h, lo, c, v = (np.ascontiguousarray(values[:, i]) for i in range(5))
    with np.errstate(invalid="ignore", divide="ignore"):
        logc = np.log(c)
        logo = np.log(o)
        r = np.empty_like(logc)
        r[0] = np.nan
        r[1:] = logc[1:] - logc[:-1]
        gap = np.empty_like(logc)
        gap[0] = np.nan
        gap[1:] = logo[1:] - logc[:-1]
        lr = np.log(h) - np.log(lo)
        clv = _safe_div(2.0 * (c - lo) - (h - lo), h - lo, 0.0)
        logv = np.log1p(v)
    return BarSeries(o, h, lo, c, v, logc, r, lr, logc - logo, logv, clv, gap)
