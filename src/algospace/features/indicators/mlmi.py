"""MLMI: the machine-learning momentum index (k-nearest-neighbour vote over past crossovers).

At every crossover of WMA(close, 5) and WMA(close, 20) the pair (WMA20 of RSI(20), WMA20 of
RSI(5)) is stored. Its label is the subsequent price direction: +1 when the close
`label_horizon` bars later is >= the close at the crossover. That label is only known
`label_horizon` bars after the crossover, so a pair joins the neighbour set at bar
c + label_horizon and never earlier (the original stored the label at the crossover itself
from a later price, which is look-ahead when replayed). At each bar the current pair is
compared (Euclidean distance, in RSI points) with the `max_pairs` most recent usable pairs;
MLMI = 100 x (share of "up" labels among the k nearest). Ties in distance go to the more
recent pair. Until k labelled pairs exist MLMI is NaN (no made-up value).

k: the spec says 5 (value 0-100), the code 200 (a sum of labels). k = 5 moves in 20-point
jumps and flips on single neighbours; k = 200 needs ~200 labelled crossovers (months of
30-minute bars) before the first value and then averages away most of the memory. k = 20
(5-point resolution, warm-up of ~20 labelled crossovers, about a month of 30-minute bars) is the
default; the 0-100 scale follows the spec.

Outputs: `mlmi_value` (0-100), `mlmi_ma` (WMA of the value, `signal_length`), `mlmi_signal`
(+1 when the value crosses above its WMA, -1 below, else 0).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from algospace.features.bar_check import check_bars
from algospace.data.stream_bar import FromCloses, StreamClock
from algospace.features.indicators.parameters import Params
from algospace.features.indicators.kernels import cross_step, crosses, wma, wma_rows, wma_weights
from algospace.features.indicators.rsi import RSI, rsi_values

MLMI_COLUMNS = ("mlmi_value", "mlmi_ma", "mlmi_signal")


class MLMIParams(Params):
    """MLMI parameters (see the module docstring for why k = 20)."""

    k: int = Field(20, ge=1)
    rsi_fast: int = Field(5, ge=1)
    rsi_slow: int = Field(20, ge=1)
    rsi_smooth: int = Field(20, ge=1)  # WMA applied to both RSIs: the stored feature pair
    ma_fast: int = Field(5, ge=1)  # crossover of WMA(close, ma_fast) and WMA(close, ma_slow) stores a pair
    ma_slow: int = Field(20, ge=2)
    label_horizon: int = Field(5, ge=1)  # bars after the crossover at which its up/down label is known
    max_pairs: int = Field(2000, ge=1)  # memory of the neighbour set (most recent usable pairs)
    signal_length: int = Field(20, ge=1)  # WMA of the value; crossings of the two give mlmi_signal

    @model_validator(mode="after")
    def _consistent(self) -> MLMIParams:
        if self.ma_fast >= self.ma_slow:
            raise ValueError(f"ma_fast must be < ma_slow; received {self.ma_fast} and {self.ma_slow}")
        if self.max_pairs < self.k:
            raise ValueError(f"max_pairs must be >= k; received {self.max_pairs} < {self.k}")
        return self


def knn_up_share(
    qx: np.ndarray, qy: np.ndarray, px: np.ndarray, py: np.ndarray, up: np.ndarray, lo: np.ndarray, hi: np.ndarray, k: int
) -> np.ndarray:
    """For each query row i: share of up-labels among the k nearest pairs in [lo[i], hi[i]).

    Shared by the batch and the streaming path (elementwise float operations only, so both
    give bit-identical results). Rows with fewer than k candidates or a NaN query give NaN.
    """
    m = qx.shape[0]
    out = np.full(m, np.nan)
    ok = (hi - lo >= k) & np.isfinite(qx) & np.isfinite(qy)
    if not ok.any():
        return out
    rows = np.flatnonzero(ok)
    c0, c1 = int(lo[rows].min()), int(hi[rows].max())
    cols = np.arange(c0, c1)
    d = np.sqrt((qx[rows, None] - px[None, c0:c1]) ** 2 + (qy[rows, None] - py[None, c0:c1]) ** 2)  # (r, P)
    valid = (cols[None, :] >= lo[rows, None]) & (cols[None, :] < hi[rows, None])
    d = np.where(valid, d, np.inf)
    dk = np.partition(d, k - 1, axis=1)[:, k - 1 : k]  # (r, 1) k-th smallest distance
    lt = d < dk
    eq = d == dk
    u = up[None, c0:c1]
    need = k - lt.sum(axis=1)
    n_up = (lt & u).sum(axis=1).astype(np.float64)
    n_eq = eq.sum(axis=1)
    simple = n_eq == need
    n_up[simple] += (eq[simple] & u).sum(axis=1)
    for j in np.flatnonzero(~simple):  # rare: exact ties at the k-th distance -> most recent first
        tied = np.flatnonzero(eq[j])[::-1][: need[j]]
        n_up[j] += up[c0 + tied].sum()
    out[rows] = 100.0 * n_up / k
    return out


def _features(close: np.ndarray, p: MLMIParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f_slow = wma(rsi_values(close, p.rsi_slow), p.rsi_smooth)
    f_fast = wma(rsi_values(close, p.rsi_fast), p.rsi_smooth)
    cross = crosses(wma(close, p.ma_fast), wma(close, p.ma_slow))
    return f_slow, f_fast, cross


def mlmi(bars: pd.DataFrame, params: MLMIParams | None = None) -> pd.DataFrame:
    """MLMI over bars (run it on Heikin-Ashi 30-minute bars, as the original did).

    Example: `mlmi(heikin_ashi(bars_30m))["mlmi_value"]`.
    """
    p = params or MLMIParams()
    a = check_bars(bars, "mlmi")
    close = a["close"]
    n = close.shape[0]
    f_slow, f_fast, cross = _features(close, p)
    c = np.flatnonzero((cross != 0) & np.isfinite(f_slow) & np.isfinite(f_fast))
    c = c[c + p.label_horizon < n] if n else c
    avail = c + p.label_horizon
    px, py = f_slow[c], f_fast[c]
    up = close[avail] >= close[c]
    t = np.arange(n)
    hi = np.searchsorted(avail, t, side="right")
    lo = np.maximum(hi - p.max_pairs, 0)
    value = np.full(n, np.nan)
    for s in range(0, n, 1024):  # chunks bound the (rows x pairs) distance matrix
        e = min(n, s + 1024)
        value[s:e] = knn_up_share(f_slow[s:e], f_fast[s:e], px, py, up, lo[s:e], hi[s:e], p.k)
    ma = wma(value, p.signal_length)
    signal = crosses(value, ma)
    return pd.DataFrame({"mlmi_value": value, "mlmi_ma": ma, "mlmi_signal": signal}, index=bars.index)


class MLMI(FromCloses):
    """Incremental MLMI: `update(bar)` returns the row `mlmi(bars)` has at that bar."""

    def __init__(self, params: MLMIParams | None = None) -> None:
        self.params = p = params or MLMIParams()
        self._clock = StreamClock("MLMI.update")
        self._rsi_s, self._rsi_f = RSI(p.rsi_slow), RSI(p.rsi_fast)
        self._rs: deque[float] = deque(maxlen=p.rsi_smooth)
        self._rf: deque[float] = deque(maxlen=p.rsi_smooth)
        self._closes: deque[float] = deque(maxlen=p.ma_slow)
        self._w_rsi, self._w_fast, self._w_slow = wma_weights(p.rsi_smooth), wma_weights(p.ma_fast), wma_weights(p.ma_slow)
        self._w_sig = wma_weights(p.signal_length)
        self._ma_prev = (np.nan, np.nan)
        self._pending: deque[tuple[int, float, float, float]] = deque()  # (bar, f_slow, f_fast, close) awaiting a label
        # labelled pairs, appended in order; the neighbour set is the last max_pairs of them
        self._px = np.empty(64)
        self._py = np.empty(64)
        self._up = np.empty(64, dtype=bool)
        self._n = 0
        self._values: deque[float] = deque(maxlen=p.signal_length)
        self._prev_value, self._prev_ma = np.nan, np.nan
        self._t = -1

    @staticmethod
    def _wma(buf: deque[float], w: np.ndarray) -> float:
        n = w.shape[0]
        if len(buf) < n:
            return float("nan")
        return float(wma_rows(np.asarray(buf, dtype=np.float64)[None, -n:], w)[0])

    def _add_pair(self, fx: float, fy: float, up: bool) -> None:
        if self._n == self._px.shape[0]:
            keep = self.params.max_pairs  # pairs older than the last max_pairs are never used again
            if self._n > 2 * keep:
                self._px[:keep], self._py[:keep], self._up[:keep] = self._px[-keep:], self._py[-keep:], self._up[-keep:]
                self._n = keep
            else:
                self._px, self._py = np.resize(self._px, 2 * self._n), np.resize(self._py, 2 * self._n)
                self._up = np.resize(self._up, 2 * self._n)
        self._px[self._n], self._py[self._n], self._up[self._n] = fx, fy, up
        self._n += 1

    def step(self, close: float) -> dict[str, float]:
        """Advance by one close (of a Heikin-Ashi bar when used on 30-minute bars)."""
        p = self.params
        self._t += 1
        t = self._t
        self._rs.append(self._rsi_s.step(close))
        self._rf.append(self._rsi_f.step(close))
        f_slow, f_fast = self._wma(self._rs, self._w_rsi), self._wma(self._rf, self._w_rsi)
        self._closes.append(close)
        ma_f = self._wma(self._closes, self._w_fast)
        ma_s = self._wma(self._closes, self._w_slow)
        cross = cross_step(self._ma_prev[0], self._ma_prev[1], ma_f, ma_s) if t > 0 else 0.0
        self._ma_prev = (ma_f, ma_s)
        if cross != 0.0 and np.isfinite(f_slow) and np.isfinite(f_fast):
            self._pending.append((t, f_slow, f_fast, close))
        # A pair's label needs the close label_horizon bars later: it joins the set only now.
        while self._pending and self._pending[0][0] + p.label_horizon <= t:
            _c, fx, fy, close_c = self._pending.popleft()
            self._add_pair(fx, fy, close >= close_c)
        lo, hi = max(self._n - p.max_pairs, 0), self._n
        value = float(
            knn_up_share(
                np.array([f_slow]), np.array([f_fast]), self._px[lo:hi], self._py[lo:hi], self._up[lo:hi],
                np.array([0]), np.array([hi - lo]), p.k,
            )[0]
        )
        self._values.append(value)
        ma = self._wma(self._values, self._w_sig)
        signal = cross_step(self._prev_value, self._prev_ma, value, ma) if t > 0 else 0.0
        self._prev_value, self._prev_ma = value, ma
        return {"mlmi_value": value, "mlmi_ma": ma, "mlmi_signal": signal}
