"""Signal sources: counts on the bundled sample, the one vector builder, causality, batch = stream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_indicators_common import spy_1m
from test_synergy import _same_event, _stream

from algospace.data import make_bars, sample
from algospace.errors import InputError
from algospace.features.causality import perturb_after
from algospace.features.synergy import SynergyParams, detect_signals, synergy_vector
from algospace.signals import ComponentSignals, SignalSet, SignalSource, build_signals, get_source
from algospace.sim import Market


@pytest.fixture(scope="module")
def full_market():
    return Market.load("spy-1m", "ES")


def test_component_source_gives_thousands_of_signals(full_market):
    m = full_market
    sigs = build_signals(m.bars_5m, m.bars_30m, "components", proxy=m.proxy)
    assert len(sigs) >= 3000, sigs.counts()
    assert set(sigs.counts()) == {"mlmi", "nwrqk", "fvg"}
    assert sigs.proxy.startswith("SPY x10 as ES-equivalent") and sigs.instrument == "ES"
    assert sigs.vectors.shape == (len(sigs), 30) and sigs.vectors.dtype == np.float32 and np.isfinite(sigs.vectors).all()
    assert (np.diff(sigs.times.asi8) >= 0).all() and set(np.unique(sigs.directions)) == {-1, 1}
    assert (sigs.entry_times - sigs.times == pd.Timedelta(minutes=5)).all()
    assert (sigs.atr > 0).all()
    # the one builder: every row is synergy_vector(event); a component event has no pattern one-hot
    for i in range(0, len(sigs), 97):
        np.testing.assert_array_equal(sigs.vectors[i], synergy_vector(sigs.events[i]))
        assert sigs.vectors[i][:4].sum() == 0.0 and sigs.vectors[i][4] == sigs.directions[i]
    # the reference synergy detector stays available; it finds few events (the count is stated in docs/sim.md)
    syn = build_signals(m.bars_5m, m.bars_30m, "synergy")
    assert 5 <= len(syn) <= 40 and all(k.startswith("TYPE_") for k in syn.counts())
    for i in range(len(syn)):
        assert syn.vectors[i][:4].sum() == 1.0


def test_signal_set_selection_and_sources():
    b5, b30 = make_bars(spy_1m(60000), 5, "SPY"), make_bars(spy_1m(60000), 30, "SPY")
    sigs = build_signals(b5, b30, ComponentSignals(kinds=("mlmi", "fvg")))
    assert set(sigs.counts()) <= {"mlmi", "fvg"} and sigs.source == "components:mlmi+fvg"
    mid = sigs.times[len(sigs) // 2]
    a, b = sigs.between(end=mid), sigs.between(start=mid)
    assert len(a) + len(b) == len(sigs) and (a.times < mid).all() and (b.times >= mid).all()
    one = sigs[3]
    assert one.kind == sigs.kinds[3] and one.event is sigs.events[3] and one.entry_time == sigs.entry_times[3]
    assert len(sigs.to_frame()) == len(sigs)
    assert isinstance(ComponentSignals(), SignalSource)
    with pytest.raises(InputError, match="Unknown signal source"):
        get_source("nope")
    with pytest.raises(InputError, match="subset"):
        ComponentSignals(kinds=("rsi",))
    with pytest.raises(InputError, match="find"):
        get_source(object())
    with pytest.raises(InputError, match="directions"):
        SignalSet.from_arrays(["2024-01-02 15:00"], [0], [1.0])


def test_signals_are_causal():
    """Changing every 1-minute bar after a cut changes no signal whose signal bar closed by the cut."""
    m1 = sample("spy-1m")
    m1 = m1.loc[(m1.index >= "2018-01-01") & (m1.index < "2018-05-01")]
    base_m = Market.load(m1, "ES")
    base = build_signals(base_m.bars_5m, base_m.bars_30m)
    for cut in (len(m1) // 2, int(len(m1) * 0.8)):
        cut_time = m1.index[cut]
        changed_m = Market.load(perturb_after(m1, cut, seed=cut), "ES")
        changed = build_signals(changed_m.bars_5m, changed_m.bars_30m)
        a = base.take(base.entry_times <= cut_time + pd.Timedelta(minutes=1))  # signal bar's last minute <= cut
        b = changed.take(changed.entry_times <= cut_time + pd.Timedelta(minutes=1))
        assert len(a) > 20
        assert a.times.equals(b.times) and (a.kinds == b.kinds).all() and (a.directions == b.directions).all()
        np.testing.assert_array_equal(a.vectors, b.vectors)
        assert not (len(base) == len(changed) and (base.kinds == changed.kinds).all() and np.array_equal(base.vectors, changed.vectors))


def test_component_signals_batch_equals_stream():
    m1 = spy_1m(30000, 60000)
    b5, b30 = make_bars(m1, 5, "SPY"), make_bars(m1, 30, "SPY")
    p = SynergyParams()
    batch = detect_signals(b5, b30, p)
    streamed: list = []
    _stream(b5, b30, p, streamed)
    assert len(batch) > 30 and len(streamed) == len(batch)
    assert [(e.time, e.signals) for e in batch] == [(e.time, e.signals) for e in streamed]
    ready = [(a, b) for a, b in zip(batch, streamed) if not a.context.missing()]
    assert len(ready) > 20
    for a, b in ready:
        assert a.type is None and a.kind == a.signals[0].name
        _same_event(a, b)
