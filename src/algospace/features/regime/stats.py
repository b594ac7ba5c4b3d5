"""The 50 per-bar statistics of the regime feature set (version 1).

Every statistic at bar t reads bars t-104..t only (LOOKBACK bars). Windows are taken with
`sliding_window_view` and reduced directly (no cumulative-sum differences), so the value of a
row does not depend on how much history precedes it: the batch path and the stream compute
the same numbers from the same bars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from algospace.features.regime.series import BarSeries, _safe_div

LOOKBACK = 105  # bars a statistic may read: the longest window (104 returns) plus the close before it
_TINY = 1e-12  # keeps log-ratios of volatilities finite on flat windows
_LN2 = float(np.log(2.0))


@dataclass(frozen=True)
class FeatureInfo:
    """Documentation of one feature: what it is, over which window, and why it separates regimes."""

    name: str
    group: str
    window: int
    formula: str
    why: str


def _i(name: str, group: str, window: int, formula: str, why: str) -> FeatureInfo:
    return FeatureInfo(name, group, window, formula, why)


STAT_INFO: tuple[FeatureInfo, ...] = (
    _i("ret_1", "momentum", 1, "r_t = ln(C_t / C_{t-1})", "the newest move; large |r| marks shocks"),
    *(
        _i(f"mom_{k}", "momentum", k, f"ln(C_t / C_(t-{k}))", why)
        for k, why in (
            (2, "very short drift"),
            (4, "two-hour drift; intraday trend"),
            (8, "half-session drift"),
            (13, "one-session drift (13 RTH bars)"),
            (26, "two-session drift; separates bull from bear"),
            (52, "four-session drift"),
            (104, "eight-session drift; the slow trend the other scales are read against"),
        )
    ),
    *(
        _i(f"vol_{n}", "volatility", n, f"std(r over {n} bars, ddof=1)", why)
        for n, why in (
            (8, "fast realised volatility; reacts to shocks first"),
            (13, "one-session realised volatility"),
            (26, "two-session realised volatility"),
            (52, "four-session realised volatility"),
            (104, "slow realised volatility; the volatility regime's baseline"),
        )
    ),
    *(
        _i(f"pvol_{n}", "volatility", n, f"sqrt(mean(ln(H/L)^2 over {n}) / (4 ln 2)) (Parkinson)", why)
        for n, why in (
            (13, "range-based volatility, efficient and robust to close noise"),
            (52, "slow range-based volatility"),
        )
    ),
    _i(
        "gkvol_26",
        "volatility",
        26,
        "sqrt(mean(0.5 ln(H/L)^2 - (2 ln2 - 1) ln(C/O)^2 over 26)) (Garman-Klass)",
        "OHLC volatility; differs from close-to-close vol when bars reverse inside",
    ),
    *(
        _i(f"vratio_{a}_{b}", "volatility", b, f"ln(vol_{a} / vol_{b})", why)
        for a, b, why in (
            (8, 26, "volatility expansion/contraction now versus two sessions"),
            (13, 52, "volatility term structure, one versus four sessions"),
            (26, 104, "slow volatility regime shift"),
        )
    ),
    *(
        _i(f"skew_{n}", "distribution", n, f"third standardised moment of r over {n}", why)
        for n, why in ((26, "crash-like (negative) versus squeeze-like (positive) return asymmetry"), (104, "slow skew"))
    ),
    *(
        _i(f"kurt_{n}", "distribution", n, f"excess kurtosis of r over {n}", why)
        for n, why in ((26, "fat tails: jumpy versus diffusive markets"), (104, "slow tail heaviness"))
    ),
    _i("ac1_26", "dependence", 26, "lag-1 autocorrelation of r over 26", "negative in mean-reverting, positive in trending markets"),
    _i("ac1_104", "dependence", 104, "lag-1 autocorrelation of r over 104", "slow serial dependence"),
    _i("ac2_52", "dependence", 52, "lag-2 autocorrelation of r over 52", "two-bar persistence or reversal"),
    _i(
        "vr4_104",
        "dependence",
        104,
        "var(4-bar log returns over 100) / (4 var(r over 104)) (variance ratio)",
        "> 1 trending, < 1 mean-reverting (Lo-MacKinlay)",
    ),
    *(
        _i(f"er_{n}", "trend", n, f"|ln(C_t/C_(t-{n}))| / sum(|r| over {n}) (Kaufman efficiency)", why)
        for n, why in ((13, "straight versus choppy path within a session"), (52, "path efficiency over four sessions"))
    ),
    *(
        _i(f"rsi_{n}", "momentum", n, f"100 * mean(max(r,0)) / (mean(max(r,0)) + mean(max(-r,0))) over {n}", why)
        for n, why in ((14, "classic overbought/oversold balance (simple-average RSI on log returns)"), (52, "slow RSI"))
    ),
    *(
        _i(f"zclose_{n}", "trend", n, f"(C_t - mean(C over {n})) / std(C over {n})", why)
        for n, why in ((26, "stretch from the two-session mean"), (104, "stretch from the slow mean"))
    ),
    *(
        _i(f"slope_{n}", "trend", n, f"OLS slope of ln C on bar number over {n} / vol_{n}", why)
        for n, why in ((13, "volatility-adjusted session trend"), (52, "volatility-adjusted slow trend"))
    ),
    _i("range_1", "range", 1, "ln(H_t / L_t)", "current bar's range; wide bars mark active regimes"),
    _i("range_ratio_13_104", "range", 104, "ln(mean ln(H/L) over 13 / mean ln(H/L) over 104)", "range expansion versus baseline"),
    _i("clv_13", "range", 13, "mean((2C - H - L) / (H - L)) over 13", "where closes sit in bars: buying (+) or selling (-) pressure"),
    *(
        _i(f"pos_{n}", "range", n, f"(C_t - min L over {n}) / (max H over {n} - min L over {n})", why)
        for n, why in ((26, "position in the two-session range"), (104, "position in the slow range"))
    ),
    _i("dd_104", "trend", 104, "ln(C_t / max C over 104)", "drawdown from the recent high: bear pressure"),
    _i("du_104", "trend", 104, "ln(C_t / min C over 104)", "rise from the recent low: bull pressure"),
    _i("volu_ratio_26", "volume", 26, "ln(1 + V_t) - ln(1 + mean V over 26)", "volume surge of the current bar"),
    _i("volu_trend_13_104", "volume", 104, "ln(1 + mean V over 13) - ln(1 + mean V over 104)", "participation rising or fading"),
    _i("volu_cv_26", "volume", 26, "std(V over 26) / mean(V over 26)", "irregular (event-driven) versus steady volume"),
    _i("volu_absret_corr_52", "volume", 52, "corr(|r|, ln(1 + V)) over 52", "volume confirming moves (informed flow) or not"),
    _i("volu_z_52", "volume", 52, "(ln(1+V_t) - mean) / std of ln(1+V) over 52", "volume spike in robust units"),
    _i("flow_26", "volume", 26, "sum(sign(r) V) / sum(V) over 26", "signed volume balance: accumulation or distribution"),
    _i(
        "gap_13",
        "momentum",
        13,
        "sum of ln(O_i / C_(i-1)) over 13 bars",
        "the last session's opening gap (overnight news); large gaps mark event-driven regimes",
    ),
    _i("accel_4", "momentum", 8, "mom_4(t) - mom_4(t-4)", "momentum acceleration: trend starting or exhausting"),
)

STAT_NAMES: tuple[str, ...] = tuple(info.name for info in STAT_INFO)


def _win(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """Windows of the last `n` values ending at every position >= start: shape (N - start, n)."""
    if start == len(x) - 1:
        return x[len(x) - n :][None, :]  # the stream's single window; same values, same layout
    return sliding_window_view(x, n)[start - n + 1 :]


def _std(w: np.ndarray) -> np.ndarray:
    return w.std(axis=-1, ddof=1)


def _moments(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dev = w - w.mean(axis=-1, keepdims=True)
    d2 = dev * dev
    return d2.mean(axis=-1), (d2 * dev).mean(axis=-1), (d2 * d2).mean(axis=-1)


def _autocorr(w: np.ndarray, k: int) -> np.ndarray:
    dev = w - w.mean(axis=-1, keepdims=True)
    return _safe_div((dev[:, k:] * dev[:, :-k]).sum(axis=-1), (dev * dev).sum(axis=-1), 0.0)


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    da = a - a.mean(axis=-1, keepdims=True)
    db = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((da * da).sum(axis=-1) * (db * db).sum(axis=-1))
    return _safe_div((da * db).sum(axis=-1), den, 0.0)


def _lag(x: np.ndarray, k: int, start: int) -> np.ndarray:
    """x_{t-k} for every t >= start."""
    return x[start - k : len(x) - k]


def statistics(s: BarSeries, start: int) -> np.ndarray:
    """The 50 statistics for every bar t >= start (start >= LOOKBACK - 1): shape (N - start, 50)."""
    r, logc, lr = s.r, s.logc, s.lr
    cur = slice(start, None)
    cols: list[np.ndarray] = [r[cur]]
    for k in (2, 4, 8, 13, 26, 52, 104):
        cols.append(logc[cur] - _lag(logc, k, start))
    vol = {n: _std(_win(r, n, start)) for n in (8, 13, 26, 52, 104)}
    cols.extend(vol[n] for n in (8, 13, 26, 52, 104))
    lr2 = lr * lr
    for n in (13, 52):
        cols.append(np.sqrt(_win(lr2, n, start).mean(axis=-1) / (4.0 * _LN2)))
    gk = np.maximum(0.5 * lr2 - (2.0 * _LN2 - 1.0) * s.oc * s.oc, 0.0)
    cols.append(np.sqrt(_win(gk, 26, start).mean(axis=-1)))
    for a, b in ((8, 26), (13, 52), (26, 104)):
        cols.append(np.log(vol[a] + _TINY) - np.log(vol[b] + _TINY))
    mom = {}
    for n in (26, 104):
        mom[n] = _moments(_win(r, n, start))
    for n in (26, 104):
        m2, m3, _ = mom[n]
        cols.append(_safe_div(m3, m2**1.5, 0.0))
    for n in (26, 104):
        m2, _, m4 = mom[n]
        cols.append(_safe_div(m4, m2 * m2, 3.0) - 3.0)
    cols.append(_autocorr(_win(r, 26, start), 1))
    cols.append(_autocorr(_win(r, 104, start), 1))
    cols.append(_autocorr(_win(r, 52, start), 2))
    mom4 = np.full_like(logc, np.nan)
    mom4[4:] = logc[4:] - logc[:-4]
    var4 = _win(mom4, 100, start).var(axis=-1, ddof=1)
    cols.append(_safe_div(var4, 4.0 * vol[104] ** 2, 1.0))
    absr = np.abs(r)
    for n in (13, 52):
        cols.append(_safe_div(np.abs(logc[cur] - _lag(logc, n, start)), _win(absr, n, start).sum(axis=-1), 0.0))
    up, down = np.maximum(r, 0.0), np.maximum(-r, 0.0)
    for n in (14, 52):
        u, d = _win(up, n, start).mean(axis=-1), _win(down, n, start).mean(axis=-1)
        cols.append(_safe_div(100.0 * u, u + d, 50.0))
    c = s.close
    for n in (26, 104):
        w = _win(c, n, start)
        cols.append(_safe_div(c[cur] - w.mean(axis=-1), _std(w), 0.0))
    for n in (13, 52):
        kc = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
        w = _win(logc, n, start)
        slope = (w * kc).sum(axis=-1) / float((kc * kc).sum())
        cols.append(_safe_div(slope, vol[n], 0.0))
    cols.append(lr[cur])
    cols.append(np.log(_win(lr, 13, start).mean(axis=-1) + _TINY) - np.log(_win(lr, 104, start).mean(axis=-1) + _TINY))
    cols.append(_win(s.clv, 13, start).mean(axis=-1))
    for n in (26, 104):
        hi, lo = _win(s.high, n, start).max(axis=-1), _win(s.low, n, start).min(axis=-1)
        cols.append(_safe_div(c[cur] - lo, hi - lo, 0.5))
    wl = _win(logc, 104, start)
    cols.append(logc[cur] - wl.max(axis=-1))
    cols.append(logc[cur] - wl.min(axis=-1))
    v, logv = s.volume, s.logv
    wv26 = _win(v, 26, start)
    mean_v26 = wv26.mean(axis=-1)
    cols.append(logv[cur] - np.log1p(mean_v26))
    cols.append(np.log1p(_win(v, 13, start).mean(axis=-1)) - np.log1p(_win(v, 104, start).mean(axis=-1)))
    cols.append(_safe_div(_std(wv26), mean_v26, 0.0))
    cols.append(_corr(_win(absr, 52, start), _win(logv, 52, start)))
    wlv = _win(logv, 52, start)
    cols.append(_safe_div(logv[cur] - wlv.mean(axis=-1), _std(wlv), 0.0))
    cols.append(_safe_div((_win(np.sign(r) * v, 26, start)).sum(axis=-1), wv26.sum(axis=-1), 0.0))
    cols.append(_win(s.gap, 13, start).sum(axis=-1))
    cols.append(mom4[cur] - _lag(mom4, 4, start))
    out = np.column_stack(cols)
    return out
