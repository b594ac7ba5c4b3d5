"""Forward price paths of every signal, computed once, so any (size, stop, target) is cheap to evaluate.

For signal i the path is the bars from its entry bar on (at most `max_hold_bars`, cut at the
session's flat time), in ticks relative to the entry price and signed by direction, so that
"adverse" and "favourable" mean the same for longs and shorts. A stop of s ticks is touched
first at the first bar whose running maximum adverse excursion reaches s: the running maxima
are monotone, so that bar is found by binary search (`np.searchsorted` over all paths laid end
to end with a per-path offset) and a trade costs O(log path length), whatever the history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from algospace.data import Instrument
from algospace.data import ExchangeCalendar, SessionCalendar
from algospace.errors import InputError
from algospace.signals import SignalSet
from algospace.sim.config import SimConfig

_MIN_NS = 60 * 10**9
# why a path ends when no level is touched (codes shared with fills.REASONS)
END_MAX_HOLD, END_SESSION, END_DATA = 2, 3, 4


@dataclass(frozen=True)
class TradePaths:
    """Per-signal forward paths (N signals, H = max_hold_bars columns) and what pricing needs.

    Tick arrays are relative to the entry price (slippage included), positive = in the trade's
    favour for `fav`, against it for `adv`. Columns past a path's `length` repeat its last
    running maximum, so they never create a new first touch.
    """

    instrument: Instrument
    config: SimConfig
    commission: float  # USD per contract, round turn
    valid: np.ndarray  # (N,) bool: an entry bar exists in the signal's session before the flat time
    entry_index: np.ndarray  # (N,) int64 position of the entry bar in the sim bars (-1 if not valid)
    length: np.ndarray  # (N,) int64 bars in the path (0 if not valid)
    end_reason: np.ndarray  # (N,) int8: END_MAX_HOLD, END_SESSION or END_DATA
    direction: np.ndarray  # (N,) int8
    atr: np.ndarray  # (N,) float64 price units (5-minute ATR at the signal bar)
    entry_price: np.ndarray  # (N,) float64, on the tick grid, slippage included
    day: np.ndarray  # (N,) int64: open time (UTC ns) of the entry bar's session: the trading day
    cm_adv: np.ndarray  # (N, H) running max adverse excursion, ticks
    cm_fav: np.ndarray  # (N, H) running max favourable excursion, ticks
    open_fav: np.ndarray  # (N, H) favourable excursion at each bar's open, ticks (gap fills)
    close_fav: np.ndarray  # (N,) favourable excursion at the last path bar's close, ticks
    bar_close_ns: np.ndarray  # (n_bars,) close time of every sim bar (UTC ns)
    _flat_adv: np.ndarray  # cm_adv laid end to end, each row lifted by _base (monotone overall)
    _flat_fav: np.ndarray
    _base: np.ndarray  # (N,) float64 row offsets

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def horizon(self) -> int:
        return int(self.cm_adv.shape[1])

    @property
    def entry_time_ns(self) -> np.ndarray:
        """(N,) open time of each entry bar (UTC ns; -1 where not valid)."""
        step = self.config.bar_minutes * _MIN_NS
        return np.where(self.valid, self.bar_close_ns[np.maximum(self.entry_index, 0)] - step, -1)

    def first_touch(self, rows: np.ndarray, ticks: np.ndarray, favourable: bool) -> np.ndarray:
        """First path bar at which the adverse (or favourable) excursion reaches `ticks`; H when never."""
        flat = self._flat_fav if favourable else self._flat_adv
        pos = np.searchsorted(flat, self._base[rows] + ticks, side="left")
        return np.minimum(pos - rows * self.horizon, self.horizon)


def build_paths(bars: pd.DataFrame, signals: SignalSet, instrument: Instrument, calendar: ExchangeCalendar | SessionCalendar,
                config: SimConfig | None = None) -> TradePaths:
    """Paths of `signals` through `bars` (the sim bars, `config.bar_minutes` long, on `instrument`'s grid).

    The entry bar is the first bar opening at or after the signal bar's close, in the same session
    as the signal and ending no later than the flat time; otherwise the signal is not valid (no trade).
    """
    cfg = config or SimConfig()
    minutes = bars.attrs.get("minutes")
    if minutes is not None and int(minutes) != cfg.bar_minutes:
        raise InputError(f"build_paths: the bars are {minutes}-minute bars but SimConfig.bar_minutes is {cfg.bar_minutes}; build bars of that size.")
    tick = instrument.tick_size
    open_ns = bars.index.as_unit("ns").asi8
    n_bars, H, N = len(bars), cfg.max_hold_bars, len(signals)
    step = cfg.bar_minutes * _MIN_NS
    bar_close = open_ns + step
    # prices in whole ticks (the sim's grid); nearest-tick rounding keeps high >= open/close >= low
    o, h, lo, c = (np.round(bars[k].to_numpy(dtype=np.float64) / tick) for k in ("open", "high", "low", "close"))
    so, sc, inside = calendar.locate(bars.index)
    if cfg.flat_before_close_minutes is None:
        ok = inside
        last_ok = np.full(n_bars, n_bars - 1)
    else:
        ok = inside & (bar_close <= sc - cfg.flat_before_close_minutes * _MIN_NS)
        # last bar allowed in each session (bars are sorted and the flat time is fixed per session)
        pos = np.where(ok, np.arange(n_bars), -1)
        last_ok = pd.Series(pos).groupby(so).transform("max").to_numpy()
    sig_so, _sig_sc, _ = calendar.locate(signals.times)
    e = np.searchsorted(open_ns, signals.entry_times.as_unit("ns").asi8, side="left")
    ec = np.minimum(e, max(n_bars - 1, 0))
    valid = (e < n_bars) & ok[ec] & (so[ec] == sig_so) if n_bars else np.zeros(N, dtype=bool)
    length = np.where(valid, np.minimum.reduce([np.full(N, H), last_ok[ec] - e + 1, n_bars - e]), 0)
    end_reason = np.where(length == H, END_MAX_HOLD, np.where(e + length == n_bars, END_DATA, END_SESSION)).astype(np.int8)
    d = signals.directions.astype(np.float64)
    entry = np.where(valid, o[ec] + d * cfg.slippage_ticks, 0.0)
    rows = np.minimum(ec[:, None] + np.arange(H)[None, :], max(n_bars - 1, 0))  # (N, H)
    live = np.arange(H)[None, :] < length[:, None]  # (N, H)
    dd = d[:, None]
    adv = np.where(dd > 0, entry[:, None] - lo[rows], h[rows] - entry[:, None])  # (N, H)
    fav = np.where(dd > 0, h[rows] - entry[:, None], entry[:, None] - lo[rows])
    open_fav = np.where(live, dd * (o[rows] - entry[:, None]), 0.0)
    floor = -float(cfg.slippage_ticks)  # the lowest value either excursion can take (entry bar open)
    cm_adv = np.maximum.accumulate(np.where(live, adv, floor), axis=1)
    cm_fav = np.maximum.accumulate(np.where(live, fav, floor), axis=1)
    last = np.maximum(length - 1, 0)
    close_fav = np.where(valid, d * (c[rows[np.arange(N), last]] - entry), 0.0)
    span = float(max(cm_adv.max(initial=0.0), cm_fav.max(initial=0.0)) - floor + 2.0)
    base = np.arange(N, dtype=np.float64) * span - floor
    return TradePaths(
        instrument=instrument, config=cfg, commission=cfg.commission_for(instrument.name), valid=valid,
        entry_index=np.where(valid, e, -1).astype(np.int64), length=length.astype(np.int64), end_reason=end_reason,
        direction=signals.directions.astype(np.int8), atr=signals.atr.astype(np.float64),
        entry_price=np.where(valid, instrument.round_to_tick(entry * tick), 0.0),
        day=np.where(valid, so[ec], sig_so).astype(np.int64), cm_adv=cm_adv, cm_fav=cm_fav, open_fav=open_fav,
        close_fav=close_fav, bar_close_ns=bar_close, _flat_adv=(cm_adv + base[:, None]).ravel(),
        _flat_fav=(cm_fav + base[:, None]).ravel(), _base=base,
    )
