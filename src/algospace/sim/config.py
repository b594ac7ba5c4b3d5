"""Simulator and account settings: strict pydantic models (frozen, unknown keys are errors; a bad
value raises ConfigError naming the field), loadable from YAML through
`SimConfig.model_validate(yaml.safe_load(...))`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from algospace._pydantic import StrictParams
from algospace.errors import AlgoSpaceError, ConfigError

# Round-turn commission per contract (USD) when SimConfig.commission_per_contract is None:
# typical retail all-in cost (broker + exchange + NFA fees) of CME equity index futures.
DEFAULT_COMMISSION = {"ES": 4.50, "MES": 1.50}


class _Config(StrictParams):
    error_type: ClassVar[type[AlgoSpaceError]] = ConfigError


class SimConfig(_Config):
    """How a trade is filled. Prices are in the bars' units; every fill lies on the tick grid.

    - `bar_minutes`: the bars trades are walked through. 5 by default: signals are decided on the
      5-minute clock, a 5-minute path of 100 bars covers a whole regular session, and finer bars
      only matter inside the one bar that touches both levels (where the stop is taken first).
      1-minute bars work too (`Market(..., bar_minutes=1)`), at 5x the path memory.
    - `max_hold_bars`: the trade closes at the close of its `max_hold_bars`-th bar (entry bar = 1).
    - `slippage_ticks`: ticks lost on the entry (market order at the entry bar's open) and on
      stop and market exits (stop, max hold, session close); a target is a limit order: none.
    - `commission_per_contract`: USD per contract per round turn; None takes DEFAULT_COMMISSION
      for ES / MES and 0 for other instruments.
    - `flat_before_close_minutes`: positions are closed at the close of the last bar ending at
      least this many minutes before the session close, and no trade enters later; None holds
      through session ends (then only `max_hold_bars` ends a trade).
    """

    bar_minutes: int = Field(5, ge=1, le=60)
    max_hold_bars: int = Field(100, ge=1, le=10_000)
    slippage_ticks: int = Field(1, ge=0, le=100)
    commission_per_contract: float | None = Field(None, ge=0)
    flat_before_close_minutes: int | None = Field(5, ge=0, le=24 * 60)

    def commission_for(self, instrument: str) -> float:
        """Round-turn commission per contract (USD) for `instrument`."""
        if self.commission_per_contract is not None:
            return float(self.commission_per_contract)
        return DEFAULT_COMMISSION.get(instrument.upper(), 0.0)


class AccountConfig(_Config):
    """A prop-firm evaluation account; defaults follow a common $50K futures evaluation.

    - `max_loss` trails the highest end-of-day balance (`trailing=True`) and stops trailing once
      the floor reaches `starting_balance` (`lock_at_start=True`); a balance at or below the floor
      ends the account.
    - Reaching `daily_loss_limit` (the day's net P&L <= -limit) stops trading for that day.
    - `profit_target`: the balance gain that passes the evaluation.
    """

    starting_balance: float = Field(50_000.0, gt=0)
    max_contracts: int = Field(5, ge=1, le=1000)
    daily_loss_limit: float = Field(1_000.0, gt=0)
    max_loss: float = Field(2_000.0, gt=0)
    trailing: bool = True
    lock_at_start: bool = True
    profit_target: float = Field(3_000.0, gt=0)

    @model_validator(mode="after")
    def _limits_fit(self) -> AccountConfig:
        if self.max_loss >= self.starting_balance:
            raise ValueError(f"max_loss ({self.max_loss}) must be below starting_balance ({self.starting_balance})")
        return self
