"""RSI: Wilder's relative strength index (0-100), on closes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from algospace.features.bar_check import check_bars
from algospace.data.stream_bar import FromCloses, StreamClock
from algospace.features.indicators.parameters import check_int
from algospace.features.indicators.kernels import seed_mean, wilder_rma


def _rsi_from_averages(gain: np.ndarray | float, loss: np.ndarray | float) -> Any:
    """100 - 100 / (1 + gain/loss); a flat window (no gain, no loss) is 50, no loss is 100."""
    g = np.asarray(gain, dtype=np.float64)
    lo = np.asarray(loss, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 100.0 - 100.0 / (1.0 + g / lo)
    r = np.where(lo == 0.0, np.where(g == 0.0, 50.0, 100.0), r)
    r = np.where(np.isnan(g) | np.isnan(lo), np.nan, r)
    return r


def rsi_values(close: np.ndarray, period: int) -> np.ndarray:
    """RSI of a close array: NaN for the first `period` bars (period changes are needed)."""
    n = close.shape[0]
    if n < 2:
        return np.full(n, np.nan)
    d = np.diff(close)
    gain = np.concatenate([[np.nan], np.where(d > 0, d, 0.0)])
    loss = np.concatenate([[np.nan], np.where(d < 0, -d, 0.0)])
    return _rsi_from_averages(wilder_rma(gain, period, 1), wilder_rma(loss, period, 1))


def rsi(bars: pd.DataFrame, period: int = 14) -> pd.Series:
    """Wilder RSI of the close, 0-100 (NaN for the first `period` bars).

    Example: `rsi(bars_5m, 14)`.
    """
    period = check_int(period, "period", "rsi", 1)
    a = check_bars(bars, "rsi")
    return pd.Series(rsi_values(a["close"], period), index=bars.index, name="rsi")


class RSI(FromCloses):
    """Incremental RSI: `update(bar)` equals `rsi(bars)` at that bar."""

    def __init__(self, period: int = 14) -> None:
        self.period = check_int(period, "period", "RSI", 1)
        self._clock = StreamClock("RSI.update")
        self._prev: float | None = None
        self._g: list[float] = []
        self._l: list[float] = []
        self._ag = float("nan")
        self._al = float("nan")
        self._value = float("nan")

    @property
    def value(self) -> float:
        return self._value

    def step(self, close: float) -> float:
        """Advance by one close (used by composite indicators such as MLMI)."""
        prev, self._prev = self._prev, close
        if prev is None:
            return self._value
        d = close - prev
        g, lo = (d if d > 0 else 0.0), (-d if d < 0 else 0.0)
        p = self.period
        if len(self._g) < p:
            self._g.append(g)
            self._l.append(lo)
            if len(self._g) < p:
                return self._value
            self._ag, self._al = seed_mean(self._g), seed_mean(self._l)
        else:
            self._ag = (self._ag * (p - 1) + g) / p
            self._al = (self._al * (p - 1) + lo) / p
        ag, al = self._ag, self._al
        # scalar twin of _rsi_from_averages (same IEEE operations, so the same bits, without numpy overhead)
        self._value = (50.0 if ag == 0.0 else 100.0) if al == 0.0 else 100.0 - 100.0 / (1.0 + ag / al)
        return self._value
