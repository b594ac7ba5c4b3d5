"""Real inputs for the checks: each model's input rows cut from market data, with the month
each row belongs to, so outputs can be compared across a calm and a volatile month.

The rows are built with the same functions training and the runtime use (the RDE's own
feature spec, `build_signals`, `core_inputs`, `regime_at`), never synthesised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from algospace.errors import DataError

MAX_ROWS = 256  # rows per period: enough for means and spreads, cheap on 2 cores


@dataclass
class MarketData:
    """The bars of the check, loaded once; heavy pieces are built on first use."""

    name: str
    frame: pd.DataFrame  # 1-minute bars as loaded
    market: Any = None  # sim.Market (ES proxy for SPY), built on first use
    signals: Any = None  # signals.SignalSet
    frames: Any = None  # features.core_inputs.CoreFrames

    @classmethod
    def load(cls, data: "str | pd.DataFrame | MarketData") -> "MarketData":
        """From a sample name or bar file, a frame of bars, or an already loaded MarketData (shared)."""
        from algospace.data import load_data

        if isinstance(data, MarketData):
            return data
        if isinstance(data, pd.DataFrame):
            return cls(str(data.attrs.get("source", "DataFrame")), data)
        return cls(str(data), load_data(data))

    def build_market(self) -> Any:
        if self.market is None:
            from algospace.signals import build_signals
            from algospace.sim import Market

            self.market = Market.load(self.frame, "ES")
            self.signals = build_signals(self.market.bars_5m, self.market.bars_30m, "components", proxy=self.market.proxy)
        return self.market

    def core_frames(self) -> Any:
        if self.frames is None:
            from algospace.features.core_inputs import core_frames

            m = self.build_market()
            self.frames = core_frames(m.bars_5m, m.bars_30m)
        return self.frames

    def month_volatility(self) -> pd.Series:
        """Standard deviation of 30-minute log returns per calendar month (UTC)."""
        m = self.build_market()
        close = m.bars_30m["close"]
        r = np.log(close).diff().dropna()
        months = r.index.tz_convert("UTC").strftime("%Y-%m")
        return r.groupby(months).std()


@dataclass
class Periods:
    """Rows of one model's inputs in a calm and a volatile month (positions into the input arrays)."""

    calm: str
    volatile: str
    calm_rows: np.ndarray
    volatile_rows: np.ndarray
    calm_vol: float
    volatile_vol: float

    def describe(self) -> str:
        return (f"calm {self.calm} ({len(self.calm_rows)} rows, 30-min return sd {self.calm_vol:.4f}) vs volatile "
                f"{self.volatile} ({len(self.volatile_rows)} rows, sd {self.volatile_vol:.4f})")


def pick_periods(times: pd.DatetimeIndex, vol: pd.Series, min_rows: int) -> Periods:
    """The calmest and the most volatile month among those with at least `min_rows` rows."""
    months = pd.DatetimeIndex(times).tz_convert("UTC").strftime("%Y-%m")
    counts = pd.Series(months).value_counts()
    usable = vol[vol.index.isin(counts[counts >= min_rows].index)]
    if len(usable) < 2:
        raise DataError(f"The check needs two months with at least {min_rows} input rows each; the data has "
                        f"{len(usable)}. Pass more data (--data, several months).")
    calm, volatile = str(usable.idxmin()), str(usable.idxmax())
    arr = np.asarray(months)

    def rows(month: str) -> np.ndarray:
        idx = np.flatnonzero(arr == month)
        return idx[np.linspace(0, len(idx) - 1, min(len(idx), MAX_ROWS)).astype(int)]

    return Periods(calm, volatile, rows(calm), rows(volatile), float(usable[calm]), float(usable[volatile]))
