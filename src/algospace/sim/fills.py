"""Vectorised trade outcomes: many (signal, size, stop, target) combinations at once.

Fill rules (docs/sim.md has worked examples):
- entry at the entry bar's open + `slippage_ticks` against the trade (in the path already);
- stop = entry -/+ stop ticks, target = entry +/- target ticks, both on the tick grid;
- a bar that touches both levels fills the stop (the worst case: the bar's path is unknown),
  unless that bar opened through the target, which then filled first at the open;
- a bar opening through a level fills at the open (a gap gives no better stop price);
- stops and market exits lose `slippage_ticks`; the target is a limit order and does not;
- no level touched: exit at the close of the last path bar (max hold, session flat time or end
  of data), less slippage;
- commission per contract per round turn; P&L in USD via the instrument's tick value.
- `loss_limit_usd` (optional, per combination) is the account's room: the firm liquidates the
  position when its open loss would exceed it. It acts as a second, tighter stop; a trade it
  closes has reason "limit" (a rule breach); a trade with no room for one tick is not entered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from algospace.errors import InputError
from algospace.sim.paths import TradePaths

REASONS = ("stop", "target", "max_hold", "session_close", "data_end", "limit", "no_trade", "no_entry", "no_room")
STOP, TARGET, MAX_HOLD, SESSION, DATA_END, LIMIT, NO_TRADE, NO_ENTRY, NO_ROOM = range(len(REASONS))
STOP_MULT_RANGE = (0.5, 3.0)
REWARD_RISK_RANGE = (1.0, 5.0)


@dataclass(frozen=True)
class TradeOutcomes:
    """One row per evaluated combination (M,). Money in USD, prices in the bars' units, ticks per contract."""

    signal: np.ndarray  # int64 row of the SignalSet / TradePaths
    size: np.ndarray  # int64 contracts (0: no trade)
    stop_ticks: np.ndarray  # int64 stop distance from the entry
    target_ticks: np.ndarray  # int64 target distance from the entry
    reason: np.ndarray  # int8 index into REASONS
    bars_held: np.ndarray  # int64 bars from the entry bar to the exit bar, both included (0: no trade)
    entry_price: np.ndarray
    stop_price: np.ndarray
    target_price: np.ndarray
    exit_price: np.ndarray
    pnl_ticks: np.ndarray  # per contract, after slippage
    gross_usd: np.ndarray
    commission_usd: np.ndarray
    net_usd: np.ndarray
    risk_usd: np.ndarray  # planned loss at the stop before slippage and commission: stop ticks x tick value x size
    r_multiple: np.ndarray  # net_usd / risk_usd (0: no trade)
    exit_time_ns: np.ndarray  # int64 close time of the exit bar (UTC ns; entry signal time when no trade)
    day: np.ndarray  # int64 trading day: UTC ns open of the entry session

    def __len__(self) -> int:
        return len(self.signal)

    @property
    def traded(self) -> np.ndarray:
        """Bool mask of rows that entered a position."""
        return self.size > 0

    def take(self, rows) -> TradeOutcomes:
        """The chosen rows (positions, a mask or a slice) as a TradeOutcomes."""
        return TradeOutcomes(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def reason_names(self) -> np.ndarray:
        return np.asarray(REASONS, dtype=object)[self.reason]

    def to_frame(self) -> pd.DataFrame:
        """The outcomes as a DataFrame (reason as a name, exit time as a timestamp)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["reason"] = self.reason_names()
        data["exit_time"] = pd.to_datetime(self.exit_time_ns, utc=True)
        data["day"] = pd.to_datetime(self.day, utc=True)
        del data["exit_time_ns"]
        return pd.DataFrame(data)


def stop_target_ticks(paths: TradePaths, signal: np.ndarray, stop_mult: np.ndarray, reward_risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stop = stop_mult x ATR and target = reward_risk x stop, in whole ticks (each at least 1)."""
    return ticks_for(paths.atr[signal], paths.instrument.tick_size, stop_mult, reward_risk)


def ticks_for(atr, tick_size: float, stop_mult, reward_risk) -> tuple[np.ndarray, np.ndarray]:
    """The one rule turning (ATR, stop multiplier, reward:risk) into whole-tick stop and target
    distances (each at least 1); used by the simulator and the runtime's rule-based decider."""
    stop = np.maximum(1, np.rint(np.asarray(stop_mult) * np.asarray(atr) / tick_size)).astype(np.int64)
    target = np.maximum(1, np.rint(np.asarray(reward_risk) * stop)).astype(np.int64)
    return stop, target


def simulate(paths: TradePaths, signal, size, stop_mult, reward_risk, loss_limit_usd=None) -> TradeOutcomes:
    """Outcomes of trading `size` contracts on `signal` rows with a stop of `stop_mult` x ATR and a
    target of `reward_risk` x the stop. Arguments broadcast against each other (scalars or arrays).

    Example: every signal at 1 contract, 2 ATR, 2R: `simulate(paths, np.arange(len(paths)), 1, 2.0, 2.0)`.
    """
    signal, size, stop_mult, reward_risk = np.broadcast_arrays(
        np.asarray(signal), np.asarray(size), np.asarray(stop_mult, dtype=np.float64), np.asarray(reward_risk, dtype=np.float64)
    )
    _check_range(stop_mult, STOP_MULT_RANGE, "stop_mult")
    _check_range(reward_risk, REWARD_RISK_RANGE, "reward_risk")
    sig = _check_signal(paths, signal)
    stop, target = stop_target_ticks(paths, sig, stop_mult.ravel(), reward_risk.ravel())
    return simulate_ticks(paths, sig, size.ravel(), stop, target, loss_limit_usd)


def simulate_ticks(paths: TradePaths, signal, size, stop_ticks, target_ticks, loss_limit_usd=None) -> TradeOutcomes:
    """`simulate` with the stop and target given as whole ticks from the entry (>= 1 each)."""
    arrays = [np.asarray(signal), np.asarray(size), np.asarray(stop_ticks), np.asarray(target_ticks)]
    if loss_limit_usd is not None:
        arrays.append(np.asarray(loss_limit_usd, dtype=np.float64))
    b = [a.ravel() for a in np.broadcast_arrays(*arrays)]
    sig = _check_signal(paths, b[0])
    qty = _check_int(b[1], "size", 0)
    stop = _check_int(b[2], "stop_ticks", 1)
    target = _check_int(b[3], "target_ticks", 1)
    inst, cfg = paths.instrument, paths.config
    tick, tv, slip = inst.tick_size, inst.tick_value, float(cfg.slippage_ticks)
    valid = paths.valid[sig]
    stop_eff = stop.copy()
    limited = np.zeros(len(sig), dtype=bool)
    no_room = np.zeros(len(sig), dtype=bool)
    if loss_limit_usd is not None:
        room = b[4]
        if np.isnan(room).any():
            raise InputError("simulate: loss_limit_usd must not be NaN; pass None for no limit.")
        liq = liquidation_ticks(room, qty, paths.commission, tv, slip)
        no_room = (qty > 0) & (liq < 1)
        limited = (liq < stop) & ~no_room
        stop_eff = np.where(limited, liq, stop).astype(np.int64)
    trade = valid & (qty > 0) & ~no_room
    rows = np.where(trade, sig, 0)
    js = paths.first_touch(rows, stop_eff, favourable=False)
    jt = paths.first_touch(rows, target, favourable=True)
    L = paths.length[rows]
    js = np.where(js < L, js, paths.horizon)
    jt = np.where(jt < L, jt, paths.horizon)
    jj = np.minimum(js, jt)
    jc = np.minimum(jj, np.maximum(L - 1, 0))
    gap_fav = paths.open_fav[rows, jc]
    # both touched on one bar: the stop, unless the bar opened through the target
    hit_target = (jt < js) | ((jt == js) & (jt < paths.horizon) & (gap_fav >= target))
    hit_stop = (js <= jt) & (js < paths.horizon) & ~hit_target
    ended = ~hit_target & ~hit_stop
    pnl = np.where(
        hit_target, np.maximum(target, gap_fav),
        np.where(hit_stop, -np.maximum(stop_eff, -gap_fav) - slip, paths.close_fav[rows] - slip),
    )
    reason = np.where(hit_target, TARGET, np.where(hit_stop, np.where(limited, LIMIT, STOP), paths.end_reason[rows]))
    reason = np.where(trade, reason, np.where(~valid, NO_ENTRY, np.where(no_room, NO_ROOM, NO_TRADE))).astype(np.int8)
    exit_j = np.where(ended, L - 1, jj)
    q = np.where(trade, qty, 0)
    pnl = np.where(trade, pnl, 0.0)
    d = paths.direction[sig].astype(np.float64)
    entry = paths.entry_price[sig]
    gross = pnl * tv * q
    commission = paths.commission * q
    net = gross - commission
    risk = stop * tv * q
    bar_idx = paths.entry_index[rows] + exit_j
    exit_ns = np.where(trade, paths.bar_close_ns[np.clip(bar_idx, 0, len(paths.bar_close_ns) - 1)], paths.day[sig])
    return TradeOutcomes(
        signal=sig, size=q.astype(np.int64), stop_ticks=stop, target_ticks=target, reason=reason,
        bars_held=np.where(trade, exit_j + 1, 0).astype(np.int64), entry_price=entry,
        stop_price=_grid(paths, entry - d * stop * tick), target_price=_grid(paths, entry + d * target * tick),
        exit_price=np.where(trade, _grid(paths, entry + d * pnl * tick), 0.0), pnl_ticks=pnl, gross_usd=gross,
        commission_usd=commission, net_usd=net, risk_usd=risk, r_multiple=np.where(q > 0, net / np.where(risk > 0, risk, 1.0), 0.0),
        exit_time_ns=exit_ns.astype(np.int64), day=paths.day[sig],
    )


def liquidation_ticks(room_usd, size, commission: float, tick_value: float, slippage_ticks: float) -> np.ndarray:
    """Whole ticks of adverse move the account's room allows before the firm liquidates (inf for size 0).

    The one formula, used by `simulate_ticks` and by the runtime's bar-by-bar execution.
    """
    qty = np.asarray(size)
    per = np.where(qty > 0, np.asarray(room_usd, dtype=np.float64) / np.maximum(qty, 1) - commission, np.inf)
    return np.floor(np.round(per / tick_value - slippage_ticks, 9))


def simulate_one(paths: TradePaths, signal: int, size: int, stop_mult: float, reward_risk: float,
                 loss_limit_usd: float | None = None) -> TradeOutcomes:
    """`simulate` for ONE combination, the way the environment and backtests trade: the same rules
    written on scalars, ~10x faster than the array path at one row (numpy's per-call overhead
    dominates tiny arrays). tests/test_sim_fills.py proves it equal to `simulate`, field by field."""
    if not (STOP_MULT_RANGE[0] <= stop_mult <= STOP_MULT_RANGE[1]) or not (REWARD_RISK_RANGE[0] <= reward_risk <= REWARD_RISK_RANGE[1]):
        raise InputError(f"simulate: stop_mult must lie in {list(STOP_MULT_RANGE)} and reward_risk in {list(REWARD_RISK_RANGE)}; "
                         f"received {stop_mult}, {reward_risk}.")
    i, qty = int(signal), int(size)
    if not 0 <= i < len(paths) or qty < 0:
        raise InputError(f"simulate: signal must be a row in [0, {len(paths)}) and size >= 0; received {signal}, {size}.")
    inst, p = paths.instrument, paths
    tick, tv, slip = inst.tick_size, inst.tick_value, float(p.config.slippage_ticks)
    stop = max(1, int(np.rint(stop_mult * p.atr[i] / tick)))
    target = max(1, int(np.rint(reward_risk * stop)))
    stop_eff, limited, no_room = stop, False, False
    if loss_limit_usd is not None and qty > 0:
        liq = math.floor(np.round((loss_limit_usd / qty - p.commission) / tv - slip, 9))
        no_room = liq < 1
        limited = (liq < stop) and not no_room
        stop_eff = liq if limited else stop
    valid = bool(p.valid[i])
    H = p.horizon
    pnl, bars, exit_ns = 0.0, 0, int(p.day[i])
    if not valid:
        reason = NO_ENTRY
    elif qty == 0:
        reason = NO_TRADE
    elif no_room:
        reason = NO_ROOM
    else:
        L = int(p.length[i])
        base = p._base[i]
        js = int(np.searchsorted(p._flat_adv, base + stop_eff, side="left")) - i * H
        jt = int(np.searchsorted(p._flat_fav, base + target, side="left")) - i * H
        js = js if js < L else H
        jt = jt if jt < L else H
        jj = min(js, jt)
        gap_fav = float(p.open_fav[i, min(jj, max(L - 1, 0))])
        if jt < js or (jt == js and jt < H and gap_fav >= target):
            reason, pnl, exit_j = TARGET, max(float(target), gap_fav), jj
        elif js < H:
            reason, pnl, exit_j = (LIMIT if limited else STOP), -max(float(stop_eff), -gap_fav) - slip, jj
        else:
            reason, pnl, exit_j = int(p.end_reason[i]), float(p.close_fav[i]) - slip, L - 1
        bars = exit_j + 1
        exit_ns = int(p.bar_close_ns[p.entry_index[i] + exit_j])
    q = qty if reason not in (NO_TRADE, NO_ENTRY, NO_ROOM) else 0
    d = float(p.direction[i])
    entry = float(p.entry_price[i])
    gross = pnl * tv * q
    commission = p.commission * q
    risk = stop * tv * q
    net = gross - commission

    def a(x, dtype=np.float64):
        return np.array([x], dtype=dtype)

    return TradeOutcomes(
        signal=a(i, np.int64), size=a(q, np.int64), stop_ticks=a(stop, np.int64), target_ticks=a(target, np.int64),
        reason=a(reason, np.int8), bars_held=a(bars, np.int64), entry_price=a(entry),
        stop_price=_grid(p, a(entry - d * stop * tick)), target_price=_grid(p, a(entry + d * target * tick)),
        exit_price=_grid(p, a(entry + d * pnl * tick)) if q > 0 else a(0.0), pnl_ticks=a(pnl), gross_usd=a(gross),
        commission_usd=a(commission), net_usd=a(net), risk_usd=a(risk), r_multiple=a(net / risk if q > 0 and risk > 0 else 0.0),
        exit_time_ns=a(exit_ns, np.int64), day=a(int(p.day[i]), np.int64),
    )


def _grid(paths: TradePaths, price: np.ndarray) -> np.ndarray:
    # prices here are already whole ticks up to float error; this strips the error (1e-10 of a
    # point) without Instrument.round_to_tick's checks, which cost more than the whole trade
    tick = paths.instrument.tick_size
    return np.round(np.rint(price / tick) * tick, 10)


def _check_signal(paths: TradePaths, signal: np.ndarray) -> np.ndarray:
    s = np.asarray(signal).ravel()
    if s.size and (not np.issubdtype(s.dtype, np.integer) or s.min() < 0 or s.max() >= len(paths)):
        raise InputError(f"simulate: signal must hold integer rows in [0, {len(paths)}); received {s.dtype} values {s.min()}..{s.max()}.")
    return s.astype(np.int64)


def _check_int(a: np.ndarray, name: str, low: int) -> np.ndarray:
    if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < low):
        if np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)) and a.min() >= low:
            return a.astype(np.int64)
        raise InputError(f"simulate: {name} must be whole numbers >= {low}; received {a.dtype} with minimum {a.min()}.")
    return a.astype(np.int64)


def _check_range(a: np.ndarray, bounds: tuple[float, float], name: str) -> None:
    lo, hi = bounds
    if a.size and (not np.all(np.isfinite(a)) or a.min() < lo or a.max() > hi):
        raise InputError(f"simulate: {name} must lie in [{lo}, {hi}]; received values {np.nanmin(a)}..{np.nanmax(a)}.")
