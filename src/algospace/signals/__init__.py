"""Trade signals for the risk manager: a pluggable source protocol and a columnar SignalSet.

    from algospace.signals import build_signals
    sigs = build_signals(bars_5m, bars_30m, "components")   # or "synergy", or any SignalSource
    sigs.vectors          # (N, 30) float32 from algospace.features.synergy_vector
    sigs[0].entry_time    # the trade enters at the first bar opening at/after the signal bar's close

See docs/sim.md for the sources and their counts on the bundled sample.
"""

from algospace.signals.base import SIGNAL_BAR_MINUTES, SignalSet, SignalSource, TradeSignal, to_signal_set
from algospace.signals.sources import COMPONENT_KINDS, SOURCES, ComponentSignals, SynergySignals, build_signals, get_source

__all__ = [
    "COMPONENT_KINDS", "SIGNAL_BAR_MINUTES", "SOURCES", "ComponentSignals", "SignalSet", "SignalSource", "SynergySignals",
    "TradeSignal", "build_signals", "get_source", "to_signal_set",
]
