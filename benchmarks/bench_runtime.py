"""Runtime speed with every model on: the cost of one new 30-minute bar stage by stage (target:
p99 <= 10 ms on CPU for features + RDE + core with 50 MC passes + M-RMS), and a whole backtest
of the bundled sample (target <= 2 minutes on 2 cores) at 1x and 2x history (cost linear in bars).

    .venv/bin/python benchmarks/bench_runtime.py --models runs/demo/models [--quick] [--runtime-items 20000]

Stage latencies are measured on the runtime's own objects over the sample's bars, as the
runtime runs them when a 30-minute bar closes: the synergy detector on the 5- and 30-minute bars
(their raw indicator rows, computed once), the RDE feature stream, the core's matrices scaled
from the detector's rows, the RDE's regime vector, the core's decision (one batched MC pass),
the M-RMS proposal and the gate. "all stages" is their sum per 30-minute bar (the worst case: a
signal on every bar). In the same loop, the path before the rows were shared (the core's
streams computing every indicator again) is timed and checked equal: the ratio line.
`--runtime-items N` also times the real `Runtime.process` on the items that close a 30-minute bar.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sim import doubled  # noqa: E402  (the sample followed by itself, same weekdays and times)

from algospace.data import get_instrument, sample  # noqa: E402
from algospace.engines.mrms import TradeQualification  # noqa: E402
from algospace.engines.risk_vector import risk_vector  # noqa: E402
from algospace.features.core_inputs import CoreInputStream  # noqa: E402
from algospace.features.synergy import SynergyDetector  # noqa: E402
from algospace.runtime.deciders import ModelDecider  # noqa: E402
from algospace.runtime.models import ModelSet  # noqa: E402
from algospace.runtime.runner import Runtime, RuntimeConfig  # noqa: E402
from algospace.runtime.sources import ReplaySource  # noqa: E402
from algospace.sim import Market, PropFirmAccount  # noqa: E402


def pct(x: list[float]) -> tuple[float, float]:
    a = np.asarray(x) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


STAGES = ("5-minute bar: detector rows", "30-minute bar: detector rows", "RDE feature stream", "core inputs (shared rows)",
          "RDE vector", "core decide (50 MC)", "M-RMS proposal", "gate", "all stages")


def stage_latencies(models: ModelSet, bars_30m: pd.DataFrame, bars_5m: pd.DataFrame, n: int) -> dict[str, list[float]]:
    """What the runtime does when a 30-minute bar closes (signal stage, `ModelDecider`), timed
    stage by stage on the runtime's own objects: the 5-minute bar closing at the same time and
    the 30-minute bar go through the synergy detector (their raw indicator rows, computed once),
    the RDE feature stream, and the core's matrices scaled from the detector's rows
    (`CoreInputStream.push_*`); then the decision as if a signal came (RDE window, core, M-RMS,
    gate). "all stages" is their sum: the worst case, a signal on every 30-minute bar.

    The same loop also feeds a `CoreInputStream` the bars themselves (the path before the rows
    were shared, computing every indicator a second time), checks it gives the same matrices, and
    times it as "core inputs (own rows, old)"."""
    es = get_instrument("ES")
    detector = SynergyDetector()
    p30, p5 = detector.params.m30, detector.params.m5
    spec_stream = models.rde.feature_spec.stream()
    inputs, old = CoreInputStream(p30, p5), CoreInputStream(p30, p5)
    rows: list[np.ndarray] = []
    t: dict[str, list[float]] = {k: [] for k in (*STAGES, "core inputs (own rows, old)", "all stages, old path")}
    account = PropFirmAccount()
    by_close = {ts + pd.Timedelta(minutes=30): (ts, row) for ts, row in bars_30m.iterrows()}
    clock = time.perf_counter
    done = 0
    for ts5, row5 in bars_5m.iterrows():
        bar5 = {"timestamp": ts5, **row5.to_dict()}
        close5 = ts5 + pd.Timedelta(minutes=5)
        a0 = clock()
        detector.update_5m(bar5)
        inputs.push_5m(detector.last_raw5, p5)
        a1 = clock()
        old.update_5m(bar5)
        a2 = clock()
        if close5 not in by_close:
            continue
        ts, row = by_close[close5]
        bar = {"timestamp": ts, **row.to_dict()}
        t0 = clock()
        detector.update_30m(bar)
        t1 = clock()
        f = spec_stream.update_values(ts, np.array([bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"]]))
        t2 = clock()  # (ModelDecider's call: the numpy entry, no pandas Series per bar)
        inputs.push_30m(detector.last_raw30, p30)
        t3 = clock()
        old.update_30m(bar)
        t4 = clock()
        if f is not None:
            rows.append(f.astype(np.float32))
        cur, was = inputs.current(), old.current()
        assert (cur is None) == (was is None) and (cur is None or all(np.array_equal(a, b) for a, b in zip(cur, was)))
        if cur is None or len(rows) < models.rde.window:
            continue
        t5 = clock()
        vec = models.rde.get_regime_vector(np.stack(rows[-models.rde.window:]))
        t6 = clock()
        syn = np.zeros(30, np.float32)
        models.core.decide(cur[0], cur[1], vec, cur[2], syn)
        t7 = clock()
        atr = float(bar["high"] - bar["low"]) or es.tick_size
        p = models.mrms.generate_risk_proposal(TradeQualification(syn, account, float(bar["close"]), "LONG", atr, "ES"))
        t8 = clock()
        models.core.gate(risk_vector(p, atr, es.tick_size, account.room().usd, 5))
        t9 = clock()
        parts = (a1 - a0, t1 - t0, t2 - t1, t3 - t2, t6 - t5, t7 - t6, t8 - t7, t9 - t8)
        for k, v in zip(STAGES, parts):
            t[k].append(v)
        t["all stages"].append(sum(parts))
        t["core inputs (own rows, old)"].append((a2 - a1) + (t4 - t3))
        # before: the core's streams computed their own rows beside the detector's
        t["all stages, old path"].append(sum(parts) + (a2 - a1) + (t4 - t3))
        done += 1
        if done >= n:
            break
    return t


def runtime_item_latency(models: ModelSet, frame: pd.DataFrame) -> tuple[list[float], list[float]]:
    """The real `Runtime.process` time of each 1-minute item that closes a 30-minute bar (every
    stage the runtime runs on it: bars, detector, RDE features, core inputs and, where a signal
    comes, the models): (all such items, those that also made a decision)."""
    from algospace.runtime.events import BarClosed, DecisionMade
    from algospace.runtime.sources import frame_items

    rt = Runtime(get_instrument("SPY"), lambda bus, inst: ModelDecider(bus, models, inst), RuntimeConfig())
    seen: list[object] = []
    rt.bus.subscribe(BarClosed, lambda b: seen.append(b.minutes))
    rt.bus.subscribe(DecisionMade, lambda d: seen.append("decision"))
    closes, decided = [], []
    for item in frame_items(rt.bars.convert(frame)):
        seen.clear()
        t0 = time.perf_counter()
        rt.process(item)
        dt = time.perf_counter() - t0
        if 30 in seen:
            closes.append(dt)
            if "decision" in seen:
                decided.append(dt)
    return closes, decided


def backtest_seconds(models: ModelSet, frame: pd.DataFrame) -> tuple[float, int]:
    rt = Runtime(get_instrument("SPY"), lambda bus, inst: ModelDecider(bus, models, inst), RuntimeConfig())
    t0 = time.perf_counter()
    rt.run(ReplaySource(frame), end_of_data=True)
    return time.perf_counter() - t0, len(rt.recorder.trades)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="runs/demo/models")
    ap.add_argument("--quick", action="store_true", help="a quarter of the sample, no 2x run")
    ap.add_argument("--bars", type=int, default=2000, help="30-minute bars timed per stage")
    ap.add_argument("--rde-backend", default="torch", help="the RDE engine's backend (torch, torch-aoti, onnxruntime, onnxruntime-int8, torch-eager)")
    ap.add_argument("--no-backtest", action="store_true", help="stage latencies only")
    ap.add_argument("--runtime-items", type=int, default=0, help="also time Runtime.process on this many 1-minute items")
    args = ap.parse_args()
    __import__("torch").set_num_threads(1)  # what `algospace run/backtest` use (single windows)
    models = ModelSet.load(args.models, device="cpu", rde_backend=args.rde_backend)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads "
          f"{__import__('torch').get_num_threads()}, {time.strftime('%Y-%m-%d')}")
    m1 = sample("spy-1m")
    if args.quick:
        m1 = m1.iloc[: len(m1) // 4]
    market = Market.load(m1, "ES")
    raw = stage_latencies(models, market.bars_30m, market.bars_5m, args.bars)
    lat = {k: pct(v) for k, v in raw.items() if v}
    print(f"\none new 30-minute bar ({len(raw['all stages'])} bars, ms)\n{'stage':<34}{'p50':>9}{'p99':>9}")
    for k, (p50, p99) in lat.items():
        print(f"{k:<34}{p50:>9.3f}{p99:>9.3f}")
    new_all, old_all = np.asarray(raw["all stages"]), np.asarray(raw["all stages, old path"])
    print(f"shared rows vs own rows (same bars, same process): all stages p50 ratio "
          f"{np.median(new_all) / np.median(old_all):.3f}, p99 ratio {np.percentile(new_all, 99) / np.percentile(old_all, 99):.3f}")
    print(f"RDE backend {models.rde.backend}; target: all stages p99 <= 10 ms -> {'met' if lat['all stages'][1] <= 10 else 'MISSED'}")
    if args.runtime_items:
        closes, decided = runtime_item_latency(models, m1.iloc[: args.runtime_items])
        (c50, c99), (d50, d99) = pct(closes), pct(decided or [float("nan")])
        print(f"Runtime.process, real, items closing a 30-minute bar: {len(closes)} items p50 {c50:.3f} p99 {c99:.3f} ms; "
              f"of those with a decision ({len(decided)}): p50 {d50:.3f} p99 {d99:.3f} ms")
    if args.no_backtest:
        return
    s1, n1 = backtest_seconds(models, m1)
    print(f"\nbacktest, every model: 1x {len(m1):,} 1-minute bars: {s1:.1f} s, {n1} trades "
          f"({'met' if s1 <= 120 else 'MISSED'} <= 120 s)")
    if not args.quick:
        s2, n2 = backtest_seconds(models, doubled(m1))
        print(f"backtest 2x {2 * len(m1):,} bars: {s2:.1f} s, {n2} trades; ratio 2x/1x = {s2 / s1:.2f} (linear: 2.0)")


if __name__ == "__main__":
    main()
