"""A small synchronous, typed event bus.

Why not a library: the runtime needs deterministic, single-threaded delivery (a backtest must
give the same trades as a live run), exact-type routing and a FIFO queue so that a handler that
publishes does not reorder events; the well-known Python buses (blinker, pyee) dispatch
re-entrantly and by name, which breaks the first and third properties.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from algospace.errors import InputError

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    """Deliver each published event to the handlers subscribed to its exact type, in order.

    Events published while an event is being delivered are queued and delivered after it
    (breadth-first), so every handler sees events in publication order. `recorded` keeps every
    delivered event when `record=True` (tests, audit logs).

    Example::

        bus = EventBus()
        bus.subscribe(BarClosed, on_bar)
        bus.publish(BarClosed(...))
    """

    def __init__(self, *, record: bool = False) -> None:
        self._handlers: dict[type, list[Handler]] = {}
        self._queue: deque[Any] = deque()
        self._dispatching = False
        self.record = record
        self.recorded: list[Any] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        if not isinstance(event_type, type):
            raise InputError(f"EventBus.subscribe expects an event class; received {event_type!r}.")
        if not callable(handler):
            raise InputError(f"EventBus.subscribe expects a callable handler; received {handler!r}.")
        self._handlers.setdefault(event_type, []).append(handler)

    def publish(self, event: Any) -> None:
        """Queue `event`; deliver the queue now unless a delivery is already running."""
        self._queue.append(event)
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._queue:
                current = self._queue.popleft()
                if self.record:
                    self.recorded.append(current)
                for handler in self._handlers.get(type(current), ()):
                    handler(current)
        finally:
            self._dispatching = False
            self._queue.clear()  # a handler raised: drop what it left half-delivered

    def subscribers(self, event_type: type) -> int:
        return len(self._handlers.get(event_type, ()))
