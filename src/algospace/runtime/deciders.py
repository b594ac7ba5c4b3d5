"""Deciders: what the runtime does with a signal. `ModelDecider` runs the three models; `RuleDecider`
is a fixed (size, stop, target) rule (the baselines, and a check of the runtime's execution
against the vectorised simulator).

A decider gets the signal, the account (before the trade) and the order id to use, and returns
the `DecisionMade` record and, when it trades, the `OrderPlaced`.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import numpy as np

from algospace.data import Instrument
from algospace.errors import InputError
from algospace.runtime.bus import EventBus
from algospace.runtime.events import BarClosed, DecisionMade, IndicatorsUpdated, OrderPlaced, SignalDetected
from algospace.sim import PropFirmAccount
from algospace.sim.fills import REWARD_RISK_RANGE, STOP_MULT_RANGE, ticks_for


class Decider(Protocol):
    def decide(self, signal: SignalDetected, account: PropFirmAccount, order_id: str) -> tuple[DecisionMade, OrderPlaced | None]: ...


def _no_trade(signal: SignalDetected, reason: str, **extra: Any) -> DecisionMade:
    return DecisionMade(signal.entry_time, signal.time, signal.kind, signal.direction, extra.pop("initiate", False),
                        extra.pop("confidence", 0.0), extra.pop("uncertainty", 0.0), False, reason, **extra)


class RuleDecider:
    """Trade every signal with `size` contracts, a stop of `stop_mult` x ATR and `reward_risk` x the stop."""

    def __init__(self, instrument: Instrument, size: int = 1, stop_mult: float = 2.0, reward_risk: float = 2.0) -> None:
        lo, hi = STOP_MULT_RANGE
        rlo, rhi = REWARD_RISK_RANGE
        if not (isinstance(size, int) and size >= 1 and lo <= stop_mult <= hi and rlo <= reward_risk <= rhi):
            raise InputError(f"RuleDecider: size >= 1, stop_mult in {STOP_MULT_RANGE}, reward_risk in {REWARD_RISK_RANGE}; "
                             f"received {size!r}, {stop_mult!r}, {reward_risk!r}.")
        self.instrument, self.size, self.stop_mult, self.reward_risk = instrument, size, stop_mult, reward_risk

    def decide(self, signal: SignalDetected, account: PropFirmAccount, order_id: str) -> tuple[DecisionMade, OrderPlaced | None]:
        stop, target = ticks_for(signal.atr, self.instrument.tick_size, self.stop_mult, self.reward_risk)
        size = min(self.size, account.config.max_contracts)
        decision = DecisionMade(signal.entry_time, signal.time, signal.kind, signal.direction, True, 1.0, 0.0, True,
                                f"rule: {size} x {self.stop_mult:g} ATR, {self.reward_risk:g}R")
        order = OrderPlaced(order_id, signal.entry_time, signal.time, signal.direction, size, int(stop), int(target),
                            signal.atr, account.room().usd)
        return decision, order


class RiskOnlyDecider:
    """Every signal, sized by the M-RMS (no decision core, no gate): the "take every signal"
    baseline the core must beat, through the same runtime and account."""

    def __init__(self, models: Any, instrument: Instrument) -> None:
        self.models, self.instrument = models, instrument

    def decide(self, signal: SignalDetected, account: PropFirmAccount, order_id: str) -> tuple[DecisionMade, OrderPlaced | None]:
        from algospace.engines.mrms import TradeQualification

        q = TradeQualification(signal.vector, account, signal.close, "LONG" if signal.direction > 0 else "SHORT", signal.atr,
                               self.instrument.name)
        p = self.models.mrms.generate_risk_proposal(q)
        if p.position_size == 0:
            return _no_trade(signal, f"M-RMS: size 0 ({p.size_cut_by})", proposal=p.to_dict()), None
        decision = DecisionMade(signal.entry_time, signal.time, signal.kind, signal.direction, True, 1.0, 0.0, True,
                                "every signal, M-RMS sizing", None, p.to_dict())
        return decision, OrderPlaced(order_id, signal.entry_time, signal.time, signal.direction, p.position_size,
                                     p.stop_ticks, p.target_ticks, signal.atr, account.room().usd)


def _ohlcv(bar: BarClosed) -> np.ndarray:
    return np.array([bar.open, bar.high, bar.low, bar.close, bar.volume])


class ModelDecider:
    """The decision core qualifies the signal (MC dropout), the M-RMS sizes it, the gate decides.

    Keeps its own streaming state, fed before the signals of the same bar arrive: the RDE's regime
    features (a window of the last T rows, from 30-minute `BarClosed` events) and the core's
    matrices, scaled from the signal stage's raw indicator rows (`IndicatorsUpdated`: the
    indicators the synergy detector computed for the bar, not computed again).
    """

    def __init__(self, bus: EventBus, models: Any, instrument: Instrument) -> None:
        from algospace.features.core_inputs import CoreInputStream

        self.models, self.instrument = models, instrument
        self._features = models.rde.feature_spec.stream()
        self._rows: deque[np.ndarray] = deque(maxlen=models.rde.window)
        self._inputs = CoreInputStream()
        bus.subscribe(BarClosed, self._on_bar)
        bus.subscribe(IndicatorsUpdated, self._on_indicators)

    def _on_bar(self, bar: BarClosed) -> None:
        # the stream's numpy entries (no per-bar pandas Series): the same rows `add_minute` / `update` wrap
        if bar.minutes == 1 and self.needs_minute_bars:  # feature spec v2: the 30-minute bar's row reads its minutes
            self._features.add_minute_values(bar.time, _ohlcv(bar))
        elif bar.minutes == 30:
            feats = self._features.update_values(bar.time, _ohlcv(bar))
            if feats is not None:
                self._rows.append(feats.astype(np.float32))

    def _on_indicators(self, ev: IndicatorsUpdated) -> None:
        if ev.minutes == 30:
            self._inputs.push_30m(ev.row, ev.params)
        elif ev.minutes == 5:
            self._inputs.push_5m(ev.row, ev.params)

    @property
    def needs_minute_bars(self) -> bool:
        """True when the RDE's feature spec (version 2) reads 1-minute bars: the runtime then publishes them."""
        return self._features.needs_minute_bars

    def regime_vector(self) -> np.ndarray | None:
        if len(self._rows) < (self._rows.maxlen or 0):
            return None
        return self.models.rde.get_regime_vector(np.stack(self._rows))

    def decide(self, signal: SignalDetected, account: PropFirmAccount, order_id: str) -> tuple[DecisionMade, OrderPlaced | None]:
        from algospace.engines.mrms import TradeQualification
        from algospace.engines.risk_vector import risk_vector

        inputs, regime = self._inputs.current(), self.regime_vector()
        if inputs is None or regime is None:
            return _no_trade(signal, "warm-up: not enough bars for the core's inputs or the regime window"), None
        m30, m5, lvn = inputs
        d = self.models.core.decide(m30, m5, regime, lvn, signal.vector)
        seen = {"initiate": d.initiate, "confidence": d.confidence, "uncertainty": d.uncertainty}
        if not d.initiate:
            return _no_trade(signal, f"core: confidence {d.confidence:.3f} below {self.models.core.threshold:g}", **seen), None
        q = TradeQualification(signal.vector, account, signal.close, "LONG" if signal.direction > 0 else "SHORT", signal.atr,
                               self.instrument.name)
        p = self.models.mrms.generate_risk_proposal(q)
        if p.position_size == 0:
            return _no_trade(signal, f"M-RMS: size 0 ({p.size_cut_by})", proposal=p.to_dict(), **seen), None
        room = account.room().usd
        gate = self.models.core.gate(risk_vector(p, signal.atr, self.instrument.tick_size, room, account.config.max_contracts))
        if gate <= 0.5:
            return _no_trade(signal, f"gate: p {gate:.3f} <= 0.5", gate_p=gate, proposal=p.to_dict(), **seen), None
        decision = DecisionMade(signal.entry_time, signal.time, signal.kind, signal.direction, True, d.confidence,
                                d.uncertainty, True, "core, M-RMS and gate agree", gate, p.to_dict())
        order = OrderPlaced(order_id, signal.entry_time, signal.time, signal.direction, p.position_size, p.stop_ticks,
                            p.target_ticks, signal.atr, room)
        return decision, order
