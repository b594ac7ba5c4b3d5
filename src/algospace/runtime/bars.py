"""Bar stage: raw items (1-minute bars or ticks) -> the traded instrument's 5-, 30-minute and
simulator bars, published as `BarClosed` events.

Prices become the traded instrument's (the SPY sample as the x10 ES proxy: `sim.market.proxy_for`,
the same factor and tick rounding as `sim.Market`); sessions stay the data's own. Bars that one
item completes are published by close time, shorter bars first: a 30-minute bar closing at
10:30 comes after the 5-minute bar 10:25-10:30, so a signal on that 5-minute bar never sees it
(the synergy detector's and `features.core_inputs`' timing).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from algospace.data import BarBuilder, Instrument
from algospace.data.aggregate import Bar, Tick
from algospace.runtime.bus import EventBus
from algospace.runtime.events import BarClosed
from algospace.sim.market import proxy_for


class BarStage:
    """Aggregate items into session bars of each length in `minutes` and publish them."""

    def __init__(self, bus: EventBus, source: Instrument, target: Instrument, minutes: tuple[int, ...] = (5, 30)) -> None:
        self.bus = bus
        self.factor, self.proxy = proxy_for(source, target)
        self.target = target
        self.builders = {m: BarBuilder(m, source) for m in sorted(set(minutes))}
        self.last_time: pd.Timestamp | int | None = None  # the last item processed (ns or Timestamp)

    def convert(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A loaded bar/tick frame in the traded instrument's prices (x factor, on its tick grid)."""
        if self.factor == 1.0 and frame.attrs.get("instrument") == self.target.name:
            return frame
        out = frame.copy()
        for c in ["price"] if "price" in out.columns else ["open", "high", "low", "close"]:
            out[c] = self.target.round_to_tick(out[c].to_numpy(np.float64) * self.factor)
        return out

    def update(self, item: Bar | Tick) -> None:
        """One item, already in the traded instrument's prices (`convert`), timestamps as ns or Timestamps."""
        done = [(b, m) for m, builder in self.builders.items() for b in builder.update(item)]
        if done:
            self._publish(done)
        self.last_time = item.timestamp

    def flush(self) -> None:
        """End of data: publish the bars still in progress (a backtest's last bars, as batch has them)."""
        self._publish([(b, m) for m, builder in self.builders.items() for b in builder.flush()])

    @property
    def last_timestamp(self) -> pd.Timestamp | None:
        t = self.last_time
        return None if t is None else pd.Timestamp(t, tz="UTC") if isinstance(t, int) else pd.Timestamp(t)

    def _publish(self, done: list[tuple[Bar, int]]) -> None:
        done.sort(key=lambda bm: (bm[0].timestamp.value + bm[1] * 60_000_000_000, bm[1]))  # (close, length)
        for b, m in done:
            self.bus.publish(BarClosed(m, b.timestamp, b.open, b.high, b.low, b.close, b.volume))
