"""Account stage: the prop-firm account the runtime trades, updated on every closed trade.

Same rules as `sim.TradeReplay` and the M-RMS backtests: the trading day rolls at a signal (`prepare`), a locked day or
a failed account takes no trade, a liquidation ("limit") is a breach, an order refused for lack
of room locks the day (daily room) or ends the account (max-loss room). With `reset_on_fail`
a failed account is replaced by a fresh one on the next trading day (as `sim.backtest` does),
and every account used is kept in `accounts`.
"""

from __future__ import annotations

import pandas as pd

from algospace.runtime.bus import EventBus
from algospace.runtime.events import AccountUpdated, OrderCancelled, TradeClosed
from algospace.sim import AccountConfig, PropFirmAccount


class AccountStage:
    def __init__(self, bus: EventBus, config: AccountConfig | None = None, *, reset_on_fail: bool = True) -> None:
        self.bus = bus
        self.config = config or AccountConfig()
        self.reset_on_fail = reset_on_fail
        self.account = PropFirmAccount(self.config)
        self.accounts = [self.account]
        self.breaches: list = []  # every Breach, in order
        self._failed_day: int | None = None
        bus.subscribe(TradeClosed, self._on_trade)
        bus.subscribe(OrderCancelled, self._on_cancel)

    def prepare(self, day_ns: int) -> bool:
        """Roll to the trading day `day_ns` (session open); True when the account may trade."""
        if self.account.failed and self.reset_on_fail and self._failed_day is not None and day_ns != self._failed_day:
            self.account = PropFirmAccount(self.config)
            self.accounts.append(self.account)
            self._failed_day = None
        if self.account.failed:
            return False
        self.account.start_day(day_ns)
        return self.account.can_trade

    def _note_failure(self) -> None:
        if self.account.failed and self._failed_day is None:
            self._failed_day = self.account.day

    def _on_trade(self, t: TradeClosed) -> None:
        breaches = self.account.record(t.net_usd, t.r_multiple, t.day.value, liquidated=t.reason == "limit")
        self._publish(t.exit_time, breaches)

    def exhaust(self, time: pd.Timestamp) -> None:
        """End the account: its max-loss room cannot fit one contract of the trade the models want
        (as the M-RMS backtests end it; without this an account cut to 0 contracts near its floor
        would neither trade nor fail again). A fresh account starts the next day (`reset_on_fail`)."""
        self._publish(time, [self.account.end("exhausted")])

    def _on_cancel(self, c: OrderCancelled) -> None:
        if c.reason != "no_room":
            return
        if self.account.room().binding == "max_loss":
            self._publish(c.time, [self.account.end("exhausted")])
        else:
            self.account.lock_day()
            self._publish(c.time, [])

    def _publish(self, time: pd.Timestamp, breaches: list) -> None:
        self._note_failure()
        kinds = tuple(b.kind for b in breaches)
        self.breaches.extend(breaches)
        a = self.account
        self.bus.publish(AccountUpdated(time, a.balance, a.day_pnl, a.floor, a.failed, kinds))
