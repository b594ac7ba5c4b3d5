"""FVG: formation, mitigation, expiry, thresholds on hand-built candles; streaming = batch;
causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_indicators_common import assert_same, spy_bars, stream, synthetic_bars

from algospace.errors import InputError
from algospace.features.causality import assert_causal
from algospace.features.indicators import FVG, FVGParams, fvg


def _candles(rows):
    """rows: (high, low, close); open = previous close."""
    h, lo, c = (np.array(x, float) for x in zip(*rows))
    o = np.concatenate([[c[0]], c[:-1]])
    o = np.clip(o, lo, h)
    idx = pd.date_range("2024-01-02 14:30", periods=len(rows), freq="5min", tz="UTC", name="timestamp")
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": np.full(len(rows), 1000.0)}, index=idx)


BULL = [
    (100.0, 99.0, 99.8),
    (100.8, 99.9, 100.6),  # middle candle closes above high[0] = 100
    (101.2, 100.3, 101.0),  # low 100.3 > high[0] 100 by 0.3 % -> bullish gap [100, 100.3]
    (101.5, 100.85, 101.3),  # stays above the zone; the 0.05 gap to bar 1 is below 0.1 %
    (101.4, 100.25, 100.5),  # trades back into the zone -> mitigation
    (100.9, 100.4, 100.6),
]


def test_bullish_gap_forms_and_is_mitigated():
    out = fvg(_candles(BULL))
    assert out["fvg_bull_new"].tolist() == [0, 0, 1, 0, 0, 0]
    assert out["fvg_bull_active"].tolist() == [0, 0, 1, 1, 0, 0]
    assert out["fvg_nearest_level"].iloc[2] == pytest.approx(100.15)
    assert out["fvg_nearest_age"].iloc[2:4].tolist() == [0, 1]
    assert out["fvg_nearest_dir"].iloc[2] == 1
    assert out["fvg_mitigation"].tolist() == [0, 0, 0, 0, 1, 0]
    assert out["fvg_mitigated_size"].iloc[4] == pytest.approx(0.3)
    assert out["fvg_bear_new"].sum() == 0 and np.isnan(out["fvg_nearest_level"].iloc[5])


def test_bearish_gap_is_the_mirror_image():
    mirrored = [(200 - lo, 200 - h, 200 - c) for h, lo, c in BULL]
    out = fvg(_candles(mirrored))
    assert out["fvg_bear_new"].tolist() == [0, 0, 1, 0, 0, 0]
    assert out["fvg_bear_active"].tolist() == [0, 0, 1, 1, 0, 0]
    assert out["fvg_nearest_dir"].iloc[2] == -1
    assert out["fvg_mitigation"].tolist() == [0, 0, 0, 0, -1, 0]


def test_unmitigated_gap_expires_without_signal():
    rows = BULL[:4] + [(101.6, 101.0, 101.4)] * 6
    out = fvg(_candles(rows), FVGParams(expiry=5))
    assert out["fvg_bull_active"].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0, 0]  # ages 0..4, gone at age 5
    assert (out["fvg_mitigation"] == 0).all()


def test_thresholds():
    small = [BULL[0], BULL[1], (101.2, 100.05, 101.0)]  # 0.05 % gap: below min_gap
    assert fvg(_candles(small))["fvg_bull_new"].sum() == 0
    assert fvg(_candles(small), FVGParams(min_gap=0.0004))["fvg_bull_new"].sum() == 1
    weak_middle = [BULL[0], (100.8, 99.9, 99.95), BULL[2]]  # middle candle closes below high[0]
    assert fvg(_candles(weak_middle))["fvg_bull_new"].sum() == 0
    assert fvg(_candles(weak_middle), FVGParams(confirm_middle_close=False))["fvg_bull_new"].sum() == 1


@pytest.mark.parametrize("params", [FVGParams(), FVGParams(min_gap=0.0, expiry=8)], ids=["default", "many-gaps"])
@pytest.mark.parametrize("bars", [synthetic_bars(1500, seed=21), spy_bars(5, 15000)], ids=["synthetic", "spy-5m"])
def test_stream_equals_batch(bars, params):
    batch = fvg(bars, params)
    assert batch["fvg_bull_new"].sum() > 3 and (batch["fvg_mitigation"] != 0).sum() > 3
    assert_same(batch, stream(lambda: FVG(params), bars))


@pytest.mark.parametrize("bars", [synthetic_bars(600, seed=22), spy_bars(5, 6000)], ids=["synthetic", "spy-5m"])
def test_causal(bars):
    p = FVGParams(min_gap=0.0002)
    assert_causal(lambda b: fvg(b, p), bars, [2, 100, len(bars) // 2, len(bars) - 10])


def test_bad_parameters():
    with pytest.raises(InputError, match="expiry"):
        FVGParams(expiry=1)
    with pytest.raises(InputError, match="min_gap"):
        FVGParams(min_gap=-0.1)
