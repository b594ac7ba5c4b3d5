"""Single-window latency of each RDE pooling against the reference's mean, in one process (issue 14).

Same reference-size weights for every pooling (attention adds its Linear(256 -> 1)); each is
wrapped in the engine's default CPU backend (`torch+onednn`, engines/torch_fast.py) and, with
--eager, the eager model. Calls are interleaved round by round, in a fresh random order each round, so
machine load hits every row alike. Prints p50 and p99 and the ratio to the mean pooling's p50 (the baseline).

    PYTHONPATH=src python benchmarks/bench_rde_pooling.py [--calls 2000] [--window 48] [--eager]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time

import numpy as np
import torch

from algospace.engines.torch_fast import fast_regime_vector
from algospace.models.rde import POOLINGS, RDEConfig, RegimeVAE


def train_step_times(runners: dict, steps: int, window: int, times: dict[str, list[float]]) -> None:
    """Interleaved training steps of the mean- and attention-pooled models (same batch, same target)."""
    from algospace.models.rde import elbo_terms

    x = torch.randn(64, window, 155)
    models = {p: runners[f"{p} (torch+onednn)"].model for p in ("mean", "attention")}
    opts = {p: torch.optim.AdamW(m.parameters(), lr=1e-6) for p, m in models.items()}
    for p in models:
        times[f"train step, {p}"] = []
        models[p].train()
    for i in range(steps + 2):
        for p, m in models.items():
            t = time.perf_counter()
            rec, kl, _ = elbo_terms(m, x)
            opts[p].zero_grad()
            (rec + 0.01 * kl).backward()
            opts[p].step()
            if i >= 2:  # two warm-up steps
                times[f"train step, {p}"].append(time.perf_counter() - t)
    for m in models.values():
        m.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--window", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (the engine uses 1 per single window)")
    ap.add_argument("--eager", action="store_true", help="also time the eager model of each pooling")
    ap.add_argument("--train-steps", type=int, default=0,
                    help="also time N training steps (batch 64, forward + backward + AdamW) per pooling: the demo's training cost")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    reference = RegimeVAE(RDEConfig()).eval()
    runners = {}
    for pooling in POOLINGS:
        model = RegimeVAE(dataclasses.replace(RDEConfig(), pooling=pooling)).eval()
        model.load_state_dict({**model.state_dict(), **reference.state_dict()})  # shared weights; attention keeps its score layer
        runners[f"{pooling} (torch+onednn)"] = fast_regime_vector(model, args.window, mode="onednn")
        if args.eager:
            def eager(x: np.ndarray, m: RegimeVAE = model) -> np.ndarray:
                with torch.inference_mode():
                    return m.regime_vector(torch.from_numpy(x)).numpy()
            runners[f"{pooling} (eager)"] = eager
    x = np.random.default_rng(0).standard_normal((1, args.window, 155)).astype(np.float32)
    times: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(20):  # warm-up
        for run in runners.values():
            run(x)
    rng = np.random.default_rng(1)
    names = list(runners)
    for _ in range(args.calls):
        for i in rng.permutation(len(names)):  # a fresh order each round: no row always runs first
            name = names[i]
            t = time.perf_counter()
            runners[name](x)
            times[name].append(time.perf_counter() - t)
    # The read-out alone on one encoded window: the reference's h.mean(1) vs model.pool(h), which the
    # fast path now calls (its dispatch is the only change the mean pooling's path gets).
    h = torch.randn(1, args.window, 256)
    readout = {"h.mean(1) (main's read-out)": lambda: h.mean(1)}
    readout.update({f"pool() {p}": (lambda m=runners[f"{p} (torch+onednn)"].model: m.pool(h)) for p in POOLINGS})
    for name, fn in readout.items():
        times[name] = []
    with torch.inference_mode():
        for _ in range(args.calls):
            for name, fn in readout.items():
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    if args.train_steps:
        train_step_times(runners, args.train_steps, args.window, times)
    base = float(np.percentile(times["mean (torch+onednn)"], 50))
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s), "
          f"T={args.window}, B=1, {args.calls} interleaved calls each")
    print(f"{'pooling (backend)':28s} {'p50 ms':>8s} {'p99 ms':>8s} {'p50 / mean':>10s}")
    for name, t in times.items():
        p50, p99 = np.percentile(t, 50), np.percentile(t, 99)
        print(f"{name:28s} {p50 * 1e3:8.3f} {p99 * 1e3:8.3f} {p50 / base:10.3f}")


if __name__ == "__main__":
    main()
