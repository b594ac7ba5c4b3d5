"""Synergy detector: the four ordered three-signal patterns, on one 5-minute clock.

Signals: MLMI (`mlmi_signal`) and NW-RQK (`nwrqk_signal`) on Heikin-Ashi 30-minute bars, FVG
on plain 5-minute bars (`fvg_mitigation` by default; `fvg_event="formation"` uses a new gap).

One clock: the detector runs on 5-minute bars. A 30-minute bar labelled T closes at T + 30
minutes, so its signals become visible at the first 5-minute bar whose open time is >= T + 30
minutes (the 10:00 bar's signals are first seen by the 10:30-10:35 bar); nothing from an
unfinished 30-minute bar is ever used. When several signals become visible on one 5-minute
bar they are taken in time order of their source bars, MLMI before NW-RQK within one
30-minute bar, 30-minute signals before the 5-minute FVG.

Patterns (all three in one direction): TYPE_1 MLMI->NWRQK->FVG, TYPE_2 MLMI->FVG->NWRQK,
TYPE_3 NWRQK->FVG->MLMI, TYPE_4 NWRQK->MLMI->FVG. Every pattern starts with a 30-minute
signal, so an FVG never opens a sequence. A signal in the other direction restarts the
sequence from it; a repeat of a signal already in the sequence is ignored; the third signal
must come no more than `window` (10) 5-minute bars after the first (older signals drop off the
front). After an event, signals on the next `cooldown` (5) bars are ignored.

`detect_synergies` (batch) and `SynergyDetector` (streaming) share the pattern state machine
and give the identical events. Each event carries a `SynergyContext` (the market snapshot at
its bar) and `synergy_vector(event)` turns it into the 30 values the risk model reads, the one
layout used by training and inference alike (docs/indicators.md lists them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from algospace.errors import InputError
from algospace.features.bar_check import check_bars
from algospace.data.stream_bar import read_bar
from algospace.features.indicators.parameters import Params, layout_fingerprint
from algospace.features.matrices import Matrix5mParams, Matrix30mParams, Raw5mStream, Raw30mStream, raw_5m, raw_30m


class SynergyType(str, Enum):
    """The four ordered patterns."""

    TYPE_1 = "TYPE_1"  # MLMI -> NWRQK -> FVG
    TYPE_2 = "TYPE_2"  # MLMI -> FVG -> NWRQK
    TYPE_3 = "TYPE_3"  # NWRQK -> FVG -> MLMI
    TYPE_4 = "TYPE_4"  # NWRQK -> MLMI -> FVG


PATTERNS: dict[tuple[str, str, str], SynergyType] = {
    ("mlmi", "nwrqk", "fvg"): SynergyType.TYPE_1,
    ("mlmi", "fvg", "nwrqk"): SynergyType.TYPE_2,
    ("nwrqk", "fvg", "mlmi"): SynergyType.TYPE_3,
    ("nwrqk", "mlmi", "fvg"): SynergyType.TYPE_4,
}


class SynergyParams(Params):
    """Detector parameters; the indicator parameters come from the two matrix parameter sets."""

    window: int = Field(10, ge=2)  # 5-minute bars from the first to the third signal, at most
    cooldown: int = Field(5, ge=0)  # 5-minute bars after an event whose signals are ignored
    fvg_event: Literal["mitigation", "formation"] = "mitigation"
    bar_minutes_30: int = Field(30, ge=1)  # length of the slow bars (their close = open + this)
    m30: Matrix30mParams = Matrix30mParams()
    m5: Matrix5mParams = Matrix5mParams()


@dataclass(frozen=True)
class Signal:
    """One indicator signal as the detector saw it.

    `time` is the open time of the bar that produced it (30-minute bar for MLMI / NW-RQK,
    5-minute bar for FVG); `seen` the open time of the 5-minute bar on which it became
    visible and `bar` that bar's position in the 5-minute stream. `strength` is in [0, 1]:
    MLMI |value - 50| / 50, NW-RQK min(1, |slope| / ATR30), FVG min(1, gap size / ATR5).
    """

    name: Literal["mlmi", "nwrqk", "fvg"]
    direction: int
    time: pd.Timestamp
    seen: pd.Timestamp
    bar: int
    strength: float


@dataclass(frozen=True)
class SynergyContext:
    """Market snapshot at the event's 5-minute bar (close), from bars <= that bar only.

    30-minute values come from the latest 30-minute bar closed by then (MLMI and NW-RQK on its
    Heikin-Ashi candle; close, ATR, RSI and LVN on the plain bar).
    """

    close_5m: float
    atr_5m: float
    rsi_5m: float
    momentum_5m: float  # close - close 5 bars back (price)
    volume_ratio_5m: float  # ln((volume + 1) / (previous 20-bar mean + 1))
    fvg_level_5m: float  # middle of the nearest open gap (NaN when none)
    hour_5m: float  # exchange-time hour of the 5-minute bar's open (fractional)
    close_30m: float
    atr_30m: float
    rsi_30m: float
    mlmi_value: float
    mlmi_ma: float
    nwrqk_value: float
    nwrqk_slope: float
    lvn_poc: float
    lvn_price: float  # NaN when the profile has no low-volume node
    lvn_strength: float

    def missing(self) -> list[str]:
        """Names of the values still NaN (indicator warm-up); the two optional levels never count."""
        return [f.name for f in fields(self) if f.name not in _OPTIONAL_CONTEXT and not math.isfinite(getattr(self, f.name))]


_OPTIONAL_CONTEXT = ("fvg_level_5m", "lvn_price")  # NaN means "no open gap / no node", not warm-up


@dataclass(frozen=True)
class SynergyEvent:
    """A completed pattern: `time` is the open time of the 5-minute bar on whose close it completed.

    A single component signal (`detect_signals`, `SynergyDetector.last_signals`) is the same
    object with `type=None` and one signal, so `synergy_vector` serves both: its pattern one-hot
    is all zero, the two absent kinds' strengths are 0 and its timing values (span, last gap) are 0.
    """

    time: pd.Timestamp
    type: SynergyType | None
    direction: int
    strength: float
    signals: tuple[Signal, ...]
    context: SynergyContext
    window: int = 10  # the detector's window (bars), which scales the vector's timing values

    @property
    def bar(self) -> int:
        """Position of the completing 5-minute bar in the stream."""
        return self.signals[-1].bar

    @property
    def kind(self) -> str:
        """The pattern name (TYPE_1..TYPE_4) or, for a component signal, its indicator (mlmi, nwrqk, fvg)."""
        return self.type.value if self.type is not None else self.signals[0].name


# ----------------------------------------------------------------------------- the 30-value vector
SYNERGY_VECTOR_NAMES: tuple[str, ...] = (
    "type_1", "type_2", "type_3", "type_4",
    "direction", "strength", "mlmi_strength", "nwrqk_strength", "fvg_strength",
    "span", "last_gap",
    "mlmi_value", "mlmi_ma", "nwrqk_distance", "nwrqk_slope",
    "lvn_distance", "lvn_strength", "poc_distance", "fvg_distance",
    "momentum_5m", "volume_ratio_5m",
    "atr_5m_pct", "atr_30m_pct", "atr_ratio", "rsi_5m", "rsi_30m",
    "hour_sin", "hour_cos", "aligned_momentum", "aligned_slope",
)
_CLIP = 10.0
SYNERGY_VECTOR_VERSION = 1  # bump when a value's meaning or scaling changes


def synergy_vector_fingerprint(params: SynergyParams | None = None) -> str:
    """sha256 of the synergy-vector layout and the detector parameters that produce it; store it
    in M-RMS artifacts so inference refuses vectors built another way."""
    return layout_fingerprint("synergy_vector", SYNERGY_VECTOR_VERSION, SYNERGY_VECTOR_NAMES, params or SynergyParams())


def synergy_vector(event: SynergyEvent, context: SynergyContext | None = None) -> np.ndarray:
    """The 30 float32 values describing `event` for the risk model (SYNERGY_VECTOR_NAMES order).

    `context` defaults to `event.context` (the snapshot the detector took). The one builder for
    training and inference; raises InputError if a needed context value is missing (NaN).
    """
    if not isinstance(event, SynergyEvent):
        raise InputError(f"synergy_vector expects a SynergyEvent; received {type(event).__name__}.")
    c = event.context if context is None else context
    need = c.missing()
    if need:
        raise InputError(
            f"synergy_vector: context values {need} are NaN (indicator warm-up); events are only valid once every "
            "indicator has warmed up. Pass more history before the event."
        )
    if c.atr_5m <= 0 or c.atr_30m <= 0 or c.close_5m <= 0:
        raise InputError(f"synergy_vector: ATRs and close must be > 0; received atr_5m={c.atr_5m}, atr_30m={c.atr_30m}, close={c.close_5m}.")
    if len(event.signals) not in (1, 3) or (event.type is None) != (len(event.signals) == 1):
        raise InputError(
            f"synergy_vector: an event has 3 signals and a pattern type, or 1 signal and type None (a component "
            f"signal); received {len(event.signals)} signal(s) with type {event.type!r}."
        )
    s = {sig.name: sig for sig in event.signals}
    first, second, third = event.signals[0], event.signals[-2 if len(event.signals) > 1 else 0], event.signals[-1]
    d = float(event.direction)
    window = event.window

    def clip(x: float) -> float:
        return float(min(_CLIP, max(-_CLIP, x)))

    ang = 2.0 * math.pi * c.hour_5m / 24.0
    mom = c.momentum_5m / c.atr_5m
    slope = c.nwrqk_slope / c.atr_30m
    v = [
        *(1.0 if event.type == t else 0.0 for t in SynergyType),
        d,
        event.strength,
        *(s[k].strength if k in s else 0.0 for k in ("mlmi", "nwrqk", "fvg")),
        (third.bar - first.bar) / window,
        (third.bar - second.bar) / window,
        (c.mlmi_value - 50.0) / 50.0,
        (c.mlmi_ma - 50.0) / 50.0,
        clip((c.nwrqk_value - c.close_5m) / c.atr_30m),
        clip(slope),
        0.0 if math.isnan(c.lvn_price) else clip((c.close_5m - c.lvn_price) / c.atr_30m),
        c.lvn_strength / 100.0,
        clip((c.close_5m - c.lvn_poc) / c.atr_30m),
        0.0 if math.isnan(c.fvg_level_5m) else clip((c.close_5m - c.fvg_level_5m) / c.atr_5m),
        clip(mom),
        c.volume_ratio_5m,
        100.0 * c.atr_5m / c.close_5m,
        100.0 * c.atr_30m / c.close_5m,
        c.atr_5m / c.atr_30m,
        (c.rsi_5m - 50.0) / 50.0,
        (c.rsi_30m - 50.0) / 50.0,
        math.sin(ang),
        math.cos(ang),
        clip(d * mom),
        clip(d * slope),
    ]
    return np.asarray(v, dtype=np.float32)


# ----------------------------------------------------------------------------- state machine
class _Matcher:
    """The pattern state machine, fed (bar, signals in order); shared by batch and stream."""

    def __init__(self, window: int, cooldown: int) -> None:
        self.window, self.cooldown = window, cooldown
        self.seq: list[Signal] = []
        self.blocked_until = -1

    def step(self, t: int, signals: list[Signal]) -> tuple[Signal, Signal, Signal] | None:
        seq = [s for s in self.seq if t - s.bar <= self.window]
        while seq and seq[0].name == "fvg":  # a sequence must open with a 30-minute signal
            seq.pop(0)
        self.seq = seq
        if t <= self.blocked_until:
            return None
        for s in signals:
            if self.seq and s.direction != self.seq[0].direction:
                self.seq = []
            if not self.seq:
                if s.name != "fvg":
                    self.seq = [s]
                continue
            if any(x.name == s.name for x in self.seq):
                continue
            self.seq.append(s)
            if len(self.seq) == 3:
                done = (self.seq[0], self.seq[1], self.seq[2])
                self.seq = []
                self.blocked_until = t + self.cooldown
                return done
        return None


def _strength_30m(name: str, raw: dict[str, float]) -> float:
    if name == "mlmi":
        return float(min(1.0, abs(raw["mlmi_value"] - 50.0) / 50.0))
    a = raw["atr"]
    return float(min(1.0, abs(raw["nwrqk_slope"]) / a)) if a > 0 else 0.0


def _signals_30m(raw: dict[str, float], time: pd.Timestamp, seen: pd.Timestamp, bar: int) -> list[Signal]:
    out = []
    for name in ("mlmi", "nwrqk"):
        d = raw[f"{name}_signal"]
        if d != 0.0 and not math.isnan(d):
            out.append(Signal(name, int(d), time, seen, bar, _strength_30m(name, raw)))  # type: ignore[arg-type]
    return out


def _signal_5m(raw: dict[str, float], time: pd.Timestamp, bar: int, p: SynergyParams) -> list[Signal]:
    if p.fvg_event == "mitigation":
        d, size = raw["fvg_mitigation"], raw["fvg_mitigated_size"]
    else:
        d = raw["fvg_bull_new"] - raw["fvg_bear_new"]
        size = raw["_new_gap_size"]  # added by the detectors: the raw row has no formation size
    if d == 0.0 or math.isnan(d):
        return []
    a = raw["atr"]
    strength = float(min(1.0, size / a)) if a > 0 else 0.0
    return [Signal("fvg", int(np.sign(d)), time, time, bar, strength)]


def _context(r5: dict[str, float], r30: dict[str, float] | None) -> SynergyContext:
    g = (lambda k: r30[k]) if r30 is not None else (lambda k: float("nan"))
    return SynergyContext(
        close_5m=r5["close"], atr_5m=r5["atr"], rsi_5m=r5["rsi"], momentum_5m=r5["momentum"],
        volume_ratio_5m=r5["volume_ratio"], fvg_level_5m=r5["fvg_nearest_level"], hour_5m=r5["hour"],
        close_30m=g("close"), atr_30m=g("atr"), rsi_30m=g("rsi"), mlmi_value=g("mlmi_value"), mlmi_ma=g("mlmi_ma"),
        nwrqk_value=g("nwrqk_value"), nwrqk_slope=g("nwrqk_slope"), lvn_poc=g("lvn_poc"), lvn_price=g("lvn_price"),
        lvn_strength=g("lvn_strength"),
    )


def _event(t_time: pd.Timestamp, sigs: tuple[Signal, Signal, Signal], ctx: SynergyContext, window: int) -> SynergyEvent:
    kind = PATTERNS[(sigs[0].name, sigs[1].name, sigs[2].name)]
    strength = float(sum(s.strength for s in sigs) / 3.0)
    return SynergyEvent(t_time, kind, sigs[0].direction, strength, sigs, ctx, window)


def _fvg_new_sizes(raw5: pd.DataFrame, bars_5m: pd.DataFrame) -> np.ndarray:
    """Size (price) of the gap formed at each bar, 0 where none formed (formation mode only)."""
    h, lo = bars_5m["high"].to_numpy(), bars_5m["low"].to_numpy()
    size = np.zeros(len(h))
    if len(h) >= 3:
        up = lo[2:] - h[:-2]
        dn = lo[:-2] - h[2:]
        size[2:] = np.where(raw5["fvg_bull_new"].to_numpy()[2:] > 0, up, 0.0) + np.where(raw5["fvg_bear_new"].to_numpy()[2:] > 0, dn, 0.0)
    return size


# ----------------------------------------------------------------------------- batch
@dataclass
class _Visible:
    """Every indicator signal keyed by the 5-minute bar on which it becomes visible, plus the raw
    rows the event contexts are read from (shared by `detect_synergies` and `detect_signals`)."""

    by_bar: dict[int, list[Signal]]
    r5_cols: list[str]
    r5_vals: np.ndarray
    r30_rows: list[dict[str, float]]
    latest30: np.ndarray  # last 30-minute bar closed by each 5-minute open (-1 before the first)
    index: pd.DatetimeIndex

    def context(self, t: int) -> SynergyContext:
        j = int(self.latest30[t])
        return _context(dict(zip(self.r5_cols, self.r5_vals[t])), self.r30_rows[j] if j >= 0 else None)


def _visible(bars_5m: pd.DataFrame, bars_30m: pd.DataFrame, p: SynergyParams, who: str) -> _Visible:
    check_bars(bars_5m, f"{who} (5-minute bars)")
    check_bars(bars_30m, f"{who} (30-minute bars)")
    r5 = raw_5m(bars_5m, p.m5)
    r30 = raw_30m(bars_30m, p.m30)
    if p.fvg_event == "formation":
        r5 = r5.assign(_new_gap_size=_fvg_new_sizes(r5, bars_5m))
    open5 = bars_5m.index.asi8
    close30 = (bars_30m.index + pd.Timedelta(minutes=p.bar_minutes_30)).asi8
    seen_at = np.searchsorted(open5, close30, side="left")  # first 5m bar opening at/after the 30m close
    latest30 = np.searchsorted(close30, open5, side="right") - 1  # last 30m bar closed by each 5m open
    by_bar: dict[int, list[Signal]] = {}
    r30_rows = r30.to_dict("records")
    r5_cols = list(r5.columns)
    r5_vals = r5.to_numpy()
    sig30 = np.flatnonzero((r30["mlmi_signal"].to_numpy() != 0) | (r30["nwrqk_signal"].to_numpy() != 0))
    for j in sig30:
        t = int(seen_at[j])
        if t < len(bars_5m):
            by_bar.setdefault(t, []).extend(_signals_30m(r30_rows[j], bars_30m.index[j], bars_5m.index[t], t))
    fv = (r5["fvg_mitigation"] if p.fvg_event == "mitigation" else r5["fvg_bull_new"] - r5["fvg_bear_new"]).to_numpy()
    for t in np.flatnonzero(fv != 0):
        row = dict(zip(r5_cols, r5_vals[t]))
        by_bar.setdefault(int(t), []).extend(_signal_5m(row, bars_5m.index[t], int(t), p))
    return _Visible(by_bar, r5_cols, r5_vals, r30_rows, latest30, bars_5m.index)


def detect_synergies(bars_5m: pd.DataFrame, bars_30m: pd.DataFrame, params: SynergyParams | None = None) -> list[SynergyEvent]:
    """All synergy events over plain 5-minute and 30-minute bars of one instrument.

    Indicators are computed in batch; the state machine then visits only the 5-minute bars
    that carry a signal. Example:
    `detect_synergies(make_bars(s, 5, "SPY"), make_bars(s, 30, "SPY"))`.
    """
    p = params or SynergyParams()
    vis = _visible(bars_5m, bars_30m, p, "detect_synergies")
    matcher = _Matcher(p.window, p.cooldown)
    events = []
    for t in sorted(vis.by_bar):
        done = matcher.step(t, vis.by_bar[t])
        if done is not None:
            events.append(_event(vis.index[t], done, vis.context(t), p.window))
    return events


def _component(sig: Signal, time: pd.Timestamp, ctx: SynergyContext, window: int) -> SynergyEvent:
    return SynergyEvent(time, None, sig.direction, sig.strength, (sig,), ctx, window)


def detect_signals(bars_5m: pd.DataFrame, bars_30m: pd.DataFrame, params: SynergyParams | None = None) -> list[SynergyEvent]:
    """Every component signal of the synergy patterns (MLMI cross, NW-RQK turn, FVG) as a
    one-signal `SynergyEvent` (`type=None`), on the 5-minute clock of `detect_synergies`.

    Each is timed at the 5-minute bar on which it became visible, with that bar's context, and
    several signals on one bar come in the detector's order. No pattern, window or cooldown
    applies, so there are ~200x more of these than synergy events (the M-RMS needs thousands of
    trades to learn from). `SynergyDetector.last_signals` gives the same events bar by bar.
    """
    p = params or SynergyParams()
    vis = _visible(bars_5m, bars_30m, p, "detect_signals")
    out = []
    for t in sorted(vis.by_bar):
        ctx = vis.context(t)
        out.extend(_component(sg, vis.index[t], ctx, p.window) for sg in vis.by_bar[t])
    return out


def events_frame(events: list[SynergyEvent]) -> pd.DataFrame:
    """Events as a DataFrame indexed by event time (type, direction, strength, signal times)."""
    rows = [
        {
            "type": e.kind, "direction": e.direction, "strength": e.strength,
            **{f"sig{i}": s.name for i, s in enumerate(e.signals, 1)},
            **{f"sig{i}_time": s.time for i, s in enumerate(e.signals, 1)},
        }
        for e in events
    ]
    idx = pd.DatetimeIndex([e.time for e in events], name="timestamp")
    return pd.DataFrame(rows, index=idx)


# ----------------------------------------------------------------------------- streaming
class SynergyDetector:
    """Streaming synergy detection on the 5-minute clock.

    Call `update_30m(bar)` with each plain 30-minute bar as soon as it has closed and
    `update_5m(bar)` with each plain 5-minute bar; `update_5m` returns the SynergyEvent
    completed on that bar, or None. Feeding the same bars in time order gives exactly the
    events of `detect_synergies`. A 30-minute bar that arrives after a 5-minute bar opening at
    or after its close is refused (its signals would have been visible earlier in batch).
    """

    def __init__(self, params: SynergyParams | None = None) -> None:
        self.params = p = params or SynergyParams()
        self._r30, self._r5 = Raw30mStream(p.m30), Raw5mStream(p.m5)
        self._pending: list[tuple[int, pd.Timestamp, dict[str, float]]] = []  # (close ns, open time, raw row)
        self._latest30: dict[str, float] | None = None
        self._matcher = _Matcher(p.window, p.cooldown)
        self._t = -1
        self._last5: pd.Timestamp | None = None
        self._bars5: list[tuple[float, float]] = []  # (high, low) of the last 3 bars (formation sizes)
        self.last_signals: list[SynergyEvent] = []  # component signals visible on the last 5-minute bar (detect_signals)
        # the raw indicator rows of the last bars fed (`raw_30m` / `raw_5m` columns): the decision core's
        # matrices are scaled from these (CoreInputStream.push_30m / push_5m), not computed a second time
        self.last_raw30: dict[str, float] | None = None
        self.last_raw5: dict[str, float] | None = None

    def update(self, bar: Any, minutes: int) -> SynergyEvent | None:
        """Dispatch on the bar length: 30 -> `update_30m`, 5 -> `update_5m`."""
        if minutes == self.params.bar_minutes_30:
            self.update_30m(bar)
            return None
        if minutes == 5:
            return self.update_5m(bar)
        raise InputError(f"SynergyDetector.update: minutes must be 5 or {self.params.bar_minutes_30}; received {minutes!r}.")

    def update_30m(self, bar: Any) -> None:
        ts = read_bar(bar, "SynergyDetector.update_30m")[0]
        if ts is None:
            raise InputError("SynergyDetector.update_30m needs the bar's timestamp (row name or 'timestamp' key).")
        close = ts + pd.Timedelta(minutes=self.params.bar_minutes_30)
        if self._last5 is not None and self._last5 >= close:
            raise InputError(
                f"SynergyDetector.update_30m: the 30-minute bar {ts} (closed {close}) arrived after the 5-minute bar "
                f"{self._last5}; feed each 30-minute bar as soon as it closes, before later 5-minute bars."
            )
        raw = self._r30.update(bar)
        self.last_raw30 = raw
        self._pending.append((close.value, ts, raw))

    def update_5m(self, bar: Any) -> SynergyEvent | None:
        ts, _o, h, lo, _c, _v = read_bar(bar, "SynergyDetector.update_5m")
        if ts is None:
            raise InputError("SynergyDetector.update_5m needs the bar's timestamp (row name or 'timestamp' key).")
        raw5 = self.last_raw5 = self._r5.update(bar)  # validates order and values
        self._t += 1
        self._last5 = ts
        t = self._t
        signals: list[Signal] = []
        while self._pending and self._pending[0][0] <= ts.value:
            _close, t30, raw30 = self._pending.pop(0)
            self._latest30 = raw30
            signals.extend(_signals_30m(raw30, t30, ts, t))
        self._bars5 = (self._bars5 + [(h, lo)])[-3:]
        if self.params.fvg_event == "formation":
            size = 0.0
            if len(self._bars5) == 3:
                if raw5["fvg_bull_new"] > 0:
                    size += lo - self._bars5[0][0]
                if raw5["fvg_bear_new"] > 0:
                    size += self._bars5[0][1] - h
            raw5 = {**raw5, "_new_gap_size": size}
        signals.extend(_signal_5m(raw5, ts, t, self.params))
        self.last_signals = []
        if not signals:
            return None
        ctx = _context(raw5, self._latest30)
        self.last_signals = [_component(sg, ts, ctx, self.params.window) for sg in signals]
        done = self._matcher.step(t, signals)
        if done is None:
            return None
        return _event(ts, done, ctx, self.params.window)
