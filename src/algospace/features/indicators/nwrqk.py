"""NW-RQK: Nadaraya-Watson kernel regression of the close with a rational-quadratic kernel.

yhat(t) = sum_i w_i close[t - i] / sum_i w_i,  w_i = (1 + i^2 / (2 r h^2))^(-r),  i = 0, 1, ...

Two lines: `nwrqk_value` with bandwidth h and `nwrqk_fast` with h - lag (the original's
"lag 2" second line). Parameters: the code used h = 8, r = 8, x0 = 25, lag 2 and the spec
h = 46, alpha = 8; we keep the code's values (they are what the original's signals were tuned
on and what its charts show) and expose all of them.

x0 is the warm-up: no value before bar index x0 (25 bars of history). The kernel is
truncated at `window` = 100 bars: w_i decays like i^(-2r) = i^(-16), so the bars beyond 100
carry less than 1e-8 of the kernel mass for h = 8 (and less for h - lag); below 100 bars of
history the sum runs over all available bars. Batch and streaming use the same truncation and
the same reduction, so they agree to rounding.

Outputs: `nwrqk_value`, `nwrqk_fast`, `nwrqk_slope` (value[t] - value[t-1], price units) and
`nwrqk_signal` (+1 bullish / -1 bearish / 0): with signal="cross" (default) when the fast line
crosses above / below the slow line, with signal="slope" when the slope of the slow line turns
from falling to rising / rising to falling.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from algospace.features.bar_check import check_bars
from algospace.data.stream_bar import FromCloses, StreamClock
from algospace.features.indicators.parameters import Params
from algospace.features.indicators.kernels import cross_step, crosses

NWRQK_COLUMNS = ("nwrqk_value", "nwrqk_fast", "nwrqk_slope", "nwrqk_signal")


class NWRQKParams(Params):
    """NW-RQK parameters (defaults from the original code; see the module docstring)."""

    h: float = Field(8.0, gt=0)
    r: float = Field(8.0, gt=0)
    x0: int = Field(25, ge=0)
    lag: float = Field(2.0, ge=0)
    window: int = Field(100, ge=2)  # kernel truncation (bars); tail mass beyond it < 1e-8 for h = 8, r = 8
    signal: Literal["cross", "slope"] = "cross"

    @model_validator(mode="after")
    def _consistent(self) -> NWRQKParams:
        if self.h - self.lag <= 0:
            raise ValueError(f"h - lag (the fast line's bandwidth) must be > 0; received h={self.h}, lag={self.lag}")
        return self


def rq_weights(h: float, r: float, window: int) -> np.ndarray:
    """Kernel weights w_0..w_{window-1} (index = bars back from the current bar)."""
    i = np.arange(window, dtype=np.float64)
    return (1.0 + i**2 / (2.0 * r * h**2)) ** (-r)


def _regress(win: np.ndarray, w_rev: np.ndarray, wsum: np.ndarray) -> np.ndarray:
    """Kernel average of window rows (oldest first, zero-padded on the left for short history).

    Multiply + sum (not a BLAS dot) so one streaming row reduces exactly like a batch row.
    """
    return (win * w_rev).sum(axis=-1) / wsum


class _Lines:
    """The two regression lines over a rolling window; shared by batch and stream."""

    def __init__(self, p: NWRQKParams) -> None:
        self.p = p
        self.w1 = rq_weights(p.h, p.r, p.window)[::-1].copy()  # oldest first
        self.w2 = rq_weights(p.h - p.lag, p.r, p.window)[::-1].copy()
        # denominators for t + 1 < window available bars: sum of the newest t + 1 weights
        self.c1 = np.cumsum(self.w1[::-1])
        self.c2 = np.cumsum(self.w2[::-1])

    def compute(self, padded_rows: np.ndarray, avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.minimum(avail, self.p.window) - 1
        return _regress(padded_rows, self.w1, self.c1[k]), _regress(padded_rows, self.w2, self.c2[k])


def nwrqk(bars: pd.DataFrame, params: NWRQKParams | None = None) -> pd.DataFrame:
    """NW-RQK lines, slope and signal over bars (run it on Heikin-Ashi 30-minute bars).

    Example: `nwrqk(heikin_ashi(bars_30m))[["nwrqk_value", "nwrqk_signal"]]`.
    """
    p = params or NWRQKParams()
    a = check_bars(bars, "nwrqk")
    close = a["close"]
    n = close.shape[0]
    lines = _Lines(p)
    y1 = np.full(n, np.nan)
    y2 = np.full(n, np.nan)
    if n > p.x0:
        padded = np.concatenate([np.zeros(p.window - 1), close])
        win = np.lib.stride_tricks.sliding_window_view(padded, p.window)  # (n, window)
        for s in range(p.x0, n, 4096):  # chunks bound the temporary (rows x window) product
            e = min(n, s + 4096)
            y1[s:e], y2[s:e] = lines.compute(win[s:e], np.arange(s, e) + 1)
    slope = np.full(n, np.nan)
    slope[1:] = y1[1:] - y1[:-1]
    if p.signal == "cross":
        signal = crosses(y2, y1)
    else:
        signal = crosses(slope, np.zeros(n))
    return pd.DataFrame({"nwrqk_value": y1, "nwrqk_fast": y2, "nwrqk_slope": slope, "nwrqk_signal": signal}, index=bars.index)


class NWRQK(FromCloses):
    """Incremental NW-RQK: `update(bar)` returns the row `nwrqk(bars)` has at that bar."""

    def __init__(self, params: NWRQKParams | None = None) -> None:
        self.params = p = params or NWRQKParams()
        self._clock = StreamClock("NWRQK.update")
        self._lines = _Lines(p)
        self._buf: deque[float] = deque([0.0] * p.window, maxlen=p.window)
        self._t = -1
        self._prev = (np.nan, np.nan, np.nan)  # y1, y2, slope of the previous bar

    def step(self, close: float) -> dict[str, float]:
        """Advance by one close (of a Heikin-Ashi bar when used on 30-minute bars)."""
        p = self.params
        self._t += 1
        self._buf.append(close)
        y1 = y2 = float("nan")
        if self._t >= p.x0:
            r1, r2 = self._lines.compute(np.asarray(self._buf, dtype=np.float64)[None, :], np.array([self._t + 1]))
            y1, y2 = float(r1[0]), float(r2[0])
        py1, py2, pslope = self._prev
        slope = y1 - py1
        if self._t == 0:
            signal = 0.0
        elif p.signal == "cross":
            signal = cross_step(py2, py1, y2, y1)
        else:
            signal = cross_step(pslope, 0.0, slope, 0.0)
        self._prev = (y1, y2, slope)
        return {"nwrqk_value": y1, "nwrqk_fast": y2, "nwrqk_slope": slope, "nwrqk_signal": signal}
