"""Feature spec version 2 against version 1, same process, same bars: batch transform and per-bar stream cost.

- Batch: `transform` of the whole bundled SPY sample (9,780 30-minute bars; version 2 also reads
  its ~293,000 1-minute bars), best of `--repeat`, spec fitted on 2017.
- Stream: one 30-minute bar's cost in the live path, per bar over `--bars` bars after warm-up:
  version 1 `update_values`; version 2 the bar's `add_minute_values` calls plus `update_values`
  (the numpy entries the runtime's ModelDecider calls). p50 and p99 in milliseconds, and the ratio v2 / v1.

    nice -n 10 .venv/bin/python benchmarks/bench_features_v2.py [--bars 600] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

from algospace.data import make_bars, sample
from algospace.features import FeatureSpec
from algospace.features.regime import LOOKBACK
from bench_features import _best  # the best-of-n timer of the version-1 benchmark (same folder)


def _stream_costs(spec: FeatureSpec, bars30: pd.DataFrame, minutes: pd.DataFrame, n: int) -> np.ndarray:
    """Seconds per 30-minute bar (its minutes fed first for version 2), for the n bars after warm-up."""
    stream = spec.stream()
    cols = ["open", "high", "low", "close", "volume"]
    m_ts, m_val = list(minutes.index), minutes[cols].to_numpy(np.float64)
    b_ts, b_val = list(bars30.index), bars30[cols].to_numpy(np.float64)
    ends = np.searchsorted(minutes.index.as_unit("ns").asi8, (bars30.index + pd.Timedelta(minutes=30)).as_unit("ns").asi8)
    out, j = [], 0
    for i in range(LOOKBACK - 1 + n):  # the runtime's numpy entries (runtime/deciders.py ModelDecider)
        t0 = time.perf_counter()
        if spec.needs_minute_bars:
            while j < ends[i]:
                stream.add_minute_values(m_ts[j], m_val[j])
                j += 1
        stream.update_values(b_ts[i], b_val[i])
        out.append(time.perf_counter() - t0)
    return np.asarray(out[LOOKBACK - 1 :])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    minutes = sample("spy-1m")
    bars30 = make_bars(minutes, 30, "SPY")
    train = bars30.loc[:"2017-12-31"]
    v1 = FeatureSpec.default(1).fit(train)
    v2 = FeatureSpec.default(2).fit(train, minute_bars=minutes)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), load {os.getloadavg()[0]:.1f}")
    t1 = _best(lambda: v1.transform(bars30), args.repeat)
    t2 = _best(lambda: v2.transform(bars30, minute_bars=minutes), args.repeat)
    print("| path | v1 | v2 | v2 / v1 |\n|---|---:|---:|---:|")
    print(f"| transform, whole sample ({len(bars30):,} bars; v2 + {len(minutes):,} minutes) | {t1:.2f} s | {t2:.2f} s | {t2 / t1:.2f} |")
    part = bars30.iloc[-(LOOKBACK - 1 + args.bars) :]
    mins = minutes.loc[part.index[0] :]
    s1 = _stream_costs(v1, part, mins, args.bars) * 1e3
    s2 = _stream_costs(v2, part, mins, args.bars) * 1e3
    for q in (50, 99):
        a, b = np.percentile(s1, q), np.percentile(s2, q)
        print(f"| stream, one 30-minute bar, p{q} ({args.bars} bars; v2 incl. its ~30 add_minute_values) | {a:.2f} ms | {b:.2f} ms | {b / a:.2f} |")


if __name__ == "__main__":
    main()
