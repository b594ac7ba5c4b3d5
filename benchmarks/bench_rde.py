"""RDE inference benchmark: latency vs ONNX Runtime and the FLOP floor, throughput, memory.

Prints a table. Targets (issue 5): single window (T=48, B=1) p50 at or below ONNX Runtime's
and within 2x of the FLOP floor; batch (B=256, T=48) >= 70 % of the FLOP-limited rate;
resident memory growth <= 2 MB over 10,000 calls after warm-up.

    .venv/bin/python benchmarks/bench_rde.py [--artifact runs/demo/models/rde] [--calls 10000]

With --load (issue 10): single-window p50 and p99 of every backend, quiet and while one
busy-looping process per core competes for the same cores, under the engine's thread policy
(1 intra-op thread per window) and, as the baseline in the same process, with every core per
window (the behaviour before the policy). Target: loaded p99 <= 3x quiet p50 on the default
backend.

    .venv/bin/python benchmarks/bench_rde.py --load [--reps 300]

With --precision (issue 12): the lower-precision backends (torch-bf16: oneDNN in bfloat16;
onnxruntime-int8: ONNX Runtime dynamic int8 quantization) against fp32 (torch, onnxruntime) in
the same process, on a trained RDE and real SPY windows: single-window latency (interleaved),
the regime vectors' max / mean absolute difference from eager fp32 over every window of the
sample, and, with --models, every runtime decision (core confidence and initiate, M-RMS size,
gate, execute) of a backtest over the sample's last months, fp32 vs each backend.

    .venv/bin/python benchmarks/bench_rde.py --precision --artifact runs/demo/models/rde [--models runs/demo/models]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from algospace.artifacts import load_artifact
from algospace.config import ThreadPolicy
from algospace.engines.rde import RegimeDetectionEngine
from algospace.errors import InputError
from algospace.features import FeatureSpec
from algospace.models.rde import RDEConfig, RegimeVAE


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timeit(fn, n: int, warmup: int = 20, budget_s: float = float("inf")) -> list[float]:
    """`n` timed calls after `warmup` untimed ones; fewer if they take more than `budget_s` in all."""
    for _ in range(warmup):
        fn()
    out: list[float] = []
    end = time.perf_counter() + budget_s
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
        if t > end:
            break
    return out


def matmul_rate(size: int = 1024, reps: int = 30) -> float:
    """FLOP/s torch reaches on a large fp32 matmul on this machine (the achievable peak)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    times = timeit(lambda: torch.mm(a, b), reps, warmup=5)
    return 2 * size**3 / statistics.median(times)


def model_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one encode. Counted on the unfused path (grad enabled): the counter cannot see
    inside PyTorch's fused inference kernels, which do the same arithmetic."""
    with torch.enable_grad(), FlopCounterMode(display=False) as counter:
        model.regime_vector(x)
    return counter.get_total_flops()


def onnx_session(model: RegimeVAE, t: int, width: int):
    """A raw ONNX Runtime session on the model's weights: the graph and options the engine's
    onnxruntime backend builds (exported in memory, checked against PyTorch)."""
    from algospace.engines.onnx_backend import OnnxRuntimeBackend

    assert width == model.config.input_dim
    return OnnxRuntimeBackend(model, window=t)._session


BACKENDS = ("torch-eager", "torch", "torch-aoti", "onnxruntime")
SPEC = FeatureSpec.default()  # the engines read their input range (+-clip) from it; the weights need no fit


