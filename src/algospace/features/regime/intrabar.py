"""What happens inside each 30-minute bar, from its 1-minute bars (feature spec version 2).

A 30-minute bar's OHLCV hides how its return was made: in one jump or many small moves, with
1-minute moves that continue or reverse each other, with volume that follows the moves or
not. Version 2 of the regime features reads those from the bar's 1-minute bars. This module
reduces the 1-minute bars of each 30-minute bar to a few additive sums (`INTRABAR_SUMS`); the
features are window sums of them (`stats_v2`), so a window's value is the pooled estimate over
all its minutes.

A 1-minute bar belongs to the 30-minute bar whose interval [open time, open time + 30 min)
holds its timestamp; minutes outside every bar are ignored. Returns are taken inside the bar
only (the first one is ln(close/open) of its first minute), so a bar's sums read that bar's
minutes and nothing else: the batch path and the stream compute them with the same function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from algospace.errors import InputError

BAR_NS = 30 * 60 * 1_000_000_000  # a regime bar's length (the feature set is on 30-minute bars)

# Per-bar sums over its minutes j (r_j the 1-minute log return, v_j the minute's volume).
INTRABAR_SUMS: tuple[str, ...] = (
    "n",  # minutes in the bar
    "rv",  # sum r^2: realised variance
    "bp",  # sum |r_j||r_(j-1)|: bipower products (jump-robust variance, x pi/2)
    "rs_pos",  # sum r^2 for r > 0: upside semivariance
    "ac",  # sum r_j r_(j-1): first-order autocovariance
    "q",  # sum r^4: realised quarticity (tails)
    "pk",  # sum ln(h/l)^2: Parkinson range variance (x 1/(4 ln 2))
    "gk",  # sum max(0, 0.5 ln(h/l)^2 - (2 ln 2 - 1) ln(c/o)^2): Garman-Klass variance
    "a",  # sum |r|
    "v",  # sum v
    "av",  # sum |r| v
    "vv",  # sum v^2
)
_IDX = {name: i for i, name in enumerate(INTRABAR_SUMS)}
_LN2 = float(np.log(2.0))


def sum_index(name: str) -> int:
    return _IDX[name]


def assign_minutes(bar_ns: np.ndarray, minute_ns: np.ndarray) -> np.ndarray:
    """For every minute, the position of its 30-minute bar (-1 when no bar's interval holds it)."""
    pos = np.searchsorted(bar_ns, minute_ns, side="right") - 1
    ok = pos >= 0
    ok[ok] = minute_ns[ok] - bar_ns[pos[ok]] < BAR_NS
    return np.where(ok, pos, -1)


def intrabar_sums(minutes: np.ndarray, bar_of: np.ndarray, n_bars: int) -> np.ndarray:
    """(n_bars, len(INTRABAR_SUMS)) sums of each bar's minutes.

    `minutes` is (M, 5) open, high, low, close, volume in time order; `bar_of` (M,) the bar
    position of each minute (-1: ignored). A bar without minutes gets zeros.
    """
    keep = bar_of >= 0
    m, b = minutes[keep], bar_of[keep]
    out = np.zeros((n_bars, len(INTRABAR_SUMS)), dtype=np.float64)
    if len(m) == 0:
        return out
    o, h, lo, c, v = (m[:, i] for i in range(5))
    logc, logo = np.log(c), np.log(o)
    first = np.ones(len(m), dtype=bool)  # a bar's first minute: its return is ln(close / open)
    first[1:] = b[1:] != b[:-1]
    r = logc - logo
    r[1:] = np.where(first[1:], r[1:], logc[1:] - logc[:-1])
    prev = np.zeros(len(m))
    prev[1:] = np.where(first[1:], 0.0, r[:-1])  # the previous minute's return inside the same bar
    r2 = r * r
    lr = np.log(h) - np.log(lo)
    oc = logc - logo
    cols = {
        "n": np.ones(len(m)),
        "rv": r2,
        "bp": np.abs(r) * np.abs(prev),
        "rs_pos": np.where(r > 0, r2, 0.0),
        "ac": r * prev,
        "q": r2 * r2,
        "pk": lr * lr,
        "gk": np.maximum(0.5 * lr * lr - (2.0 * _LN2 - 1.0) * oc * oc, 0.0),
        "a": np.abs(r),
        "v": v,
        "av": np.abs(r) * v,
        "vv": v * v,
    }
    for name, x in cols.items():
        out[:, _IDX[name]] = np.bincount(b, weights=x, minlength=n_bars)[:n_bars]
    return out


def minute_values(minute_bars: pd.DataFrame, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked (timestamps in ns, (M, 5) OHLCV) of a 1-minute bars frame."""
    from algospace.features.bar_check import check_bars

    cols = check_bars(minute_bars, who)
    ns = pd.DatetimeIndex(minute_bars.index).as_unit("ns").asi8
    if len(ns) > 1 and np.median(np.diff(ns)) >= BAR_NS:
        raise InputError(
            f"{who}: minute_bars must be finer than 30 minutes (1-minute bars); their median spacing is "
            f"{np.median(np.diff(ns)) / 60e9:g} minutes."
        )
    return ns, np.column_stack([cols[c] for c in ("open", "high", "low", "close", "volume")])


__all__ = ["BAR_NS", "INTRABAR_SUMS", "assign_minutes", "intrabar_sums", "minute_values", "sum_index"]
