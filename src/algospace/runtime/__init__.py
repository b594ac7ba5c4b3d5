"""The event-driven runtime: bar sources, a typed event bus, execution logs.

Components talk through `EventBus` with dataclass events (`algospace.runtime.events`); each
component is usable and testable alone. Sources yield raw input (1-minute bars or ticks) one
item at a time, so a backtest and a live run go through exactly the same code.
"""

from algospace.runtime.bus import EventBus
from algospace.runtime.sources import BarSource, FollowCSV, ReplaySource

__all__ = ["BarSource", "EventBus", "FollowCSV", "ReplaySource"]
