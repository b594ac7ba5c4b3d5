"""Heikin-Ashi candles, batch (`heikin_ashi`) and incremental (`HeikinAshi`), with identical output.

HA close = (open + high + low + close) / 4; HA open = (previous HA open + previous HA close) / 2,
the first HA open = (open + close) / 2 of the first bar; HA high = max(high, HA open, HA close),
HA low = min(low, HA open, HA close). Volume passes through. Causal by construction.
A NaN/inf input value is a DataError naming the row (or bar) and column: one NaN would
otherwise poison every later HA open through the recursion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from algospace.data.bars import BARS_COLUMNS
from algospace.errors import DataError, InputError

_OHLC = BARS_COLUMNS[:4]


def heikin_ashi(bars: pd.DataFrame) -> pd.DataFrame:
    """Heikin-Ashi version of `bars` (same index, columns open, high, low, close, volume).

    Example: ``ha = heikin_ashi(make_bars(sample("spy-1m"), 30, "SPY"))``
    """
    if not isinstance(bars, pd.DataFrame):
        raise InputError(f"heikin_ashi expects a pandas DataFrame of bars with columns {list(BARS_COLUMNS)}; found {type(bars).__name__}.")
    missing = [c for c in BARS_COLUMNS if c not in bars.columns]
    if missing:
        raise InputError(f"heikin_ashi needs bars with columns {list(BARS_COLUMNS)}; missing {missing}.")
    try:
        o, h, l, c, vol = (bars[k].to_numpy(dtype=np.float64) for k in BARS_COLUMNS)
    except (TypeError, ValueError) as exc:
        raise InputError(f"heikin_ashi needs numeric OHLCV columns; found dtypes {dict(bars.dtypes.astype(str))} ({exc}).") from exc
    for name, arr in zip(BARS_COLUMNS, (o, h, l, c, vol)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"heikin_ashi: row {i} at {bars.index[i]}, column '{name}': value {arr[i]} is not finite "
                f"({bad.size} such rows); expected finite bars (validate_bars / load_bars reject them)."
            )
    ha_close = (o + h + l + c) / 4
    ha_open = np.empty_like(ha_close)
    if len(o):
        ha_open[0] = (o[0] + c[0]) / 2
        if len(o) > 1:
            # The recursion y[t] = 0.5*y[t-1] + 0.5*x[t-1] as a first-order IIR filter (scipy, C
            # speed). Scaling by 0.5 is exact in binary floating point, so this equals the
            # incremental (y + x) / 2 bit for bit.
            ha_open[1:], _ = lfilter([0.5], [1.0, -0.5], ha_close[:-1], zi=[0.5 * ha_open[0]])
    out = pd.DataFrame(
        {
            "open": ha_open,
            "high": np.maximum(np.maximum(h, ha_open), ha_close),
            "low": np.minimum(np.minimum(l, ha_open), ha_close),
            "close": ha_close,
            "volume": vol,
        },
        index=bars.index.copy(),
    )
    return out


class HeikinAshi:
    """Incremental Heikin-Ashi: `update(bar)` returns the HA bar for it, equal to the batch output.

    `bar` is a mapping/Series or object with open, high, low, close (and volume), or a tuple
    (open, high, low, close[, volume]). Returns a dict with open, high, low, close, volume.

    Example: ``ha = HeikinAshi(); [ha.update(row) for _, row in bars.iterrows()]``
    """

    def __init__(self) -> None:
        self._prev: tuple[float, float] | None = None  # (HA open, HA close) of the last bar

    def reset(self) -> None:
        """Forget history; the next bar is treated as the first."""
        self._prev = None

    @staticmethod
    def _fields(bar: Any) -> tuple[float, float, float, float, float]:
        if isinstance(bar, (tuple, list, np.ndarray)) and not hasattr(bar, "_fields"):
            if len(bar) not in (4, 5):
                raise InputError(f"HeikinAshi.update expects (open, high, low, close[, volume]); received {len(bar)} values: {bar!r}.")
            raw = list(bar) if len(bar) == 5 else [*bar, 0.0]
        elif isinstance(bar, (Mapping, pd.Series)):
            missing = [k for k in _OHLC if k not in bar]
            if missing:
                raise InputError(f"HeikinAshi.update needs open, high, low, close; {missing} missing from {bar!r}.")
            raw = [bar[k] for k in _OHLC] + [bar["volume"] if "volume" in bar else 0.0]
        elif all(hasattr(bar, k) for k in _OHLC) and not isinstance(bar, (str, bytes)):  # Bar, namedtuples, objects
            raw = [getattr(bar, k) for k in _OHLC] + [getattr(bar, "volume", 0.0)]
        else:
            raise InputError(
                "HeikinAshi.update expects a bar: a mapping/Series or object with open, high, low, close[, volume], "
                f"or a tuple (open, high, low, close[, volume]); received {type(bar).__name__} {bar!r}."
            )
        out = []
        for name, x in zip(BARS_COLUMNS, raw):
            if isinstance(x, (str, bytes)):
                raise InputError(f"HeikinAshi.update: '{name}' must be a number; received the string {x!r}.")
            try:
                f = float(x)
            except (TypeError, ValueError) as exc:
                raise InputError(f"HeikinAshi.update: '{name}' must be a number; received {type(x).__name__} {x!r}.") from exc
            if not math.isfinite(f):
                raise DataError(f"HeikinAshi.update: column '{name}' of bar {bar!r} is {f}; expected a finite number.")
            out.append(f)
        return out[0], out[1], out[2], out[3], out[4]

    def update(self, bar: Any) -> dict[str, float]:
        """Feed the next bar; return its Heikin-Ashi values."""
        o, h, l, c, v = self._fields(bar)
        ha_close = (o + h + l + c) / 4
        ha_open = (o + c) / 2 if self._prev is None else (self._prev[0] + self._prev[1]) / 2
        self._prev = (ha_open, ha_close)
        return {"open": ha_open, "high": max(h, ha_open, ha_close), "low": min(l, ha_open, ha_close), "close": ha_close, "volume": v}


__all__ = ["heikin_ashi", "HeikinAshi"]
