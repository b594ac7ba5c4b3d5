"""Trading metrics per trade and per day: small numpy functions, each checked by hand in
tests/test_sim_metrics.py. (empyrical is unmaintained and quantstats pulls a plotting and
web stack for what is a dozen lines here; neither is installed.)

Conventions (docs/sim.md): money in USD; daily series include days with no trade as 0 (every
session that had a signal); annualisation uses 252 trading days; a ratio with a zero
denominator is +inf when its numerator is positive, else NaN; NaN with too little data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from algospace.sim.fills import TradeOutcomes
from algospace.sim.replay import BacktestResult

PERIODS_PER_YEAR = 252


def _ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return math.inf if num > 0 else math.nan


def sharpe(x: np.ndarray, periods: int = 1) -> float:
    """mean / sample std (ddof 1) x sqrt(periods); NaN under 2 values."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return math.nan
    return _ratio(float(x.mean()), float(x.std(ddof=1))) * math.sqrt(periods)


def sortino(x: np.ndarray, periods: int = 1) -> float:
    """mean / downside deviation x sqrt(periods); downside deviation = sqrt(mean(min(x, 0)^2)) over ALL values."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return math.nan
    down = math.sqrt(float(np.mean(np.minimum(x, 0.0) ** 2)))
    return _ratio(float(x.mean()), down) * math.sqrt(periods)


def max_drawdown(pnl: np.ndarray) -> float:
    """Largest fall (USD, >= 0) of the cumulative P&L from its running peak (the start counts as a peak at 0)."""
    x = np.asarray(pnl, dtype=np.float64)
    if len(x) == 0:
        return 0.0
    eq = np.concatenate([[0.0], np.cumsum(x)])
    return float(np.max(np.maximum.accumulate(eq) - eq))


def calmar(daily: np.ndarray, periods: int = PERIODS_PER_YEAR) -> float:
    """Annualised P&L (mean daily x periods) / max drawdown of the daily P&L (USD / USD)."""
    d = np.asarray(daily, dtype=np.float64)
    if len(d) == 0:
        return math.nan
    return _ratio(float(d.mean()) * periods, max_drawdown(d))


def profit_factor(net: np.ndarray) -> float:
    """Gross profit / gross loss of the trades."""
    x = np.asarray(net, dtype=np.float64)
    if len(x) == 0:
        return math.nan
    return _ratio(float(x[x > 0].sum()), float(-x[x < 0].sum()))


def daily_pnl(outcomes: TradeOutcomes, days: np.ndarray | None = None) -> pd.Series:
    """Net P&L per trading day (a trade counts on its entry session's day), 0 on `days` without trades."""
    t = outcomes.traded
    s = pd.Series(outcomes.net_usd[t]).groupby(outcomes.day[t]).sum()
    keys = np.union1d(s.index.to_numpy(dtype=np.int64), np.asarray(days if days is not None else [], dtype=np.int64))
    s = s.reindex(keys, fill_value=0.0)
    s.index = pd.to_datetime(s.index, utc=True).rename("day")
    return s.rename("net_usd").astype(np.float64)


@dataclass(frozen=True)
class Metrics:
    """A backtest's numbers. Per trade: over trades taken (size > 0); per day: over `days`."""

    proxy: str
    trades: int
    days: int
    net_pnl: float
    avg_trade: float
    win_rate: float
    profit_factor: float
    expectancy_r: float  # mean R multiple (net P&L / planned risk at the stop)
    sharpe_trade: float  # not annualised
    sortino_trade: float
    max_drawdown_trade: float  # USD, trade-by-trade equity
    sharpe_daily: float  # annualised (x sqrt 252)
    sortino_daily: float  # annualised
    max_drawdown_daily: float  # USD, end-of-day equity
    calmar: float  # annualised daily P&L / max_drawdown_daily
    return_pct: float  # net P&L / starting balance x 100
    daily_loss_hits: int
    max_loss_breaches: int
    rule_breaches: int  # daily_loss_hits + max_loss_breaches
    accounts_ended: int  # max-loss breaches + accounts exhausted (room below one tick)
    days_to_target: int | None  # trading days until the first account reached its profit target (None: never)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize(result: BacktestResult, periods: int = PERIODS_PER_YEAR) -> Metrics:
    """Metrics of a `backtest` result (trades, daily P&L over its days, breaches, accounts)."""
    o = result.outcomes
    t = o.traded
    net, r = o.net_usd[t], o.r_multiple[t]
    daily = daily_pnl(o, result.days).to_numpy()
    kinds = [b.kind for b in result.breaches]
    dll, mll = kinds.count("daily_loss"), kinds.count("max_loss")
    return Metrics(
        proxy=result.proxy, trades=int(t.sum()), days=len(daily), net_pnl=float(net.sum()),
        avg_trade=float(net.mean()) if len(net) else math.nan,
        win_rate=float((net > 0).mean()) if len(net) else math.nan, profit_factor=profit_factor(net),
        expectancy_r=float(r.mean()) if len(r) else math.nan, sharpe_trade=sharpe(net), sortino_trade=sortino(net),
        max_drawdown_trade=max_drawdown(net), sharpe_daily=sharpe(daily, periods), sortino_daily=sortino(daily, periods),
        max_drawdown_daily=max_drawdown(daily), calmar=calmar(daily, periods),
        return_pct=float(net.sum()) / result.starting_balance * 100.0, daily_loss_hits=dll, max_loss_breaches=mll,
        rule_breaches=dll + mll, accounts_ended=mll + kinds.count("exhausted"),
        days_to_target=result.accounts[0].days_to_target if result.accounts else None,
    )


def metrics_table(results: dict[str, Metrics]) -> pd.DataFrame:
    """Strategies as rows, metrics as columns (the proxy is left out: state it once above the table)."""
    return pd.DataFrame({k: {f: v for f, v in m.to_dict().items() if f != "proxy"} for k, m in results.items()}).T
