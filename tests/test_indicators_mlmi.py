"""MLMI: kNN vote, label timing (a crossover's label is used only once it is known),
streaming = batch, causality."""

from __future__ import annotations

import numpy as np
import pytest
from test_indicators_common import assert_same, spy_bars, stream, synthetic_bars

from algospace.data import heikin_ashi
from algospace.errors import InputError
from algospace.features.causality import assert_causal
from algospace.features.indicators import MLMI, MLMIParams, mlmi
from algospace.features.indicators.kernels import crosses, wma
from algospace.features.indicators.mlmi import knn_up_share


def test_knn_vote_counts_nearest_labels_and_prefers_recent_ties():
    px = np.array([0.0, 1.0, 2.0, 10.0, 0.0])
    py = np.zeros(5)
    up = np.array([True, True, False, False, False])
    one = np.array([0.2]), np.array([0.0])
    # k = 2 among all five: nearest are (0,0) twice at index 0 and 4 -> tie at distance 0.2;
    # both are taken -> one up, one down
    assert knn_up_share(*one, px, py, up, np.array([0]), np.array([5]), 2)[0] == 50.0
    # k = 1: the tie at the k-th distance goes to the more recent pair (index 4, down)
    assert knn_up_share(*one, px, py, up, np.array([0]), np.array([5]), 1)[0] == 0.0
    # only pairs in [lo, hi) count: without the last pair, the nearest is index 0 (up)
    assert knn_up_share(*one, px, py, up, np.array([0]), np.array([4]), 1)[0] == 100.0
    # fewer candidates than k, or a NaN query -> NaN (no made-up value)
    assert np.isnan(knn_up_share(*one, px, py, up, np.array([0]), np.array([1]), 2)[0])
    assert np.isnan(knn_up_share(np.array([np.nan]), np.array([0.0]), px, py, up, np.array([0]), np.array([5]), 1)[0])


def _first_crossover(bars, p):
    close = bars["close"].to_numpy()
    cross = crosses(wma(close, p.ma_fast), wma(close, p.ma_slow))
    return [int(c) for c in np.flatnonzero(cross != 0) if c > 60]


def test_label_joins_only_when_the_future_close_is_known():
    p = MLMIParams(k=1, max_pairs=1, label_horizon=4)  # the single most recent labelled pair decides
    bars = synthetic_bars(400, seed=11)
    base = mlmi(bars, p)
    c = _first_crossover(bars, p)[3]
    known = c + p.label_horizon
    flipped = bars.copy()
    # Move the close at c + H to the other side of the crossover close: the label flips.
    target = bars["close"].iloc[c] * (0.97 if bars["close"].iloc[known] >= bars["close"].iloc[c] else 1.03)
    for col in ("open", "close"):
        flipped.iloc[known, flipped.columns.get_loc(col)] = target
    flipped.iloc[known, flipped.columns.get_loc("high")] = target * 1.001
    flipped.iloc[known, flipped.columns.get_loc("low")] = target * 0.999
    out = mlmi(flipped, p)
    np.testing.assert_array_equal(base["mlmi_value"].iloc[:known].to_numpy(), out["mlmi_value"].iloc[:known].to_numpy())
    # at bar c + H the new pair (label flipped) is the only neighbour: the vote flips 0 <-> 100
    assert {base["mlmi_value"].iloc[known], out["mlmi_value"].iloc[known]} == {0.0, 100.0}


def test_values_and_warmup():
    p = MLMIParams(k=10)
    out = mlmi(synthetic_bars(900, seed=12), p)
    v = out["mlmi_value"]
    first = int(np.flatnonzero(v.notna().to_numpy())[0])
    assert v.iloc[first:].notna().all()
    assert np.isin(v.dropna().to_numpy(), np.arange(0, 101, 10)).all()
    assert set(np.unique(out["mlmi_signal"])) <= {-1.0, 0.0, 1.0} and (out["mlmi_signal"] != 0).any()


@pytest.mark.parametrize("params", [MLMIParams(), MLMIParams(k=5, max_pairs=30, label_horizon=1)], ids=["default", "small"])
@pytest.mark.parametrize("bars", [synthetic_bars(900, seed=13), heikin_ashi(spy_bars(30, 25000))], ids=["synthetic", "spy-30m-ha"])
def test_stream_equals_batch(bars, params):
    batch = mlmi(bars, params)
    assert batch["mlmi_value"].notna().sum() > 200
    assert_same(batch, stream(lambda: MLMI(params), bars))


@pytest.mark.parametrize("bars", [synthetic_bars(600, seed=14), heikin_ashi(spy_bars(30, 20000))], ids=["synthetic", "spy-30m-ha"])
def test_causal(bars):
    p = MLMIParams(k=5)
    assert_causal(lambda b: mlmi(b, p), bars, [50, 200, len(bars) // 2, len(bars) - 30])


def test_bad_parameters():
    with pytest.raises(InputError, match="ma_fast must be < ma_slow"):
        MLMIParams(ma_fast=20, ma_slow=20)
    with pytest.raises(InputError, match="max_pairs must be >= k"):
        MLMIParams(k=50, max_pairs=10)
    with pytest.raises(InputError, match="k: Input should be greater than or equal to 1"):
        MLMIParams(k=0)
