"""Feature-engine speed: the 155 regime features on the full bundled SPY sample.

Targets: full sample -> features <= 30 s on 2 cores; cost linear in bars (2x bars -> <= 2.2x
time); one incremental update <= 5 ms p99. The baseline is a straightforward loop in the same
process: for every bar, the MMD from full kernel matrices of the window and each reference
(textbook formula) plus the statistics recomputed on the bar's lookback slice. It is timed on
a subset of bars and compared per bar; its values are checked against the vectorised path.

    .venv/bin/python benchmarks/bench_features.py [--write-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from algospace.data import make_bars, sample
from algospace.features import FeatureSpec
from algospace.features.regime import LOOKBACK, mmd
from algospace.features.regime._bars import bar_series
from algospace.features.regime.stats import statistics

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def _best(fn, repeat: int = 3, clock=time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


def _loop_features(spec: FeatureSpec, values: np.ndarray, rows: range) -> np.ndarray:
    """The straightforward implementation: everything from scratch for each bar."""
    st, p = spec.state_, spec.params
    out = []
    for t in rows:
        window = values[t - LOOKBACK + 1 : t + 1]
        s = bar_series(window)
        obs = mmd.standardise(mmd.raw_observations(s), st.obs_center, st.obs_scale)
        scores = []
        for q in range(len(p.references)):
            y = st.references[q]
            for n in p.mmd_windows:
                x = obs[-n:]
                dxx = ((x[:, None] - x[None]) ** 2).sum(-1)
                dyy = ((y[:, None] - y[None]) ** 2).sum(-1)
                dxy = ((x[:, None] - y[None]) ** 2).sum(-1)
                for bw in st.bandwidths:
                    g = -0.5 / (bw * bw)
                    m2 = np.exp(g * dxx).mean() + np.exp(g * dyy).mean() - 2 * np.exp(g * dxy).mean()
                    scores.append(np.sqrt(max(m2, 0.0)))
        out.append(np.r_[scores, statistics(s, LOOKBACK - 1)[0]])
    return spec.scale(np.array(out))


def _doubled(bars: pd.DataFrame) -> pd.DataFrame:
    """The sample followed by a copy of itself shifted 3 years later, prices continued (2x bars)."""
    shift = bars.index[-1] - bars.index[0] + pd.Timedelta(days=7)
    second = bars.copy()
    second.index = bars.index + shift
    second[["open", "high", "low", "close"]] *= bars["close"].iloc[-1] / bars["open"].iloc[0]
    return pd.concat([bars, second])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-docs", action="store_true", help="Write the results into docs/benchmarks.md.")
    args = ap.parse_args()

    t0 = time.perf_counter()
    minutes = sample("spy-1m")
    bars = make_bars(minutes, 30, "SPY")
    t_load = time.perf_counter() - t0
    n_train = int(len(bars) * 0.7)
    t0 = time.perf_counter()
    spec = FeatureSpec.default().fit(bars.iloc[:n_train])
    t_fit = time.perf_counter() - t0
    half = bars.iloc[: len(bars) // 2]
    double = _doubled(bars)
    # interleaved best-of-7, wall and thread CPU time: the machine is shared, so the minimum is
    # the honest cost and CPU time is not inflated by waiting for a core
    wall = {"half": float("inf"), "full": float("inf"), "double": float("inf")}
    cpu = dict(wall)
    for _ in range(7):
        for key, frame in (("half", half), ("full", bars), ("double", double)):
            wall[key] = min(wall[key], _best(lambda: spec.transform(frame), 1))
            cpu[key] = min(cpu[key], _best(lambda: spec.transform(frame), 1, time.thread_time))
    t_half, t_full, t_double = wall["half"], wall["full"], wall["double"]

    stream = spec.stream()
    values = bars[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    lat, cpu_lat = [], []
    cols = pd.Index(["open", "high", "low", "close", "volume"])
    for ts, v in zip(bars.index[:3000], values[:3000]):
        bar = pd.Series(v, index=cols, name=ts)
        t1, c1 = time.perf_counter(), time.thread_time()
        stream.update(bar)
        lat.append(time.perf_counter() - t1)
        cpu_lat.append(time.thread_time() - c1)
    lat_ms = np.array(lat[LOOKBACK:]) * 1e3
    cpu_ms = np.array(cpu_lat[LOOKBACK:]) * 1e3
    load = os.getloadavg()[0]

    loop_rows = range(len(bars) - 300, len(bars))
    t1 = time.perf_counter()
    loop = _loop_features(spec, values, loop_rows)
    t_loop_bar = (time.perf_counter() - t1) / len(loop_rows)
    vec = spec.transform(bars).to_numpy()[-300:]
    max_diff = float(np.abs(loop - vec).max())
    t_vec_bar = t_full / (len(bars) - LOOKBACK + 1)

    cpu_model = next((ln.split(":", 1)[1].strip() for ln in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if ln.startswith("Model name")), platform.processor())
    rows = [
        ("load sample + make_bars 30m", f"{len(minutes):,} 1m -> {len(bars):,} 30m", f"{t_load:.2f} s", ""),
        ("fit (first 70% of bars)", f"{n_train:,} bars", f"{t_fit:.2f} s", ""),
        ("transform, full sample", f"{len(bars):,} bars", f"{t_full:.2f} s", "target <= 30 s (with load + fit: " f"{t_load + t_fit + t_full:.1f} s)"),
        (
            "transform, half sample",
            f"{len(half):,} bars",
            f"{t_half:.2f} s (CPU {cpu['half']:.2f} s)",
            f"full / half = {t_full / t_half:.2f}x (CPU {cpu['full'] / cpu['half']:.2f}x)",
        ),
        (
            "transform, 2x sample",
            f"{len(double):,} bars",
            f"{t_double:.2f} s (CPU {cpu['double']:.2f} s)",
            f"2x / full = {t_double / t_full:.2f}x (CPU {cpu['double'] / cpu['full']:.2f}x); target <= 2.2x",
        ),
        (
            "stream.update, one 30m bar (wall)",
            f"{len(lat_ms):,} updates",
            f"p50 {np.percentile(lat_ms, 50):.2f} ms, p99 {np.percentile(lat_ms, 99):.2f} ms",
            f"target p99 <= 5 ms; load average {load:.1f} on 2 cores while measured",
        ),
        (
            "stream.update, one 30m bar (CPU)",
            f"{len(cpu_ms):,} updates",
            f"p50 {np.percentile(cpu_ms, 50):.2f} ms, p99 {np.percentile(cpu_ms, 99):.2f} ms",
            "thread CPU time: the cost without waiting for a shared core",
        ),
        ("loop baseline, per bar", "300 bars", f"{t_loop_bar * 1e3:.2f} ms", f"vectorised {t_vec_bar * 1e3:.3f} ms/bar: {t_loop_bar / t_vec_bar:.0f}x faster; stream {t_loop_bar * 1e3 / np.percentile(lat_ms, 50):.1f}x faster (p50)"),
        ("loop baseline vs vectorised", "300 bars x 155", f"max abs difference {max_diff:.1e}", ""),
    ]
    header = "| case | size | time | note |\n|---|---|---|---|"
    table = header + "\n" + "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    section = (
        "## Feature engine\n\n"
        f"`benchmarks/bench_features.py`, {dt.date.today().isoformat()}, {cpu_model}, 2 cores, "
        f"numpy {np.__version__}, pandas {pd.__version__}.\n\n{table}\n"
    )
    print(section)
    if args.write_docs:
        text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\n"
        pattern = re.compile(r"## Feature engine\n.*?(?=\n## |\Z)", re.S)
        text = pattern.sub(lambda _: section.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
        DOCS.write_text(text if text.endswith("\n") else text + "\n")
        print(f"written to {DOCS}")


if __name__ == "__main__":
    main()
