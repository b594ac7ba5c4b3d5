"""ATR: Wilder's average true range, the volatility unit every matrix distance is measured in."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from algospace.features.bar_check import check_bars
from algospace.data.stream_bar import StreamClock
from algospace.features.indicators.parameters import check_int
from algospace.features.indicators.kernels import seed_mean, wilder_rma


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """max(high - low, |high - prev close|, |low - prev close|); the first bar uses high - low."""
    tr = high - low
    if tr.shape[0] > 1:
        pc = close[:-1]
        tr[1:] = np.maximum(tr[1:], np.maximum(np.abs(high[1:] - pc), np.abs(low[1:] - pc)))
    return tr


def atr(bars: pd.DataFrame, period: int = 14) -> pd.Series:
    """Average true range (Wilder): NaN for the first `period - 1` bars, then the seeded RMA.

    Example: `atr(bars_5m).iloc[-1]` is the current 5-minute ATR in price units.
    """
    period = check_int(period, "period", "atr", 1)
    a = check_bars(bars, "atr")
    tr = true_range(a["high"], a["low"], a["close"])
    return pd.Series(wilder_rma(tr, period, 0), index=bars.index, name="atr")


class ATR:
    """Incremental ATR: `update(bar)` returns the same value `atr(bars)` gives at that bar (NaN in warm-up)."""

    def __init__(self, period: int = 14) -> None:
        self.period = check_int(period, "period", "ATR", 1)
        self._clock = StreamClock("ATR.update")
        self._prev_close: float | None = None
        self._seed: list[float] = []
        self._avg = float("nan")

    @property
    def value(self) -> float:
        """The latest ATR (NaN during warm-up)."""
        return self._avg

    def update(self, bar: Any) -> float:
        ts, _o, h, lo, c, _v = self._clock.read(bar)
        return self.step(h, lo, c)

    def step(self, high: float, low: float, close: float) -> float:
        """Advance by one already-validated bar (used by composite indicators)."""
        tr = high - low
        if self._prev_close is not None:
            tr = max(tr, max(abs(high - self._prev_close), abs(low - self._prev_close)))
        self._prev_close = close
        if len(self._seed) < self.period:
            self._seed.append(tr)
            if len(self._seed) == self.period:
                self._avg = seed_mean(self._seed)
        else:
            self._avg = (self._avg * (self.period - 1) + tr) / self.period
        return self._avg
