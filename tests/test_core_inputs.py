"""The decision core's inputs: one LVN builder, batch == streaming, causal timing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from algospace.data import make_bars, sample
from algospace.features.core_inputs import CoreInputStream, core_frames, core_inputs, lvn_summary
from algospace.features.matrices import raw_30m


def _bars(days: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
    one = sample("spy-1m")
    one = one[one.index < one.index[0] + pd.Timedelta(days=days)]
    return make_bars(one, 5, "SPY"), make_bars(one, 30, "SPY")


def test_lvn_summary_row_equals_columns() -> None:
    _, b30 = _bars(10)
    raw = raw_30m(b30)
    cols = lvn_summary(raw)
    assert cols.shape == (len(b30), 5)
    i = len(b30) - 1
    row = lvn_summary(raw.iloc[i].to_dict())
    np.testing.assert_allclose(row, cols[i])
    ready = cols[np.isfinite(cols).all(axis=1)]
    assert len(ready) > 0 and (np.abs(ready) <= 10).all()
    assert set(np.unique(ready[:, 4])) <= {0.0, 1.0}


def test_stream_equals_batch_and_uses_only_closed_30m_bars() -> None:
    b5, b30 = _bars()
    frames = core_frames(b5, b30)
    times = b5.index[-40:]
    m30, m5, lvn, pos30, ok = core_inputs(frames, times)
    assert ok.all()
    # the 30-minute bar seen at a 5-minute bar that opens at t closed at or before t
    closes = b30.index[pos30] + pd.Timedelta(minutes=30)
    assert (closes <= times).all()
    assert ((b30.index[np.minimum(pos30 + 1, len(b30) - 1)] + pd.Timedelta(minutes=30) > times) | (pos30 == len(b30) - 1)).all()
    # stream: 30-minute bars fed when closed, before the 5-minute bars opening at/after their close
    stream = CoreInputStream()
    events = [(ts + pd.Timedelta(minutes=30), 0, ts, row) for ts, row in b30.iterrows()]
    events += [(ts, 1, ts, row) for ts, row in b5.iterrows()]
    events.sort(key=lambda e: (e[0], e[1]))
    want = {t: k for k, t in enumerate(times)}
    got = 0
    for _, kind, ts, row in events:
        if kind == 0:
            stream.update_30m(row)
            continue
        stream.update_5m(row)
        if ts in want:
            k = want[ts]
            cur = stream.current()
            assert cur is not None
            np.testing.assert_allclose(cur[0], m30[k], atol=1e-9)
            np.testing.assert_allclose(cur[1], m5[k], atol=1e-9)
            np.testing.assert_allclose(cur[2], lvn[k], atol=1e-9)
            got += 1
    assert got == len(times)


def test_inputs_are_causal() -> None:
    b5, b30 = _bars()
    t = b5.index[-60]
    m30, m5, lvn, _, ok = core_inputs(core_frames(b5, b30), pd.DatetimeIndex([t]))
    later5 = b5.index > t
    later30 = b30.index + pd.Timedelta(minutes=30) > t
    p5, p30 = b5.copy(), b30.copy()
    for frame, mask in ((p5, later5), (p30, later30)):
        for c in ("open", "high", "low", "close"):
            frame.loc[mask, c] = frame.loc[mask, c] * 1.5
        frame.loc[mask, "volume"] = frame.loc[mask, "volume"] * 7
    n30, n5, nlvn, _, ok2 = core_inputs(core_frames(p5, p30), pd.DatetimeIndex([t]))
    assert ok[0] and ok2[0]
    np.testing.assert_array_equal(n30, m30)
    np.testing.assert_array_equal(n5, m5)
    np.testing.assert_array_equal(nlvn, lvn)


def test_warm_up_rows_are_not_ok() -> None:
    b5, b30 = _bars(5)
    _, _, _, _, ok = core_inputs(core_frames(b5, b30), b5.index[:3])
    assert not ok.any()


def test_rows_shared_with_the_synergy_detector_equal_the_separate_path() -> None:
    """The runtime's path (the detector computes each bar's raw indicator rows once; the core's
    matrices are scaled from them) gives exactly the matrices of a stream computing its own."""
    from algospace.features.synergy import SynergyDetector

    b5, b30 = _bars(40)
    det = SynergyDetector()
    shared, separate = CoreInputStream(det.params.m30, det.params.m5), CoreInputStream()
    events = [(ts + pd.Timedelta(minutes=30), 0, ts, row) for ts, row in b30.iterrows()]
    events += [(ts, 1, ts, row) for ts, row in b5.iterrows()]
    events.sort(key=lambda e: (e[0], e[1]))
    ready = 0
    for _, kind, ts, row in events:
        bar = {"timestamp": ts, **row.to_dict()}
        if kind == 0:
            det.update_30m(bar)
            shared.push_30m(det.last_raw30, det.params.m30)
            separate.update_30m(bar)
            continue
        det.update_5m(bar)
        shared.push_5m(det.last_raw5, det.params.m5)
        separate.update_5m(bar)
        a, b = shared.current(), separate.current()
        assert (a is None) == (b is None), ts
        if a is not None:
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)
            ready += 1
    assert ready > 100


def test_rows_computed_with_other_parameters_are_refused() -> None:
    import pytest

    from algospace.errors import InputError
    from algospace.features.matrices import Matrix30mParams, Raw30mStream

    _, b30 = _bars(3)
    other = Matrix30mParams(atr_period=10)
    raw = Raw30mStream(other).update({"timestamp": b30.index[0], **b30.iloc[0].to_dict()})
    with pytest.raises(InputError, match="other indicator parameters"):
        CoreInputStream().push_30m(raw, other)
