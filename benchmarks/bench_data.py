"""Data-layer speed: decode the SPY sample and build 30-minute bars (target: well under 2 s).

Prints a table; the baseline is a plain pandas `resample` of the same RTH minutes in the same
process (it ignores sessions, so it is a speed yardstick, not a correctness reference).

    .venv/bin/python benchmarks/bench_data.py
"""

from __future__ import annotations

import time


from algospace.data import BarBuilder, heikin_ashi, make_bars, sample
from algospace.data.samples import _decoded


def _time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    def cold() -> None:
        _decoded.cache_clear()
        make_bars(sample("spy-1m"), 30, "SPY")

    spy = sample("spy-1m")
    ticks = sample("es-ticks")

    def baseline() -> None:
        local = spy.tz_convert("America/New_York")
        local.resample("30min").agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna()

    def stream() -> None:
        b = BarBuilder(5, "ES")
        for row in zip(ticks.index, ticks["price"].to_numpy(), ticks["volume"].to_numpy()):
            b.update(row)
        b.flush()

    base = _time(baseline)
    rows = [
        ("sample('spy-1m') cold + make_bars 30m", _time(cold)),
        ("make_bars(spy 1m -> 30m)", _time(lambda: make_bars(spy, 30, "SPY"))),
        ("pandas resample 30m (baseline)", base),
        ("make_bars(es ticks -> 5m)", _time(lambda: make_bars(ticks, 5, "ES"))),
        ("heikin_ashi(spy 1m)", _time(lambda: heikin_ashi(spy))),
        ("BarBuilder stream es ticks -> 5m", _time(stream, 1)),
    ]
    print(f"{'case':42s} {'seconds':>9s} {'x baseline':>11s}")
    for name, sec in rows:
        print(f"{name:42s} {sec:9.3f} {sec / base:11.2f}")


if __name__ == "__main__":
    main()
