"""Multi-scale maximum mean discrepancy (Gaussian kernel), linear in the number of bars.

For a window X of the last n per-bar observations and a fitted reference sample Y (m rows),
the biased estimate is

    MMD^2 = mean k(X, X) + mean k(Y, Y) - 2 mean k(X, Y),   k(a, b) = exp(-|a - b|^2 / (2 s^2)).

- mean k(Y, Y) is a constant of the fitted state.
- mean k(X, Y) is the window mean of a per-bar quantity G[i] = mean_j k(x_i, y_j).
- sum k(X, X) = n + 2 * sum_{j=1..n-1} C[t-n+1+j, j], where C[i, j] = sum_{l=1..j} k(x_i, x_{i-l})
  is a short prefix sum over lags of one bar: each bar's row of C is computed once.

Every row of G and C depends only on a bar and the observations before it, and every window
sum is taken directly over the window (no cumulative-sum differences that drift), so the
batch path and the stream compute the same numbers.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from algospace.errors import DataError
from algospace.features.regime.series import BarSeries

OBS_NAMES = ("log_return", "log_return_4", "pair_product", "log_range", "log_volume", "close_location")
OBS_LAG = 4  # bars before a bar its observation reads (the 4-bar return); rows 0..3 are NaN
_CHUNK = 2048  # rows per block: bounds temporary memory, keeps cost linear in bars


def raw_observations(s: BarSeries) -> np.ndarray:
    """Per-bar observation vectors (N, 6) before standardisation; rows < OBS_LAG are NaN.

    Besides the bar's own return, range, volume and close location, the 4-bar return and the
    signed geometric mean of consecutive returns carry serial structure, so that trending and
    mean-reverting windows differ in distribution, not only in order.
    """
    r4 = np.full_like(s.logc, np.nan)
    r4[OBS_LAG:] = s.logc[OBS_LAG:] - s.logc[:-OBS_LAG]
    pp = np.full_like(s.r, np.nan)
    prod = s.r[1:] * s.r[:-1]
    pp[1:] = np.sign(prod) * np.sqrt(np.abs(prod))
    out = np.column_stack([s.r, r4, pp, s.lr, s.logv, s.clv])
    out[:OBS_LAG] = np.nan
    return out


def standardise(raw: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Robustly standardised observations (training median / scaled MAD)."""
    return (raw - center) / scale


def _k(d2: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """Gaussian kernel for every bandwidth along a new last axis."""
    return np.exp(d2[..., None] * (-0.5 / (bandwidths * bandwidths)))


def median_bandwidth(obs: np.ndarray, rng: np.random.Generator, max_points: int = 2000) -> float:
    """Median heuristic: the median pairwise distance of (a seeded subsample of) training observations."""
    from scipy.spatial.distance import pdist  # scipy does the O(n^2) pair distances in C

    pts = obs[np.isfinite(obs).all(axis=1)]
    if len(pts) > max_points:
        pts = pts[np.sort(rng.choice(len(pts), size=max_points, replace=False))]
    med = float(np.median(pdist(pts))) if len(pts) >= 2 else 0.0
    if not np.isfinite(med) or med <= 0.0:
        raise DataError(
            f"The median pairwise distance of the training observations is {med!r}; the training bars are "
            "degenerate (constant prices/volume). Fit on real market data."
        )
    return med


def lag_prefix(obs: np.ndarray, rows: np.ndarray, n_max: int, bandwidths: np.ndarray) -> np.ndarray:
    """C[r, b, j] = sum_{l=1..j} k_b(x_i, x_{i-l}) for i = rows[r], j = 0..n_max-1: shape (R, B, n_max).

    Lags that reach before the first row (or a NaN observation) give NaN; windows that fit in
    the history never read them.
    """
    rows = np.asarray(rows)
    out = np.empty((len(rows), len(bandwidths), n_max), dtype=np.float64)
    lags = np.arange(1, n_max)
    for lo in range(0, len(rows), _CHUNK):
        rr = rows[lo : lo + _CHUNK]
        idx = rr[:, None] - lags[None, :]  # (R, n_max-1)
        prev = obs[np.maximum(idx, 0)]  # (R, n_max-1, d)
        diff = obs[rr][:, None, :] - prev
        d2 = (diff * diff).sum(axis=-1)
        d2[idx < 0] = np.nan
        k = _k(d2, bandwidths)  # (R, n_max-1, B)
        block = out[lo : lo + len(rr)]
        block[:, :, 0] = 0.0
        np.cumsum(k.transpose(0, 2, 1), axis=2, out=block[:, :, 1:])
    return out


def _sq_dist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|x_i - y_j|^2 for x (R, d) and y (M, d): (R, M), accumulated coordinate by coordinate.

    Elementwise only (no BLAS), so a row's value is bit-identical whether it is computed in a
    block of thousands (batch) or alone (stream).
    """
    d2 = np.zeros((len(x), len(y)), dtype=np.float64)
    for k in range(x.shape[1]):
        diff = x[:, k, None] - y[None, :, k]
        d2 += diff * diff
    return d2


def cross_means(obs: np.ndarray, references: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """G[i, q, b] = mean_j k_b(x_i, y_qj) for every row of obs: shape (N, Q, B)."""
    q, m, d = references.shape
    flat = references.reshape(q * m, d)
    out = np.empty((len(obs), q, len(bandwidths)), dtype=np.float64)
    for lo in range(0, len(obs), _CHUNK):
        x = obs[lo : lo + _CHUNK]
        d2 = _sq_dist(x, flat)  # (R, Q*m)
        for b, bw in enumerate(bandwidths):
            k = np.exp(d2 * (-0.5 / (bw * bw))).reshape(len(x), q, m)
            out[lo : lo + len(x), :, b] = k.mean(axis=-1)
    return out


def reference_terms(references: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """mean k(Y, Y) over all m^2 pairs of each reference sample: shape (Q, B)."""
    diff = references[:, :, None, :] - references[:, None, :, :]  # (Q, m, m, d)
    return _k((diff * diff).sum(axis=-1), bandwidths).mean(axis=(1, 2))


def mmd_scores(c: np.ndarray, g: np.ndarray, ref_terms: np.ndarray, windows: tuple[int, ...], start: int) -> np.ndarray:
    """MMD for every bar t >= start, reference, window and bandwidth: shape (N - start, Q, W, B)."""
    n_rows = len(g) - start
    q, b = ref_terms.shape
    out = np.empty((n_rows, q, len(windows), b), dtype=np.float64)
    ends = np.arange(start, len(g))
    for wi, n in enumerate(windows):
        cols = np.arange(n)
        pair = c[ends[:, None] - n + 1 + cols[None, :], :, cols[None, :]].sum(axis=1)  # (R, B)
        within = (n + 2.0 * pair) / float(n * n)
        cross = sliding_window_view(g, n, axis=0)[start - n + 1 :].mean(axis=-1)  # (R, Q, B)
        mmd2 = within[:, None, :] + ref_terms[None] - 2.0 * cross
        out[:, :, wi, :] = np.sqrt(np.maximum(mmd2, 0.0))
    return out
