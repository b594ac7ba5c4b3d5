"""Benchmark: batch indicators, matrix assemblers and the synergy detector on the full bundled
SPY sample (2017-2019, 5- and 30-minute bars), against the bar-by-bar (incremental) loop
measured in the same process.

Run: .venv/bin/python benchmarks/bench_indicators.py   (about a minute on one core)

Columns: bars; batch = one vectorised call over all bars (ms); loop = the straightforward
per-bar loop (the incremental class fed every bar) in ms; speedup = loop / batch; p50/p99 =
latency of one incremental update (us), i.e. the cost per new bar in a live system (measured
after gc.freeze() of the harness's data, see `_quiet_gc`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from algospace.data import heikin_ashi, make_bars, sample
from algospace.features.indicators import ATR, FVG, LVN, MLMI, NWRQK, RSI, atr, fvg, lvn, mlmi, nwrqk, rsi
from algospace.features.matrices import Matrix5mAssembler, Matrix30mAssembler, features_5m, features_30m
from algospace.features.synergy import SynergyDetector, detect_synergies


def _rows(bars: pd.DataFrame) -> list[dict[str, Any]]:
    """Bars as plain dicts (with timestamp), so the loop measures the indicator, not pandas row access."""
    recs = bars.to_dict("records")
    for ts, r in zip(bars.index, recs):
        r["timestamp"] = ts
    return recs


def _batch_ms(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def _quiet_gc() -> None:
    """Move the benchmark's own data (58k bar dicts) out of the collector's way, as a live
    process does with its long-lived state; otherwise full collections of the harness's objects
    dominate p99."""
    gc.collect()
    gc.freeze()


def _loop(make: Callable[[], Any], rows: list[dict[str, Any]], call: str = "update") -> tuple[float, float, float]:
    _quiet_gc()
    obj = make()
    f = getattr(obj, call)
    lat = np.empty(len(rows))
    t_all = time.perf_counter()
    for i, r in enumerate(rows):
        t0 = time.perf_counter_ns()
        f(r)
        lat[i] = time.perf_counter_ns() - t0
    total = (time.perf_counter() - t_all) * 1e3
    return total, float(np.percentile(lat, 50)) / 1e3, float(np.percentile(lat, 99)) / 1e3


def main() -> None:
    m1 = sample("spy-1m")
    b5, b30 = make_bars(m1, 5, "SPY"), make_bars(m1, 30, "SPY")
    ha30 = heikin_ashi(b30)
    r5, r30, rha = _rows(b5), _rows(b30), _rows(ha30)
    cases: list[tuple[str, str, pd.DataFrame, list[dict[str, Any]], Callable[..., Any], Callable[[], Any]]] = []
    for tf, bars, rows in (("5m", b5, r5), ("30m", b30, r30)):
        cases += [("ATR(14)", tf, bars, rows, atr, ATR), ("RSI(14)", tf, bars, rows, rsi, RSI)]
        cases += [("FVG", tf, bars, rows, fvg, FVG), ("LVN", tf, bars, rows, lvn, LVN)]
    for tf, bars, rows in (("5m", b5, r5), ("30m HA", ha30, rha)):
        cases += [("MLMI", tf, bars, rows, mlmi, MLMI), ("NW-RQK", tf, bars, rows, nwrqk, NWRQK)]
    cases += [
        ("matrix 30m 48x8", "30m", b30, r30, features_30m, Matrix30mAssembler),
        ("matrix 5m 60x7", "5m", b5, r5, features_5m, Matrix5mAssembler),
    ]
    header = f"{'what':<18}{'bars':>8}{'tf':>8}{'batch ms':>11}{'loop ms':>11}{'speedup':>9}{'p50 us':>9}{'p99 us':>9}"
    print(header)
    print("-" * len(header))
    for name, tf, bars, rows, batch, cls in cases:
        b_ms = _batch_ms(lambda: batch(bars))
        l_ms, p50, p99 = _loop(cls, rows)
        print(f"{name:<18}{len(bars):>8}{tf:>8}{b_ms:>11.1f}{l_ms:>11.1f}{l_ms / b_ms:>9.1f}{p50:>9.1f}{p99:>9.1f}")

    # Synergy detector: batch over both timeframes vs the streaming detector fed in time order.
    b_ms = _batch_ms(lambda: detect_synergies(b5, b30), repeat=1)
    _quiet_gc()
    det = SynergyDetector()
    close30 = (b30.index + pd.Timedelta(minutes=30)).asi8
    open5 = b5.index.asi8
    lat = np.empty(len(r5))
    j = 0
    n_events = 0
    t_all = time.perf_counter()
    for i, r in enumerate(r5):
        t0 = time.perf_counter_ns()
        while j < len(r30) and close30[j] <= open5[i]:
            det.update_30m(r30[j])
            j += 1
        n_events += det.update_5m(r) is not None
        lat[i] = time.perf_counter_ns() - t0
    l_ms = (time.perf_counter() - t_all) * 1e3
    p50, p99 = np.percentile(lat, 50) / 1e3, np.percentile(lat, 99) / 1e3
    print(f"{'synergy detector':<18}{len(b5):>8}{'5m+30m':>8}{b_ms:>11.1f}{l_ms:>11.1f}{l_ms / b_ms:>9.1f}{p50:>9.1f}{p99:>9.1f}")
    print(f"\nsynergy events on the full sample (defaults): {n_events}")


if __name__ == "__main__":
    main()
