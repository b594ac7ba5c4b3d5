"""The runtime's events: frozen dataclasses, one per step of the chain.

ticks / 1-minute bars -> BarClosed(5 / 30) -> SignalDetected -> DecisionMade -> OrderPlaced ->
OrderFilled (or OrderCancelled) -> TradeClosed -> AccountUpdated. Prices are in the traded
instrument's units (the SPY sample runs as the x10 ES proxy), times are UTC.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [float(x) for x in value.ravel()]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Event:
    """Base: `to_dict()` gives a JSON-able record with the event's type name."""

    def to_dict(self) -> dict[str, Any]:
        out = {"event": type(self).__name__}
        out.update({k: _plain(v) for k, v in asdict(self).items() if not k.startswith("_")})  # type: ignore[call-overload]
        return out


@dataclass(frozen=True)
class BarClosed(Event):
    minutes: int
    time: pd.Timestamp  # bar open
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class IndicatorsUpdated(Event):
    """The synergy detector's raw indicator row of a closed 5- or 30-minute bar (`features.matrices`
    raw_5m / raw_30m columns) and the parameters it was computed with. Published before the bar's
    signals; the decision core's matrices are scaled from it, so each bar's indicators run once."""

    minutes: int
    time: pd.Timestamp  # bar open
    row: dict[str, float] = field(repr=False)
    params: Any = field(repr=False)  # Matrix30mParams or Matrix5mParams


@dataclass(frozen=True)
class SignalDetected(Event):
    time: pd.Timestamp  # open of the 5-minute bar the signal completed on
    entry_time: pd.Timestamp  # that bar's close: the earliest entry
    direction: int  # +1 long, -1 short
    kind: str  # mlmi | nwrqk | fvg | TYPE_1..TYPE_4
    atr: float  # 5-minute Wilder ATR at the signal bar's close (price units)
    close: float  # signal bar close
    vector: np.ndarray = field(repr=False)  # (30,) synergy vector


@dataclass(frozen=True)
class DecisionMade(Event):
    time: pd.Timestamp  # decision time = the signal bar's close
    signal_time: pd.Timestamp
    kind: str
    direction: int
    initiate: bool  # the core's MC-dropout vote
    confidence: float
    uncertainty: float
    execute: bool  # initiate, a size > 0 and the gate
    reason: str  # why (not) executed
    gate_p: float | None = None
    proposal: dict[str, Any] | None = None


@dataclass(frozen=True)
class OrderPlaced(Event):
    order_id: str
    time: pd.Timestamp  # decision time
    signal_time: pd.Timestamp
    direction: int
    size: int
    stop_ticks: int
    target_ticks: int
    atr: float
    room_usd: float  # the account's room when placed: the firm's liquidation level


@dataclass(frozen=True)
class OrderCancelled(Event):
    order_id: str
    time: pd.Timestamp
    reason: str


@dataclass(frozen=True)
class OrderFilled(Event):
    order_id: str
    time: pd.Timestamp  # entry bar open
    price: float  # slippage included
    size: int


@dataclass(frozen=True)
class TradeClosed(Event):
    order_id: str
    signal_time: pd.Timestamp
    entry_time: pd.Timestamp
    exit_time: pd.Timestamp  # close of the exit bar
    direction: int
    size: int
    entry_price: float
    exit_price: float
    stop_price: float
    target_price: float
    stop_ticks: int
    target_ticks: int
    gross_usd: float
    commission_usd: float
    net_usd: float
    risk_usd: float
    r_multiple: float
    reason: str  # stop | target | max_hold | session_close | limit
    bars_held: int
    day: pd.Timestamp  # the trading day (session open)


@dataclass(frozen=True)
class AccountUpdated(Event):
    time: pd.Timestamp
    balance: float
    day_pnl: float
    floor: float
    failed: bool
    breaches: tuple[str, ...] = ()
