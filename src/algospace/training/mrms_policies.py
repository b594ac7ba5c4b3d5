"""Sizing strategies as backtest policies, all under the same account rules.

A strategy maps (observation, signal row) to a raw (size, stop multiplier, R:R); `capped`
passes it through the M-RMS rule checks (`engines.mrms_rules`): the size is cut so that a
stop-out cannot reach the daily-loss or max-loss limit, exactly as `RiskManager` does. So every
strategy the evaluation compares, the trained network included, trades the same signals
through the same simulator, account and rules; only the decisions differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from algospace.engines.mrms import RiskManager, scalar_size
from algospace.engines.mrms_rules import CUT_MAX_LOSS, risk_per_contract, rooms_from_vector, stop_target_ticks
from algospace.sim import AccountConfig, SimConfig, TradePaths

Raw = Callable[[np.ndarray, int], tuple[int, float, float]]
SYNERGY_DIM = 30


@dataclass(frozen=True)
class Context:
    """What every strategy needs besides the observation: the paths and the rules."""

    paths: TradePaths
    account: AccountConfig
    sim: SimConfig

    @property
    def instrument(self):  # -> data.Instrument
        return self.paths.instrument


class _Exhausted(Exception):
    """Raised by a probing policy at the first exhausted decision (ends a backtest early)."""


def capped(ctx: Context, raw: Raw, exhausted: dict | None = None, abort: bool = False) -> Raw:
    """The strategy's decision with the rule checks applied (size cut to fit the rooms).

    Returns the R:R as placed (target ticks / stop ticks), which the simulator turns back into
    the same target ticks. With an `exhausted` dict: the first time the max-loss room cannot
    fit one contract of a trade the strategy wants, its row is stored there and every later
    decision is 0 contracts (`backtest_rules` then ends that account and starts a fresh one).
    """
    p, inst, acc = ctx.paths, ctx.instrument, ctx.account

    def policy(obs: np.ndarray, row: int) -> tuple[int, float, float]:
        size, stop, rr = raw(obs, row)
        if exhausted is not None and "row" in exhausted:
            return 0, float(stop), float(rr)
        daily, mloss = rooms_from_vector(obs[SYNERGY_DIM:], acc.daily_loss_limit, acc.max_loss)
        final, stop_t, target_t, cut = scalar_size(int(size), float(stop), float(rr), float(p.atr[row]), inst, float(daily),
                                                   float(mloss), acc.max_contracts, ctx.sim)
        if exhausted is not None and final == 0 and size > 0 and cut == CUT_MAX_LOSS:
            exhausted.update(row=row, balance=float(obs[SYNERGY_DIM]) * acc.starting_balance)
            if abort:
                raise _Exhausted
        return final, float(stop), target_t / stop_t

    return policy


def backtest_rules(ctx: Context, signals: Any, raw: Raw, rows: np.ndarray):  # -> sim.BacktestResult
    """`sim.backtest` of `capped(raw)` over `rows`, where an account whose max-loss room can no
    longer fit one contract of the strategy's trade ends as 'exhausted' (not a rule breach) and
    a fresh account starts on the next trading day, as after a failure.

    Without this an account cut to 0 contracts near its floor would never trade again nor
    fail, and a losing strategy would stop losing for the rest of the period.
    """
    from algospace.sim import Breach, backtest
    from algospace.sim.replay import BacktestResult, concat_outcomes

    rows = np.asarray(rows, dtype=np.int64)
    parts, breaches, accounts = [], [], []
    start = 0
    while start < len(rows):
        # Probe until the first exhaustion (aborting there), then replay only up to that row: the
        # work is ~2x the rows, not the rows after every exhaustion again.
        probe: dict = {}
        try:
            res = backtest(ctx.paths, signals, capped(ctx, raw, probe, abort=True), ctx.account, rows[start:])
        except _Exhausted:
            pass
        else:
            accounts.extend(res.accounts)
            parts.append(res.outcomes)
            breaches.extend(res.breaches)
            break
        end = start + int(np.flatnonzero(rows[start:] == probe["row"])[0]) + 1
        flag: dict = {}
        res = backtest(ctx.paths, signals, capped(ctx, raw, flag), ctx.account, rows[start:end])
        accounts.extend(res.accounts)
        parts.append(res.outcomes)
        day = int(ctx.paths.day[flag["row"]])
        breaches.extend(res.breaches)
        breaches.append(Breach("exhausted", day, flag["balance"], int(res.outcomes.traded.sum())))
        start = end + int(np.searchsorted(ctx.paths.day[rows[end:]], day, side="right"))
    days = np.unique(ctx.paths.day[rows]) if len(rows) else np.zeros(0, dtype=np.int64)
    return BacktestResult(outcomes=concat_outcomes(parts), breaches=breaches, accounts=accounts, days=days,
                          proxy=signals.proxy, starting_balance=ctx.account.starting_balance)


def network(rm: RiskManager) -> Raw:
    """The M-RMS network's deterministic decision: arg-max size, the heads' stop and R:R."""

    def raw(obs: np.ndarray, row: int) -> tuple[int, float, float]:
        return rm.raw_decision(obs)

    return raw


def fixed(size: int, stop: float, rr: float) -> Raw:
    """(a) and (d): the same size, stop and target on every signal."""
    return lambda obs, row: (size, stop, rr)


def fixed_fractional(ctx: Context, fraction: float = 0.01, stop: float = 2.0, rr: float = 2.0) -> Raw:
    """(b) risk `fraction` of the current balance per trade: contracts = floor(fraction x balance /
    loss of one contract at the stop, costs included)."""
    p, inst = ctx.paths, ctx.instrument
    start = ctx.account.starting_balance
    comm = ctx.sim.commission_for(inst.name)

    def raw(obs: np.ndarray, row: int) -> tuple[int, float, float]:
        balance = float(obs[SYNERGY_DIM]) * start  # account vector value 0: balance / starting balance
        stop_t, _ = stop_target_ticks(np.array([stop]), np.array([rr]), p.atr[row : row + 1], inst.tick_size)
        rpc = float(risk_per_contract(stop_t, inst.tick_value, ctx.sim.slippage_ticks, comm)[0])
        return int(max(0, math.floor(fraction * balance / rpc))), stop, rr

    return raw


def kelly_fraction(net_usd: np.ndarray, risk_usd: np.ndarray) -> tuple[float, dict[str, float]]:
    """Kelly fraction of equity to risk from past trades: f = p - (1 - p) / b, with p the win rate
    and b the mean win over the mean loss, both in R (net / planned risk); 0 when f <= 0."""
    r = net_usd / risk_usd
    wins, losses = r[r > 0], -r[r <= 0]
    if len(wins) == 0 or len(losses) == 0:
        return 0.0, {"trades": float(len(r))}
    p = len(wins) / len(r)
    b = float(wins.mean() / losses.mean())
    f = p - (1 - p) / b
    return max(0.0, f), {"trades": float(len(r)), "win_rate": p, "payoff": b, "kelly": f}


__all__ = ["Context", "capped", "backtest_rules", "network", "fixed", "fixed_fractional", "kelly_fraction"]
