"""Market: the SPY -> ES / MES proxy and the proxy statement; a user's own ES data runs unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from algospace.data import make_bars, sample
from algospace.errors import InputError
from algospace.sim import Market


def test_spy_becomes_the_es_proxy_on_the_tick_grid():
    s = sample("spy-1m")
    s = s.loc[s.index < "2017-02-01"]
    m = Market.load(s, "ES")
    assert m.proxy == "SPY x10 as ES-equivalent (tick 0.25, $50/point), nyse-rth sessions"
    assert m.instrument.name == "ES" and m.calendar.name == "nyse-rth" and m.bars is m.bars_5m
    spy5 = make_bars(s, 5, "SPY")
    assert m.bars_5m.index.equals(spy5.index)
    for k in ("open", "high", "low", "close"):
        x = m.bars_5m[k].to_numpy()
        assert np.array_equal(x / 0.25, np.round(x / 0.25))
        assert np.abs(x - spy5[k].to_numpy() * 10).max() <= 0.125 + 1e-9  # nearest tick of SPY x 10
    assert (m.bars_5m["high"] >= m.bars_5m[["open", "close"]].max(axis=1)).all()
    assert (m.bars_5m["low"] <= m.bars_5m[["open", "close"]].min(axis=1)).all()
    mes = Market.load(s, "MES", bar_minutes=1)
    assert mes.proxy.startswith("SPY x10 as MES-equivalent (tick 0.25, $5/point)") and mes.bar_minutes == 1
    assert len(mes.bars) > len(mes.bars_5m) and mes.bars.attrs["instrument"] == "MES"


def test_own_es_data_runs_unchanged():
    ticks = sample("es-ticks")
    m = Market.load(ticks, "ES")
    assert m.proxy == "native ES" and m.calendar.name == "cme-globex"
    own = make_bars(ticks, 5, "ES")
    np.testing.assert_array_equal(m.bars_5m[["open", "high", "low", "close", "volume"]].to_numpy(), own.to_numpy())
    assert Market.load(ticks, "MES").proxy == "ES prices as MES ($5/point)"
    with pytest.raises(InputError, match="Cannot simulate ES data as SPY"):
        Market.load(ticks, "SPY")
    with pytest.raises(InputError, match="Unknown instrument"):
        Market.load(ticks, "XYZ")
