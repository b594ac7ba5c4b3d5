"""Bar building on the exchange calendars vs the old weekly calendars (same process, same data).

The exchange calendars (pandas_market_calendars schedules, cached per calendar and year) must
not make `make_bars` on the whole SPY sample noticeably slower. Each case runs REPEAT times;
p50 and p99 in milliseconds, and the ratio of p50s to the weekly-calendar baseline. "no caches"
forgets every schedule before each run (first use on a new machine, library already imported);
"disk cache only" forgets the in-memory ones (a new process on a machine that ran it before).

    .venv/bin/python benchmarks/bench_calendars.py
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from algospace.data import BarBuilder, Instrument, get_instrument, make_bars, sample
from algospace.data import calendars
from algospace.data.sessions import WEEKLY_CME_GLOBEX, WEEKLY_NYSE_RTH

REPEAT = 21


def _once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def _times(fn, repeat: int = REPEAT) -> tuple[float, float]:
    """(p50, p99) in milliseconds after one warm-up call."""
    fn()
    t = [_once(fn) for _ in range(repeat)]
    return float(np.percentile(t, 50)), float(np.percentile(t, 99))


def _clear(disk: bool) -> None:
    """Forget the in-memory schedules; with `disk`, also point the disk cache at a new folder."""
    calendars._segments.cache_clear()
    calendars._year_segments.cache_clear()
    calendars._schedule_year.cache_clear()
    if disk:
        os.environ["ALGOSPACE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-calendars-")


def main() -> None:
    spy, ticks = sample("spy-1m"), sample("es-ticks")
    spy_w = Instrument("SPY", 1.0, 0.01, WEEKLY_NYSE_RTH)  # type: ignore[arg-type]
    es_w = Instrument("ES", 50.0, 0.25, WEEKLY_CME_GLOBEX)  # type: ignore[arg-type]
    spy_x, es_x = get_instrument("SPY"), get_instrument("ES")

    def stream(inst: Instrument) -> None:
        b = BarBuilder(5, inst)
        for row in zip(ticks.index[:100_000], ticks["price"].to_numpy()[:100_000], ticks["volume"].to_numpy()[:100_000]):
            b.update(row)
        b.flush()

    def cold() -> None:  # as a process that never computed a schedule (the library is imported)
        _clear(disk=True)
        make_bars(spy, 30, spy_x)

    def new_process() -> None:  # as a new process of a machine that has run algospace before
        _clear(disk=False)
        make_bars(spy, 30, spy_x)

    cases = [
        ("make_bars spy 1m -> 30m", lambda: make_bars(spy, 30, spy_w), lambda: make_bars(spy, 30, spy_x)),
        ("make_bars spy 1m -> 30m, no caches", lambda: make_bars(spy, 30, spy_w), cold),
        ("make_bars spy 1m -> 30m, disk cache only", lambda: make_bars(spy, 30, spy_w), new_process),
        ("make_bars es ticks -> 5m", lambda: make_bars(ticks, 5, es_w), lambda: make_bars(ticks, 5, es_x)),
        ("BarBuilder 100k es ticks -> 5m", lambda: stream(es_w), lambda: stream(es_x)),
    ]
    print(f"{'case':40s} {'weekly p50':>10s} {'p99':>8s} {'exchange p50':>12s} {'p99':>8s} {'ratio p50':>9s}")
    os.environ["ALGOSPACE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-calendars-")
    for name, base, new in cases:
        rep = 5 if "BarBuilder" in name else REPEAT
        b50, b99 = _times(base, rep)
        n50, n99 = _times(new, rep)
        print(f"{name:40s} {b50:10.1f} {b99:8.1f} {n50:12.1f} {n99:8.1f} {n50 / b50:9.2f}")


if __name__ == "__main__":
    main()
