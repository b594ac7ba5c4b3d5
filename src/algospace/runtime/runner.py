"""The runtime: bar by bar from a source to trades, the same code live (`algospace run`) and over
history (`algospace backtest`).

    ticks / 1-minute bars -> BarStage -> BarClosed(5, 30) -> SignalStage -> SignalDetected
      -> Runtime (position open? trading day? account locked?) -> Decider (core, RDE, M-RMS, gate)
      -> DecisionMade, OrderPlaced -> SimulatedExecution -> OrderFilled ... TradeClosed
      -> AccountStage -> AccountUpdated; Recorder writes every step under --out.

Restart: a run writes append-only logs. Started again on the same --out, it replays the data from
the beginning (the models and streams are deterministic), checks every record it would write
against the one already logged, and writes only what is new: no order is ever sent twice, and a
log that disagrees with the replay (other data or models) is refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from algospace._pydantic import StrictModel
from algospace.data import Instrument, get_instrument
from algospace.errors import DataError, InputError
from algospace.io import atomic_write_parquet, atomic_write_text
from algospace.runtime.account import AccountStage
from algospace.runtime.bars import BarStage
from algospace.runtime.bus import EventBus
from algospace.runtime.deciders import Decider, _no_trade
from algospace.runtime.detect import SignalStage
from algospace.runtime.events import (
    AccountUpdated,
    DecisionMade,
    OrderCancelled,
    OrderFilled,
    OrderPlaced,
    SignalDetected,
    TradeClosed,
)
from algospace.runtime.execution import PaperLog, SimulatedExecution
from algospace.runtime.sources import BarSource, frame_items
from algospace.sim import AccountConfig, SimConfig

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
ORDERS_LOG = "orders.jsonl"
DECISIONS_LOG = "decisions.jsonl"


class RuntimeConfig(StrictModel):
    """How the runtime trades (strict; loadable from YAML)."""

    instrument: str = "ES"  # what is traded: SPY data runs as the x10 ES proxy
    signals: Literal["components", "synergy"] = "components"
    trade_from: datetime | None = None  # bars before this only warm the indicators up (UTC-aware)
    reset_on_fail: bool = True  # a failed evaluation account is replaced next day (backtests)
    sim: SimConfig = Field(default_factory=SimConfig)
    account: AccountConfig = Field(default_factory=AccountConfig)

    @field_validator("trade_from")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("trade_from needs a timezone (e.g. 2019-06-01T00:00:00Z)")
        return v


class _SequenceLog:
    """An append-only JSON-lines log that a replay re-walks: records already there are checked, not rewritten."""

    def __init__(self, path: Path | None, durable: bool) -> None:
        self.log = PaperLog(path) if path is not None else None
        self.durable = durable
        self.existing = self.log.read() if self.log is not None else []
        self.n = 0

    def write(self, event: Any) -> None:
        k = self.n
        self.n += 1
        if self.log is None:
            return
        record = json.loads(json.dumps(event.to_dict(), sort_keys=True))
        if k < len(self.existing):
            if self.existing[k] != record:
                raise DataError(
                    f"{self.log.path}: record {k + 1} does not match a replay of the data with these models "
                    f"(logged {self.existing[k]}, replayed {record}). The data or the models changed since this run "
                    "began; start a new --out directory."
                )
            return
        self.log.write(event, fsync=self.durable)

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


class Recorder:
    """Collects the run's decisions, orders and trades; writes the logs and the summary files."""

    def __init__(self, bus: EventBus, out: Path | None, durable: bool) -> None:
        self.out = out
        self.trades: list[TradeClosed] = []
        self.balances: list[float] = []
        self.accounts_at_trade: list[int] = []
        self.decisions = 0
        self.orders = _SequenceLog(out / ORDERS_LOG if out else None, durable)
        self.decision_log = _SequenceLog(out / DECISIONS_LOG if out else None, durable)
        for kind in (OrderPlaced, OrderFilled, OrderCancelled, TradeClosed):
            bus.subscribe(kind, self.orders.write)
        bus.subscribe(DecisionMade, self._on_decision)
        bus.subscribe(TradeClosed, self.trades.append)

    def _on_decision(self, d: DecisionMade) -> None:
        self.decisions += 1
        self.decision_log.write(d)

    def close(self) -> None:
        self.orders.close()
        self.decision_log.close()


