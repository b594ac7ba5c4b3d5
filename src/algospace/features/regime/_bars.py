"""Bar input checks and the per-bar base series every regime feature is built from.

Kept separate so the batch path and the stream share one definition of "a valid bar" and of
the per-bar quantities (log close, log return, log range, ...): the same code computes them in
both paths, which is what makes streaming equal batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from algospace.errors import DataError, InputError

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


def check_bars(bars: object, min_rows: int, what: str) -> pd.DataFrame:
    """Validate a bars DataFrame for feature computation; return it unchanged.

    Raises InputError for the wrong type/shape/too few rows, DataError for values that break
    the bars contract (NaN/inf, non-positive prices, high < low, negative volume, unsorted or
    duplicate timestamps). Nothing is repaired or sorted silently.
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
    if not idx.is_unique or not idx.is_monotonic_increasing:
        diffs = np.diff(idx.asi8)
        bad = int(np.argmax(diffs <= 0)) + 1
        raise DataError(
            f"{what} expects strictly increasing unique timestamps; row {bad} ({idx[bad]}) is not after row "
            f"{bad - 1} ({idx[bad - 1]}). Sort and de-duplicate the bars before computing features."
        )
    values = bars.loc[:, list(BAR_COLUMNS)].to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        raise DataError(
            f"{what} found a non-finite value ({values[r, c]!r}) in column {BAR_COLUMNS[c]!r} at {idx[r]} (row {r}); "
            "every bar inside a feature window must be complete. Repair or drop the bad bars first."
        )
    prices = values[:, :4]
    if (prices <= 0).any():
        r, c = np.argwhere(prices <= 0)[0]
        raise DataError(
            f"{what} expects positive prices; column {BAR_COLUMNS[c]!r} is {prices[r, c]!r} at {idx[r]} (row {r})."
        )
    if (values[:, 1] < values[:, 2]).any():
        r = int(np.argmax(values[:, 1] < values[:, 2]))
        raise DataError(f"{what} expects high >= low; at {idx[r]} (row {r}) high={values[r, 1]!r} < low={values[r, 2]!r}.")
    if (values[:, 4] < 0).any():
        r = int(np.argmax(values[:, 4] < 0))
        raise DataError(f"{what} expects volume >= 0; at {idx[r]} (row {r}) volume={values[r, 4]!r}.")
    return bars


def _safe_div(a: np.ndarray, b: np.ndarray, fill: float) -> np.ndarray:
    """a / b where b != 0, `fill` elsewhere (degenerate windows get a neutral value, not NaN)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    out = np.full(a.shape, fill, dtype=np.float64)
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
