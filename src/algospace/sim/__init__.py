"""Trade simulation for the risk manager: market (with the SPY->ES proxy), fills, account, environment, metrics.

    from algospace.sim import Market, build_paths, simulate, PropFirmAccount
    from algospace.signals import build_signals
    m = Market.load("spy-1m", "ES")                        # m.proxy: "SPY x10 as ES-equivalent ..."
    sigs = build_signals(m.bars_5m, m.bars_30m, "components", proxy=m.proxy)
    paths = build_paths(m.bars, sigs, m.instrument, m.calendar)   # once
    out = simulate(paths, np.arange(len(sigs)), size=1, stop_mult=2.0, reward_risk=2.0)  # vectorised
    acct = PropFirmAccount(); acct.vector()                 # the 10-value account vector

docs/sim.md states every rule.
"""

from algospace.sim.account import (
    ACCOUNT_VECTOR_NAMES,
    ACCOUNT_VECTOR_VERSION,
    AccountState,
    Breach,
    PropFirmAccount,
    Room,
    account_vector,
    trade_sortino,
)
from algospace.sim.config import DEFAULT_COMMISSION, AccountConfig, SimConfig
from algospace.sim.fills import REASONS, REWARD_RISK_RANGE, STOP_MULT_RANGE, TradeOutcomes, simulate, simulate_one, simulate_ticks, stop_target_ticks
from algospace.sim.market import Market
from algospace.sim.paths import TradePaths, build_paths
from algospace.sim.replay import OBS_SIZE, BacktestResult, Step, TradeReplay, act_many, backtest, concat_outcomes, observation

__all__ = [
    "ACCOUNT_VECTOR_NAMES", "ACCOUNT_VECTOR_VERSION", "AccountConfig", "AccountState", "Breach", "DEFAULT_COMMISSION",
    "Market", "PropFirmAccount", "REASONS", "REWARD_RISK_RANGE", "Room", "STOP_MULT_RANGE", "SimConfig", "TradeOutcomes",
    "TradePaths", "account_vector", "build_paths", "simulate", "simulate_one", "simulate_ticks", "stop_target_ticks", "trade_sortino",
    "OBS_SIZE", "BacktestResult", "Step", "TradeReplay", "act_many", "backtest", "concat_outcomes", "observation",
    "TradingEnv", "EnvConfig", "default_reward",
]


def __getattr__(name: str):
    # the environment imports gymnasium; load it only when asked for
    if name in ("TradingEnv", "EnvConfig", "default_reward"):
        from algospace.sim import env

        return getattr(env, name)
    raise AttributeError(f"module 'algospace.sim' has no attribute {name!r}")
