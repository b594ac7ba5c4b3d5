"""M-RMS proposal benchmark: one proposal's latency, batched throughput vs the FLOP-limited rate.

Targets (issue 11): one proposal p50 <= 100 us on the CPU, validation included; batched
>= 300,000 proposals/s on 2 cores, with the ratio to the network's FLOP-limited rate.
Baselines run in the same process: eager PyTorch on one row (the network alone, no
validation, no rules) and the machine's sgemm FLOP/s (NumPy, the library the engine runs).

    .venv/bin/python benchmarks/bench_mrms.py [--calls 5000] [--batch 200000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

from bench_rde import timeit  # benchmarks/ is on sys.path when this script runs

from algospace.engines.mrms import RiskManager
from algospace.models.mrms import MRMSConfig, MRMSModel
from algospace.sim import PropFirmAccount


def cpu_timeit(fn, n: int, warmup: int = 50) -> list[float]:
    """Thread CPU time per call: the cost without the time spent waiting for a shared core."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.thread_time()
        fn()
        out.append(time.thread_time() - t)
    return out


def process_timeit(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.process_time()
        fn()
        out.append(time.process_time() - t)
    return out


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q))


def proposal_flops(c: MRMSConfig) -> int:
    """Multiply-adds x 2 of the three policy heads (the value head is not part of a proposal)."""
    macs = c.input_dim * (c.position_hidden1 + 2 * c.bounded_hidden1)
    macs += c.position_hidden1 * c.position_hidden2 + c.position_hidden2 * c.n_sizes
    macs += 2 * (c.bounded_hidden1 * c.bounded_hidden2 + c.bounded_hidden2)
    return 2 * macs


def sgemm_rate(size: int = 1024, reps: int = 20) -> tuple[float, float]:
    """FLOP/s of a large fp32 matmul in NumPy: (wall clock, per CPU-second x 2 cores)."""
    a = np.random.rand(size, size).astype(np.float32)
    b = np.random.rand(size, size).astype(np.float32)
    flops = 2 * size**3
    wall = flops / statistics.median(timeit(lambda: a @ b, reps, warmup=3))
    return wall, 2 * flops / statistics.median(process_timeit(lambda: a @ b, reps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=200_000)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = MRMSModel(MRMSConfig()).eval()
    rm = RiskManager(model)
    rng = np.random.default_rng(0)
    acct = PropFirmAccount()
    acct.record(-250.0, -0.5, day=1)
    base = {"synergy_vector": rng.normal(size=30).tolist(), "entry_price": 4500.25, "direction": "LONG", "atr": 6.0, "instrument": "ES"}
    q_acct = {**base, "account": acct}
    q_vec = {**base, "account": acct.vector()}
    rows = []

    x1 = torch.from_numpy(rng.normal(size=(1, 40)).astype(np.float32))
    with torch.inference_mode():
        eager = timeit(lambda: model(x1[:, :30], x1[:, 30:]), args.calls)
    rows.append(("eager PyTorch forward, 1 row (baseline: network only)", eager))
    rows.append(("generate_risk_proposal, 10-vector account", timeit(lambda: rm.generate_risk_proposal(q_vec), args.calls)))
    rows.append(("generate_risk_proposal, PropFirmAccount", timeit(lambda: rm.generate_risk_proposal(q_acct), args.calls)))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared, busy), torch {torch.__version__}, "
          f"numpy {np.__version__}; date {time.strftime('%Y-%m-%d')}")
    print(f"\none proposal (validation, network, rules, placement), {args.calls} calls; wall time, then thread CPU time:")
    print(f"{'path':58s} {'p50 us':>8s} {'p99 us':>9s} {'vs eager':>9s} {'CPU p50':>8s} {'CPU p99':>8s}")
    e50 = pct(eager, 50)
    cpu = {rows[0][0]: None}
    with torch.inference_mode():
        cpu[rows[0][0]] = cpu_timeit(lambda: model(x1[:, :30], x1[:, 30:]), args.calls)
    cpu[rows[1][0]] = cpu_timeit(lambda: rm.generate_risk_proposal(q_vec), args.calls)
    cpu[rows[2][0]] = cpu_timeit(lambda: rm.generate_risk_proposal(q_acct), args.calls)
    for name, t in rows:
        c = cpu[name]
        print(f"{name:58s} {pct(t, 50) * 1e6:8.1f} {pct(t, 99) * 1e6:9.1f} {pct(t, 50) / e50:8.2f}x "
              f"{pct(c, 50) * 1e6:8.1f} {pct(c, 99) * 1e6:8.1f}")

    n = args.batch
    x = rng.normal(size=(n, 40)).astype(np.float32)
    x[:, 30:] = acct.vector()
    entry = np.round(rng.uniform(3000, 5000, n) * 4) / 4
    direction = rng.choice([-1, 1], n)
    atr = rng.uniform(1.0, 12.0, n)
    daily, mloss = np.full(n, 750.0), np.full(n, 1750.0)
    arrays = timeit(lambda: rm.propose_arrays(x, entry, direction, atr, "ES", daily, mloss), 5, warmup=1)
    arrays_cpu = process_timeit(lambda: rm.propose_arrays(x, entry, direction, atr, "ES", daily, mloss), 5)
    net_only = timeit(lambda: rm.network(x), 5, warmup=1)
    net_cpu = process_timeit(lambda: rm.network(x), 5)
    qs = [{**q_vec, "synergy_vector": x[i, :30]} for i in range(20_000)]
    listed = timeit(lambda: rm.generate_risk_proposals(qs), 3, warmup=1)
    listed_cpu = process_timeit(lambda: rm.generate_risk_proposals(qs), 3)
    flops = proposal_flops(model.config)
    peak, peak_cpu = sgemm_rate()
    limit, limit_cpu = peak / flops, peak_cpu / flops
    print(f"\nbatched, {os.cpu_count()} cores: network FLOPs per proposal {flops:,}; sgemm {peak / 1e9:.1f} GFLOP/s wall, "
          f"{peak_cpu / 1e9:.1f} per 2 CPU-s -> FLOP-limited rate {limit:,.0f} (wall) / {limit_cpu:,.0f} (CPU) proposals/s")
    print(f"{'path':58s} {'rows':>8s} {'per s':>12s} {'vs limit':>9s} {'per CPU-s x2':>13s} {'vs limit':>9s}")
    for name, size, t, c in (("network heads only (NumPy, fused first layer)", n, net_only, net_cpu),
                             ("propose_arrays (network + rules + placement)", n, arrays, arrays_cpu),
                             ("generate_risk_proposals (dicts validated, RiskProposal objects)", len(qs), listed, listed_cpu)):
        rate = size / statistics.median(t)
        # process CPU time sums both cores' work: size / CPU-seconds x 2 is the rate on 2 idle cores
        rate_cpu = 2 * size / statistics.median(c)
        print(f"{name:58s} {size:8,d} {rate:12,.0f} {rate / limit:8.1%} {rate_cpu:13,.0f} {rate_cpu / limit_cpu:8.1%}")

if __name__ == "__main__":
    main()
