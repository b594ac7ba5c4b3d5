"""Exchange calendars with holidays, early closes and breaks, from pandas_market_calendars.

Why pandas_market_calendars (PMC) and not exchange_calendars (XC): PMC has the CME Globex
equity futures calendar ("CME Globex Equity": 17:00 CT the evening before to 16:00 CT, with
CME's holiday early closes such as 12:15 CT the day after Thanksgiving), which XC lacks (its
"CMES" is one generic CME calendar); PMC also mirrors every XC calendar (XNYS, XLON, ...), so
user instruments may name any calendar of either project. Both are pure Python, on PyPI,
offline (rules, no downloads) and kept up to date.

Built-in names (used by the ES, MES and SPY instruments):
- `cme-globex`: PMC "CME Globex Equity" (ES, MES, NQ).
- `nyse-rth`: PMC "NYSE" regular hours 09:30-16:00 New York, 13:00 early closes.
- `forex`: 24x5, 17:00 New York the day before to 17:00 New York, Monday to Friday trade
  dates. Built on PMC's FOREX calendar class with its weekmask set to Mon-Fri: PMC's own FOREX
  counts Sunday as a trade date, which opens a session on Saturday 17:00 (the market is shut).
- `24h`: PMC "24/7", one session per UTC calendar day, every day.
Any other name PMC knows (`pandas_market_calendars.get_calendar_names()`) works as well.

A calendar splits time into *segments*: a session, or the parts of a session on either side of
a break (lunch breaks, historical halts). Bars align to the segment open and never span a break
or a close. Schedules are computed once per calendar and year and cached (in memory, and on
disk under ~/.cache/algospace/calendars keyed by the library version, so a new process needs
neither the library import nor the schedule), so locating 300k timestamps is a binary search
over a few hundred session edges.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import io
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from algospace.data.sessions import SessionCalendar
from algospace.errors import InputError

log = logging.getLogger(__name__)


class Segments(NamedTuple):
    """Trading segments, sorted: UTC ns `open`/`close` and the trade date (UTC-naive midnight ns)."""

    open: np.ndarray
    close: np.ndarray
    day: np.ndarray


@dataclass(frozen=True)
class ExchangeCalendar:
    """A trading calendar backed by a pandas_market_calendars calendar (see the module doc)."""

    name: str
    library_name: str
    description: str = ""
    weekmask: str | None = None  # overrides the library calendar's weekmask (forex)

    @property
    def timezone(self) -> str:
        """The exchange's IANA timezone (session times are wall-clock there)."""
        return str(self._market().tz)

    def _market(self) -> Any:
        return _market(self.library_name, self.weekmask)

    def schedule(self, start: Any, end: Any) -> pd.DataFrame:
        """The library schedule (market_open, market_close[, break_start, break_end], UTC) for
        trade dates `start`..`end`."""
        return _schedule_range(self.library_name, self.weekmask, pd.Timestamp(start).year, pd.Timestamp(end).year).loc[
            pd.Timestamp(start).normalize().tz_localize(None) : pd.Timestamp(end).normalize().tz_localize(None)
        ]

    def segments(self, first_ns: int, last_ns: int) -> Segments:
        """All segments of the trade dates that can hold times `first_ns`..`last_ns` (UTC ns)."""
        # Two days back: a session of the previous year (by trade date) may end after New Year in UTC.
        y0 = pd.Timestamp(int(first_ns) - 2 * 86_400 * 10**9, tz="UTC").year
        y1 = pd.Timestamp(int(last_ns), tz="UTC").year + 1  # an evening open belongs to the next trade date
        return _segments(self.library_name, self.weekmask, y0, y1)

    def locate(self, timestamps: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectorised segment lookup for tz-aware timestamps.

        Returns `(segment_open_ns, segment_close_ns, in_session)`: int64 UTC epoch ns of the
        segment each timestamp falls in, and a bool mask (False on holidays, after early closes,
        in breaks and outside hours; the open/close values of those rows are meaningless).
        """
        if timestamps.tz is None:
            raise InputError(f"{self.name}.locate expects tz-aware timestamps; found naive ones. Localize them first (e.g. .tz_localize('UTC')).")
        ts = timestamps.as_unit("ns").asi8
        if len(ts) == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty.copy(), np.empty(0, dtype=bool)
        seg = self.segments(int(ts.min()), int(ts.max()))
        if len(seg.open) == 0:
            zeros = np.zeros(len(ts), dtype=np.int64)
            return zeros, zeros.copy(), np.zeros(len(ts), dtype=bool)
        j = np.searchsorted(seg.open, ts, side="right") - 1
        jj = np.maximum(j, 0)
        inside = (j >= 0) & (ts < seg.close[jj])
        return seg.open[jj], seg.close[jj], inside

    def trade_dates(self, timestamps: pd.DatetimeIndex) -> np.ndarray:
        """Trade date (UTC-naive midnight ns) of each tz-aware timestamp; a time outside every
        session counts towards the next session (its trades settle there)."""
        ts = timestamps.as_unit("ns").asi8
        if len(ts) == 0:
            return np.empty(0, dtype=np.int64)
        seg = self.segments(int(ts.min()), int(ts.max()))
        j = np.searchsorted(seg.open, ts, side="right") - 1
        jj = np.maximum(j, 0)
        inside = (j >= 0) & (ts < seg.close[jj])
        nxt = np.minimum(j + 1, len(seg.day) - 1)
        return np.where(inside, seg.day[jj], seg.day[nxt])

    def locate_one(self, ts_ns: int) -> tuple[int, int, bool]:
        """Scalar `locate` for streaming: (segment_open_ns, segment_close_ns, in_session)."""
        seg = self.segments(ts_ns, ts_ns)
        j = int(np.searchsorted(seg.open, ts_ns, side="right")) - 1
        if j < 0:
            return 0, 0, False
        so, sc = int(seg.open[j]), int(seg.close[j])
        return so, sc, ts_ns < sc

    def session_of(self, timestamp: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(open, close) in UTC of the segment holding `timestamp`, or None outside sessions."""
        so, sc, ok = self.locate_one(pd.Timestamp(timestamp).as_unit("ns").value)
        return (pd.Timestamp(so, tz="UTC"), pd.Timestamp(sc, tz="UTC")) if ok else None

    def holidays(self, start: Any, end: Any) -> list[tuple[pd.Timestamp, str]]:
        """Weekdays of the calendar's week (`start`..`end` trade dates) without a session, named
        where the library names them (ad-hoc closures read "special closure")."""
        days = pd.bdate_range(pd.Timestamp(start).normalize().tz_localize(None), pd.Timestamp(end).normalize().tz_localize(None),
                              freq="C", weekmask=self.weekmask or self._market().weekmask)
        open_days = self.schedule(start, end).index
        closed = days.difference(open_days)
        names: dict[pd.Timestamp, str] = {}
        rules = getattr(self._market(), "regular_holidays", None)
        if rules is not None and len(closed):
            try:
                named = rules.holidays(closed[0], closed[-1], return_name=True)
                names = {pd.Timestamp(k).normalize(): str(v) for k, v in named.items()}
            except Exception:  # a calendar without named rules: fall back to the generic label
                names = {}
        return [(d, names.get(d, "special closure")) for d in closed]

    def early_closes(self, start: Any, end: Any) -> pd.DataFrame:
        """Sessions (`start`..`end`) that close before the regular close, with their close (UTC)."""
        sched = self.schedule(start, end)
        if not len(sched):
            return sched
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return self._market().early_closes(sched)


@functools.lru_cache(maxsize=None)
def _market(library_name: str, weekmask: str | None) -> Any:
    import pandas_market_calendars as mcal

    if weekmask is None:
        return mcal.get_calendar(library_name)
    base = type(mcal.get_calendar(library_name))
    # A subclass only to change the trade-date week (see the module doc: forex).
    cls = type(f"{base.__name__}Weekdays", (base,), {"weekmask": property(lambda self: weekmask)})
    return cls()


@functools.lru_cache(maxsize=None)
def _schedule_year(library_name: str, weekmask: str | None, year: int) -> pd.DataFrame:
    cal = _market(library_name, weekmask)
    with warnings.catch_warnings():  # the library's own pandas deprecation warnings, not ours to fix
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return cal.schedule(f"{year}-01-01", f"{year}-12-31")


def _schedule_range(library_name: str, weekmask: str | None, y0: int, y1: int) -> pd.DataFrame:
    parts = [_schedule_year(library_name, weekmask, y) for y in range(y0, y1 + 1)]
    return pd.concat(parts) if len(parts) > 1 else parts[0]


def _year_segments_from_library(library_name: str, weekmask: str | None, year: int) -> Segments:
    sched = _schedule_year(library_name, weekmask, year)
    ns = lambda col: sched[col].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()  # noqa: E731
    o, c = ns("market_open"), ns("market_close")
    day = sched.index.as_unit("ns").asi8
    if "break_start" in sched.columns:
        bs, be = sched["break_start"], sched["break_end"]
        has = (bs.notna() & be.notna()).to_numpy()
        bs_ns = np.where(has, ns("break_start") if has.any() else 0, 0)
        be_ns = np.where(has, ns("break_end") if has.any() else 0, 0)
        has = has & (be_ns > bs_ns) & (bs_ns > o) & (be_ns < c)
        # A session with a break is two segments: open..break_start and break_end..close.
        opens = np.concatenate([o, be_ns[has]])
        closes = np.concatenate([np.where(has, bs_ns, c), c[has]])
        days = np.concatenate([day, day[has]])
        order = np.argsort(opens, kind="stable")
        o, c, day = opens[order], closes[order], days[order]
    return Segments(o, c, day)


def _cache_file(library_name: str, weekmask: str | None, year: int) -> Path | None:
    """Where one year's segments are kept between processes, keyed by the library's version
    (None when no version is known). ALGOSPACE_CACHE_DIR overrides ~/.cache/algospace."""
    try:
        version = importlib.metadata.version("pandas_market_calendars")
    except importlib.metadata.PackageNotFoundError:
        return None
    root = Path(os.environ.get("ALGOSPACE_CACHE_DIR") or Path.home() / ".cache" / "algospace")
    key = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{library_name}-{weekmask or 'default'}-{year}-pmc{version}")
    return root / "calendars" / f"{key}.npy"


@functools.lru_cache(maxsize=None)
def _year_segments(library_name: str, weekmask: str | None, year: int) -> Segments:
    """One year's segments, from the disk cache when a previous process computed them.

    Why a disk cache: importing pandas_market_calendars and computing schedules costs ~0.5-2 s
    in a fresh process, more than building 30-minute bars from the whole SPY sample; the cached
    arrays load in about a millisecond. A missing or unreadable cache only means recomputing.
    """
    path = _cache_file(library_name, weekmask, year)
    if path is not None and path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.ndim == 2 and arr.shape[0] == 3 and arr.dtype == np.int64:
                return Segments(arr[0].copy(), arr[1].copy(), arr[2].copy())
        except (OSError, ValueError) as exc:
            log.debug("calendar cache %s unreadable (%s); recomputing", path, exc)
    seg = _year_segments_from_library(library_name, weekmask, year)
    if path is not None:
        try:
            from algospace.io import atomic_write_bytes

            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            np.save(buf, np.stack([seg.open, seg.close, seg.day]).astype(np.int64), allow_pickle=False)
            atomic_write_bytes(path, buf.getvalue())
        except OSError as exc:
            log.debug("calendar cache %s not written (%s)", path, exc)
    return seg


@functools.lru_cache(maxsize=256)
def _segments(library_name: str, weekmask: str | None, y0: int, y1: int) -> Segments:
    parts = [_year_segments(library_name, weekmask, y) for y in range(y0, y1 + 1)]
    return Segments(*(np.concatenate([getattr(p, f) for p in parts]) for f in Segments._fields))


BUILTIN = {
    "cme-globex": ExchangeCalendar(
        "cme-globex", "CME Globex Equity",
        "CME Globex equity futures (pandas_market_calendars 'CME Globex Equity'): 17:00 CT the day before to 16:00 CT, "
        "holidays and early closes (12:00/12:15 CT).",
    ),
    "nyse-rth": ExchangeCalendar(
        "nyse-rth", "NYSE", "NYSE regular hours (pandas_market_calendars 'NYSE'): 09:30-16:00 New York, holidays, 13:00 early closes."
    ),
    "forex": ExchangeCalendar(
        "forex", "FOREX", "Spot forex 24x5: 17:00 New York the day before to 17:00 New York, Monday-Friday trade dates.",
        weekmask="Mon Tue Wed Thu Fri",
    ),
    "24h": ExchangeCalendar("24h", "24/7", "Round the clock: one session per UTC calendar day, every day (pandas_market_calendars '24/7')."),
}
CME_GLOBEX = BUILTIN["cme-globex"]
NYSE_RTH = BUILTIN["nyse-rth"]
FOREX = BUILTIN["forex"]
UTC_24H = BUILTIN["24h"]


@functools.lru_cache(maxsize=1)
def library_names() -> tuple[str, ...]:
    """Every calendar name pandas_market_calendars knows (aliases included)."""
    import pandas_market_calendars as mcal

    return tuple(mcal.get_calendar_names())


@functools.lru_cache(maxsize=None)
def get_calendar(name: str | ExchangeCalendar | SessionCalendar) -> ExchangeCalendar | SessionCalendar:
    """The calendar called `name`: a built-in (cme-globex, nyse-rth, forex, 24h) or any
    pandas_market_calendars name (case-insensitive, e.g. XLON, CME_Equity); an unknown name is
    an InputError listing the closest matches. A calendar object is returned as it is (a weekly
    `SessionCalendar` lets scripts rebuild bars on the old calendars)."""
    if isinstance(name, (ExchangeCalendar, SessionCalendar)):
        return name
    if not isinstance(name, str):
        raise InputError(f"A calendar name must be a string such as 'cme-globex'; received {type(name).__name__} {name!r}.")
    key = name.strip()
    if key.lower() in BUILTIN:
        return BUILTIN[key.lower()]
    lib = {n.lower(): n for n in library_names()}
    if key.lower() in lib:
        return ExchangeCalendar(lib[key.lower()], lib[key.lower()], f"pandas_market_calendars '{lib[key.lower()]}'")
    pool = {**{k: k for k in BUILTIN}, **lib}
    close = difflib.get_close_matches(key.lower(), list(pool), n=3, cutoff=0.5)
    hint = f" Did you mean '{pool[close[0]]}'?" if close else ""
    if len(close) > 1:
        hint += f" Other close matches: {', '.join(repr(pool[c]) for c in close[1:])}."
    raise InputError(
        f"Unknown session calendar '{name}'; expected a built-in ({', '.join(BUILTIN)}) or a pandas_market_calendars name "
        f"(e.g. NYSE, XLON, CME_Equity; list them with pandas_market_calendars.get_calendar_names()).{hint}"
    )


CALENDARS: dict[str, ExchangeCalendar] = dict(BUILTIN)

__all__ = ["ExchangeCalendar", "Segments", "CME_GLOBEX", "NYSE_RTH", "FOREX", "UTC_24H", "CALENDARS", "get_calendar", "library_names"]
