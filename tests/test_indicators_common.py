"""Shared helpers for the indicator / matrix / synergy tests, and the bad-input tests common to
every indicator. Other test modules import the helpers from here."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from algospace.data import make_bars, sample
from algospace.errors import DataError, InputError
from algospace.features.indicators import ATR, FVG, LVN, MLMI, NWRQK, RSI, atr, fvg, lvn, mlmi, nwrqk, rsi

BATCH_AND_STREAM = [(atr, ATR), (rsi, RSI), (mlmi, MLMI), (nwrqk, NWRQK), (fvg, FVG), (lvn, LVN)]


def synthetic_bars(n: int = 1500, seed: int = 0, minutes: int = 5, price: float = 400.0) -> pd.DataFrame:
    """A seeded random walk with fat tails, volatility clustering and lognormal volume."""
    rng = np.random.default_rng(seed)
    ret = rng.standard_t(4, n) * 0.0015
    vol = np.exp(np.convolve(rng.normal(0, 0.3, n + 19), np.ones(20) / 20, mode="valid"))
    close = price * np.exp(np.cumsum(ret * vol))
    open_ = np.concatenate([[price], close[:-1]]) * (1 + rng.normal(0, 0.0004, n))
    spread = np.abs(rng.normal(0, 0.002, n)) * close
    high = np.maximum(open_, close) + spread * rng.uniform(0, 1, n)
    low = np.minimum(open_, close) - spread * rng.uniform(0, 1, n)
    volume = np.round(rng.lognormal(10, 0.6, n))
    idx = pd.date_range("2024-01-02 14:30", periods=n, freq=f"{minutes}min", tz="UTC", name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=idx)


@functools.lru_cache(maxsize=4)
def spy_1m(n: int, start: int = 0) -> pd.DataFrame:
    """A slice of the bundled real SPY 1-minute sample."""
    return sample("spy-1m").iloc[start : start + n].copy()


@functools.lru_cache(maxsize=8)
def spy_bars(minutes: int, n_1m: int, start: int = 0) -> pd.DataFrame:
    """Real SPY bars of `minutes` built from a slice of the 1-minute sample."""
    return make_bars(spy_1m(n_1m, start), minutes, "SPY")


def stream(cls_or_obj: Callable | object, bars: pd.DataFrame) -> pd.DataFrame | pd.Series:
    """Feed bars one at a time (as pandas rows) and collect the outputs like the batch path."""
    obj = cls_or_obj() if callable(cls_or_obj) else cls_or_obj
    out = [obj.update(bars.iloc[i]) for i in range(len(bars))]
    if isinstance(out[0], dict):
        return pd.DataFrame(out, index=bars.index)
    return pd.Series(out, index=bars.index)


def assert_same(batch: pd.DataFrame | pd.Series, streamed: pd.DataFrame | pd.Series, atol: float = 1e-9) -> None:
    a, b = np.asarray(batch, dtype=float), np.asarray(streamed, dtype=float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN pattern differs between batch and stream"
    np.testing.assert_allclose(a, b, rtol=0, atol=atol, equal_nan=True)


# ----------------------------------------------------------------------------- bad input, every indicator
@pytest.mark.parametrize("fn, cls", BATCH_AND_STREAM, ids=[f.__name__ for f, _ in BATCH_AND_STREAM])
def test_unsorted_index_is_a_data_error(fn, cls):
    bars = synthetic_bars(60)
    swapped = bars.iloc[[0, 2, 1, *range(3, 60)]]
    with pytest.raises(DataError, match="strictly increasing"):
        fn(swapped)
    obj = cls()
    obj.update(bars.iloc[1])
    with pytest.raises(DataError, match="strictly increasing"):
        obj.update(bars.iloc[0])


@pytest.mark.parametrize("fn, cls", BATCH_AND_STREAM, ids=[f.__name__ for f, _ in BATCH_AND_STREAM])
def test_nan_inside_bars_is_a_data_error(fn, cls):
    bars = synthetic_bars(60)
    bars.iloc[30, bars.columns.get_loc("low")] = np.nan
    with pytest.raises(DataError, match="row 30 .*column 'low'.*not finite"):
        fn(bars)
    obj = cls()
    with pytest.raises(DataError, match="non-finite low"):
        obj.update(bars.iloc[30])


@pytest.mark.parametrize("fn", [f for f, _ in BATCH_AND_STREAM], ids=[f.__name__ for f, _ in BATCH_AND_STREAM])
def test_structural_problems_are_data_errors(fn):
    bars = synthetic_bars(40)
    with pytest.raises(DataError, match="missing column"):
        fn(bars.drop(columns="volume"))
    with pytest.raises(DataError, match="tz-aware"):
        fn(bars.tz_localize(None))
    dup = bars.copy()
    dup.index = dup.index[[0, 0, *range(2, 40)]]
    with pytest.raises(DataError, match="duplicate"):
        fn(dup)
    with pytest.raises(InputError, match="DataFrame"):
        fn(bars.to_numpy())
    with pytest.raises(DataError, match="expected float64"):  # the contract is float64; nothing is cast silently
        fn(bars.astype({"volume": "int64"}))
    with pytest.raises(DataError, match="high < max"):
        fn(bars.assign(high=bars["low"]))
    zero = bars.copy()
    zero.iloc[7, zero.columns.get_loc("low")] = 0.0
    with pytest.raises(DataError, match="row 7 .*'low'.*price <= 0"):
        fn(zero)


@pytest.mark.parametrize("cls", [c for _, c in BATCH_AND_STREAM], ids=[c.__name__ for _, c in BATCH_AND_STREAM])
def test_streams_refuse_what_batch_refuses(cls):
    """The one-bar contract check: a bar the batch path refuses is refused when streamed too."""
    bar = synthetic_bars(3).iloc[1]
    for bad, why in (({"high": bar["low"] - 1.0}, "high/low"), ({"low": -1.0}, "price <= 0"), ({"volume": -1.0}, "negative volume")):
        with pytest.raises(DataError, match=f"breaks the bars contract: .*{why}"):
            cls().update({"timestamp": bar.name, **{**bar.to_dict(), **bad}})


def test_update_accepts_rows_mappings_and_itertuples():
    bars = synthetic_bars(120)
    a, b, c = NWRQK(), NWRQK(), NWRQK()
    for i, row in enumerate(bars.itertuples()):
        ra = a.update(bars.iloc[i])
        rb = b.update({"timestamp": bars.index[i], **bars.iloc[i].to_dict()})
        rc = c.update(row)
    assert np.isfinite(ra["nwrqk_value"])
    assert ra == rb == rc
    # the data layer's streaming bars (algospace.data.Bar) feed the assemblers directly
    from algospace.data import Bar
    from algospace.features.matrices import Matrix5mAssembler, features_5m, window_5m

    asm = Matrix5mAssembler()
    for i, r in enumerate(bars.itertuples()):
        m = asm.update(Bar(r.Index, r.open, r.high, r.low, r.close, r.volume))
    np.testing.assert_array_equal(m, window_5m(features_5m(bars), -1))
    with pytest.raises(DataError, match="numeric"):
        ATR().update({"open": 1.0, "high": 2.0})
    with pytest.raises(InputError, match="expects a bar"):
        ATR().update(3.0)


def test_short_input_gives_nan_warmup_not_an_error():
    bars = synthetic_bars(5)
    for fn, _ in BATCH_AND_STREAM:
        out = fn(bars)
        assert len(out) == 5
    assert atr(bars).isna().all() and nwrqk(bars)["nwrqk_value"].isna().all()
