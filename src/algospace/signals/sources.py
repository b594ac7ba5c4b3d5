"""The built-in signal sources and `build_signals`, which turns any source's events into a SignalSet.

- `ComponentSignals` (the training default): every component signal of the four synergy
  patterns: MLMI crossings and NW-RQK turns on Heikin-Ashi 30-minute bars, FVG mitigations on
  5-minute bars. 3,456 signals on the bundled SPY sample as ES (2017-2019; docs/sim.md).
- `SynergySignals` (the live default): the reference 4-pattern synergy detector. 12 events on
  the same data: too few to train on or judge by, so reports
  state the count.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from algospace.errors import InputError
from algospace.features.synergy import SynergyEvent, SynergyParams, detect_signals, detect_synergies
from algospace.signals.base import SignalSet, SignalSource, to_signal_set

COMPONENT_KINDS = ("mlmi", "nwrqk", "fvg")


class ComponentSignals:
    """Every MLMI / NW-RQK / FVG signal of the synergy detector, each a trade signal of its own.

    `kinds` keeps a subset; `params` are the detector's (indicator settings, FVG event type).
    Example: `build_signals(bars_5m, bars_30m, ComponentSignals(kinds=("mlmi", "fvg")))`.
    """

    def __init__(self, params: SynergyParams | None = None, kinds: Iterable[str] = COMPONENT_KINDS) -> None:
        self.params = params or SynergyParams()
        self.kinds = tuple(kinds)
        bad = [k for k in self.kinds if k not in COMPONENT_KINDS]
        if bad or not self.kinds:
            raise InputError(f"ComponentSignals kinds must be a non-empty subset of {COMPONENT_KINDS}; received {self.kinds}.")
        self.name = "components" if self.kinds == COMPONENT_KINDS else "components:" + "+".join(self.kinds)

    def find(self, bars_5m: pd.DataFrame, bars_30m: pd.DataFrame) -> list[SynergyEvent]:
        return [e for e in detect_signals(bars_5m, bars_30m, self.params) if e.kind in self.kinds]


class SynergySignals:
    """The reference synergy detector's 4-pattern events (the live default; few events)."""

    def __init__(self, params: SynergyParams | None = None) -> None:
        self.params = params or SynergyParams()
        self.name = "synergy"

    def find(self, bars_5m: pd.DataFrame, bars_30m: pd.DataFrame) -> list[SynergyEvent]:
        return detect_synergies(bars_5m, bars_30m, self.params)


SOURCES = {"components": ComponentSignals, "synergy": SynergySignals}


def get_source(source: str | SignalSource) -> SignalSource:
    """A source by name ('components', 'synergy') or any object following the SignalSource protocol."""
    if isinstance(source, str):
        if source not in SOURCES:
            raise InputError(f"Unknown signal source {source!r}; expected one of {sorted(SOURCES)} or a SignalSource object.")
        return SOURCES[source]()
    if not isinstance(source, SignalSource):
        raise InputError(
            f"A signal source needs a `name` and a `find(bars_5m, bars_30m)` method; received {type(source).__name__}."
        )
    return source


def build_signals(
    bars_5m: pd.DataFrame, bars_30m: pd.DataFrame, source: str | SignalSource = "components", *, proxy: str = ""
) -> SignalSet:
    """The signals of `source` on plain 5- and 30-minute bars of one instrument, ready to simulate.

    Events in indicator warm-up are dropped (counted in `dropped_warmup`). `proxy` is the
    statement of what the prices stand for (`Market.proxy`), carried into every report.
    Example: `build_signals(m.bars_5m, m.bars_30m, "components", proxy=m.proxy)`.
    """
    src = get_source(source)
    instrument = str(bars_5m.attrs.get("instrument", ""))
    return to_signal_set(src.find(bars_5m, bars_30m), src.name, instrument, proxy)
