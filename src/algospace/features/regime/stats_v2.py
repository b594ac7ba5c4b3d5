"""The 70 statistics version 2 adds: intrabar measures from 1-minute bars and the volume level.

Every feature is a window sum of per-bar quantities (`intrabar.INTRABAR_SUMS` or the bar's
own volume), so the value over a window of w bars is the pooled estimate over all its
minutes, read from bars t-w+1..t only (w <= 104 < LOOKBACK). Ten families, each at the same
seven windows (1, 4, 8, 13, 26, 52, 104 bars: the current bar to eight sessions).

Why these (docs/rde.md, "Where the information is lost"): version 1 normalises the volume
level away (every volume feature is a ratio or z-score) and sees 1-minute structure only
through the 30-minute bar; regimes that differ in jumps, tails, 1-minute autocorrelation or
volume-volatility coupling at equal 30-minute volatility are then hard to tell apart.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from algospace.features.regime.intrabar import sum_index
from algospace.features.regime.series import BarSeries, _safe_div
from algospace.features.regime.stats import FeatureInfo

V2_WINDOWS: tuple[int, ...] = (1, 4, 8, 13, 26, 52, 104)
_TINY = 1e-20  # keeps logs of variances finite for windows without minutes or moves
_LN2 = float(np.log(2.0))
_PI_2 = float(np.pi / 2.0)

# (family, formula over the window of {w} bars and their minutes j (r_j, v_j), why it separates regimes)
_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("volu_level", "ln(1 + mean V over {w} bars), robust-scaled by the training median: the level is kept",
     "participation level: active versus quiet regimes (version 1 only had volume ratios)"),
    ("irv", "ln(sum r_j^2 over the minutes of {w} bars / {w}) (realised variance per bar)",
     "volatility measured from all minutes: more precise than one 30-minute return"),
    ("jump", "max(0, 1 - (pi/2) sum |r_j||r_(j-1)| / sum r_j^2) over {w} bars (1 - bipower / realised variance)",
     "share of variance from jumps: jumpy versus diffusive markets at equal volatility"),
    ("semi", "(sum r_j^2 [r_j > 0] - sum r_j^2 [r_j < 0]) / sum r_j^2 over {w} bars (signed semivariance)",
     "whether the large 1-minute moves are up or down: squeeze-like versus crash-like stress"),
    ("mac", "sum r_j r_(j-1) / sum r_j^2 over {w} bars (1-minute lag-1 autocorrelation, within bars)",
     "1-minute mean reversion (choppy) versus continuation (informed flow), invisible at 30 minutes"),
    ("rkurt", "ln(M sum r_j^4 / (sum r_j^2)^2) over {w} bars, M their minutes (realised kurtosis)",
     "tail heaviness of 1-minute returns"),
    ("pk_rv", "ln((sum ln(h/l)^2 / (4 ln 2)) / sum r_j^2) over {w} bars (1-minute Parkinson over realised variance)",
     "range noise against close-to-close moves: high in choppy minutes"),
    ("igk", "ln(sum max(0, 0.5 ln(h/l)^2 - (2 ln2 - 1) ln(c/o)^2) over the minutes of {w} bars / {w}) (1-minute Garman-Klass)",
     "range-based variance from the minutes' OHLC, robust to close noise"),
    ("ivr", "ln(sum ln(C/O)^2 of {w} 30-minute bars / sum r_j^2 of their minutes) (intrabar variance ratio)",
     "> 0 when minutes trend within the bar, < 0 when they reverse"),
    ("vcorr", "corr(|r_j|, v_j) over the minutes of {w} bars",
     "volume-volatility coupling: volume following price moves (informed) or not"),
)

STAT_V2_INFO: tuple[FeatureInfo, ...] = tuple(
    FeatureInfo(f"{fam}_{w}", "intrabar" if fam != "volu_level" else "volume", w, formula.format(w=w), why)
    for fam, formula, why in _FAMILIES
    for w in V2_WINDOWS
)


def _window_sums(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """Sums of the last `n` rows of a (N, K) array ending at every row >= start: (N - start, K)."""
    if start == len(x) - 1:
        return x[len(x) - n :].sum(axis=0)[None, :]  # the stream's single window
    return sliding_window_view(x, n, axis=0)[start - n + 1 :].sum(axis=-1)


def statistics_v2(s: BarSeries, sums: np.ndarray, start: int) -> np.ndarray:
    """The 70 version-2 statistics for every bar t >= start: shape (N - start, 70).

    `sums` is (N, len(INTRABAR_SUMS)) from `intrabar.intrabar_sums` for the same bars. All
    window sums are taken at once ((R, windows, sums)), then each family is one array expression.
    """
    per_bar = np.column_stack([sums, s.volume, s.oc * s.oc])  # the bar's own volume and ln(C/O)^2 last
    ws = np.stack([_window_sums(per_bar, w, start) for w in V2_WINDOWS], axis=1)  # (R, W, K + 2)
    w = np.asarray(V2_WINDOWS, dtype=np.float64)
    k = {name: ws[..., sum_index(name)] for name in ("n", "rv", "bp", "rs_pos", "ac", "q", "pk", "gk", "a", "v", "av", "vv")}
    vol, oc2 = ws[..., -2], ws[..., -1]
    rv, n = k["rv"], k["n"]
    cov = n * k["av"] - k["a"] * k["v"]
    den = np.sqrt(np.maximum(n * rv - k["a"] ** 2, 0.0) * np.maximum(n * k["vv"] - k["v"] ** 2, 0.0))
    log_rv = np.log(rv + _TINY)
    fams = {
        "volu_level": np.log1p(vol / w),
        "irv": np.log(rv / w + _TINY),
        "jump": np.maximum(0.0, 1.0 - _safe_div(_PI_2 * k["bp"], rv, 1.0)),
        "semi": _safe_div(2.0 * k["rs_pos"] - rv, rv, 0.0),
        "mac": _safe_div(k["ac"], rv, 0.0),
        "rkurt": np.log(_safe_div(n * k["q"], rv * rv, 3.0) + _TINY),
        "pk_rv": np.log(k["pk"] / (4.0 * _LN2) + _TINY) - log_rv,
        "igk": np.log(k["gk"] / w + _TINY),
        "ivr": np.log(oc2 + _TINY) - log_rv,
        "vcorr": np.clip(_safe_div(cov, den, 0.0), -1.0, 1.0),
    }
    return np.stack([fams[fam] for fam, _, _ in _FAMILIES], axis=1).reshape(len(ws), -1)  # family-major, then window


__all__ = ["STAT_V2_INFO", "V2_WINDOWS", "statistics_v2"]
