"""Benchmark: batch indicators, matrix assemblers and the synergy detector on the full bundled
SPY sample (2017-2019, 5- and 30-minute bars), against the bar-by-bar (incremental) loop
measured in the same process.

Run: .venv/bin/python benchmarks/bench_indicators.py [--write-docs]   (a few minutes on one core)

Columns: bars; batch = one vectorised call over all bars (ms); loop = the straightforward
per-bar loop (the incremental class fed every bar) in ms; speedup = loop / batch; p50/p99 =
latency of one incremental update (us), i.e. the cost per new bar in a live system (measured
after gc.freeze() of the harness's data, see `_quiet_gc`).

Also counts synergy events on the full sample for the defaults and a grid of looser settings
(FVG `min_gap` x detector `window`), all set through `SynergyParams`. `--write-docs` writes
the timing table into the "## Indicators, matrices, synergy" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import re
import subprocess
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from algospace.data import heikin_ashi, make_bars, sample
from algospace.features.indicators import ATR, FVG, LVN, MLMI, NWRQK, RSI, atr, fvg, lvn, mlmi, nwrqk, rsi
from algospace.features.matrices import Matrix5mAssembler, Matrix30mAssembler, features_5m, features_30m
from algospace.features.synergy import SynergyDetector, SynergyParams, detect_synergies

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "## Indicators, matrices, synergy"


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


def _synergy_counts(b5: pd.DataFrame, b30: pd.DataFrame) -> list[tuple[float, int, int, int]]:
    """(min_gap, window, cooldown, events) for the defaults and looser settings, via SynergyParams."""
    out = []
    for min_gap in (0.001, 0.0005, 0.0):
        for window in (10, 20, 30):
            p = SynergyParams(window=window, m5={"fvg": {"min_gap": min_gap}})
            out.append((min_gap, window, p.cooldown, len(detect_synergies(b5, b30, p))))
    return out


def _write_docs(table: list[str], note: str) -> None:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if ln.startswith("Model name")),
        platform.processor(),
    )
    section = (
        f"{SECTION}\n\n"
        f"`benchmarks/bench_indicators.py`, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu}, {os.cpu_count()} cores "
        f"(shared; load average {os.getloadavg()[0]:.1f} at the end), numpy {np.__version__}, pandas {pd.__version__}.\n"
        "Full bundled SPY sample. batch = best of 3 vectorised calls; loop = the straightforward per-bar loop (the "
        "incremental class fed every bar) in the same process; speedup = loop / batch; p50 / p99 = latency of one "
        "incremental update after `gc.freeze()` of the harness's data (single p99 values are noisy on a shared machine).\n\n"
        + "\n".join(table)
        + f"\n\n{note}\n"
    )
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(SECTION) + r"\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n", text)
    else:  # new section right after the feature engine's, else at the end
        after = re.search(r"## Feature engine\n.*?(?=\n## |\Z)", text, re.S)
        at = after.end() if after else len(text.rstrip("\n"))
        text = text[:at].rstrip("\n") + "\n\n" + section + text[at:]
    DOCS.write_text(text if text.endswith("\n") else text + "\n")
    print(f"written to {DOCS}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-docs", action="store_true", help="Write the timing table into docs/benchmarks.md.")
    args = ap.parse_args()
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
    md = ["| what | bars | tf | batch ms | loop ms | speedup | p50 us | p99 us |", "|---|---:|---|---:|---:|---:|---:|---:|"]

    def emit(name: str, n: int, tf: str, b_ms: float, l_ms: float, p50: float, p99: float) -> None:
        print(f"{name:<18}{n:>8}{tf:>8}{b_ms:>11.1f}{l_ms:>11.1f}{l_ms / b_ms:>9.1f}{p50:>9.1f}{p99:>9.1f}")
        md.append(f"| {name} | {n} | {tf} | {b_ms:.1f} | {l_ms:.1f} | {l_ms / b_ms:.1f} | {p50:.1f} | {p99:.1f} |")

    for name, tf, bars, rows, batch, cls in cases:
        b_ms = _batch_ms(lambda: batch(bars))
        l_ms, p50, p99 = _loop(cls, rows)
        emit(name, len(bars), tf, b_ms, l_ms, p50, p99)

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
    emit("synergy detector", len(b5), "5m+30m", b_ms, l_ms, float(np.percentile(lat, 50) / 1e3), float(np.percentile(lat, 99) / 1e3))
    print(f"\nsynergy events on the full sample (defaults): {n_events}")

    gc.unfreeze()
    counts = _synergy_counts(b5, b30)
    print("\nsynergy events, full sample (SynergyParams(window=W, m5={'fvg': {'min_gap': G}}), cooldown 5, FVG mitigation):")
    print("| min_gap | window | cooldown | events |\n|---:|---:|---:|---:|")
    for g, w, cd, n in counts:
        print(f"| {g:g} | {w} | {cd} | {n} |")
    if args.write_docs:
        _write_docs(md, f"Synergy events with the defaults: streaming {n_events}, batch {counts[0][3]}.")


if __name__ == "__main__":
    main()
