"""LVN: a hand-built volume profile, POC and nodes; streaming = batch; causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_indicators_common import assert_same, spy_bars, stream, synthetic_bars

from algospace.errors import InputError
from algospace.features.causality import assert_causal
from algospace.features.indicators import LVN, LVNParams, lvn


def _bars(rows):
    """rows: (high, low, close, volume)."""
    h, lo, c, v = (np.array(x, float) for x in zip(*rows))
    idx = pd.date_range("2024-01-02 14:30", periods=len(rows), freq="30min", tz="UTC", name="timestamp")
    return pd.DataFrame({"open": c, "high": h, "low": lo, "close": c, "volume": v}, index=idx)


P4 = LVNParams(lookback=4, bins=4, threshold=0.3)


def test_profile_poc_and_nearest_node():
    bars = _bars([(101, 100, 100.5, 1000), (102, 101, 101.5, 3000), (103, 102, 102.5, 500), (104, 103, 103.5, 100)])
    row = lvn(bars, P4).iloc[-1]
    assert row["lvn_poc"] == 101.5  # bin [101, 102] holds 3000
    assert row["lvn_count"] == 2  # bins with 500 and 100 are below 0.3 x 3000
    assert row["lvn_price"] == 103.5 and row["lvn_distance"] == 0.0
    assert row["lvn_strength"] == pytest.approx(100 * (1 - 100 / 900))
    assert lvn(bars, P4).iloc[:3].isna().all().all()


def test_volume_is_spread_over_each_bars_range():
    # one wide bar spreads 4000 evenly over [100, 104]; a zero-range bar at 100.5 puts 2000 in bin 0
    bars = _bars([(104, 100, 102, 4000), (100.5, 100.5, 100.5, 2000), (103.9, 103.1, 103.5, 0), (103.95, 103.2, 103.9, 0)])
    row = lvn(bars, P4).iloc[-1]
    assert row["lvn_poc"] == pytest.approx(100.5)  # bin 0: 1000 + 2000
    assert row["lvn_count"] == 0 and np.isnan(row["lvn_price"]) and row["lvn_strength"] == 0.0
    assert lvn(bars, LVNParams(lookback=4, bins=4, threshold=0.7)).iloc[-1]["lvn_count"] == 3  # 1000 < 0.7 x 3000


@pytest.mark.parametrize("params", [LVNParams(), LVNParams(lookback=7, bins=11, threshold=0.7)], ids=["default", "other"])
@pytest.mark.parametrize("bars", [synthetic_bars(700, seed=31), spy_bars(30, 20000)], ids=["synthetic", "spy-30m"])
def test_stream_equals_batch(bars, params):
    batch = lvn(bars, params)
    assert batch["lvn_price"].notna().sum() > len(bars) // 2
    assert batch["lvn_strength"].dropna().between(0, 100).all()
    assert_same(batch, stream(lambda: LVN(params), bars))


@pytest.mark.parametrize("bars", [synthetic_bars(300, seed=32), spy_bars(30, 12000)], ids=["synthetic", "spy-30m"])
def test_causal(bars):
    assert_causal(lvn, bars, [5, 25, len(bars) // 2, len(bars) - 5])


def test_bad_parameters():
    with pytest.raises(InputError, match="threshold"):
        LVNParams(threshold=1.5)
    with pytest.raises(InputError, match="bins"):
        LVNParams(bins=1)