def build_engines(
    model: RegimeVAE, t: int, names: tuple[str, ...], threads: ThreadPolicy | None = None
) -> tuple[dict[str, RegimeDetectionEngine], dict[str, float]]:
    """One engine per backend on the same weights, set up as RegimeDetectionEngine.load does;
    with the build seconds of each. A backend that cannot be built here is skipped and said."""
    engines: dict[str, RegimeDetectionEngine] = {}
    build_seconds: dict[str, float] = {}
    for name in names:
        engine = RegimeDetectionEngine(model, None, SPEC, torch.device("cpu"), {"window": t})
        if threads is not None:
            engine.threads = threads
        start = time.perf_counter()
        try:
            if name == "torch":
                engine.use_torch_fast("onednn")
            elif name == "torch-aoti":
                engine.use_torch_fast("aoti")
            elif name == "onnxruntime":
                engine.use_onnxruntime()
            elif name == "onnxruntime-int8":
                engine.use_onnxruntime(precision="int8")
            elif name == "torch-bf16":
                engine.use_torch_fast("onednn", precision="bf16")
        except InputError as exc:  # e.g. no C++ compiler, torch too old for AOTI, no onnxruntime
            print(f"backend {name} skipped: {exc}")
            continue
        build_seconds[name] = time.perf_counter() - start
        engines[name] = engine
    return engines, build_seconds


