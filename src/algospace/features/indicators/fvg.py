"""FVG: fair value gaps on plain 5-minute candles, with expiry and mitigation.

A bullish gap forms at bar t when low[t] > high[t-2] (the three-candle imbalance), the middle
candle closed above high[t-2] (`confirm_middle_close`, as the original code did), and the gap
(low[t] - high[t-2]) exceeds `min_gap` (0.1 %) of high[t-2]; its zone is [high[t-2], low[t]].
Bearish mirrored: high[t] < low[t-2], zone [high[t], low[t-2]]. All of it is known at the
close of bar t.

From the next bar on, a gap is *mitigated* at the first bar that trades back into its zone
(bullish: low <= zone top; bearish: high >= zone bottom): that bar carries the mitigation
signal (+1 for a bullish gap, -1 for a bearish one) and the gap is removed. A gap that is
still open when its age (bars since it formed) reaches `expiry` (50) is dropped silently.

Per-bar outputs: `fvg_bull_new`/`fvg_bear_new` (a gap formed at this bar, 0/1),
`fvg_bull_active`/`fvg_bear_active` (an open gap of that side exists after this bar, 0/1),
`fvg_nearest_level` (middle of the open gap nearest to the close, NaN when none),
`fvg_nearest_age` (its age in bars, NaN when none), `fvg_nearest_dir` (+1/-1, 0 when none),
`fvg_mitigation` (+1/-1/0; 0 if both sides were mitigated in one bar) and
`fvg_mitigated_size` (size in price of the largest gap mitigated in that direction, else 0).
Ties for "nearest" go to the younger gap, then the bullish one.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from algospace.features.bar_check import check_bars
from algospace.data.stream_bar import StreamClock
from algospace.features.indicators.parameters import Params

FVG_COLUMNS = (
    "fvg_bull_new",
    "fvg_bear_new",
    "fvg_bull_active",
    "fvg_bear_active",
    "fvg_nearest_level",
    "fvg_nearest_age",
    "fvg_nearest_dir",
    "fvg_mitigation",
    "fvg_mitigated_size",
)


class FVGParams(Params):
    """FVG parameters (defaults from the original system)."""

    min_gap: float = Field(0.001, ge=0)  # gap size as a fraction of the reference price (0.1 %)
    expiry: int = Field(50, ge=2)  # bars after which an unmitigated gap is dropped
    confirm_middle_close: bool = True  # middle candle must close beyond the gap's far edge


def _detect(h: np.ndarray, lo: np.ndarray, c: np.ndarray, p: FVGParams) -> tuple[np.ndarray, ...]:
    """Gap formation per bar: (bull, bear, bull_bottom, bull_top, bear_bottom, bear_top)."""
    n = h.shape[0]
    bull = np.zeros(n, dtype=bool)
    bear = np.zeros(n, dtype=bool)
    bb, bt, sb, st = (np.full(n, np.nan) for _ in range(4))
    if n >= 3:
        h2, l2, c1, h0, l0 = h[:-2], lo[:-2], c[1:-1], h[2:], lo[2:]
        up = (l0 > h2) & ((l0 - h2) > p.min_gap * h2)
        dn = (h0 < l2) & ((l2 - h0) > p.min_gap * l2)
        if p.confirm_middle_close:
            up &= c1 > h2
            dn &= c1 < l2
        bull[2:], bear[2:] = up, dn
        bb[2:], bt[2:] = h2, l0
        sb[2:], st[2:] = h0, l2
    return bull, bear, bb, bt, sb, st


def fvg(bars: pd.DataFrame, params: FVGParams | None = None) -> pd.DataFrame:
    """Fair value gaps over plain 5-minute bars (see the module docstring for the columns).

    Vectorised: each gap's lifetime is found with a sliding window over the next `expiry - 1`
    bars, and every bar looks at the gaps born in its last `expiry` bars.
    Example: `fvg(bars_5m)["fvg_mitigation"]`.
    """
    p = params or FVGParams()
    a = check_bars(bars, "fvg")
    h, lo, c = a["high"], a["low"], a["close"]
    n = h.shape[0]
    E = p.expiry
    bull, bear, bb, bt, sb, st = _detect(h, lo, c, p)
    # end[i]: first bar at which gap i is gone (mitigated there, or expired at age E).
    idx = np.arange(n)
    pad_lo = np.concatenate([lo, np.full(E, np.inf)])
    pad_hi = np.concatenate([h, np.full(E, -np.inf)])
    after_lo = np.lib.stride_tricks.sliding_window_view(pad_lo[1:], E - 1)[:n]  # bars i+1 .. i+E-1
    after_hi = np.lib.stride_tricks.sliding_window_view(pad_hi[1:], E - 1)[:n]
    hit_up = after_lo <= bt[:, None]  # (n, E-1), NaN top -> False
    hit_dn = after_hi >= sb[:, None]
    mit_up = np.where(bull & hit_up.any(axis=1), idx + 1 + hit_up.argmax(axis=1), -1)
    mit_dn = np.where(bear & hit_dn.any(axis=1), idx + 1 + hit_dn.argmax(axis=1), -1)
    end_up = np.where(mit_up >= 0, mit_up, idx + E)
    end_dn = np.where(mit_dn >= 0, mit_dn, idx + E)

    # Mitigation signal per bar.
    n_up = np.bincount(mit_up[mit_up >= 0], minlength=n)[:n]
    n_dn = np.bincount(mit_dn[mit_dn >= 0], minlength=n)[:n]
    size_up = np.zeros(n)
    size_dn = np.zeros(n)
    np.maximum.at(size_up, mit_up[mit_up >= 0], (bt - bb)[mit_up >= 0])
    np.maximum.at(size_dn, mit_dn[mit_dn >= 0], (st - sb)[mit_dn >= 0])
    mitigation = np.sign(n_up - n_dn).astype(np.float64)
    msize = np.where(mitigation > 0, size_up, np.where(mitigation < 0, size_dn, 0.0))

    # Candidate gaps of bar t: born at t - k, k = 0..E-1 (k = age), columns [bull_0, bear_0, bull_1, ...].
    born = idx[:, None] - np.arange(E)[None, :]  # (n, E)
    okb = born >= 0
    bj = np.where(okb, born, 0)
    act_up = okb & bull[bj] & (end_up[bj] > idx[:, None])
    act_dn = okb & bear[bj] & (end_dn[bj] > idx[:, None])
    mid_up = (bb[bj] + bt[bj]) / 2.0
    mid_dn = (sb[bj] + st[bj]) / 2.0
    dist = np.empty((n, 2 * E))
    dist[:, 0::2] = np.where(act_up, np.abs(c[:, None] - mid_up), np.inf)
    dist[:, 1::2] = np.where(act_dn, np.abs(c[:, None] - mid_dn), np.inf)
    any_act = np.isfinite(dist).any(axis=1)
    j = dist.argmin(axis=1)  # first minimum: youngest, bullish before bearish
    age = (j // 2).astype(np.float64)
    is_up = j % 2 == 0
    level = np.where(is_up, mid_up[idx, j // 2], mid_dn[idx, j // 2])
    return pd.DataFrame(
        {
            "fvg_bull_new": bull.astype(np.float64),
            "fvg_bear_new": bear.astype(np.float64),
            "fvg_bull_active": act_up.any(axis=1).astype(np.float64),
            "fvg_bear_active": act_dn.any(axis=1).astype(np.float64),
            "fvg_nearest_level": np.where(any_act, level, np.nan),
            "fvg_nearest_age": np.where(any_act, age, np.nan),
            "fvg_nearest_dir": np.where(any_act, np.where(is_up, 1.0, -1.0), 0.0),
            "fvg_mitigation": mitigation,
            "fvg_mitigated_size": msize,
        },
        index=bars.index,
    )


class FVG:
    """Incremental FVG: `update(bar)` returns the row `fvg(bars)` has at that bar."""

    def __init__(self, params: FVGParams | None = None) -> None:
        self.params = params or FVGParams()
        self._clock = StreamClock("FVG.update")
        self._last: deque[tuple[float, float, float]] = deque(maxlen=3)  # (high, low, close)
        self._gaps: list[tuple[int, int, float, float]] = []  # (born, dir, bottom, top), oldest first
        self._t = -1

    def update(self, bar: Any) -> dict[str, float]:
        ts, _o, h, lo, c, _v = self._clock.read(bar)
        return self.step(h, lo, c)

    def step(self, h: float, lo: float, c: float) -> dict[str, float]:
        p = self.params
        self._t += 1
        t = self._t
        n_up = n_dn = 0
        size_up = size_dn = 0.0
        keep = []
        for born, d, bottom, top in self._gaps:
            if t - born >= p.expiry:
                continue
            if d > 0 and lo <= top:
                n_up += 1
                size_up = max(size_up, top - bottom)
                continue
            if d < 0 and h >= bottom:
                n_dn += 1
                size_dn = max(size_dn, top - bottom)
                continue
            keep.append((born, d, bottom, top))
        self._last.append((h, lo, c))
        new_up = new_dn = 0.0
        if len(self._last) == 3:
            (h2, l2, _c2), (_h1, _l1, c1), _ = self._last
            ok_up = lo > h2 and (lo - h2) > p.min_gap * h2 and (not p.confirm_middle_close or c1 > h2)
            ok_dn = h < l2 and (l2 - h) > p.min_gap * l2 and (not p.confirm_middle_close or c1 < l2)
            if ok_up:
                keep.append((t, 1, h2, lo))
                new_up = 1.0
            if ok_dn:
                keep.append((t, -1, h, l2))
                new_dn = 1.0
        self._gaps = keep
        best: tuple[float, int, int] | None = None  # (distance, age, order) -> youngest, bullish first
        level = age = float("nan")
        ndir = 0.0
        for born, d, bottom, top in keep:
            mid = (bottom + top) / 2.0
            key = (abs(c - mid), t - born, 0 if d > 0 else 1)
            if best is None or key < best:
                best, level, age, ndir = key, mid, float(t - born), float(d)
        mit = float(np.sign(n_up - n_dn))
        return {
            "fvg_bull_new": new_up,
            "fvg_bear_new": new_dn,
            "fvg_bull_active": 1.0 if any(g[1] > 0 for g in keep) else 0.0,
            "fvg_bear_active": 1.0 if any(g[1] < 0 for g in keep) else 0.0,
            "fvg_nearest_level": level,
            "fvg_nearest_age": age,
            "fvg_nearest_dir": ndir,
            "fvg_mitigation": mit,
            "fvg_mitigated_size": size_up if mit > 0 else (size_dn if mit < 0 else 0.0),
        }
