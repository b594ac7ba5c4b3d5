"""The M-RMS's rule checks and price placement, vectorised: one copy for the engine, training and eval.

Every strategy the evaluation compares (the trained M-RMS, the baselines, the random network)
goes through these same functions, and so does the training environment: what the policy is
rewarded for is exactly what `RiskManager` would propose.

- Stop and target distances are whole ticks: stop = max(1, rint(mult x ATR / tick)), target =
  max(1, rint(R:R x stop)) (the simulator's `sim.stop_target_ticks` rule, from the ATR alone).
- The worst planned loss of one contract is (stop ticks + exit slippage ticks) x tick value +
  commission. A size is cut to the largest whose worst planned loss stays STRICTLY below the
  account's room (the smaller of the daily-loss room and the max-loss room): a trade stopped
  out at its stop then never reaches a limit. Only a gap through the stop can.
"""

from __future__ import annotations

import numpy as np

CUT_NONE, CUT_MAX_CONTRACTS, CUT_DAILY, CUT_MAX_LOSS, CUT_NOT_TRADING = range(5)
CUT_NAMES = ("none", "max_contracts", "daily_loss", "max_loss", "not_trading")
_CENT = 0.01  # "strictly below the room": a planned loss must leave at least a cent


def stop_target_ticks(stop_mult: np.ndarray, reward_risk: np.ndarray, atr: np.ndarray, tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Whole-tick stop and target distances (each >= 1) from ATR multiples."""
    stop = np.maximum(1, np.rint(np.asarray(stop_mult, np.float64) * np.asarray(atr, np.float64) / tick)).astype(np.int64)
    target = np.maximum(1, np.rint(np.asarray(reward_risk, np.float64) * stop)).astype(np.int64)
    return stop, target


def risk_per_contract(stop_ticks: np.ndarray, tick_value: float, slippage_ticks: float, commission: float) -> np.ndarray:
    """USD lost by one contract stopped out at its stop: the distance, the exit slippage and the commission."""
    return (np.asarray(stop_ticks, np.float64) + slippage_ticks) * tick_value + commission


def cap_size(size: np.ndarray, risk_pc: np.ndarray, daily_room: np.ndarray, max_loss_room: np.ndarray,
             max_contracts: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut `size` to the rules -> (size, cut code per row: CUT_* index into CUT_NAMES).

    A row with no room left in either limit (or none for one contract) gets size 0 and the
    code of the binding limit; CUT_NOT_TRADING where a room is already <= 0 (day locked,
    account failed).
    """
    size = np.asarray(size, np.int64)
    daily, mloss = np.asarray(daily_room, np.float64), np.asarray(max_loss_room, np.float64)
    room = np.minimum(daily, mloss)
    fit = np.floor((room - _CENT) / np.asarray(risk_pc, np.float64)).astype(np.int64)
    fit = np.clip(fit, 0, max_contracts)
    out = np.minimum(np.minimum(size, max_contracts), fit)
    code = np.full(size.shape, CUT_NONE, np.int8)
    code[size > max_contracts] = CUT_MAX_CONTRACTS
    room_cut = out < np.minimum(size, max_contracts)
    code[room_cut] = np.where(daily[room_cut] <= mloss[room_cut], CUT_DAILY, CUT_MAX_LOSS)
    code[(room <= 0) & (size > 0)] = CUT_NOT_TRADING
    out = np.where(room <= 0, 0, out)
    return out.astype(np.int64), code


def rooms_from_vector(account_vector: np.ndarray, daily_loss_limit: float, max_loss: float) -> tuple[np.ndarray, np.ndarray]:
    """(daily-loss room, max-loss room) in USD from account vectors (..., 10): the vector holds the
    shares of both limits already used (values 2 and 1). Conservative on a winning day: the
    vector clips a day's gain, so the daily room read back is at most the limit."""
    v = np.asarray(account_vector, np.float64)
    return (1.0 - v[..., 2]) * daily_loss_limit, (1.0 - v[..., 1]) * max_loss


def place_levels(entry: np.ndarray, direction: np.ndarray, stop_ticks: np.ndarray, target_ticks: np.ndarray,
                 tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Stop and target prices on the tick grid, strictly on the right side of `entry`.

    The entry may lie off the grid (a mid price); each level is rounded AWAY from the entry, so
    a long's stop is below it and its target above, whatever the rounding.
    """
    entry = np.asarray(entry, np.float64)
    d = np.asarray(direction, np.float64)
    raw_stop = entry - d * np.asarray(stop_ticks) * tick
    raw_target = entry + d * np.asarray(target_ticks) * tick
    steps_stop = np.round(raw_stop / tick, 9)
    steps_target = np.round(raw_target / tick, 9)
    stop = np.where(d > 0, np.floor(steps_stop), np.ceil(steps_stop)) * tick
    target = np.where(d > 0, np.ceil(steps_target), np.floor(steps_target)) * tick
    decimals = max(0, -int(np.floor(np.log10(tick))) + 2)
    return np.round(stop, decimals), np.round(target, decimals)


__all__ = ["CUT_NAMES", "CUT_NONE", "CUT_MAX_CONTRACTS", "CUT_DAILY", "CUT_MAX_LOSS", "CUT_NOT_TRADING",
           "stop_target_ticks", "risk_per_contract", "cap_size", "place_levels", "rooms_from_vector"]
