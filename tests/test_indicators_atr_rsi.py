"""ATR and RSI: values against hand computation, streaming = batch, causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_indicators_common import assert_same, spy_bars, stream, synthetic_bars

from algospace.errors import InputError
from algospace.features.causality import assert_causal
from algospace.features.indicators import ATR, RSI, atr, rsi


def _bars(high, low, close):
    n = len(close)
    idx = pd.date_range("2024-01-02 14:30", periods=n, freq="5min", tz="UTC", name="timestamp")
    close = np.asarray(close, float)
    high, low = np.asarray(high, float), np.asarray(low, float)
    return pd.DataFrame({"open": close, "high": high, "low": low, "close": close, "volume": np.ones(n)}, index=idx)


def test_atr_matches_hand_computation():
    bars = _bars([10, 12, 11, 15, 13], [8, 9, 9, 11, 12], [9, 11, 10, 14, 12.5])
    tr = [2, 3, 2, 5, 2]  # max(h-l, |h-prev c|, |l-prev c|); the 4th bar gaps: 15 - 10 = 5
    out = atr(bars, period=3).to_numpy()
    assert np.isnan(out[:2]).all()
    assert out[2] == pytest.approx(np.mean(tr[:3]))
    assert out[3] == pytest.approx((out[2] * 2 + tr[3]) / 3)
    assert out[4] == pytest.approx((out[3] * 2 + tr[4]) / 3)


def _rsi_reference(close, period):
    """Textbook Wilder RSI written independently (lists, no shared helpers)."""
    out = [float("nan")] * len(close)
    gains = [max(close[i] - close[i - 1], 0.0) for i in range(1, len(close))]
    losses = [max(close[i - 1] - close[i], 0.0) for i in range(1, len(close))]
    if len(gains) < period:
        return out
    ag, al = sum(gains[:period]) / period, sum(losses[:period]) / period
    for i in range(period, len(close)):
        if i > period:
            ag = (ag * (period - 1) + gains[i - 1]) / period
            al = (al * (period - 1) + losses[i - 1]) / period
        out[i] = 50.0 if ag == al == 0 else (100.0 if al == 0 else 100 - 100 / (1 + ag / al))
    return out


def test_rsi_matches_independent_reference_and_limits():
    bars = synthetic_bars(400, seed=3)
    np.testing.assert_allclose(rsi(bars, 14), _rsi_reference(bars["close"].tolist(), 14), atol=1e-9, equal_nan=True)
    up = _bars(np.arange(1, 31) + 0.5, np.arange(1, 31) - 0.5, np.arange(1, 31))
    assert rsi(up, 14).iloc[-1] == 100.0
    flat = _bars(np.full(30, 2.0), np.full(30, 1.0), np.full(30, 1.5))
    assert rsi(flat, 14).iloc[-1] == 50.0
    assert rsi(bars, 14).dropna().between(0, 100).all()


@pytest.mark.parametrize("bars", [synthetic_bars(800, seed=1), spy_bars(5, 4000)], ids=["synthetic", "spy-5m"])
def test_stream_equals_batch(bars):
    assert_same(atr(bars), stream(ATR, bars))
    assert_same(rsi(bars), stream(RSI, bars))
    assert_same(atr(bars, 5), stream(lambda: ATR(5), bars))


@pytest.mark.parametrize("bars", [synthetic_bars(500, seed=2), spy_bars(5, 4000)], ids=["synthetic", "spy-5m"])
def test_causal(bars):
    cuts = [20, len(bars) // 3, len(bars) // 2, len(bars) - 40]
    assert_causal(atr, bars, cuts)
    assert_causal(rsi, bars, cuts)


def test_bad_parameters():
    with pytest.raises(InputError, match="'period' parameter of atr must be an int >= 1; received 0"):
        atr(synthetic_bars(30), period=0)
    with pytest.raises(InputError, match="period"):
        RSI(period=2.5)
