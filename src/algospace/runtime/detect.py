"""Signal stage: the synergy detector, bar by bar, publishing `SignalDetected`.

`source="components"` publishes every MLMI / NW-RQK / FVG signal (what the M-RMS and the core
are trained on: `signals.ComponentSignals`); `"synergy"` only the reference 4-pattern events.
Signals still in indicator warm-up are dropped, as `signals.to_signal_set` drops them.
Each bar's raw indicator row is published (`IndicatorsUpdated`, before the bar's signals) for the
decision core's matrices, so the runtime computes the 5- and 30-minute indicators once per bar.
"""

from __future__ import annotations

import pandas as pd

from algospace.errors import InputError
from algospace.features.synergy import SynergyDetector, SynergyEvent, SynergyParams, synergy_vector
from algospace.runtime.bus import EventBus
from algospace.runtime.events import BarClosed, IndicatorsUpdated, SignalDetected
from algospace.signals import SIGNAL_BAR_MINUTES
from algospace.signals.sources import COMPONENT_KINDS

SOURCES = ("components", "synergy")


class SignalStage:
    def __init__(self, bus: EventBus, source: str = "components", params: SynergyParams | None = None) -> None:
        if source not in SOURCES:
            raise InputError(f"signal source must be one of {SOURCES}; received {source!r}.")
        self.bus = bus
        self.source = source
        self.detector = SynergyDetector(params)
        self._step = pd.Timedelta(minutes=SIGNAL_BAR_MINUTES)
        bus.subscribe(BarClosed, self._on_bar)

    def _on_bar(self, bar: BarClosed) -> None:
        row = {"timestamp": bar.time, "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close,
               "volume": bar.volume}
        p = self.detector.params
        if bar.minutes == p.bar_minutes_30:
            self.detector.update_30m(row)
            self.bus.publish(IndicatorsUpdated(bar.minutes, bar.time, self.detector.last_raw30, p.m30))  # type: ignore[arg-type]
        elif bar.minutes == SIGNAL_BAR_MINUTES:
            event = self.detector.update_5m(row)
            self.bus.publish(IndicatorsUpdated(bar.minutes, bar.time, self.detector.last_raw5, p.m5))  # type: ignore[arg-type]
            events = [event] if event is not None else []
            if self.source == "components":
                events = [e for e in self.detector.last_signals if e.kind in COMPONENT_KINDS]
            for e in events:
                if not e.context.missing():
                    self.bus.publish(self._signal(e))

    def _signal(self, e: SynergyEvent) -> SignalDetected:
        return SignalDetected(e.time, e.time + self._step, int(e.direction), e.kind, float(e.context.atr_5m),
                              float(e.context.close_5m), synergy_vector(e))
