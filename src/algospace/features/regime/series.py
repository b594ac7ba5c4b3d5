"""The per-bar base series every regime feature is built from.

Kept separate so the batch path and the stream share one definition of the per-bar
quantities (log close, log return, log range, ...): the same code computes them in both
paths, which is what makes streaming equal batch. Bars frames are checked by
`algospace.features.bar_check.check_bars`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
