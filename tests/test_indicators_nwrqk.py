"""NW-RQK: the kernel formula against an exact (untruncated) regression, truncation error,
signals, streaming = batch, causality."""

from __future__ import annotations

import numpy as np
import pytest
from test_indicators_common import assert_same, spy_bars, stream, synthetic_bars

from algospace.data import heikin_ashi
from algospace.errors import InputError
from algospace.features.causality import assert_causal
from algospace.features.indicators import NWRQK, NWRQKParams, nwrqk
from algospace.features.indicators.nwrqk import rq_weights


def _exact(close, h, r, t):
    """Nadaraya-Watson over ALL bars up to t, straight from the formula."""
    i = np.arange(t + 1)
    w = (1 + i**2 / (2 * r * h**2)) ** (-r)
    return float(np.sum(w * close[t::-1][: t + 1]) / np.sum(w))


def test_matches_exact_regression_within_truncation_error():
    bars = synthetic_bars(600, seed=4)
    out = nwrqk(bars)
    close = bars["close"].to_numpy()
    assert out["nwrqk_value"].iloc[:25].isna().all() and np.isfinite(out["nwrqk_value"].iloc[25])
    for t in (25, 60, 99, 300, 599):
        exact = _exact(close, 8.0, 8.0, t)
        assert abs(out["nwrqk_value"].iloc[t] - exact) < 1e-6 * close[t], t  # (t < 100: identical up to rounding)
        assert out["nwrqk_fast"].iloc[t] == pytest.approx(_exact(close, 6.0, 8.0, t), rel=1e-8)
    assert abs(out["nwrqk_value"].iloc[50] - _exact(close, 8.0, 8.0, 50)) < 1e-9


def test_truncation_tail_is_negligible():
    w = rq_weights(8.0, 8.0, 100_000)
    assert w[100:].sum() / w.sum() < 1e-8


def test_signals_follow_the_lines():
    bars = spy_bars(30, 20000)
    out = nwrqk(heikin_ashi(bars))
    y1, y2, s = out["nwrqk_value"].to_numpy(), out["nwrqk_fast"].to_numpy(), out["nwrqk_signal"].to_numpy()
    ups = np.flatnonzero(s > 0)
    assert ups.size > 0 and (s < 0).any()
    assert (y2[ups] > y1[ups]).all() and (y2[ups - 1] <= y1[ups - 1]).all()
    np.testing.assert_allclose(out["nwrqk_slope"].iloc[1:], np.diff(y1), equal_nan=True)
    slope_mode = nwrqk(heikin_ashi(bars), NWRQKParams(signal="slope"))
    sl = slope_mode["nwrqk_slope"].to_numpy()
    turns = np.flatnonzero(slope_mode["nwrqk_signal"].to_numpy() > 0)
    assert turns.size and (sl[turns] > 0).all() and (sl[turns - 1] <= 0).all()


@pytest.mark.parametrize("params", [NWRQKParams(), NWRQKParams(signal="slope", window=40, x0=10)], ids=["default", "slope"])
@pytest.mark.parametrize("bars", [synthetic_bars(700, seed=5), heikin_ashi(spy_bars(30, 25000))], ids=["synthetic", "spy-30m-ha"])
def test_stream_equals_batch(bars, params):
    assert_same(nwrqk(bars, params), stream(lambda: NWRQK(params), bars))


@pytest.mark.parametrize("bars", [synthetic_bars(400, seed=6), heikin_ashi(spy_bars(30, 20000))], ids=["synthetic", "spy-30m-ha"])
def test_causal(bars):
    assert_causal(nwrqk, bars, [10, 30, len(bars) // 2, len(bars) - 20])


def test_bad_parameters():
    with pytest.raises(InputError, match="h - lag"):
        NWRQKParams(h=2, lag=2)
    with pytest.raises(InputError, match="signal"):
        NWRQKParams(signal="both")
    with pytest.raises(InputError, match="Extra inputs"):
        NWRQKParams(alpha=8)
