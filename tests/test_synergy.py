"""Synergy detector: the pattern state machine, one 5-minute clock with 30-minute signals
visible only after their bar closed, batch = streaming, causality, and the 30-value vector."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from test_indicators_common import spy_1m, synthetic_bars

from algospace.data import make_bars
from algospace.errors import DataError, InputError
from algospace.features.causality import assert_causal
from algospace.features.synergy import (
    SYNERGY_VECTOR_NAMES,
    Signal,
    SynergyDetector,
    SynergyParams,
    SynergyType,
    _Matcher,
    detect_synergies,
    synergy_vector,
)

T0 = pd.Timestamp("2024-01-02 15:00", tz="UTC")
PERMISSIVE = SynergyParams(window=20, m5={"fvg": {"min_gap": 0.0}}, m30={"mlmi": {"k": 5}})


def sig(name, bar, direction=1):
    t = T0 + pd.Timedelta(minutes=5 * bar)
    return Signal(name, direction, t, t, bar, 0.5)


def run(matcher, signals):
    """Feed (bar -> signals) in bar order; return the completed sequences as name tuples with their bar."""
    out = []
    by_bar = {}
    for s in signals:
        by_bar.setdefault(s.bar, []).append(s)
    for t in sorted(by_bar):
        done = matcher.step(t, by_bar[t])
        if done:
            out.append((tuple(s.name for s in done), t))
    return out


@pytest.mark.parametrize(
    "order, kind",
    [(("mlmi", "nwrqk", "fvg"), "TYPE_1"), (("mlmi", "fvg", "nwrqk"), "TYPE_2"), (("nwrqk", "fvg", "mlmi"), "TYPE_3"), (("nwrqk", "mlmi", "fvg"), "TYPE_4")],
)
def test_each_ordered_pattern(order, kind):
    from algospace.features.synergy import PATTERNS

    got = run(_Matcher(10, 5), [sig(n, b) for n, b in zip(order, (0, 3, 7))])
    assert got == [(order, 7)] and PATTERNS[order] == SynergyType(kind)


def test_sequence_rules():
    # an FVG never opens a sequence: FVG, MLMI, NWRQK is not a pattern, and the MLMI->NWRQK
    # pair waits for a later FVG
    assert run(_Matcher(10, 5), [sig("fvg", 0), sig("mlmi", 1), sig("nwrqk", 2)]) == []
    assert run(_Matcher(10, 5), [sig("fvg", 0), sig("mlmi", 1), sig("nwrqk", 2), sig("fvg", 4)]) == [(("mlmi", "nwrqk", "fvg"), 4)]
    # the third signal must come within `window` bars of the first
    assert run(_Matcher(10, 5), [sig("mlmi", 0), sig("nwrqk", 5), sig("fvg", 10)]) == [(("mlmi", "nwrqk", "fvg"), 10)]
    assert run(_Matcher(10, 5), [sig("mlmi", 0), sig("nwrqk", 5), sig("fvg", 11)]) == []
    # ... older signals drop off the front: NWRQK@5 then MLMI@12 then FVG@14 is a TYPE_4
    assert run(_Matcher(10, 5), [sig("mlmi", 0), sig("nwrqk", 5), sig("mlmi", 12), sig("fvg", 14)]) == [(("nwrqk", "mlmi", "fvg"), 14)]
    # an opposite signal restarts from itself; repeats are ignored
    seq = [sig("mlmi", 0), sig("nwrqk", 1, -1), sig("mlmi", 2, -1), sig("nwrqk", 3, -1), sig("fvg", 4, -1)]
    assert run(_Matcher(10, 5), seq) == [(("nwrqk", "mlmi", "fvg"), 4)]
    assert run(_Matcher(10, 5), [sig("mlmi", 0), sig("mlmi", 1), sig("fvg", 2), sig("nwrqk", 3)]) == [(("mlmi", "fvg", "nwrqk"), 3)]


def test_cooldown():
    first = [sig("mlmi", 0), sig("nwrqk", 1), sig("fvg", 2)]
    during = [sig("mlmi", 7), sig("nwrqk", 7), sig("fvg", 8)]  # bar 7 = event bar 2 + cooldown 5: ignored
    after = [sig("mlmi", 8), sig("nwrqk", 9), sig("fvg", 10)]
    assert run(_Matcher(10, 5), first + during) == [(("mlmi", "nwrqk", "fvg"), 2)]
    assert [t for _, t in run(_Matcher(10, 5), first + after)] == [2, 10]


def _stream(b5, b30, params, components=None):
    """Synergy events of the streaming detector; component signals are appended to `components` when given."""
    det = SynergyDetector(params)
    close30 = b30.index + pd.Timedelta(minutes=30)
    j, events = 0, []
    for i in range(len(b5)):
        while j < len(b30) and close30[j] <= b5.index[i]:
            det.update(b30.iloc[j], 30)
            j += 1
        e = det.update(b5.iloc[i], 5)
        if e is not None:
            events.append(e)
        if components is not None:
            components.extend(det.last_signals)
    return events


def _same_event(a, b):
    assert (a.time, a.type, a.direction, a.signals) == (b.time, b.type, b.direction, b.signals)
    assert a.strength == pytest.approx(b.strength, abs=1e-9)
    for f in dataclasses.fields(a.context):
        x, y = getattr(a.context, f.name), getattr(b.context, f.name)
        assert (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 1e-9, f.name
    np.testing.assert_allclose(synergy_vector(a), synergy_vector(b), atol=1e-6)


def _resample_30m(b5):
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    return b5.resample("30min", label="left", closed="left").agg(agg).dropna()


CASES = {
    "spy-default": (100000, SynergyParams()),
    "spy-permissive": (0, PERMISSIVE),
}


@pytest.mark.parametrize("case", list(CASES))
def test_batch_equals_stream_and_visibility_on_real_bars(case):
    start, params = CASES[case]
    m1 = spy_1m(40000, start)
    b5, b30 = make_bars(m1, 5, "SPY"), make_bars(m1, 30, "SPY")
    events = detect_synergies(b5, b30, params)
    assert len(events) >= 5
    streamed = _stream(b5, b30, params)
    assert len(streamed) == len(events)
    for a, b in zip(events, streamed):
        _same_event(a, b)
    opens = b5.index
    for e in events:
        assert e.direction in (1, -1) and all(s.direction == e.direction for s in e.signals)
        assert e.signals[-1].seen == e.time and e.signals[-1].bar - e.signals[0].bar <= params.window
        for s in e.signals:
            if s.name == "fvg":
                assert s.seen == s.time
            else:  # visible only at the first 5-minute bar opening at or after the 30-minute close
                closed = s.time + pd.Timedelta(minutes=30)
                assert s.seen == opens[opens.searchsorted(closed)] and s.seen >= closed


def test_all_four_types_occur_on_real_data():
    m1 = spy_1m(40000, 0)
    events = detect_synergies(make_bars(m1, 5, "SPY"), make_bars(m1, 30, "SPY"), PERMISSIVE)
    assert {e.type for e in events} == set(SynergyType)


def test_batch_equals_stream_on_synthetic_bars():
    b5 = synthetic_bars(4000, seed=51)
    b30 = _resample_30m(b5)
    params = SynergyParams(window=20, m5={"fvg": {"min_gap": 0.0005}}, m30={"mlmi": {"k": 5}})
    events = detect_synergies(b5, b30, params)
    assert len(events) >= 3
    for a, b in zip(events, _stream(b5, b30, params), strict=True):
        _same_event(a, b)


def test_looser_documented_settings_reach_the_detector():
    """The looser settings docs/indicators.md measures (FVG min_gap, detector window) are plain
    SynergyParams fields, also from a config mapping, and they do loosen detection."""
    m1 = spy_1m(40000, 100000)
    b5, b30 = make_bars(m1, 5, "SPY"), make_bars(m1, 30, "SPY")
    loose = SynergyParams.model_validate({"window": 20, "m5": {"fvg": {"min_gap": 0.0}}})
    assert loose.window == 20 and loose.m5.fvg.min_gap == 0.0 and loose == SynergyParams(window=20, m5={"fvg": {"min_gap": 0.0}})
    n_default = len(detect_synergies(b5, b30))
    mid = detect_synergies(b5, b30, SynergyParams(m5={"fvg": {"min_gap": 0.0005}}))
    wide = detect_synergies(b5, b30, loose)
    assert n_default < len(mid) and n_default < len(wide)
    assert max(e.bar - e.signals[0].bar for e in wide) > 10  # a span only the wider window allows
    assert all(e.window == 20 for e in wide)


def _event_table(events):
    rows = [np.concatenate([[list(SynergyType).index(e.type), e.direction, e.strength], synergy_vector(e)]) for e in events]
    return pd.DataFrame(np.array(rows).reshape(len(rows), 33), index=pd.DatetimeIndex([e.time for e in events]))


def test_events_are_causal_on_real_bars():
    m1 = spy_1m(40000, 0)

    def compute(b):
        return _event_table(detect_synergies(make_bars(b, 5, "SPY"), make_bars(b, 30, "SPY"), PERMISSIVE))

    events = detect_synergies(make_bars(m1, 5, "SPY"), make_bars(m1, 30, "SPY"), PERMISSIVE)
    # cut at the last minute of an event's completing 5-minute bar, and of a 30-minute bar in between
    last_min = [int(m1.index.get_loc(e.time + pd.Timedelta(minutes=4))) for e in events[2:12:3]]
    mids = [int(i) for i in np.flatnonzero(np.isin(m1.index.minute, (29, 59)))[[300, 700, 1100]]]
    assert_causal(compute, m1, last_min + mids)


def test_events_are_causal_on_synthetic_bars():
    b5 = synthetic_bars(3000, seed=52)
    params = SynergyParams(window=20, m5={"fvg": {"min_gap": 0.0005}}, m30={"mlmi": {"k": 5}})
    ev = detect_synergies(b5, _resample_30m(b5), params)
    # 5-minute bars are the input here, so any cut works: a 30-minute bar still open at the cut
    # (changed by the perturbation) must not have been seen yet
    cuts = [int(b5.index.get_loc(e.time)) for e in ev[:4]]
    # ... and in the middle of the 30-minute bars whose signals completed those events
    cuts += [int(b5.index.get_loc(s.time)) + 2 for e in ev[:4] for s in e.signals if s.name != "fvg"]
    assert_causal(lambda b: _event_table(detect_synergies(b, _resample_30m(b), params)), b5, cuts)


def test_synergy_vector_layout():
    m1 = spy_1m(40000, 100000)
    events = detect_synergies(make_bars(m1, 5, "SPY"), make_bars(m1, 30, "SPY"))
    assert len(SYNERGY_VECTOR_NAMES) == 30 == len(set(SYNERGY_VECTOR_NAMES))
    for e in events:
        v = synergy_vector(e)
        assert v.shape == (30,) and v.dtype == np.float32 and np.isfinite(v).all()
        named = dict(zip(SYNERGY_VECTOR_NAMES, v))
        assert named[e.type.value.lower()] == 1.0 and sum(named[f"type_{i}"] for i in range(1, 5)) == 1.0
        assert named["direction"] == e.direction and named["strength"] == pytest.approx(e.strength, abs=1e-6)
        assert 0 <= named["span"] <= 1 and np.abs(v).max() <= 10
        assert named["aligned_momentum"] == pytest.approx(e.direction * named["momentum_5m"], abs=1e-6)
    bad = dataclasses.replace(events[0].context, atr_30m=float("nan"))
    with pytest.raises(InputError, match="atr_30m"):
        synergy_vector(events[0], bad)
    with pytest.raises(InputError, match="SynergyEvent"):
        synergy_vector({"type": "TYPE_1"})


def test_streaming_input_errors():
    m1 = spy_1m(3000)
    b5, b30 = make_bars(m1, 5, "SPY"), make_bars(m1, 30, "SPY")
    det = SynergyDetector()
    for i in range(8):
        det.update_5m(b5.iloc[i])
    with pytest.raises(InputError, match="arrived after the 5-minute bar"):
        det.update_30m(b30.iloc[0])
    with pytest.raises(InputError, match="minutes must be 5 or 30"):
        det.update(b5.iloc[8], 15)
    with pytest.raises(InputError, match="window"):
        SynergyParams(window=1)


def test_batch_rejects_bad_bars():
    b5 = synthetic_bars(200, seed=53)
    b30 = _resample_30m(b5)
    with pytest.raises(DataError, match="30-minute bars.*strictly increasing"):
        detect_synergies(b5, b30.iloc[::-1])
    bad = b5.copy()
    bad.iloc[10, bad.columns.get_loc("volume")] = np.inf
    with pytest.raises(DataError, match="5-minute bars.*column 'volume'.*not finite"):
        detect_synergies(bad, b30)


def test_synergy_vector_fingerprint():
    from algospace.features.synergy import synergy_vector_fingerprint

    assert synergy_vector_fingerprint() == synergy_vector_fingerprint(SynergyParams())
    assert synergy_vector_fingerprint() != synergy_vector_fingerprint(PERMISSIVE)