class Runtime:
    """One trading process: feed it items (`process`) or a whole source (`run`)."""

    def __init__(self, source_instrument: Instrument, make_decider: Callable[[EventBus, Instrument], Decider],
                 config: RuntimeConfig | None = None, out: str | Path | None = None, *, durable: bool = False,
                 models_hashes: dict[str, str] | None = None, data_name: str = "") -> None:
        self.config = cfg = config or RuntimeConfig()
        self.target = get_instrument(cfg.instrument)
        self.out = Path(out) if out is not None else None
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            self._check_resume(models_hashes or {}, data_name)
        self.models_hashes, self.data_name = models_hashes or {}, data_name
        self.bus = bus = EventBus()
        # subscription order is the delivery order of a bar: positions close before new signals
        self.execution = SimulatedExecution(bus, self.target, source_instrument.calendar, cfg.sim)
        self.signals = SignalStage(bus, cfg.signals)
        self.decider = make_decider(bus, self.target)
        minute = (1,) if getattr(self.decider, "needs_minute_bars", False) else ()  # a v2 feature spec reads 1-minute bars
        self.bars = BarStage(bus, source_instrument, self.target, (*minute, 5, 30, cfg.sim.bar_minutes))
        self.account = AccountStage(bus, cfg.account, reset_on_fail=cfg.reset_on_fail)
        self.recorder = Recorder(bus, self.out, durable)
        bus.subscribe(SignalDetected, self._on_signal)
        bus.subscribe(AccountUpdated, self._on_account)
        bus.subscribe(OrderPlaced, self._on_order_delivered)
        self._order_in_flight = False  # published, not yet delivered (another signal of the same bar may come first)
        self.days: list[int] = []  # session opens of the days with signals (after trade_from)
        self._orders = 0
        self._trade_from = pd.Timestamp(cfg.trade_from).tz_convert("UTC") if cfg.trade_from else None
        self.items = 0

    # --- the chain --------------------------------------------------------------------------
    def _on_signal(self, s: SignalDetected) -> None:
        if self._trade_from is not None and s.time < self._trade_from:
            return
        sig_so, _, _ = self.execution.rules.session(s.time)
        if not self.days or self.days[-1] != sig_so:
            self.days.append(sig_so)
        if self.execution.busy or self._order_in_flight:
            return self.bus.publish(_no_trade(s, "skipped: a position or order is open"))
        entry_so, ok = self.execution.rules.allowed(s.entry_time)
        if entry_so != sig_so or not ok:
            return self.bus.publish(_no_trade(s, "skipped: no entry bar in the session before the flat time"))
        if not self.account.prepare(sig_so):
            why = "failed" if self.account.account.failed else "locked for the day"
            return self.bus.publish(_no_trade(s, f"skipped: the account is {why}"))
        decision, order = self.decider.decide(s, self.account.account, f"{self._orders + 1:06d}")
        self.bus.publish(decision)
        p = decision.proposal
        if p and p["position_size"] == 0 and p["model_size"] > 0 and p["size_cut_by"] == "max_loss":
            self.account.exhaust(decision.time)
        if order is not None:
            self._orders += 1
            self._order_in_flight = True
            self.bus.publish(order)

    def _on_order_delivered(self, order: OrderPlaced) -> None:
        self._order_in_flight = False

    def _on_account(self, a: AccountUpdated) -> None:
        if self.recorder.trades and len(self.recorder.balances) < len(self.recorder.trades):
            self.recorder.balances.append(a.balance)
            self.recorder.accounts_at_trade.append(len(self.account.accounts))
        if self.out is not None and self.recorder.orders.durable:
            self.save()

    # --- driving ----------------------------------------------------------------------------
    def process(self, item: Any) -> None:
        self.bars.update(item)
        self.items += 1

    def run(self, source: BarSource, *, end_of_data: bool, progress: Callable[[int], None] | None = None) -> None:
        """Process every item of `source` (its frames converted to the traded instrument's prices in
        one step each); at `end_of_data` close what is open (a backtest's end)."""
        try:
            for frame in source.frames():
                for item in frame_items(self.bars.convert(frame)):
                    self.process(item)
                if progress is not None:
                    progress(len(frame))
            if end_of_data:
                self.bars.flush()
                self.execution.flush()
        finally:
            self.recorder.close()
            if self.out is not None:
                self.save()

    # --- state and outputs ------------------------------------------------------------------
    def _check_resume(self, hashes: dict[str, str], data_name: str) -> None:
        path = self.out / STATE_FILE  # type: ignore[operator]
        if not path.exists():
            return
        try:
            state = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: unreadable ({exc}); it is rewritten from the logs only by a new run: use a new --out.") from exc
        if hashes and state.get("models") and state["models"] != hashes:
            raise InputError(f"{self.out} was written by other models ({state['models']}); resume with the same models or use a new --out.")
        if data_name and state.get("data") and state["data"] != data_name:
            raise InputError(f"{self.out} was written for data {state['data']!r}, not {data_name!r}; use a new --out.")

    def trades_frame(self) -> pd.DataFrame:
        rows = [t.to_dict() for t in self.recorder.trades]
        cols = ["order_id", "signal_time", "entry_time", "exit_time", "direction", "size", "entry_price", "exit_price",
                "stop_price", "target_price", "stop_ticks", "target_ticks", "gross_usd", "commission_usd", "net_usd",
                "risk_usd", "r_multiple", "reason", "bars_held", "day"]
        frame = pd.DataFrame(rows, columns=["event", *cols]).drop(columns="event")
        for c in ("signal_time", "entry_time", "exit_time", "day"):
            frame[c] = pd.to_datetime(frame[c], utc=True)
        frame["pnl"] = frame["net_usd"]
        frame["balance"] = pd.Series(self.recorder.balances[: len(frame)], dtype="float64")
        frame["account"] = pd.Series(self.recorder.accounts_at_trade[: len(frame)], dtype="int64")
        return frame

    def equity_frame(self) -> pd.DataFrame:
        """Cumulative net P&L and drawdown at each trading day's end (days with signals)."""
        trades = self.trades_frame()
        days = pd.DatetimeIndex(pd.to_datetime(np.asarray(self.days, dtype=np.int64), utc=True), name="day")
        daily = trades.groupby("day")["net_usd"].sum().reindex(days, fill_value=0.0).astype("float64")
        equity = daily.cumsum()
        frame = pd.DataFrame({"pnl": daily, "equity": equity, "drawdown": equity - equity.cummax().clip(lower=0.0)})
        frame.index.name = "day"
        return frame

    def metrics(self) -> dict[str, Any]:
        from algospace.sim.metrics import summarize
        from algospace.sim.replay import BacktestResult

        m = summarize(BacktestResult(self._outcomes(), list(self.account.breaches), list(self.account.accounts),
                                     np.asarray(self.days, dtype=np.int64), self.bars.proxy,
                                     self.config.account.starting_balance))
        out = m.to_dict()
        out.update({"decisions": self.recorder.decisions, "orders": self._orders, "signals_source": self.config.signals,
                    "accounts_used": len(self.account.accounts)})
        return out

    def _outcomes(self) -> Any:
        from algospace.sim import REASONS, TradeOutcomes

        t = self.trades_frame()
        n, tick = len(t), self.target.tick_size
        code = {name: i for i, name in enumerate(REASONS)}
        return TradeOutcomes(
            signal=np.arange(n, dtype=np.int64), size=t["size"].to_numpy(np.int64), stop_ticks=t["stop_ticks"].to_numpy(np.int64),
            target_ticks=t["target_ticks"].to_numpy(np.int64),
            reason=np.array([code[r] for r in t["reason"]], dtype=np.int8), bars_held=t["bars_held"].to_numpy(np.int64),
            entry_price=t["entry_price"].to_numpy(float), stop_price=t["stop_price"].to_numpy(float),
            target_price=t["target_price"].to_numpy(float), exit_price=t["exit_price"].to_numpy(float),
            pnl_ticks=((t["exit_price"] - t["entry_price"]) * t["direction"] / tick).to_numpy(float),
            gross_usd=t["gross_usd"].to_numpy(float), commission_usd=t["commission_usd"].to_numpy(float),
            net_usd=t["net_usd"].to_numpy(float), risk_usd=t["risk_usd"].to_numpy(float),
            r_multiple=t["r_multiple"].to_numpy(float), exit_time_ns=t["exit_time"].astype("int64").to_numpy(),
            day=t["day"].astype("int64").to_numpy(),
        )

    def save(self) -> None:
        """Write trades.parquet, equity.parquet, metrics.json and state.json (each atomically)."""
        assert self.out is not None
        atomic_write_parquet(self.out / "trades.parquet", self.trades_frame())
        atomic_write_parquet(self.out / "equity.parquet", self.equity_frame())
        metrics = self.metrics()
        atomic_write_text(self.out / "metrics.json", json.dumps(metrics, indent=1, sort_keys=True, default=str) + "\n")
        a = self.account.account
        state = {
            "version": 1, "data": self.data_name, "models": self.models_hashes,
            "last_item_time": self.bars.last_timestamp.isoformat() if self.bars.last_timestamp is not None else None,
            "items": self.items, "orders": self._orders, "trades": len(self.recorder.trades),
            "open_order": self.execution.pending.order_id if self.execution.pending else None,
            "open_position": self.execution.position.order.order_id if self.execution.position else None,
            "account": {"balance": a.balance, "floor": a.floor, "failed": a.failed, "accounts_used": len(self.account.accounts)},
            "proxy": self.bars.proxy, "config": json.loads(self.config.model_dump_json()),
        }
        atomic_write_text(self.out / STATE_FILE, json.dumps(state, indent=1, sort_keys=True) + "\n")
