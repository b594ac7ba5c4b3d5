"""Summaries of bar/tick data: range, rows, sessions, gaps and flaws (`algospace data info`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS, RepairReport
from algospace.data.instruments import Instrument, get_instrument, resolve_instrument
from algospace.data.loaders import TICKS_COLUMNS
from algospace.data.sources import open_source
from algospace.errors import DataError

_TICK_GAP = pd.Timedelta(minutes=5)  # a trading silence this long inside a session counts as a gap


@dataclass
class DataInfo:
    """What `describe` found in a bars or ticks source."""

    source: str
    kind: str
    instrument: str
    calendar: str
    rows: int
    start: pd.Timestamp
    end: pd.Timestamp
    bar_minutes: float | None
    sessions: int
    missing_sessions: int
    rows_outside_session: int
    gaps: int
    gap_threshold: pd.Timedelta
    largest_gap: pd.Timedelta
    largest_gap_at: pd.Timestamp | None
    zero_volume: int
    flaws: dict[str, int] = field(default_factory=dict)
    repair_report: RepairReport | None = None
    file_format: str | None = None
    notes: list[str] = field(default_factory=list)
    holidays: list[tuple[pd.Timestamp, str]] = field(default_factory=list)  # trade dates without a session
    early_closes: list[pd.Timestamp] = field(default_factory=list)  # UTC closes of shortened sessions
    rows_after_early_close: int = 0  # rows between an early close and the next open

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs for printing."""
        tz = get_instrument(self.instrument).calendar.timezone
        fmt = lambda t: f"{t} ({t.tz_convert(tz).strftime('%Y-%m-%d %H:%M:%S %Z')})"  # noqa: E731
        out = [
            ("source", self.source),
            ("kind", self.kind + (f" ({self.file_format} layout)" if self.file_format else "")),
            ("instrument / calendar", f"{self.instrument} / {self.calendar}"),
            ("rows", f"{self.rows:,}"),
            ("first", fmt(self.start)),
            ("last", fmt(self.end)),
        ]
        if self.bar_minutes is not None:
            out.append(("bar size", f"{self.bar_minutes:g} min"))
        out += [
            ("sessions with data", f"{self.sessions:,}"),
            ("sessions without data", f"{self.missing_sessions:,} (holidays excluded)"),
            ("holidays (exchange closed)", _listing([f"{d:%Y-%m-%d} {n}" for d, n in self.holidays])),
            ("early closes", _listing([f"{t.tz_convert(tz):%Y-%m-%d %H:%M}" for t in self.early_closes])),
            ("rows outside sessions", f"{self.rows_outside_session:,}"
             + (f" ({self.rows_after_early_close:,} after early closes)" if self.rows_after_early_close else "")),
            (f"gaps > {_td(self.gap_threshold)} inside sessions", f"{self.gaps:,}"),
            ("largest gap", f"{_td(self.largest_gap)}" + (f" after {fmt(self.largest_gap_at)}" if self.largest_gap_at is not None else "")),
            ("zero-volume rows", f"{self.zero_volume:,}"),
        ]
        if self.notes:
            out.append(("read notes", "; ".join(self.notes)))
        if self.flaws:
            out.append(("flaws repaired on load", ", ".join(f"{n:,} {k}" for k, n in sorted(self.flaws.items()))))
        else:
            out.append(("flaws", "none found"))
        return out


def _listing(items: list[str]) -> str:
    return f"{len(items)}" + (": " + ", ".join(items) if items else "")


def _td(t: pd.Timedelta) -> str:
    return str(t).replace("0 days ", "")


def describe(source: str | Path | pd.DataFrame, instrument: str | Instrument | None = None, **read: Any) -> DataInfo:
    """Summarise a bars/ticks file, a sample name or a frame; bar files load with repair=True
    so their fixable flaws are counted rather than raised.

    `read`: timestamp_column, timezone, format, dayfirst (see `load_bars`).

    Example: ``describe("spy-1m").lines()``
    """
    report: RepairReport | None = None
    if isinstance(source, pd.DataFrame):
        frame, name = source, "frame"
        kind = "bars" if "open" in frame.columns else "ticks"
    else:
        src = open_source(source, repair=True, **read)
        frame, name, kind, report = src.frame, src.name, src.kind, src.report
    inst = resolve_instrument(instrument, frame)
    cols = list(BARS_COLUMNS) if kind == "bars" else list(TICKS_COLUMNS)
    out_of_bounds = inst.bounds.violation({c: frame[c].to_numpy(dtype=np.float64) for c in cols})
    if out_of_bounds is not None:  # the loader checked the default bounds; the instrument may set its own
        i, col, value, bound, count = out_of_bounds
        raise DataError(inst.bounds.message(f"{name}: row {i} at {frame.index[i]}", col, value, bound, count, inst.name))
    cal = inst.calendar
    ts = frame.index.as_unit("ns").asi8
    so, _, inside = cal.locate(frame.index)
    d = np.diff(ts)
    bar_minutes = None
    if kind == "bars":
        pos = d[d > 0]
        step = int(pd.Series(pos).mode().iloc[0]) if pos.size else 60 * 10**9
        bar_minutes = step / 6e10
        threshold = pd.Timedelta(step, unit="ns")
    else:
        threshold = _TICK_GAP
    same = (so[1:] == so[:-1]) & inside[1:] & inside[:-1]
    gaps = int(((d > threshold.value) & same).sum())
    if d.size:
        j = int(np.argmax(d))
        largest, largest_at = pd.Timedelta(int(d[j]), unit="ns"), frame.index[j]
    else:
        largest, largest_at = pd.Timedelta(0), None
    session_opens = np.unique(so[inside])
    missing, after_early = 0, 0
    holidays: list[tuple[pd.Timestamp, str]] = []
    early: list[pd.Timestamp] = []
    if session_opens.size:
        seg = cal.segments(int(ts.min()), int(ts.max()))
        expected = seg.open[(seg.open >= session_opens[0]) & (seg.open <= session_opens[-1])]
        missing = int(np.setdiff1d(expected, session_opens).size)
        first_day, last_day = (pd.Timestamp(int(seg.day[np.searchsorted(seg.open, x)])) for x in session_opens[[0, -1]])
        holidays = cal.holidays(first_day, last_day)
        closes = cal.early_closes(first_day, last_day)
        early = [pd.Timestamp(t).tz_convert("UTC") for t in closes["market_close"]] if len(closes) else []
        if early:
            j = np.maximum(np.searchsorted(seg.open, ts, side="right") - 1, 0)
            early_ns = np.array([t.value for t in early], dtype=np.int64)
            after_early = int((~inside & (ts >= seg.close[j]) & np.isin(seg.close[j], early_ns)).sum())
    flaws = dict(report.counts()) if report is not None else {}
    return DataInfo(
        source=name,
        kind=kind,
        instrument=inst.name,
        calendar=cal.name,
        rows=len(frame),
        start=frame.index[0],
        end=frame.index[-1],
        bar_minutes=bar_minutes,
        sessions=int(session_opens.size),
        missing_sessions=missing,
        rows_outside_session=int((~inside).sum()),
        gaps=gaps,
        gap_threshold=threshold,
        largest_gap=largest,
        largest_gap_at=largest_at,
        zero_volume=int((frame["volume"].to_numpy() == 0).sum()),
        flaws=flaws,
        repair_report=report,
        file_format=frame.attrs.get("format"),
        notes=list(frame.attrs.get("notes") or []),
        holidays=holidays,
        early_closes=early,
        rows_after_early_close=after_early,
    )


__all__ = ["DataInfo", "describe"]
