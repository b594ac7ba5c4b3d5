"""Execution: simulated fills bar by bar with the simulator's own rules, and a paper-trading log.

`SimulatedExecution` holds at most one order or position (the runtime trades one position at a
time, like `sim.TradeReplay`). An order placed at a signal bar's close fills at the open of the
next bar if that bar is in the signal's session and ends before the flat time (else it is
cancelled); from then on each bar is checked for an exit. Pricing is never re-implemented here:
when a bar could end the trade (a level touched, the maximum hold, the session's last bar), the
bars held so far are handed to `sim.build_paths` + `sim.simulate_ticks`, the same code every
backtest and the M-RMS training use, so a trade's outcome is the simulator's outcome.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from algospace.data import Instrument
from algospace.errors import InputError
from algospace.runtime.bus import EventBus
from algospace.runtime.events import BarClosed, OrderCancelled, OrderFilled, OrderPlaced, TradeClosed
from algospace.signals import SignalSet
from algospace.sim import SimConfig, build_paths, simulate_ticks
from algospace.sim.fills import DATA_END, REASONS, liquidation_ticks

_MIN = pd.Timedelta(minutes=1)


@dataclass
class _Position:
    order: OrderPlaced
    session_open: int  # ns
    entry_ticks: float  # entry price in ticks (slippage included)
    liq_ticks: float  # adverse ticks the account's room allows
    times: list[pd.Timestamp] = field(default_factory=list)
    rows: list[tuple[float, float, float, float, float]] = field(default_factory=list)


class SessionRules:
    """When a position may be held: inside the bar's session and ending before the flat time
    (`SimConfig.flat_before_close_minutes`), the rule `sim.build_paths` applies in batch."""

    def __init__(self, calendar: Any, config: SimConfig) -> None:
        self.calendar = calendar
        self.config = config
        self.step = pd.Timedelta(minutes=config.bar_minutes)  # one simulator bar
        self._flat_ns = None if config.flat_before_close_minutes is None else config.flat_before_close_minutes * 60 * 10**9

    def session(self, ts: pd.Timestamp) -> tuple[int, int, bool]:
        """(session open ns, session close ns, inside) of the bar opening at `ts`."""
        so, sc, inside = self.calendar.locate(pd.DatetimeIndex([ts]))
        return int(so[0]), int(sc[0]), bool(inside[0])

    def allowed(self, ts: pd.Timestamp) -> tuple[int, bool]:
        """(session open, may a position be held through the bar opening at `ts`)."""
        so, sc, inside = self.session(ts)
        return so, inside and (self._flat_ns is None or (ts + self.step).value <= sc - self._flat_ns)

    def last_allowed(self, ts: pd.Timestamp) -> bool:
        """True when the bar after the one opening at `ts` could no longer be held (the flat time)."""
        if self._flat_ns is None:
            return False
        _, sc, _ = self.session(ts)
        return (ts + 2 * self.step).value > sc - self._flat_ns


class Execution(Protocol):
    """What the runtime needs of an execution: it takes `OrderPlaced` events from the bus and
    publishes fills, cancels and closed trades; `busy` while an order or position is open;
    `flush()` at the end of data."""

    rules: SessionRules

    @property
    def busy(self) -> bool: ...

    def flush(self) -> None: ...


class SimulatedExecution:
    """Fill `OrderPlaced` events on the simulator's bars; publish fills, cancels and closed trades."""

    def __init__(self, bus: EventBus, instrument: Instrument, calendar: Any, config: SimConfig | None = None) -> None:
        self.bus = bus
        self.instrument = instrument
        self.calendar = calendar
        self.config = config or SimConfig()
        self.rules = SessionRules(calendar, self.config)
        self._commission = self.config.commission_for(instrument.name)
        self.pending: OrderPlaced | None = None
        self.position: _Position | None = None
        bus.subscribe(OrderPlaced, self._on_order)
        bus.subscribe(BarClosed, self._on_bar)

    @property
    def busy(self) -> bool:
        return self.pending is not None or self.position is not None

    # --- events -----------------------------------------------------------------------------
    def _on_order(self, order: OrderPlaced) -> None:
        if self.busy:
            raise InputError(f"SimulatedExecution: order {order.order_id} placed while another order or position is open.")
        self.pending = order

    def _on_bar(self, bar: BarClosed) -> None:
        if bar.minutes != self.config.bar_minutes:
            return
        if self.position is not None:
            so, ok = self.rules.allowed(bar.time)
            if so != self.position.session_open or not ok:
                self._finish(session_end=True)  # the session's last held bar came before this one
            else:
                self._add(bar)
                return
        if self.pending is not None and bar.time >= self.pending.signal_time + self.rules.step:
            self._fill(bar)

    def _fill(self, bar: BarClosed) -> None:
        order, tick = self.pending, self.instrument.tick_size
        self.pending = None
        assert order is not None
        sig_so, _, _ = self.rules.session(order.signal_time)
        so, ok = self.rules.allowed(bar.time)
        if so != sig_so or not ok:
            self.bus.publish(OrderCancelled(order.order_id, bar.time, "no entry bar in the signal's session before the flat time"))
            return
        liq = float(liquidation_ticks(order.room_usd, order.size, self._commission, self.instrument.tick_value,
                                      self.config.slippage_ticks))
        if liq < 1:
            self.bus.publish(OrderCancelled(order.order_id, bar.time, "no_room"))
            return
        entry = round(bar.open / tick) + order.direction * self.config.slippage_ticks
        self.position = _Position(order, so, entry, liq)
        self.bus.publish(OrderFilled(order.order_id, bar.time, self.instrument.round_to_tick(entry * tick), order.size))
        self._add(bar)

    def _add(self, bar: BarClosed) -> None:
        p = self.position
        assert p is not None
        p.times.append(bar.time)
        p.rows.append((bar.open, bar.high, bar.low, bar.close, bar.volume))
        tick, d, o = self.instrument.tick_size, p.order.direction, p.order
        hi, lo = round(bar.high / tick), round(bar.low / tick)
        adverse = p.entry_ticks - lo if d > 0 else hi - p.entry_ticks
        favourable = hi - p.entry_ticks if d > 0 else p.entry_ticks - lo
        last = self.rules.last_allowed(bar.time)
        if (adverse >= min(o.stop_ticks, p.liq_ticks) or favourable >= o.target_ticks
                or len(p.rows) >= self.config.max_hold_bars or last):
            self._finish(session_end=last)

    def _finish(self, session_end: bool = False, data_end: bool = False) -> None:
        """Price the position with the simulator on the bars held; publish TradeClosed if it ended."""
        p = self.position
        assert p is not None
        o = p.order
        frame = pd.DataFrame(p.rows, columns=["open", "high", "low", "close", "volume"], index=pd.DatetimeIndex(p.times))
        frame.attrs["minutes"] = self.config.bar_minutes
        sigs = SignalSet.from_arrays([o.signal_time], [o.direction], [o.atr])
        paths = build_paths(frame, sigs, self.instrument, self.calendar, self.config)
        out = simulate_ticks(paths, 0, o.size, o.stop_ticks, o.target_ticks, loss_limit_usd=o.room_usd)
        reason = REASONS[int(out.reason[0])]
        if out.reason[0] == DATA_END:
            if not (session_end or data_end):
                return  # a level was near but not crossed: the trade goes on
            reason = "session_close" if session_end else "data_end"
        self.position = None
        self.bus.publish(TradeClosed(
            order_id=o.order_id, signal_time=o.signal_time, entry_time=p.times[0],
            exit_time=pd.Timestamp(int(out.exit_time_ns[0]), tz="UTC"), direction=o.direction, size=int(out.size[0]),
            entry_price=float(out.entry_price[0]), exit_price=float(out.exit_price[0]),
            stop_price=float(out.stop_price[0]), target_price=float(out.target_price[0]), stop_ticks=o.stop_ticks,
            target_ticks=o.target_ticks, gross_usd=float(out.gross_usd[0]), commission_usd=float(out.commission_usd[0]),
            net_usd=float(out.net_usd[0]), risk_usd=float(out.risk_usd[0]), r_multiple=float(out.r_multiple[0]),
            reason=reason, bars_held=int(out.bars_held[0]), day=pd.Timestamp(p.session_open, tz="UTC"),
        ))

    def flush(self) -> None:
        """End of data: close an open position at the last bar's close (reason data_end); drop a pending order."""
        if self.position is not None:
            self._finish(data_end=True)
        if self.pending is not None:
            order, self.pending = self.pending, None
            self.bus.publish(OrderCancelled(order.order_id, order.time, "end of data before the entry bar"))


class PaperLog:
    """Append-only JSON-lines log of events (orders, fills, closed trades, decisions).

    Each line is flushed and fsynced before the next event is processed, so a crash loses at
    most the line being written; `read()` skips a torn last line and reports it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: Any = None

    def write(self, event: Any, fsync: bool = True) -> None:
        """Append one event; with `fsync` (live runs) it is on disk before this returns."""
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(event.to_dict(), sort_keys=True) + "\n")
        if fsync:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def read(self) -> list[dict[str, Any]]:
        """Every complete record; a torn (half-written) last line is dropped from the file."""
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        if len(complete) != len(raw):
            with open(self.path, "r+b") as fh:
                fh.truncate(len(complete))
        return [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]


__all__ = ["Execution", "PaperLog", "SessionRules", "SimulatedExecution"]
