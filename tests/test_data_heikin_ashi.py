"""Heikin-Ashi: hand-computed values, batch = incremental, causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from algospace.data import HeikinAshi, heikin_ashi, make_bars, sample, validate_bars
from algospace.errors import InputError


def _bars(rows):
    idx = pd.date_range("2019-03-01 14:30", periods=len(rows), freq="30min", tz="UTC", name="timestamp")
    return pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"], index=idx, dtype=float)


def test_hand_computed_example():
    bars = _bars([[10, 12, 9, 11, 100], [11, 13, 10, 12, 200], [12, 12.5, 8, 9, 300]])
    ha = heikin_ashi(bars)
    # bar 0: close (10+12+9+11)/4 = 10.5, open (10+11)/2 = 10.5, high max(12,10.5,10.5)=12, low 9
    # bar 1: close (11+13+10+12)/4 = 11.5, open (10.5+10.5)/2 = 10.5, high 13, low 10
    # bar 2: close (12+12.5+8+9)/4 = 10.375, open (10.5+11.5)/2 = 11.0, high 12.5, low 8
    expected = [[10.5, 12, 9, 10.5, 100], [10.5, 13, 10, 11.5, 200], [11.0, 12.5, 8, 10.375, 300]]
    np.testing.assert_array_equal(ha.to_numpy(), np.array(expected))
    assert ha.index.equals(bars.index)


def test_ha_high_low_cover_ha_open_close():
    # A bar whose HA open lies above its own high: HA high must take the HA open.
    bars = _bars([[20, 21, 19, 20.5, 1], [10, 11, 9, 10.5, 1]])
    ha = heikin_ashi(bars)
    assert ha["open"].iloc[1] == (20.25 + 20.125) / 2 and ha["high"].iloc[1] == ha["open"].iloc[1]
    validate_bars(ha)


def test_batch_equals_incremental_exactly_on_spy():
    bars = make_bars(sample("spy-1m"), 30, "SPY")
    batch = heikin_ashi(bars)
    inc = HeikinAshi()
    rows = [inc.update(r) for r in bars.itertuples()]
    stream = pd.DataFrame(rows, index=bars.index)[batch.columns]
    np.testing.assert_array_equal(stream.to_numpy(), batch.to_numpy())
    # Other accepted inputs give the same values; reset() starts over.
    inc.reset()
    first = inc.update((bars["open"].iloc[0], bars["high"].iloc[0], bars["low"].iloc[0], bars["close"].iloc[0]))
    assert first["close"] == batch["close"].iloc[0] and first["open"] == batch["open"].iloc[0]
    inc.reset()
    assert inc.update(bars.iloc[0])["high"] == batch["high"].iloc[0]


def test_causal_and_input_errors():
    bars = make_bars(sample("spy-1m").iloc[:3000], 30, "SPY")
    ha = heikin_ashi(bars)
    changed = bars.copy()
    changed.iloc[40:, :4] *= 1.05
    np.testing.assert_array_equal(heikin_ashi(changed).iloc[:40].to_numpy(), ha.iloc[:40].to_numpy())
    assert not np.array_equal(heikin_ashi(changed).iloc[40:].to_numpy(), ha.iloc[40:].to_numpy())
    with pytest.raises(InputError, match="missing"):
        heikin_ashi(bars.drop(columns="low"))
    with pytest.raises(InputError):
        HeikinAshi().update((1.0, 2.0))


def test_wrong_types_and_nan_raise_our_errors():
    from algospace.errors import DataError

    bars = _bars([[10, 12, 9, 11, 100], [11, 13, 10, 12, 200], [12, 12.5, 8, 9, 300]])
    with pytest.raises(InputError, match="expects a pandas DataFrame.*found ndarray"):
        heikin_ashi(bars.to_numpy())
    bad = bars.copy()
    bad.iloc[1, 2] = np.nan
    with pytest.raises(DataError, match=r"row 1 at 2019-03-01 15:00:00\+00:00, column 'low'.*not finite"):
        heikin_ashi(bad)
    ha = HeikinAshi()
    for item, match in [("abcd", "received str"), ({"open": 1.0}, r"\['high', 'low', 'close'\] missing"),
                        (("a", 1, 1, 1), "'open' must be a number"), ((1, 2, 3), "received 3 values"), (None, "received NoneType")]:
        with pytest.raises(InputError, match=match):
            ha.update(item)
    with pytest.raises(DataError, match="column 'high'.*expected a finite number"):
        ha.update((1.0, np.nan, 1.0, 1.0))
    assert ha.update(bars.iloc[0]) == heikin_ashi(bars).iloc[0].to_dict()  # errors left no state behind
