"""Matrix assemblers: shapes and scaling, window errors, streaming = batch, causality (on real
SPY 1-minute bars aggregated to 5/30 minutes, and on synthetic bars)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_indicators_common import spy_1m, spy_bars, synthetic_bars

from algospace.data import heikin_ashi, make_bars
from algospace.errors import DataError, InputError
from algospace.features.causality import assert_causal
from algospace.features.indicators import mlmi
from algospace.features.matrices import (
    MATRIX_5M_COLUMNS,
    MATRIX_30M_COLUMNS,
    Matrix5mAssembler,
    Matrix5mParams,
    Matrix30mAssembler,
    Matrix30mParams,
    all_windows,
    features_5m,
    features_30m,
    raw_30m,
    window_5m,
    window_30m,
)

N_1M = 25000  # ~5,000 5-minute and ~830 30-minute bars: enough for MLMI's warm-up plus 48 bars


def _ready(features):
    return int(np.flatnonzero(features.notna().all(axis=1).to_numpy())[0])


def test_windows_have_the_documented_shapes_and_scales():
    f30 = features_30m(spy_bars(30, N_1M))
    f5 = features_5m(spy_bars(5, N_1M))
    assert tuple(f30.columns) == MATRIX_30M_COLUMNS and tuple(f5.columns) == MATRIX_5M_COLUMNS
    w30, w5 = window_30m(f30, -1), window_5m(f5, -1)
    assert w30.shape == (48, 8) and w5.shape == (60, 7) and w30.dtype == np.float64
    ok30, ok5 = f30.iloc[_ready(f30) :], f5.iloc[_ready(f5) :]
    assert ok30.notna().all().all() and ok5.notna().all().all()
    assert ok30["mlmi_value"].between(-1, 1).all() and ok30["lvn_strength"].between(0, 1).all()
    assert (ok30["hour_sin"] ** 2 + ok30["hour_cos"] ** 2).sub(1).abs().max() < 1e-12
    assert ok30.abs().max().max() <= 10 and ok5.abs().drop(columns="volume_ratio").max().max() <= 10
    assert set(np.unique(ok5["fvg_mitigation"])) <= {-1.0, 0.0, 1.0} and ok5["fvg_age"].between(0, 1).all()
    # MLMI comes from Heikin-Ashi candles, as in the original
    np.testing.assert_allclose(f30["mlmi_value"] * 50 + 50, mlmi(heikin_ashi(spy_bars(30, N_1M)))["mlmi_value"], equal_nan=True)
    # 09:30 New York is the first 30-minute bar of a session
    raw = raw_30m(spy_bars(30, N_1M))
    assert raw["hour"].min() == 9.5


def test_window_errors_are_clear():
    f30 = features_30m(spy_bars(30, N_1M))
    with pytest.raises(InputError, match="needs 48 bars ending at bar 10.*only 11"):
        window_30m(f30, 10)
    with pytest.raises(DataError, match="holds NaN in 'mlmi_value'.*first complete row"):
        window_30m(f30, 60)
    with pytest.raises(InputError, match="outside"):
        window_30m(f30, len(f30))
    with pytest.raises(InputError, match="not in the features index"):
        window_30m(f30, pd.Timestamp("2030-01-01", tz="UTC"))
    with pytest.raises(InputError, match="row position"):
        window_5m(features_5m(spy_bars(5, 3000)), 3.5)
    ts = f30.index[-1]
    np.testing.assert_array_equal(window_30m(f30, ts), window_30m(f30, -1))


@pytest.mark.parametrize("bars", [spy_bars(30, N_1M), synthetic_bars(500, seed=41, minutes=30)], ids=["spy", "synthetic"])
def test_stream_equals_batch_30m(bars):
    p = Matrix30mParams(mlmi={"k": 10})
    feats = features_30m(bars, p)
    asm = Matrix30mAssembler(p)
    got = [asm.update(bars.iloc[i]) for i in range(len(bars))]
    first = next(i for i, m in enumerate(got) if m is not None)
    assert first == _ready(feats) + 47
    assert all(m is None for m in got[:first])
    for i in range(first, len(bars)):
        np.testing.assert_allclose(got[i], window_30m(feats, i, p), rtol=0, atol=1e-9)
    assert first < len(bars) - 100


@pytest.mark.parametrize("bars", [spy_bars(5, 8000), synthetic_bars(400, seed=42)], ids=["spy", "synthetic"])
def test_stream_equals_batch_5m(bars):
    feats = features_5m(bars)
    asm = Matrix5mAssembler()
    got = [asm.update(bars.iloc[i]) for i in range(len(bars))]
    first = next(i for i, m in enumerate(got) if m is not None)
    assert first == _ready(feats) + 59
    for i in range(first, len(bars)):
        np.testing.assert_allclose(got[i], window_5m(feats, i), rtol=0, atol=1e-9)


def test_all_windows_match_single_windows():
    feats = features_5m(spy_bars(5, 4000))
    x, ends = all_windows(feats, 60)
    assert x.shape[1:] == (60, 7) and len(x) == len(ends) > 0
    for k in (0, len(x) // 2, len(x) - 1):
        np.testing.assert_array_equal(x[k], window_5m(feats, ends[k]))


def _cuts_at_30m_closes(bars_1m, k=4):
    """Positions of 1-minute bars that end a 30-minute bar (minute 29 or 59): perturbing the
    bars after such a cut leaves every 5- and 30-minute bar labelled at or before it intact."""
    pos = np.flatnonzero(np.isin(bars_1m.index.minute, (29, 59)))
    return [int(pos[i]) for i in np.linspace(len(pos) // 3, len(pos) - 3, k).astype(int)]


def test_causal_on_real_bars():
    m1 = spy_1m(N_1M)
    cuts = _cuts_at_30m_closes(m1)
    p30 = Matrix30mParams(mlmi={"k": 5})
    assert features_30m(make_bars(m1, 30, "SPY"), p30).notna().all(axis=1).sum() > 300
    assert_causal(lambda b: features_30m(make_bars(b, 30, "SPY"), p30), m1, cuts)
    assert_causal(lambda b: features_5m(make_bars(b, 5, "SPY")), m1, cuts)


def test_causal_on_synthetic_bars():
    b30 = synthetic_bars(400, seed=43, minutes=30)
    assert_causal(lambda b: features_30m(b, Matrix30mParams(mlmi={"k": 5})), b30, [50, 200, 350])
    b5 = synthetic_bars(400, seed=44)
    assert_causal(lambda b: features_5m(b, Matrix5mParams(fvg={"min_gap": 0.0})), b5, [30, 200, 390])


def test_streaming_rejects_bad_bars():
    asm = Matrix30mAssembler()
    bars = spy_bars(30, 3000)
    asm.update(bars.iloc[1])
    with pytest.raises(DataError, match="strictly increasing"):
        asm.update(bars.iloc[0])
    with pytest.raises(DataError, match="timestamp"):  # a bar's content: DataError, as for every stream (issue 9)
        Matrix5mAssembler().update({k: 1.0 for k in ("open", "high", "low", "close", "volume")})
    with pytest.raises(InputError, match="Extra inputs"):
        Matrix5mParams(windows=3)


def test_parameters_are_checked_when_built_on_every_path():
    # an unknown time zone used to pass here and fail later inside features_30m (ZoneInfoNotFoundError)
    with pytest.raises(InputError, match="time zone 'Mars/X'"):
        Matrix30mParams(timezone="Mars/X")
    with pytest.raises(InputError, match="time zone"):
        Matrix5mParams.model_validate({"timezone": "Nowhere/Land"})
    with pytest.raises(InputError, match="window"):
        Matrix30mParams.model_validate_json('{"window": 0}')
    with pytest.raises(InputError, match="ma_fast must be < ma_slow"):
        Matrix30mParams(mlmi={"ma_fast": 20, "ma_slow": 20})  # a nested model's own check
    assert Matrix30mParams(timezone="Europe/London").timezone == "Europe/London"


@pytest.mark.parametrize("fn", [features_30m, features_5m])
def test_batch_rejects_bad_bars(fn):
    bars = synthetic_bars(100, seed=45, minutes=30)
    nan = bars.copy()
    nan.iloc[50, nan.columns.get_loc("close")] = np.nan
    with pytest.raises(DataError, match="row 50 .*column 'close'.*not finite"):
        fn(nan)
    with pytest.raises(DataError, match="strictly increasing"):
        fn(bars.iloc[::-1])


def test_layout_fingerprints_name_every_choice():
    a, b = Matrix30mParams().fingerprint(), Matrix30mParams(mlmi={"k": 5}).fingerprint()
    assert len(a) == 64 and a != b and a == Matrix30mParams().fingerprint()
    assert Matrix5mParams().fingerprint() != Matrix5mParams(fvg={"min_gap": 0.0}).fingerprint()
