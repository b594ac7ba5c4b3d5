"""Bar sources: where the runtime's raw input comes from, one item at a time.

A source yields 1-minute (or any) bars as `Bar` tuples, or ticks as `Tick` tuples, in time
order. `ReplaySource` replays a file or a bundled sample (a backtest); `FollowCSV` follows a
CSV file that another process appends to (a live-like run). Both take `start_after`, so a
restarted run resumes after the last item it processed instead of reprocessing history.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from algospace.data.aggregate import Bar, Tick
from algospace.errors import DataError, InputError

log = logging.getLogger(__name__)


@runtime_checkable
class BarSource(Protocol):
    """Anything that yields loaded bar/tick frames (`frames`) and their rows as `Bar`/`Tick` items, in time order."""

    def frames(self) -> Iterator[pd.DataFrame]: ...

    def __iter__(self) -> Iterator[Bar | Tick]: ...


def _utc(ts: pd.Timestamp | str | None, who: str) -> pd.Timestamp | None:
    if ts is None:
        return None
    try:
        t = pd.Timestamp(ts)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{who}: start_after={ts!r} is not a timestamp.") from exc
    if t.tzinfo is None:
        raise InputError(f"{who}: start_after={ts!r} has no timezone; pass a tz-aware time (e.g. ...+00:00).")
    return t.tz_convert("UTC")


def frame_items(frame: pd.DataFrame, start_after: pd.Timestamp | None = None) -> Iterator[Bar | Tick]:
    """The rows of a loaded bar or tick frame as `Bar`/`Tick` tuples, after `start_after`.

    Timestamps are int UTC nanoseconds (what `BarBuilder` reads fastest; a Timestamp per row
    would cost more than aggregating it)."""
    if start_after is not None:
        frame = frame[frame.index > start_after]
    ns = frame.index.as_unit("ns").asi8.tolist()
    if "price" in frame.columns:
        yield from map(Tick, ns, frame["price"].to_numpy(np.float64).tolist(), frame["volume"].to_numpy(np.float64).tolist())
        return
    cols = [frame[c].to_numpy(np.float64).tolist() for c in ("open", "high", "low", "close", "volume")]
    yield from map(Bar, ns, *cols, [False] * len(ns))


class ReplaySource:
    """Replay a bar/tick file or a bundled sample (`spy-1m`, `es-ticks`), or a loaded frame.

    Example: ``for item in ReplaySource("spy-1m"): ...``
    """

    def __init__(self, data: str | os.PathLike[str] | pd.DataFrame, *, start_after: pd.Timestamp | str | None = None) -> None:
        from algospace.data import load_data

        self.frame = data if isinstance(data, pd.DataFrame) else load_data(data)
        self.start_after = _utc(start_after, "ReplaySource")
        self.instrument: str | None = self.frame.attrs.get("instrument")

    def frames(self) -> Iterator[pd.DataFrame]:
        """The data as frames (one here): the runtime converts prices a frame at a time."""
        yield self.frame if self.start_after is None else self.frame[self.frame.index > self.start_after]

    def __iter__(self) -> Iterator[Bar | Tick]:
        return frame_items(self.frame, self.start_after)


class FollowCSV:
    """Follow a bar CSV that another process appends to; yield each new bar once.

    Every `poll_s` seconds the file is checked; when it has grown and ends with a complete
    line, it is loaded with the package's validating loader and the bars after the last one
    yielded are returned (a half-written last line is waited for, never parsed). Reloading a
    whole file costs a few ms for a day of 1-minute bars; roll the file daily for long runs.
    Stops when `stop` is set, or after `idle_timeout_s` without a new bar (None: never).
    A bar older than one already yielded is late data: DataError.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        start_after: pd.Timestamp | str | None = None,
        poll_s: float = 1.0,
        idle_timeout_s: float | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        if poll_s <= 0:
            raise InputError(f"FollowCSV: poll_s must be > 0; received {poll_s!r}.")
        self.path = Path(path)
        self.last = _utc(start_after, "FollowCSV")
        self.poll_s = float(poll_s)
        self.idle_timeout_s = idle_timeout_s
        self.stop = stop or threading.Event()
        self._size: int | None = None  # size of the file when last loaded

    def _complete_size(self) -> int | None:
        """The file's size when it ends with a complete line; None when missing or mid-line."""
        try:
            size = self.path.stat().st_size
            if size == 0:
                return None
            with open(self.path, "rb") as fh:
                fh.seek(size - 1)
                return size if fh.read(1) == b"\n" else None
        except FileNotFoundError:
            return None

    def poll(self) -> list[Bar]:
        """The bars appended since the last one yielded (empty when nothing new is complete)."""
        return list(frame_items(self.poll_frame()))

    def poll_frame(self) -> pd.DataFrame:
        """`poll` as a frame of bars (empty when nothing new is complete)."""
        from algospace.data import load_bars

        empty = pd.DataFrame(columns=["open", "high", "low", "close", "volume"], index=pd.DatetimeIndex([], tz="UTC"))
        size = self._complete_size()
        if size is None or size == self._size:
            return empty
        self._size = size
        frame = load_bars(self.path)
        if self.last is not None:
            if len(frame) and frame.index[-1] < self.last:
                raise DataError(
                    f"{self.path}: the file now ends at {frame.index[-1]}, before the last bar already processed "
                    f"({self.last}); was it rewritten? Start a new run or pass start_after."
                )
            frame = frame[frame.index > self.last]
        if len(frame):
            self.last = frame.index[-1]
        return frame

    def frames(self) -> Iterator[pd.DataFrame]:
        """New bars as frames, as they are appended, until stopped or idle."""
        idle_since = time.monotonic()
        while not self.stop.is_set():
            new = self.poll_frame()
            if len(new):
                idle_since = time.monotonic()
                yield new
                continue
            if self.idle_timeout_s is not None and time.monotonic() - idle_since > self.idle_timeout_s:
                log.info("FollowCSV: no new bar for %.1f s; stopping", self.idle_timeout_s)
                return
            self.stop.wait(self.poll_s)

    def __iter__(self) -> Iterator[Bar]:
        for frame in self.frames():
            yield from frame_items(frame)  # type: ignore[misc]
