"""make_bars / BarBuilder on the real samples: OHLCV, session alignment, gaps, streaming = batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from algospace.data import BarBuilder, Tick, bars_to_frame, make_bars, sample, validate_bars
from algospace.errors import DataError, InputError

CT = "America/Chicago"
NY = "America/New_York"


@pytest.fixture(scope="module")
def ticks() -> pd.DataFrame:
    return sample("es-ticks")


@pytest.fixture(scope="module")
def spy() -> pd.DataFrame:
    return sample("spy-1m")


def _ct(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz=CT).tz_convert("UTC")


@pytest.mark.parametrize(("start", "minutes"), [("2013-09-01 17:00", 5), ("2013-09-02 08:30", 5), ("2013-09-02 10:00", 30), ("2013-09-03 09:35", 1)])
def test_es_tick_bars_match_raw_ticks(ticks, start, minutes):
    bars = make_bars(ticks, minutes, "ES")
    t0 = _ct(start)
    raw = ticks[(ticks.index >= t0) & (ticks.index < t0 + pd.Timedelta(minutes=minutes))]
    assert len(raw) > 0
    bar = bars.loc[t0]
    assert bar["open"] == raw["price"].iloc[0] and bar["close"] == raw["price"].iloc[-1]
    assert bar["high"] == raw["price"].max() and bar["low"] == raw["price"].min()
    assert bar["volume"] == raw["volume"].sum()


def test_es_bars_contract_volume_and_labor_day_gap(ticks):
    bars = make_bars(ticks, 5, "ES")
    validate_bars(bars)
    assert bars.attrs["dropped_outside_session"] == 0
    assert bars["volume"].sum() == ticks["volume"].sum()
    local = bars.index.tz_convert(CT)
    assert local[0] == pd.Timestamp("2013-09-01 17:00", tz=CT)
    # No bar in the 16:00-17:00 halt; the Labor Day gap (10:29:59 -> 17:00 CT) stays a gap.
    assert not ((local.hour == 16)).any()
    i = int(np.flatnonzero(local == pd.Timestamp("2013-09-02 10:25", tz=CT))[0])
    assert local[i + 1] == pd.Timestamp("2013-09-02 17:00", tz=CT)
    filled = make_bars(ticks, 5, "ES", fill_gaps=True)
    assert not filled["filled"].any()  # the only gap is a session break: never filled


def test_globex_close_and_short_last_bar():
    idx = pd.DatetimeIndex([_ct(s) for s in ["2013-09-03 15:58:30", "2013-09-03 15:59:30", "2013-09-03 16:00:30", "2013-09-03 17:00:00"]])
    ticks = pd.DataFrame({"price": [1650.0, 1651.0, 1652.0, 1653.0], "volume": [1.0, 2.0, 3.0, 4.0]}, index=idx)
    b30 = make_bars(ticks, 30, "ES")
    assert list(b30.index.tz_convert(CT).strftime("%H:%M")) == ["15:30", "17:00"]
    assert b30["close"].tolist() == [1651.0, 1653.0] and b30.attrs["dropped_outside_session"] == 1
    # 1380-minute session / 7 = 197 bars + a 1-minute bar at 15:59 that ends at the 16:00 close.
    b7 = make_bars(ticks, 7, "ES")
    assert list(b7.index.tz_convert(CT).strftime("%H:%M")) == ["15:52", "15:59", "17:00"]
    with pytest.raises(DataError, match="outside every cme-globex session"):
        make_bars(ticks, 30, "ES", outside="raise")


def test_spy_30m_aligned_to_0930_and_never_span_1600(spy):
    bars = make_bars(spy, 30, "SPY")
    validate_bars(bars)
    local = bars.index.tz_convert(NY)
    assert set(local.minute) == {0, 30}
    first = pd.Series(local.strftime("%H:%M"), index=local.date).groupby(level=0).first()
    assert (first == "09:30").mean() > 0.99
    assert local.strftime("%H:%M").max() == "15:30"  # the last bar ends at 16:00
    # 752 16:00 closing-print bars + 407 after-hours bars after the 13:00 early closes of 8 days
    # (the weekly calendar kept those in the session: see scripts/calendar_changes.py).
    assert bars.attrs["dropped_outside_session"] == 752 + 407
    b60 = make_bars(spy, 60, "SPY")
    assert pd.Series(b60.index.tz_convert(NY).strftime("%H:%M")).max() == "15:30"  # 30-minute last bar


@pytest.mark.parametrize("minutes", [5, 30])
def test_spy_aggregation_equals_independent_resample(spy, minutes):
    bars = make_bars(spy, minutes, "SPY")
    local = spy.tz_convert(NY)
    hm = local.index.hour * 60 + local.index.minute
    # NYSE's published early closes (13:00) in 2017-2019, written out here independently of the library.
    early = pd.to_datetime(["2017-07-03", "2017-11-24", "2018-07-03", "2018-11-23", "2018-12-24", "2019-07-03", "2019-11-29", "2019-12-24"])
    is_early = local.index.tz_localize(None).normalize().isin(early)
    rth = local[(hm >= 570) & (hm < np.where(is_early, 780, 960))]
    ref = rth.resample(f"{minutes}min", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    counts = rth["close"].resample(f"{minutes}min").count()
    ref = ref[counts > 0].tz_convert("UTC")
    assert bars.index.equals(ref.index.as_unit("ns").rename("timestamp"))
    np.testing.assert_array_equal(bars.to_numpy(), ref[bars.columns].to_numpy())


def test_fill_gaps_inside_session_only(spy):
    part = spy.loc["2017-01-03 14:30":"2017-01-04 21:00"].drop(spy.loc["2017-01-03 15:00":"2017-01-03 15:59"].index)
    plain = make_bars(part, 30, "SPY")
    assert pd.Timestamp("2017-01-03 15:00", tz="UTC") not in plain.index
    filled = make_bars(part, 30, "SPY", fill_gaps=True)
    assert filled["filled"].sum() == 2
    fb = filled[filled["filled"]]
    prev_close = plain.loc[pd.Timestamp("2017-01-03 14:30", tz="UTC"), "close"]
    assert (fb[["open", "high", "low", "close"]] == prev_close).all().all() and (fb["volume"] == 0).all()
    # nothing filled across the overnight break
    assert len(filled) == len(plain) + 2


def test_input_checks(spy, ticks):
    with pytest.raises(InputError, match="whole number of minutes"):
        make_bars(spy, 2.5, "SPY")
    with pytest.raises(InputError, match="Did you mean 'SPY'"):
        make_bars(spy, 5, "SPX")
    b30 = make_bars(spy.iloc[:2000], 30, "SPY")
    with pytest.raises(DataError, match="would span"):
        make_bars(b30, 45, "SPY")
    with pytest.raises(DataError, match="non-decreasing"):
        make_bars(ticks.iloc[[5000, 10]], 5, "ES")


def test_streaming_equals_batch_es_ticks(ticks):
    batch = make_bars(ticks, 5, "ES")
    builder = BarBuilder(5, "ES")
    out = []
    for row in zip(ticks.index, ticks["price"].to_numpy(), ticks["volume"].to_numpy()):
        out += builder.update(row)
    out += builder.flush()
    assert builder.flush() == []
    stream = bars_to_frame(out)
    assert stream.index.equals(batch.index)
    np.testing.assert_array_equal(stream.to_numpy(), batch.to_numpy())


def test_streaming_equals_batch_spy_bars(spy):
    batch = make_bars(spy, 30, "SPY")
    builder = BarBuilder(30, "SPY")
    out = []
    cols = [spy[c].to_numpy() for c in ["open", "high", "low", "close", "volume"]]
    for row in zip(spy.index, *cols):
        out += builder.update(row)
    out += builder.flush()
    stream = bars_to_frame(out)
    assert builder.dropped == batch.attrs["dropped_outside_session"]
    assert stream.index.equals(batch.index)
    np.testing.assert_array_equal(stream.to_numpy(), batch.to_numpy())


def test_streaming_fill_gaps_advance_and_order(spy):
    part = spy.loc["2017-01-03":"2017-01-05"].drop(spy.loc["2017-01-04 16:00":"2017-01-04 17:29"].index)
    batch = make_bars(part, 30, "SPY", fill_gaps=True)
    b = BarBuilder(30, "SPY", fill_gaps=True)
    out = [x for r in part.itertuples() for x in b.update((r.Index, r.open, r.high, r.low, r.close, r.volume))] + b.flush()
    stream = bars_to_frame(out, with_filled=True)
    assert stream.index.equals(batch.index) and stream["filled"].sum() == 3
    np.testing.assert_array_equal(stream.to_numpy(dtype=float), batch.to_numpy(dtype=float))
    # advance() closes a bar by the clock; out-of-order input is refused.
    b2 = BarBuilder(30, "ES")
    t0 = _ct("2013-09-03 09:00")
    assert b2.update(Tick(t0, 1650.0, 1.0)) == []
    assert b2.advance(t0 + pd.Timedelta(minutes=29)) == []
    done = b2.advance(t0 + pd.Timedelta(minutes=30))
    assert len(done) == 1 and done[0].timestamp == t0 and done[0].volume == 1.0
    b2.update({"timestamp": t0 + pd.Timedelta(minutes=31), "price": 1651.0, "volume": 2.0})
    row = pd.Series({"price": 1652.0, "volume": 3.0}, name=t0 + pd.Timedelta(minutes=61))
    assert [x.timestamp for x in b2.update(row)] == [t0 + pd.Timedelta(minutes=30)]
    with pytest.raises(DataError, match="non-decreasing"):
        b2.update((t0, 1650.0, 1.0))


# ----------------------------------------------------------------------------- review findings
def _feed(builder, rows, clock_step=None):
    """Feed (ts, ...) rows; with `clock_step`, also advance the clock to ts + clock_step after each."""
    out = []
    for r in rows:
        out += builder.update(r)
        if clock_step is not None:
            out += builder.advance(r[0] + clock_step)
    return out + builder.flush()


def _rows(bars):
    return list(zip(bars.index, *(bars[c].to_numpy() for c in ["open", "high", "low", "close", "volume"])))


def test_late_tick_after_advance_is_data_error_not_a_second_bar():
    b = BarBuilder(30, "ES")
    t0 = _ct("2013-09-03 09:00")
    b.update(Tick(t0, 1650.0, 1.0))
    assert [x.timestamp for x in b.advance(t0 + pd.Timedelta(minutes=30))] == [t0]
    with pytest.raises(DataError, match="late data.*older than the clock"):
        b.update(Tick(t0 + pd.Timedelta(minutes=29), 1651.0, 1.0))
    # A tick older than the clock is late even when its bar is still open.
    b2 = BarBuilder(30, "ES")
    b2.update(Tick(t0, 1650.0, 1.0))
    assert b2.advance(t0 + pd.Timedelta(minutes=10)) == []
    with pytest.raises(DataError, match="late data"):
        b2.update(Tick(t0 + pd.Timedelta(minutes=5), 1651.0, 1.0))
    # Input bars (labelled by open time) are late when their output bar was already closed.
    b3 = BarBuilder(30, "SPY")
    t1 = pd.Timestamp("2017-01-03 14:30", tz="UTC")
    b3.update((t1, 225.0, 225.5, 224.5, 225.2, 100.0))
    assert len(b3.advance(t1 + pd.Timedelta(minutes=30))) == 1
    with pytest.raises(DataError, match="already closed"):
        b3.update((t1 + pd.Timedelta(minutes=29), 225.0, 225.5, 224.5, 225.2, 100.0))
    # flush() closes the bar too: more input for it cannot open a duplicate bar.
    b4 = BarBuilder(30, "ES")
    b4.update(Tick(t0, 1650.0, 1.0))
    assert len(b4.flush()) == 1
    with pytest.raises(DataError, match="already closed"):
        b4.update(Tick(t0 + pd.Timedelta(minutes=1), 1650.0, 1.0))


def test_stream_fill_gaps_with_advance_equals_batch(spy):
    part = spy.loc["2017-01-03":"2017-01-06"].drop(spy.loc["2017-01-04 16:00":"2017-01-04 17:29"].index)
    batch = make_bars(part, 30, "SPY", fill_gaps=True)
    assert len(batch) == 52 and batch["filled"].sum() == 3
    # A clock-driven runtime: each 1-minute bar is followed by advance(its end).
    out = _feed(BarBuilder(30, "SPY", fill_gaps=True), _rows(part), clock_step=pd.Timedelta(minutes=1))
    stream = bars_to_frame(out, with_filled=True)
    assert stream.index.equals(batch.index) and stream["filled"].sum() == 3
    np.testing.assert_array_equal(stream.to_numpy(dtype=float), batch.to_numpy(dtype=float))


def _span_time(msg: str) -> str:
    return msg.split("input bar at ")[1].split(" (")[0]


def test_stream_raises_like_batch_when_input_bars_do_not_fit(spy):
    b5 = make_bars(spy.iloc[:3000], 5, "SPY")
    with pytest.raises(DataError, match="would span") as batch_err:
        make_bars(b5, 7, "SPY")
    with pytest.raises(DataError, match="would span") as stream_err:
        _feed(BarBuilder(7, "SPY"), _rows(b5))
    assert _span_time(str(stream_err.value)) == _span_time(str(batch_err.value))
    # Gaps before the first pair of neighbouring bars do not trip the causal length estimate.
    part = spy.iloc[:2000].drop(spy.index[[1, 3, 5]])
    batch = make_bars(part, 30, "SPY")
    stream = bars_to_frame(_feed(BarBuilder(30, "SPY"), _rows(part)))
    assert stream.index.equals(batch.index)
    np.testing.assert_array_equal(stream.to_numpy(), batch.to_numpy())


@pytest.mark.parametrize(("bad", "column", "why"), [(np.nan, "high", "not finite"), (np.inf, "close", "not finite"), (0.0, "low", "<= 0"), (-1.0, "volume", "negative volume")])
def test_bad_bar_values_raise_in_batch_and_stream(spy, bad, column, why):
    part = spy.iloc[:200].copy()
    part.iloc[57, part.columns.get_loc(column)] = bad
    when = str(part.index[57])
    with pytest.raises(DataError, match=why) as batch_err:
        make_bars(part, 30, "SPY")
    assert "row 57" in str(batch_err.value) and f"column '{column}'" in str(batch_err.value) and when in str(batch_err.value)
    with pytest.raises(DataError, match=why) as stream_err:
        _feed(BarBuilder(30, "SPY"), _rows(part))
    assert f"column '{column}'" in str(stream_err.value) and when in str(stream_err.value) and "#57" in str(stream_err.value)


def test_nan_tick_raises_in_batch_and_stream(ticks):
    part = ticks.iloc[:300].copy()
    part.iloc[120, 0] = np.nan
    with pytest.raises(DataError, match=r"row 120 .*column 'price'.*not finite"):
        make_bars(part, 5, "ES")
    rows = list(zip(part.index, part["price"].to_numpy(), part["volume"].to_numpy()))
    with pytest.raises(DataError, match=r"#120 .*column 'price'.*not finite"):
        _feed(BarBuilder(5, "ES"), rows)


def test_wrong_input_types_raise_our_errors(spy):
    with pytest.raises(InputError, match="expects a pandas DataFrame.*found ndarray"):
        make_bars(spy.to_numpy(), 30, "SPY")
    t = pd.Timestamp("2017-01-03 14:30", tz="UTC")
    b = BarBuilder(30, "SPY")
    for item, match in [("abc", "received str"), ((t, 1.0), "received 2 values"), (42, "received int")]:
        with pytest.raises(InputError, match=match):  # not a tick or bar at all
            b.update(item)
    # A tick or bar whose content is wrong: DataError, the one rule of every streamed bar (issue 9).
    for item, match in [
        ((t, "x", 1), "'price' must be a number"),
        ((t, 1.0, None), "'volume' must be a number"),
        ({"timestamp": t, "high": 1, "low": 1, "close": 1, "volume": 1}, r"lacks \['open'\]"),
        (("not a time", 1.0, 1.0), "tz-aware timestamp"),
        ((t.tz_localize(None), 1.0, 1.0), "naive"),
    ]:
        with pytest.raises(DataError, match=match):
            b.update(item)
    with pytest.raises(InputError, match="tz-aware timestamp"):
        b.advance("soon")
