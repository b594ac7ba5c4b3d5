"""Feature-engine speed: the 155 regime features on the full bundled SPY sample.

Targets: full sample -> features <= 30 s on 2 cores; cost linear in bars (2x bars -> <= 2.2x
time); one incremental update <= 5 ms p99. The baseline is a straightforward loop in the same
process that shares no kernel with the library: for every bar, the observations and the 50
statistics written out on the bar's lookback slice, and the MMD from full kernel matrices of
the window and each reference (textbook formula). It is timed on a subset of bars and compared
per bar; its values are checked against the vectorised path.

    .venv/bin/python benchmarks/bench_features.py [--write-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
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
from algospace.features.regime import LOOKBACK

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def _best(fn, repeat: int = 3, clock=time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


_LN2 = math.log(2.0)


def _loop_observations(w: np.ndarray, n: int) -> np.ndarray:
    """The 6 MMD observations of the last `n` bars of a bar window (rows oldest first), bar by bar."""
    o, h, lo, c, v = (w[:, i] for i in range(5))
    rows = []
    for i in range(len(c) - n, len(c)):
        r = math.log(c[i] / c[i - 1])
        r_prev = math.log(c[i - 1] / c[i - 2])
        prod = r * r_prev
        clv = (2 * c[i] - h[i] - lo[i]) / (h[i] - lo[i]) if h[i] > lo[i] else 0.0
        rows.append([r, math.log(c[i] / c[i - 4]), math.copysign(math.sqrt(abs(prod)), prod) if prod else 0.0,
                     math.log(h[i] / lo[i]), math.log1p(v[i]), clv])
    return np.array(rows)


def _loop_statistics(w: np.ndarray) -> list[float]:
    """The 50 statistics of the last bar of a LOOKBACK-bar window, written out one by one with
    textbook formulas (numpy/scipy reductions on plain slices), independent of stats.py."""
    from scipy import stats as sps

    o, h, lo, c, v = (w[:, i] for i in range(5))
    logc = np.log(c)
    r = np.diff(logc)  # 104 returns, the last is bar t's
    lr = np.log(h / lo)
    tiny = 1e-12

    def div(a: float, b: float, fill: float) -> float:
        return a / b if b != 0 else fill

    def vol(n: int) -> float:
        return float(np.std(r[-n:], ddof=1))

    def ac(x: np.ndarray, k: int) -> float:
        d = x - x.mean()
        return div(float(np.sum(d[k:] * d[:-k])), float(np.sum(d * d)), 0.0)

    out = [math.log(c[-1] / c[-2])]
    out += [math.log(c[-1] / c[-1 - k]) for k in (2, 4, 8, 13, 26, 52, 104)]
    out += [vol(n) for n in (8, 13, 26, 52, 104)]
    out += [math.sqrt(np.mean(lr[-n:] ** 2) / (4 * _LN2)) for n in (13, 52)]
    gk = [max(0.5 * lr[i] ** 2 - (2 * _LN2 - 1) * math.log(c[i] / o[i]) ** 2, 0.0) for i in range(-26, 0)]
    out.append(math.sqrt(np.mean(gk)))
    out += [math.log(vol(a) + tiny) - math.log(vol(b) + tiny) for a, b in ((8, 26), (13, 52), (26, 104))]
    for n in (26, 104):
        x = r[-n:]
        out.append(float(sps.skew(x, bias=True)) if np.var(x) > 0 else 0.0)
    for n in (26, 104):
        x = r[-n:]
        out.append(float(sps.kurtosis(x, fisher=True, bias=True)) if np.var(x) > 0 else 0.0)
    out += [ac(r[-26:], 1), ac(r[-104:], 1), ac(r[-52:], 2)]
    r4 = np.array([math.log(c[i] / c[i - 4]) for i in range(len(c) - 100, len(c))])
    out.append(div(float(np.var(r4, ddof=1)), 4 * vol(104) ** 2, 1.0))
    out += [div(abs(math.log(c[-1] / c[-1 - n])), float(np.sum(np.abs(r[-n:]))), 0.0) for n in (13, 52)]
    for n in (14, 52):
        up, down = np.mean(np.maximum(r[-n:], 0)), np.mean(np.maximum(-r[-n:], 0))
        out.append(div(100 * up, up + down, 50.0))
    out += [div(c[-1] - np.mean(c[-n:]), float(np.std(c[-n:], ddof=1)), 0.0) for n in (26, 104)]
    out += [div(float(np.polyfit(np.arange(n), logc[-n:], 1)[0]), vol(n), 0.0) for n in (13, 52)]
    out.append(lr[-1])
    out.append(math.log(np.mean(lr[-13:]) + tiny) - math.log(np.mean(lr[-104:]) + tiny))
    out.append(float(np.mean([(2 * c[i] - h[i] - lo[i]) / (h[i] - lo[i]) if h[i] > lo[i] else 0.0 for i in range(-13, 0)])))
    out += [div(c[-1] - lo[-n:].min(), h[-n:].max() - lo[-n:].min(), 0.5) for n in (26, 104)]
    out += [math.log(c[-1] / c[-104:].max()), math.log(c[-1] / c[-104:].min())]
    out.append(math.log1p(v[-1]) - math.log1p(np.mean(v[-26:])))
    out.append(math.log1p(np.mean(v[-13:])) - math.log1p(np.mean(v[-104:])))
    out.append(div(float(np.std(v[-26:], ddof=1)), float(np.mean(v[-26:])), 0.0))
    a, b = np.abs(r[-52:]), np.log1p(v[-52:])
    out.append(float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0)
    out.append(div(math.log1p(v[-1]) - float(np.mean(b)), float(np.std(b, ddof=1)), 0.0))
    out.append(div(float(np.sum(np.sign(r[-26:]) * v[-26:])), float(np.sum(v[-26:])), 0.0))
    out.append(sum(math.log(o[i] / c[i - 1]) for i in range(-13, 0)))
    out.append(math.log(c[-1] / c[-5]) - math.log(c[-5] / c[-9]))
    return out


def _loop_features(spec: FeatureSpec, values: np.ndarray, rows: range) -> np.ndarray:
    """The straightforward implementation, independent of the library's kernels: for each bar,
    its observations and 50 statistics written out from the bar's LOOKBACK slice, and each MMD
    from full kernel matrices of the window and the fitted reference (textbook formula)."""
    st, p = spec.state_, spec.params
    out = []
    for t in rows:
        window = values[t - LOOKBACK + 1 : t + 1]
        obs = (_loop_observations(window, p.mmd_windows[-1]) - st.obs_center) / st.obs_scale
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
        out.append(np.r_[scores, _loop_statistics(window)])
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
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
        DOCS.write_text(text if text.endswith("\n") else text + "\n")
        print(f"written to {DOCS}")


if __name__ == "__main__":
    main()