def interleaved(
    calls: dict[str, object], reps: int, rounds: int = 10, budget_s: float = float("inf"), warmup: int = 5
) -> dict[str, list[float]]:
    """Time each call `reps` times in rounds whose order rotates, so drifting load on a shared
    machine hits all alike. The runtimes keep worker threads spinning for a while after a call;
    the pause before each block lets them go idle, so no block measures another's spin.
    `budget_s` bounds each block (under load one call can take a second)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            time.sleep(0.3)
            times[name] += timeit(calls[name], max(1, reps // rounds), warmup=warmup, budget_s=budget_s)
    return times


@contextmanager
def competing_load(processes: int) -> Iterator[list[subprocess.Popen]]:
    """`processes` CPU-bound busy loops (other Python processes) on this machine's cores for the
    duration of the block: the stand-in for a data feed, a broker API or another model."""
    # Each loop ends by itself when this process is gone (killed by a timeout, say): no orphan spins on.
    spin = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    for _ in range(200_000): pass\n"
    procs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(processes)]
    try:
        time.sleep(1.0)  # let them reach full speed
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def p50_p99(ts: list[float]) -> tuple[float, float]:
    return statistics.median(ts) * 1e3, float(np.percentile(ts, 99)) * 1e3


def load_table(args: argparse.Namespace, model: RegimeVAE) -> None:
    """Quiet vs loaded single-window latency of every backend, policy vs all cores per window."""
    from algospace.engines.threads import available_cores

    t, width = 48, model.config.input_dim
    cores = available_cores()
    window = np.random.default_rng(0).standard_normal((t, width)).astype(np.float32)
    policy = ThreadPolicy()  # the default: 1 thread per window, every core per batch
    before = ThreadPolicy(single=cores, batch=cores)  # each window on every core: the old behaviour
    names = tuple(args.backends.split(","))
    engines, _ = build_engines(model, t, names, policy)
    old, _ = build_engines(model, t, names, before)
    print(f"built {len(engines) + len(old)} engines", flush=True)
    calls = {f"{n}|policy": (lambda e=e: e.get_regime_vector(window)) for n, e in engines.items()}
    calls |= {f"{n}|all cores": (lambda e=e: e.get_regime_vector(window)) for n, e in old.items()}
    caller_threads = torch.get_num_threads()
    load_before = os.getloadavg()
    phases = {"quiet": interleaved(calls, args.reps, budget_s=2.0, warmup=2)}
    print("quiet phase done", flush=True)
    procs_list = sorted({int(n) for n in args.load_procs.split(",")}) if args.load_procs else sorted({1, cores})
    for n_procs in procs_list:
        with competing_load(n_procs) as procs:
            phases[f"{n_procs} busy"] = interleaved(calls, args.reps, budget_s=2.0, warmup=2)
            assert all(p.poll() is None for p in procs), "a competing process ended early"
        print(f"loaded phase ({n_procs} competing processes) done", flush=True)
    assert torch.get_num_threads() == caller_threads, "an engine call changed the caller's torch threads"
    print(f"machine: {platform.processor() or platform.machine()}, {cores} cores, torch {torch.__version__}; load average "
          f"before {load_before[0]:.2f} (other users' work on this shared machine, not ours); loaded: N busy-looping "
          f"processes; up to {args.reps} calls per backend and phase (fewer where 10 blocks of 2 s ran out)")
    head = f"{'single window (T=48, B=1), ms':34s} {'thr':>3s} " + " ".join(f"{ph + ' p50/p99':>20s}" for ph in phases)
    print(head + "   p99 loaded / quiet p50")
    for name in calls:
        backend, mode = name.split("|")
        n = policy.single if mode == "policy" else before.single
        stats = {ph: p50_p99(times[name]) for ph, times in phases.items()}
        cells = " ".join(f"{a:9.2f} /{b:9.2f}" for a, b in stats.values())
        ratios = ", ".join(f"{stats[ph][1] / stats['quiet'][0]:.1f}x" for ph in phases if ph != "quiet")
        print(f"{backend + ' (' + mode + ')':34s} {n:3d} {cells}   {ratios}")
    q50 = p50_p99(phases["quiet"]["torch|policy"])[0]
    for ph in (p for p in phases if p != "quiet"):
        l99 = p50_p99(phases[ph]["torch|policy"])[1]
        print(f"target: loaded p99 <= 3x quiet p50, default backend, {ph}: {'met' if l99 <= 3 * q50 else 'NOT MET'} "
              f"({l99 / q50:.1f}x)")


PRECISION_BACKENDS = ("torch", "onnxruntime", "torch-bf16", "onnxruntime-int8")  # fp32 first: the baselines


def runtime_decisions(models_dir: Path, backend: str, start: str) -> list[dict]:
    """Every DecisionMade of a backtest from `start` to the sample's end (one month of warm-up
    before it), with the RDE on `backend` and fresh core/M-RMS engines (same seeds)."""
    import pandas as pd

    from algospace.data import get_instrument, sample
    from algospace.runtime.deciders import ModelDecider
    from algospace.runtime.events import DecisionMade
    from algospace.runtime.models import ModelSet
    from algospace.runtime.runner import Runtime, RuntimeConfig
    from algospace.runtime.sources import ReplaySource

    models = ModelSet.load(models_dir, device="cpu", rde_backend=backend)
    bars = sample("spy-1m")
    t0 = pd.Timestamp(start, tz="UTC")
    bars = bars[bars.index >= t0 - pd.Timedelta(days=45)]
    rt = Runtime(get_instrument("SPY"), lambda bus, inst: ModelDecider(bus, models, inst), RuntimeConfig(trade_from=t0))
    out: list[dict] = []
    rt.bus.subscribe(DecisionMade, lambda d: out.append(d.to_dict()))
    rt.run(ReplaySource(bars), end_of_data=True)
    return out


def compare_decisions(base: list[dict], other: list[dict]) -> dict[str, float]:
    """How many decisions differ, field by field, and the largest confidence change."""
    assert len(base) == len(other), "the same signals reach the decider on every backend"
    size = lambda d: (d.get("proposal") or {}).get("position_size")  # noqa: E731
    conf = np.array([[a["confidence"], b["confidence"]] for a, b in zip(base, other)]) if base else np.zeros((0, 2))
    scored = np.array([not a["reason"].startswith(("warm-up", "skipped")) for a in base], dtype=bool)
    c = conf[scored]
    # any threshold a core could be given: the fp32 confidences' deciles (the trained one may be 0, taking all)
    grid = np.quantile(c[:, 0], np.linspace(0.1, 0.9, 9)) if len(c) else np.zeros(0)
    flips = max((int(((c[:, 0] >= g) != (c[:, 1] >= g)).sum()) for g in grid), default=0)
    return {
        "decisions": len(base), "scored by the core": int(scored.sum()),
        "initiate differs": sum(a["initiate"] != b["initiate"] for a, b in zip(base, other)),
        "M-RMS size differs": sum(size(a) != size(b) for a, b in zip(base, other)),
        "execute differs": sum(a["execute"] != b["execute"] for a, b in zip(base, other)),
        "max |confidence change|": round(float(np.abs(c[:, 0] - c[:, 1]).max()), 5) if len(c) else 0.0,
        "most initiate flips at a decile threshold": flips,
    }


def precision_table(args: argparse.Namespace) -> None:
    """Latency and accuracy of the lower-precision backends against fp32, same process, real windows."""
    from algospace.data import sample

    if args.artifact is None:
        raise SystemExit("--precision needs --artifact (a trained RDE: accuracy is measured on its real regime vectors)")
    torch.set_num_threads(1)  # what the runtime uses for single windows
    rde = RegimeDetectionEngine.load(args.artifact, device="cpu", backend="torch-eager")
    t = rde.window
    feats = rde.features(sample("spy-1m")).to_numpy(np.float32)  # every 30-minute bar of the sample (fitted spec)
    windows = window_view_np(feats, t, args.stride)
    engines, build = build_engines(rde.model, t, PRECISION_BACKENDS, ThreadPolicy())
    for e in engines.values():
        e.feature_spec = rde.feature_spec
    reference = rde.get_regime_vectors(windows)  # eager fp32
    spread = float(reference.std(axis=0).mean())
    one = windows[len(windows) // 2]
    calls = {n: (lambda e=e: e.get_regime_vector(one)) for n, e in engines.items()}
    times = interleaved(calls, args.reps, rounds=20, budget_s=3.0)
    base50 = statistics.median(times["torch"])
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread per window; "
          f"load average {os.getloadavg()[0]:.1f} (shared machine: read the ratios)")
    print(f"{len(windows):,} real SPY windows (T={t}, every {args.stride} bars of the sample); regime vectors' mean per-dimension std {spread:.3f}")
    print(f"{'backend':18s} {'p50 ms':>8s} {'p99 ms':>8s} {'min ms':>8s} {'p50/torch':>10s} {'min/torch':>10s} "
          f"{'max|diff|':>10s} {'mean|diff|':>10s} {'load check':>10s} {'build s':>8s}")
    base_min = min(times["torch"])
    for name, e in engines.items():
        ts = times[name]
        got = e.get_regime_vectors(windows)
        d = np.abs(got - reference)
        print(f"{name:18s} {statistics.median(ts) * 1e3:8.3f} {np.percentile(ts, 99) * 1e3:8.3f} {min(ts) * 1e3:8.3f} "
              f"{statistics.median(ts) / base50:10.2f} {min(ts) / base_min:10.2f} {d.max():10.2e} {d.mean():10.2e} "
              f"{e._runner.max_abs_diff:10.1e} {build[name]:8.2f}")
    if args.models is None:
        return
    print(f"\nruntime decisions from {args.since} to the sample's end, fp32 (torch) vs each backend:")
    base = runtime_decisions(args.models, "torch", args.since)
    for name in [n for n in engines if n != "torch"]:
        print(f"  {name:18s} {compare_decisions(base, runtime_decisions(args.models, name, args.since))}")


def window_view_np(values: np.ndarray, t: int, stride: int = 1) -> np.ndarray:
    """Every `stride`-th window of `t` consecutive rows, (N, t, F) contiguous."""
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, t, axis=0).transpose(0, 2, 1)[::stride])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--artifact", type=Path, default=None, help="Trained RDE artifact (default: untrained reference config).")
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--device", default="cpu", help="cpu (default, the full table) or cuda (GPU latency and throughput only).")
    ap.add_argument("--load", action="store_true", help="Quiet vs loaded single-window latency of every backend (issue 10).")
    ap.add_argument("--backends", default=",".join(BACKENDS), help="With --load: the backends to time (comma-separated).")
    ap.add_argument("--load-procs", default="", help="With --load: competing process counts, e.g. 1,2 (default: 1 and one per core).")
    ap.add_argument("--precision", action="store_true", help="bf16 / int8 backends vs fp32: latency, accuracy, decisions (issue 12).")
    ap.add_argument("--models", type=Path, default=None, help="With --precision: a models directory for the decision comparison.")
    ap.add_argument("--stride", type=int, default=3, help="With --precision: every n-th window of the sample for accuracy.")
    ap.add_argument("--since", default="2019-07-01", help="With --models: first trading day of the compared backtest.")
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.precision:
        precision_table(args)
        return
    if args.device != "cpu":
        gpu_table(args)
        return
    if args.artifact:
        model, _ = load_artifact(args.artifact, device="cpu", kind="rde")
    else:
        model = RegimeVAE(RDEConfig()).eval()
    if args.load:
        load_table(args, model)
        return
    width, t = model.config.input_dim, 48
    window = np.random.default_rng(0).standard_normal((t, width)).astype(np.float32)
    batch = np.random.default_rng(1).standard_normal((256, t, width)).astype(np.float32)

    rate = matmul_rate()
    flops1 = model_flops(model, torch.from_numpy(window[None]))
    flops256 = model_flops(model, torch.from_numpy(batch))
    floor1 = flops1 / rate

    engines, build_seconds = build_engines(model, t, BACKENDS)
    sess = onnx_session(model, t, width)
    calls = {f"engine, backend={n}": (lambda e=e: e.get_regime_vector(window)) for n, e in engines.items()}
    calls["ONNX Runtime, raw session"] = lambda: sess.run(None, {"x": window[None]})
    times = interleaved(calls, args.reps)
    eager_vector = engines["torch-eager"].get_regime_vector(window)
    diffs = {n: float(np.abs(e.get_regime_vector(window) - eager_vector).max()) for n, e in engines.items()}
    engine = engines["torch"]
    eager_batch_times = timeit(lambda: engines["torch-eager"].get_regime_vectors(batch), 10, warmup=2)
    batch_times = timeit(lambda: engine.get_regime_vectors(batch), 10, warmup=2)

    gc.collect()
    for _ in range(200):
        engine.get_regime_vector(window)
    before = rss_mb()
    for _ in range(args.calls):
        engine.get_regime_vector(window)
    gc.collect()
    growth = rss_mb() - before

    o50 = statistics.median(times["ONNX Runtime, raw session"]) * 1e3
    f50 = floor1 * 1e3
    b_med = statistics.median(batch_times)
    achieved = flops256 / b_med
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"matmul rate (1024^3 fp32): {rate / 1e9:.1f} GFLOP/s; model FLOPs at T=48: {flops1 / 1e6:.1f} M per window; "
          f"FLOP floor {f50:.3f} ms")
    print(f"{'single window (T=48, B=1)':44s} {'p50':>9s} {'p99':>9s} {'/ORT':>7s} {'/floor':>7s} {'build':>8s} {'|diff|':>9s}")
    for name, ts in times.items():
        p50, p99 = statistics.median(ts) * 1e3, float(np.percentile(ts, 99)) * 1e3
        backend = name.removeprefix("engine, backend=")
        extra = f"{build_seconds[backend]:7.2f}s {diffs[backend]:9.1e}" if backend in engines else f"{'':>8s} {'':>9s}"
        print(f"{name:44s} {p50:7.3f}ms {p99:7.3f}ms {p50 / o50:6.2f}x {p50 / f50:6.2f}x {extra}")
    eager_share = flops256 / statistics.median(eager_batch_times) / rate
    print(f"{'batch 256 x 48, backend=torch-eager':44s} {statistics.median(eager_batch_times) * 1e3:7.1f}ms "
          f"{eager_share * 100:5.1f} % of the FLOP-limited rate")
    print(f"{'batch 256 x 48, backend=torch':44s} {b_med * 1e3:7.1f}ms {achieved / rate * 100:5.1f} % of the FLOP-limited rate"
          " (target >= 70 %)")
    print(f"{'RSS growth over ' + str(args.calls) + ' calls (backend=torch)':44s} {growth:10.2f}MB   (target <= 2 MB)")
    p50_of = {n: statistics.median(times[f"engine, backend={n}"]) * 1e3 for n in engines}
    verdicts = {}
    for name in [n for n in ("torch", "torch-aoti", "onnxruntime") if n in p50_of]:
        verdicts[f"single window p50 <= ONNX Runtime (backend={name})"] = p50_of[name] <= o50
        verdicts[f"single window p50 <= 2x FLOP floor (backend={name})"] = p50_of[name] <= 2 * f50
    verdicts["batch >= 70 % of FLOP-limited rate"] = achieved / rate >= 0.70
    verdicts["RSS growth <= 2 MB"] = growth <= 2.0
    for name, ok in verdicts.items():
        print(f"{'target: ' + name:52s} {'met' if ok else 'NOT MET'}")


def gpu_table(args: argparse.Namespace) -> None:
    """GPU numbers: single-window latency and batch throughput of the engine on `args.device`."""
    if not torch.cuda.is_available():
        print(f"no CUDA device: nothing measured for --device {args.device}")
        return
    model = RegimeVAE(RDEConfig()).eval()
    cpu = RegimeDetectionEngine(model, None, SPEC, torch.device("cpu"))
    gpu = RegimeDetectionEngine(RegimeVAE(RDEConfig()).eval(), None, SPEC, torch.device(args.device))
    gpu.model.load_state_dict(model.state_dict())
    gpu.model.to(args.device)
    window = np.random.default_rng(0).standard_normal((48, 155)).astype(np.float32)
    batch = np.random.default_rng(1).standard_normal((256, 48, 155)).astype(np.float32)
    diff = np.abs(cpu.get_regime_vectors(batch) - gpu.get_regime_vectors(batch)).max()
    single = timeit(lambda: gpu.get_regime_vector(window), args.reps)
    graphed = gpu.use_cuda_graph()  # what RegimeDetectionEngine.load does on a CUDA device
    single_graph = timeit(lambda: gpu.get_regime_vector(window), args.reps) if graphed else []
    graph_diff = np.abs(gpu.get_regime_vector(window) - cpu.get_regime_vector(window)).max()
    batched = timeit(lambda: gpu.get_regime_vectors(batch), 20, warmup=3)
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print(f"single window p50 {statistics.median(single) * 1e3:.3f} ms, p99 {float(np.percentile(single, 99)) * 1e3:.3f} ms (eager)")
    if single_graph:
        s50 = statistics.median(single_graph)
        print(f"single window p50 {s50 * 1e3:.3f} ms, p99 {float(np.percentile(single_graph, 99)) * 1e3:.3f} ms "
              f"(CUDA graph, {statistics.median(single) / s50:.1f}x faster; |graph - cpu| {graph_diff:.2e})")
    else:
        print("CUDA graph capture failed: see the warning above")
    print(f"batch 256 x 48: {statistics.median(batched) * 1e3:.2f} ms ({256 / statistics.median(batched):,.0f} windows/s)")
    big = np.random.default_rng(2).standard_normal((4096, 48, 155)).astype(np.float32)
    big_t = statistics.median(timeit(lambda: gpu.get_regime_vectors(big), 10, warmup=2))
    print(f"batch 4096 x 48: {big_t * 1e3:.2f} ms ({4096 / big_t:,.0f} windows/s, host-to-device copy included)")
    print(f"max |cuda - cpu| on regime vectors: {diff:.2e}")


if __name__ == "__main__":
    main()
