"""Runtime speed with every model on: the cost of one new 30-minute bar stage by stage (target:
p99 <= 10 ms on CPU for features + RDE + core with 50 MC passes + M-RMS), and a whole backtest
of the bundled sample (target <= 2 minutes on 2 cores) at 1x and 2x history (cost linear in bars).

    .venv/bin/python benchmarks/bench_runtime.py --models runs/demo/models [--quick]

Stage latencies are measured on the real pipeline's own objects over the sample's bars: the
RDE feature stream, the RDE's regime vector, the core's input streams, the core's decision (one
batched MC pass), the M-RMS proposal and the gate. "all stages" is their sum per 30-minute bar
(the worst case: a signal on every bar), timed as one block.
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
from algospace.runtime.deciders import ModelDecider  # noqa: E402
from algospace.runtime.models import ModelSet  # noqa: E402
from algospace.runtime.runner import Runtime, RuntimeConfig  # noqa: E402
from algospace.runtime.sources import ReplaySource  # noqa: E402
from algospace.sim import Market, PropFirmAccount  # noqa: E402


def pct(x: list[float]) -> tuple[float, float]:
    a = np.asarray(x) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def stage_latencies(models: ModelSet, bars_30m: pd.DataFrame, bars_5m: pd.DataFrame, n: int) -> dict[str, tuple[float, float]]:
    es = get_instrument("ES")
    spec_stream = models.rde.feature_spec.stream()
    inputs = CoreInputStream()
    rows: list[np.ndarray] = []
    t = {k: [] for k in ("rde features", "core inputs", "RDE vector", "core decide (50 MC)", "M-RMS proposal", "gate", "all stages")}
    account = PropFirmAccount()
    by_close = {ts + pd.Timedelta(minutes=30): (ts, row) for ts, row in bars_30m.iterrows()}
    five = list(bars_5m.iterrows())
    done = 0
    for ts5, row5 in five:
        if ts5 in by_close:
            ts, row = by_close[ts5]
            bar = {"timestamp": ts, **row.to_dict()}
            t0 = time.perf_counter()
            f = spec_stream.update(bar)
            t1 = time.perf_counter()
            inputs.update_30m(bar)
            t2 = time.perf_counter()
            t["rde features"].append(t1 - t0)
            t["core inputs"].append(t2 - t1)
            if f is not None:
                rows.append(f.to_numpy(np.float32))
            cur = inputs.current()
            if cur is not None and len(rows) >= models.rde.window and done < n:
                t3 = time.perf_counter()
                vec = models.rde.get_regime_vector(np.stack(rows[-models.rde.window:]))
                t4 = time.perf_counter()
                syn = np.zeros(30, np.float32)
                models.core.decide(cur[0], cur[1], vec, cur[2], syn)
                t5 = time.perf_counter()
                atr = float(bar["high"] - bar["low"]) or es.tick_size
                p = models.mrms.generate_risk_proposal(TradeQualification(syn, account, float(bar["close"]), "LONG", atr, "ES"))
                t6 = time.perf_counter()
                models.core.gate(risk_vector(p, atr, es.tick_size, account.room().usd, 5))
                t7 = time.perf_counter()
                t["RDE vector"].append(t4 - t3)
                t["core decide (50 MC)"].append(t5 - t4)
                t["M-RMS proposal"].append(t6 - t5)
                t["gate"].append(t7 - t6)
                t["all stages"].append((t2 - t0) + (t7 - t3))
                done += 1
        inputs.update_5m({"timestamp": ts5, **row5.to_dict()})
        if done >= n:
            break
    return {k: pct(v) for k, v in t.items() if v}


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
    ap.add_argument("--rde-backend", default="torch", help="the RDE engine's backend (torch, torch-aoti, onnxruntime, torch-eager)")
    ap.add_argument("--no-backtest", action="store_true", help="stage latencies only")
    args = ap.parse_args()
    __import__("torch").set_num_threads(1)  # what `algospace run/backtest` use (single windows)
    models = ModelSet.load(args.models, device="cpu", rde_backend=args.rde_backend)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads "
          f"{__import__('torch').get_num_threads()}, {time.strftime('%Y-%m-%d')}")
    m1 = sample("spy-1m")
    if args.quick:
        m1 = m1.iloc[: len(m1) // 4]
    market = Market.load(m1, "ES")
    lat = stage_latencies(models, market.bars_30m, market.bars_5m, args.bars)
    print(f"\none new 30-minute bar ({args.bars} bars, ms)\n{'stage':<22}{'p50':>9}{'p99':>9}")
    for k, (p50, p99) in lat.items():
        print(f"{k:<22}{p50:>9.3f}{p99:>9.3f}")
    print(f"RDE backend {models.rde.backend}; target: all stages p99 <= 10 ms -> {'met' if lat['all stages'][1] <= 10 else 'MISSED'}")
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
