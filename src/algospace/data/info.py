"""Summaries of bar/tick data: range, rows, sessions, gaps and flaws (`algospace data info`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs for printing."""
        tz = get_instrument(self.instrument).calendar.timezone
        fmt = lambda t: f"{t} ({t.tz_convert(tz).strftime('%Y-%m-%d %H:%M:%S %Z')})"  # noqa: E731
        out = [
            ("source", self.source),
            ("kind", self.kind),
            ("instrument / calendar", f"{self.instrument} / {self.calendar}"),
            ("rows", f"{self.rows:,}"),
            ("first", fmt(self.start)),
            ("last", fmt(self.end)),
        ]
        if self.bar_minutes is not None:
            out.append(("bar size", f"{self.bar_minutes:g} min"))
        out += [
            ("sessions with data", f"{self.sessions:,}"),
            ("weekday sessions without data", f"{self.missing_sessions:,}"),
            ("rows outside sessions", f"{self.rows_outside_session:,}"),
            (f"gaps > {_td(self.gap_threshold)} inside sessions", f"{self.gaps:,}"),
            ("largest gap", f"{_td(self.largest_gap)}" + (f" after {fmt(self.largest_gap_at)}" if self.largest_gap_at is not None else "")),
            ("zero-volume rows", f"{self.zero_volume:,}"),
        ]
        if self.flaws:
            out.append(("flaws repaired on load", ", ".join(f"{n:,} {k}" for k, n in sorted(self.flaws.items()))))
        else:
            out.append(("flaws", "none found"))
        return out


def _td(t: pd.Timedelta) -> str:
    return str(t).replace("0 days ", "")


def describe(source: str | Path | pd.DataFrame, instrument: str | Instrument | None = None) -> DataInfo:
    """Summarise a bars/ticks file, a sample name or a frame; bar files load with repair=True
    so their fixable flaws are counted rather than raised.

    Example: ``describe("spy-1m").lines()``
    """
    report: RepairReport | None = None
    if isinstance(source, pd.DataFrame):
        frame, name = source, "frame"
        kind = "bars" if "open" in frame.columns else "ticks"
    else:
        src = open_source(source, repair=True)
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
    missing = 0
    if session_opens.size:
        days = pd.date_range(frame.index[0].tz_convert(cal.timezone).normalize().tz_localize(None),
                             frame.index[-1].tz_convert(cal.timezone).normalize().tz_localize(None) + pd.Timedelta(days=1), freq="D")
        o, _, ok = cal._session_bounds(days.as_unit("ns").asi8)
        expected = o[ok & (o >= session_opens[0]) & (o <= session_opens[-1])]
        missing = int(np.setdiff1d(expected, session_opens).size)
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
    )


__all__ = ["DataInfo", "describe"]
