"""Numeric kernels that the batch and the incremental path of every indicator both call, so
they agree by construction: weighted and Wilder moving averages, and line crossings.
"""

from __future__ import annotations

import numpy as np


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
