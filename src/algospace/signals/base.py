"""Trade signals: the columnar `SignalSet` every consumer reads, and the pluggable source protocol.

A signal is a decision point on the 5-minute clock: at the close of its signal bar the system
knows a direction and the market context; the trade, if any, enters at the open of the next
bar (`entry_time`). Everything a signal carries is computed from bars at or before its signal
bar, so it is causal by construction (tests/test_signals.py perturbs later bars to prove it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from algospace.errors import InputError
from algospace.features.synergy import SynergyEvent, synergy_vector

SIGNAL_BAR_MINUTES = 5  # the synergy detector's clock: every signal is timed on a 5-minute bar


@runtime_checkable
class SignalSource(Protocol):
    """Anything that finds signal events in plain 5- and 30-minute bars of one instrument.

    `find` returns `SynergyEvent`s (a pattern, or a one-signal component event), each carrying
    the market context `synergy_vector` turns into the 30 values the risk model reads; that is
    what makes a source pluggable without a second vector builder. `name` labels reports.
    """

    name: str

    def find(self, bars_5m: pd.DataFrame, bars_30m: pd.DataFrame) -> list[SynergyEvent]: ...


@dataclass(frozen=True)
class TradeSignal:
    """One signal (a row of a `SignalSet`). Prices are in the bars' units (ES points for the proxy)."""

    time: pd.Timestamp  # open time of the signal bar; the decision is taken at its close
    bar: int  # position of the signal bar in the 5-minute bars the source read
    entry_time: pd.Timestamp  # open time of the entry bar: the signal bar's close
    direction: int  # +1 long, -1 short
    kind: str  # mlmi | nwrqk | fvg (component) or TYPE_1..TYPE_4 (synergy pattern)
    atr: float  # Wilder ATR(14) of the 5-minute bars at the signal bar's close: the stop's unit
    close: float  # signal bar close
    vector: np.ndarray  # (30,) float32, synergy_vector(event)
    event: SynergyEvent | None  # None for signals built with SignalSet.from_arrays


