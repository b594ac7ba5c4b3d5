"""Market data: load and validate bars/ticks, build session-aligned time bars, Heikin-Ashi,
instrument specs, trading calendars, and the bundled real samples.

Example::

    from algospace.data import sample, make_bars, heikin_ashi
    bars30 = make_bars(sample("spy-1m"), 30, "SPY")
    bars30 = session_bars(sample("es-ticks"), 30)   # instrument from the data: ES
    ha = heikin_ashi(bars30)
"""

from algospace.data.aggregate import Bar, BarBuilder, Tick, bars_to_frame, make_bars
from algospace.data.bounds import DEFAULT_BOUNDS, Bounds
from algospace.data.bars import BARS_COLUMNS, RepairChange, RepairReport, validate_bars
from algospace.data.continuous_futures import Continuous, continuous
from algospace.data.heikin_ashi import HeikinAshi, heikin_ashi
from algospace.data.loaders import load_bars, load_ticks, validate_ticks
from algospace.data.instruments import BUILTIN_INSTRUMENTS, Instrument, get_instrument, list_instruments, resolve_instrument
from algospace.data.samples import SampleInfo, sample, samples
from algospace.data.session_bars import session_bars
from algospace.data.sources import load_data
from algospace.data.calendars import CALENDARS, CME_GLOBEX, FOREX, NYSE_RTH, UTC_24H, ExchangeCalendar, get_calendar
from algospace.data.sessions import SessionCalendar

__all__ = [
    "BARS_COLUMNS",
    "BUILTIN_INSTRUMENTS",
    "Bounds",
    "DEFAULT_BOUNDS",
    "CALENDARS",
    "CME_GLOBEX",
    "ExchangeCalendar",
    "FOREX",
    "NYSE_RTH",
    "UTC_24H",
    "Bar",
    "BarBuilder",
    "HeikinAshi",
    "Instrument",
    "RepairChange",
    "RepairReport",
    "SampleInfo",
    "SessionCalendar",
    "Tick",
    "bars_to_frame",
    "continuous",
    "Continuous",
    "get_calendar",
    "get_instrument",
    "heikin_ashi",
    "list_instruments",
    "load_bars",
    "load_data",
    "load_ticks",
    "make_bars",
    "resolve_instrument",
    "sample",
    "samples",
    "session_bars",
    "validate_bars",
    "validate_ticks",
]
