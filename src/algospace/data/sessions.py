"""Weekly trading calendars: the same session every weekday, no holidays, no early closes.

The instruments now use the exchange calendars of `algospace.data.calendars` (holidays, early
closes); this hand-written weekly model stays as the baseline that benchmarks and the documented
calendar-change differences compare against, and for custom fixed-hours calendars.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from algospace.errors import InputError

_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class SessionCalendar:
    """A weekly trading calendar: one session per trade date, Monday to Friday (or every day).

    `open`/`close` are local wall-clock times in `timezone`. When `open > close` the session
    starts the evening before its trade date (CME Globex: 17:00 the day before to 16:00 on the
    trade date, the 16:00-17:00 daily halt between sessions). `open == close` means a 24-hour
    session from midnight to midnight.
    """

    name: str
    timezone: str
    open: dt.time
    close: dt.time
    weekdays_only: bool = True
    description: str = ""

    @property
    def overnight(self) -> bool:
        """True when a session starts on the calendar day before its trade date."""
        return self.open > self.close

    def _length_ns(self) -> int:
        o = (self.open.hour * 60 + self.open.minute) * 60 + self.open.second
        c = (self.close.hour * 60 + self.close.minute) * 60 + self.close.second
        secs = c - o if c > o else c - o + 86_400
        return secs * 10**9

    def locate(self, timestamps: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectorised session lookup for tz-aware timestamps.

        Returns `(session_open_ns, session_close_ns, in_session)`: int64 UTC epoch nanoseconds
        of the session each timestamp falls in, and a bool mask (False outside any session;
        the open/close values of those rows are meaningless).
        """
        if timestamps.tz is None:
            raise InputError("SessionCalendar.locate expects tz-aware timestamps; found naive ones. Localize them first (e.g. .tz_localize('UTC')).")
        if len(timestamps) == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty.copy(), np.empty(0, dtype=bool)
        local = timestamps.tz_convert(self.timezone).tz_localize(None).as_unit("ns")
        day = local.normalize()
        tod = (local.asi8 - day.asi8)  # ns since local midnight
        o = _time_ns(self.open)
        c = _time_ns(self.close)
        day_ns = day.asi8
        if self.open == self.close:
            trade = day_ns
            inside = np.ones(len(local), dtype=bool)
        elif self.overnight:
            after_open = tod >= o
            trade = np.where(after_open, day_ns + _DAY_NS, day_ns)
            inside = after_open | (tod < c)
        else:
            trade = day_ns
            inside = (tod >= o) & (tod < c)
        uniq, inv = np.unique(trade, return_inverse=True)
        u_open, u_close, u_ok = self._session_bounds(uniq)
        inside &= u_ok[inv]
        return u_open[inv], u_close[inv], inside

    def _session_bounds(self, trade_days_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """UTC open/close (ns) and validity of the sessions for local-midnight trade dates."""
        days = pd.DatetimeIndex(trade_days_ns.astype("datetime64[ns]"))
        ok = (days.day_of_week < 5) if self.weekdays_only else np.ones(len(days), dtype=bool)
        o = _time_ns(self.open)
        open_local = days.asi8 + o - (_DAY_NS if self.overnight else 0)
        close_local = open_local + self._length_ns()

        def to_utc(wall_ns: np.ndarray) -> np.ndarray:
            # Wall clock -> UTC with the exchange's DST rules; an edge in a DST gap moves forward.
            idx = pd.DatetimeIndex(wall_ns.astype("datetime64[ns]"))
            return idx.tz_localize(self.timezone, ambiguous="raise", nonexistent="shift_forward").tz_convert("UTC").asi8

        return to_utc(open_local), to_utc(close_local), np.asarray(ok)

    def locate_one(self, ts_ns: int) -> tuple[int, int, bool]:
        """Scalar `locate` for streaming: (session_open_ns, session_close_ns, in_session).

        Uses zoneinfo for the wall-clock conversion (microseconds, not pandas' ~100 us per call)
        and caches session bounds per trade date, so results equal the vectorised path.
        """
        secs, sub = divmod(int(ts_ns), 10**9)
        local = dt.datetime.fromtimestamp(secs, tz=self._zone())
        day_ns = (local.date().toordinal() - _EPOCH_ORDINAL) * _DAY_NS
        tod = ((local.hour * 60 + local.minute) * 60 + local.second) * 10**9 + sub
        o, c = _time_ns(self.open), _time_ns(self.close)
        if self.open == self.close:
            trade, inside = day_ns, True
        elif self.overnight:
            trade = day_ns + _DAY_NS if tod >= o else day_ns
            inside = tod >= o or tod < c
        else:
            trade, inside = day_ns, o <= tod < c
        bounds = self._bounds_cache().get(trade)
        if bounds is None:
            so, sc, ok = self._session_bounds(np.array([trade], dtype=np.int64))
            bounds = (int(so[0]), int(sc[0]), bool(ok[0]))
            self._bounds_cache()[trade] = bounds
        return bounds[0], bounds[1], bool(inside and bounds[2])

    def _zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def _bounds_cache(self) -> dict[int, tuple[int, int, bool]]:
        return _BOUNDS.setdefault(self.name + "|" + self.timezone + str(self.open) + str(self.close) + str(self.weekdays_only), {})

    def session_of(self, timestamp: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(open, close) in UTC of the session holding `timestamp`, or None outside sessions."""
        so, sc, ok = self.locate(pd.DatetimeIndex([pd.Timestamp(timestamp)]))
        if not ok[0]:
            return None
        return pd.Timestamp(int(so[0]), tz="UTC"), pd.Timestamp(int(sc[0]), tz="UTC")


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_BOUNDS: dict[str, dict[int, tuple[int, int, bool]]] = {}


@functools.lru_cache(maxsize=None)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _time_ns(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 10**9 + t.microsecond * 1000


# The hand-written weekly calendars used before the exchange calendars (algospace.data.calendars):
# no holidays, no early closes. Kept as the baseline of benchmarks/calendar_bars.py and of the
# calendar-change differences listed in docs/data.md.
WEEKLY_CME_GLOBEX = SessionCalendar(
    name="cme-globex-weekly",
    timezone="America/Chicago",
    open=dt.time(17, 0),
    close=dt.time(16, 0),
    description="CME Globex equity futures: 17:00 (previous day) to 16:00 America/Chicago, Mon-Fri trade dates; 16:00-17:00 daily halt.",
)
WEEKLY_NYSE_RTH = SessionCalendar(
    name="nyse-rth-weekly",
    timezone="America/New_York",
    open=dt.time(9, 30),
    close=dt.time(16, 0),
    description="NYSE regular trading hours: 09:30 to 16:00 America/New_York, Mon-Fri.",
)

_MOVED = ("get_calendar", "CALENDARS", "CME_GLOBEX", "NYSE_RTH", "UTC_24H")


def __getattr__(name: str) -> object:
    # The instruments' calendars moved to algospace.data.calendars; old imports keep working.
    if name in _MOVED:
        from algospace.data import calendars

        return getattr(calendars, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SessionCalendar", "WEEKLY_CME_GLOBEX", "WEEKLY_NYSE_RTH"]