@dataclass(frozen=True)
class SignalSet:
    """Signals in time order, as arrays (N rows), with where they came from.

    `vectors` (N, 30) float32 are built by `algospace.features.synergy_vector`, the one builder
    for training and inference. `dropped_warmup` counts events the source found before every
    indicator had warmed up (their context has NaN; no vector can be built). `instrument` and
    `proxy` say what the prices mean (see `algospace.sim.Market`).
    """

    source: str
    instrument: str
    proxy: str
    times: pd.DatetimeIndex
    bars: np.ndarray  # int64
    entry_times: pd.DatetimeIndex
    directions: np.ndarray  # int8, +1 / -1
    kinds: np.ndarray  # str
    atr: np.ndarray  # float64, price units
    close: np.ndarray  # float64
    vectors: np.ndarray  # (N, 30) float32
    events: tuple[SynergyEvent, ...]  # empty for SignalSet.from_arrays
    dropped_warmup: int = 0

    def __len__(self) -> int:
        return len(self.bars)

    @classmethod
    def from_arrays(cls, times, directions, atr, *, close=None, kinds=None, vectors=None, source: str = "arrays",
                    instrument: str = "", proxy: str = "") -> SignalSet:
        """Signals from plain arrays (an external signal feed, or hand-built trades in tests).

        `times` are signal bar open times (5-minute bars); vectors default to zeros, which a
        trained risk model must not see: use source events for anything but simulation.
        """
        t = pd.DatetimeIndex(times)
        t = (t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")).as_unit("ns")
        n = len(t)
        d = np.asarray(directions, dtype=np.int8).reshape(-1)
        a = np.asarray(atr, dtype=np.float64).reshape(-1)
        if len(d) != n or len(a) != n or not np.isin(d, (-1, 1)).all() or not (np.isfinite(a) & (a > 0)).all():
            raise InputError(f"SignalSet.from_arrays: need {n} directions in {{-1, +1}} and {n} finite ATRs > 0; received {d!r}, {a!r}.")
        if n > 1 and not (np.diff(t.asi8) >= 0).all():
            raise InputError("SignalSet.from_arrays: times must be in non-decreasing order.")
        v = np.zeros((n, 30), dtype=np.float32) if vectors is None else np.asarray(vectors, dtype=np.float32)
        if v.shape != (n, 30):
            raise InputError(f"SignalSet.from_arrays: vectors must have shape ({n}, 30); received {v.shape}.")
        step = pd.Timedelta(minutes=SIGNAL_BAR_MINUTES)
        return cls(
            source, instrument, proxy, t.rename("timestamp"), np.full(n, -1, dtype=np.int64), t + step, d,
            np.asarray(kinds if kinds is not None else ["manual"] * n).astype(str),
            a, np.full(n, np.nan) if close is None else np.asarray(close, dtype=np.float64), v, (), 0,
        )

    def __getitem__(self, i: int) -> TradeSignal:
        if not isinstance(i, (int, np.integer)):
            raise InputError(f"SignalSet[i] takes an int position; use .take(rows) for many. Received {type(i).__name__}.")
        return TradeSignal(
            self.times[i], int(self.bars[i]), self.entry_times[i], int(self.directions[i]), str(self.kinds[i]),
            float(self.atr[i]), float(self.close[i]), self.vectors[i], self.events[i] if self.events else None,
        )

    def take(self, rows: Sequence[int] | np.ndarray | slice) -> SignalSet:
        """A SignalSet of the chosen rows (positions, a boolean mask or a slice), same order."""
        idx = np.arange(len(self))[rows] if isinstance(rows, slice) else np.asarray(rows)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return SignalSet(
            self.source, self.instrument, self.proxy, self.times[idx], self.bars[idx], self.entry_times[idx],
            self.directions[idx], self.kinds[idx], self.atr[idx], self.close[idx], self.vectors[idx],
            tuple(self.events[int(i)] for i in idx) if self.events else (), self.dropped_warmup,
        )

    def between(self, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None) -> SignalSet:
        """Signals whose signal bar opens in [start, end) (UTC when naive): chronological splits."""
        mask = np.ones(len(self), dtype=bool)
        if start is not None:
            mask &= self.times >= _utc(start)
        if end is not None:
            mask &= self.times < _utc(end)
        return self.take(mask)

    def counts(self) -> dict[str, int]:
        """Number of signals per kind."""
        k, n = np.unique(self.kinds, return_counts=True)
        return {str(a): int(b) for a, b in zip(k, n)}

    def to_frame(self) -> pd.DataFrame:
        """One row per signal (time, entry_time, direction, kind, atr, close, bar); vectors left out."""
        return pd.DataFrame(
            {"entry_time": self.entry_times, "direction": self.directions, "kind": self.kinds, "atr": self.atr,
             "close": self.close, "bar": self.bars},
            index=pd.DatetimeIndex(self.times, name="timestamp"),
        )


def _utc(t: str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def to_signal_set(events: Sequence[SynergyEvent], source: str, instrument: str = "", proxy: str = "") -> SignalSet:
    """Events -> SignalSet, in time order; events still in indicator warm-up are dropped and counted."""
    ready = [e for e in events if not e.context.missing()]
    ready.sort(key=lambda e: e.bar)  # stable: same-bar signals keep the source's order
    n = len(ready)
    step = pd.Timedelta(minutes=SIGNAL_BAR_MINUTES)
    times = pd.DatetimeIndex([e.time for e in ready] if n else [], name="timestamp").as_unit("ns")
    times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    vectors = np.stack([synergy_vector(e) for e in ready]) if n else np.zeros((0, 30), dtype=np.float32)
    return SignalSet(
        source=source,
        instrument=instrument,
        proxy=proxy,
        times=times,
        bars=np.array([e.bar for e in ready], dtype=np.int64),
        entry_times=times + step,
        directions=np.array([e.direction for e in ready], dtype=np.int8),
        kinds=np.array([e.kind for e in ready], dtype=object).astype(str) if n else np.zeros(0, dtype=str),
        atr=np.array([e.context.atr_5m for e in ready], dtype=np.float64),
        close=np.array([e.context.close_5m for e in ready], dtype=np.float64),
        vectors=vectors.astype(np.float32),
        events=tuple(ready),
        dropped_warmup=len(events) - n,
    )
