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


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q))


def proposal_flops(c: MRMSConfig) -> int:
    """Multiply-adds x 2 of the three policy heads (the value head is not part of a proposal)."""
    macs = c.input_dim * (c.position_hidden1 + 2 * c.bounded_hidden1)
    macs += c.position_hidden1 * c.position_hidden2 + c.position_hidden2 * c.n_sizes
    macs += 2 * (c.bounded_hidden1 * c.bounded_hidden2 + c.bounded_hidden2)
    return 2 * macs


def sgemm_rate(size: int = 1024, reps: int = 20) -> float:
    a = np.random.rand(size, size).astype(np.float32)
    b = np.random.rand(size, size).astype(np.float32)
    return 2 * size**3 / statistics.median(timeit(lambda: a @ b, reps, warmup=3))


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
    print(f"\none proposal (validation, network, rules, placement), {args.calls} calls:")
    print(f"{'path':58s} {'p50 us':>8s} {'p99 us':>9s} {'vs eager':>9s}")
    e50 = pct(eager, 50)
    for name, t in rows:
        print(f"{name:58s} {pct(t, 50) * 1e6:8.1f} {pct(t, 99) * 1e6:9.1f} {pct(t, 50) / e50:8.2f}x")

    n = args.batch
    x = rng.normal(size=(n, 40)).astype(np.float32)
    x[:, 30:] = acct.vector()
    entry = np.round(rng.uniform(3000, 5000, n) * 4) / 4
    direction = rng.choice([-1, 1], n)
    atr = rng.uniform(1.0, 12.0, n)
    daily, mloss = np.full(n, 750.0), np.full(n, 1750.0)
    arrays = timeit(lambda: rm.propose_arrays(x, entry, direction, atr, "ES", daily, mloss), 5, warmup=1)
    net_only = timeit(lambda: rm.network(x), 5, warmup=1)
    qs = [{**q_vec, "synergy_vector": x[i, :30]} for i in range(20_000)]
    listed = timeit(lambda: rm.generate_risk_proposals(qs), 3, warmup=1)
    flops = proposal_flops(model.config)
    peak = sgemm_rate()
    limit = peak / flops
    print(f"\nbatched, {os.cpu_count()} cores: network FLOPs per proposal {flops:,}; sgemm {peak / 1e9:.1f} GFLOP/s -> "
          f"FLOP-limited rate {limit:,.0f} proposals/s")
    print(f"{'path':58s} {'rows':>8s} {'per s':>12s} {'vs FLOP limit':>14s}")
    for name, size, t in (("network heads only (NumPy, fused first layer)", n, net_only),
                          ("propose_arrays (network + rules + placement)", n, arrays),
                          ("generate_risk_proposals (dicts validated, RiskProposal objects)", len(qs), listed)):
        rate = size / statistics.median(t)
        print(f"{name:58s} {size:8,d} {rate:12,.0f} {rate / limit:13.1%}")


if __name__ == "__main__":
    main()
