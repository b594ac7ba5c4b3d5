"""The 155 regime features: API, fitted state, persistence, causality, stream = batch, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from algospace.data import make_bars, sample
from algospace.errors import ArtifactError, ConfigError, DataError, InputError, NotFittedError
from algospace.features import FeatureParams, FeatureSpec, RegimeWindowStream, regime_windows
from algospace.features.causality import assert_causal
from algospace.features.regime import LOOKBACK
from algospace.features.regime import mmd as mmd_mod


def synthetic_bars(n: int, seed: int = 0, start: str = "2021-03-01 14:30") -> pd.DataFrame:
    """A seeded random walk with regime switches (calm / volatile / trending) and realistic OHLCV."""
    rng = np.random.default_rng(seed)
    vol = np.where((np.arange(n) // 150) % 3 == 1, 0.006, 0.0015)
    drift = np.where((np.arange(n) // 150) % 3 == 2, 0.0008, 0.0)
    r = drift + vol * rng.standard_normal(n)
    close = 100.0 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]] * np.exp(0.0002 * rng.standard_normal(n))
    spread = vol * np.abs(rng.standard_normal(n)) * close
    high = np.maximum(open_, close) + spread * rng.uniform(0, 1, n)
    low = np.minimum(open_, close) - spread * rng.uniform(0, 1, n)
    volume = np.round(1e5 * np.exp(0.4 * rng.standard_normal(n)) * (1 + 100 * vol))
    index = pd.date_range(start, periods=n, freq="30min", tz="UTC", name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


@pytest.fixture(scope="module")
def spy30() -> pd.DataFrame:
    """Real SPY 30-minute bars (first ~2,000 of the bundled 2017-2019 sample)."""
    minutes = sample("spy-1m")
    return make_bars(minutes.iloc[: 2000 * 30], 30, "SPY")


@pytest.fixture(scope="module")
def fitted(spy30: pd.DataFrame) -> FeatureSpec:
    return FeatureSpec.default().fit(spy30.iloc[:700])


# ----- definition -----
def test_default_spec_has_155_unique_documented_features() -> None:
    spec = FeatureSpec.default()
    assert spec.width == 155 and len(spec.names) == 155 and len(set(spec.names)) == 155
    assert spec.version == 1
    assert sum(n.startswith("mmd_") for n in spec.names) == 105
    assert all(i.formula and i.why and i.window >= 1 for i in spec.info)
    assert spec.warmup == LOOKBACK - 1


def test_invalid_params_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="mmd_windows"):
        FeatureSpec({"mmd_windows": (26, 13)})
    with pytest.raises(ConfigError, match="bogus"):
        FeatureSpec({"bogus": 1})
    with pytest.raises(ConfigError, match="references"):
        FeatureSpec({"references": ("calm", "sideways")})
    small = FeatureSpec({"mmd_windows": (8, 26), "bandwidth_multipliers": (1.0,), "references": ("calm", "volatile")})
    assert small.width == 2 * 2 * 1 + 50
    # every construction path raises our error, never a bare pydantic ValidationError
    with pytest.raises(ConfigError, match="mmd_windows"):
        FeatureParams(mmd_windows=(1,))
    with pytest.raises(ConfigError, match="min_fit_bars"):
        FeatureParams.model_validate({"min_fit_bars": 10})
    with pytest.raises(ConfigError, match="clip"):
        FeatureParams.model_validate_json('{"clip": -1}')


# ----- fit / transform -----
def test_fit_transform_shape_index_and_values(spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    feats = fitted.transform(spy30)
    assert feats.shape == (len(spy30) - LOOKBACK + 1, 155)
    assert list(feats.columns) == fitted.names
    assert feats.index.equals(spy30.index[LOOKBACK - 1 :]) and feats.index.name == "timestamp"
    values = feats.to_numpy()
    assert values.dtype == np.float64 and np.isfinite(values).all()
    assert np.abs(values).max() <= fitted.params.clip
    # robust scaling fitted on the training rows: medians ~0 there, spread ~1
    train = feats.loc[: spy30.index[699]]
    assert np.abs(np.median(train.to_numpy(), axis=0)).max() < 1e-9
    mad = np.median(np.abs(train.to_numpy()), axis=0) * 1.4826
    assert np.median(mad) == pytest.approx(1.0, abs=0.05)


def test_unfitted_spec_refuses_with_not_fitted_error(spy30: pd.DataFrame) -> None:
    spec = FeatureSpec.default()
    for call in (lambda: spec.transform(spy30), lambda: spec.fingerprint, lambda: spec.stream(), lambda: spec.save("x.json")):
        with pytest.raises(NotFittedError, match="fit"):
            call()


def test_transform_never_refits_and_rows_do_not_depend_on_history_length(spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    fp = fitted.fingerprint
    full = fitted.transform(spy30)
    part = fitted.transform(spy30.iloc[500:900])
    assert fitted.fingerprint == fp
    np.testing.assert_array_equal(part.to_numpy(), full.loc[part.index].to_numpy())


def test_fingerprint_is_deterministic_and_tracks_data_and_params(spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    again = FeatureSpec.default().fit(spy30.iloc[:700])
    assert again.fingerprint == fitted.fingerprint and len(fitted.fingerprint) == 64
    other_data = FeatureSpec.default().fit(spy30.iloc[100:800])
    assert other_data.fingerprint != fitted.fingerprint
    other_seed = FeatureSpec({"seed": 1}).fit(spy30.iloc[:700])
    assert other_seed.fingerprint != fitted.fingerprint


def test_reference_regimes_and_bandwidths_come_from_training_data_only(spy30: pd.DataFrame) -> None:
    a = FeatureSpec.default().fit(spy30.iloc[:700])
    b_bars = spy30.copy()
    b_bars.iloc[700:, :4] *= 1.5  # change only bars after the training range
    b = FeatureSpec.default().fit(b_bars.iloc[:700])
    assert a.fingerprint == b.fingerprint
    st = a.state_
    assert st.references.shape == (7, 96, len(mmd_mod.OBS_NAMES))
    assert np.allclose(st.bandwidths, st.median_distance * np.array([0.5, 1.0, 2.0]))


# ----- MMD correctness against the textbook formula -----
def _brute_mmd(x: np.ndarray, y: np.ndarray, bw: float) -> float:
    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * bw * bw))

    return math.sqrt(max(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean(), 0.0))


def test_mmd_scores_match_brute_force(spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    bars = spy30.iloc[:400]
    raw = fitted.transform(bars, scaled=False)
    st = fitted.state_
    from algospace.features.regime.series import bar_series

    s = bar_series(bars.to_numpy(dtype=float)[:, :5])
    obs = mmd_mod.standardise(mmd_mod.raw_observations(s), st.obs_center, st.obs_scale)
    for t in (LOOKBACK - 1, 250, 399):
        for qi, ref in enumerate(fitted.params.references):
            for n in (8, 52, 100):
                for bi, mult in enumerate(fitted.params.bandwidth_multipliers):
                    name = f"mmd_{ref}_w{n}_bw{mult:g}".replace(".", "p")
                    want = _brute_mmd(obs[t - n + 1 : t + 1], st.references[qi], st.bandwidths[bi])
                    assert raw.loc[bars.index[t], name] == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_statistics_match_pandas_rolling(spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    raw = fitted.transform(spy30, scaled=False)
    r = np.log(spy30["close"]).diff()
    ref = pd.DataFrame(
        {
            "vol_26": r.rolling(26).std(),
            "mom_13": np.log(spy30["close"]).diff(13),
            "rsi_14": 100 * r.clip(lower=0).rolling(14).mean() / r.abs().rolling(14).mean(),
            "range_1": np.log(spy30["high"] / spy30["low"]),
            "volu_cv_26": spy30["volume"].rolling(26).std() / spy30["volume"].rolling(26).mean(),
        }
    ).loc[raw.index]
    for col in ("vol_26", "mom_13", "rsi_14", "range_1", "volu_cv_26"):
        np.testing.assert_allclose(raw[col].to_numpy(), ref[col].to_numpy(), rtol=1e-9, atol=1e-12, err_msg=col)
    # biased skewness from scipy
    from scipy.stats import skew

    t = raw.index[50]
    pos = spy30.index.get_loc(t)
    assert raw.loc[t, "skew_104"] == pytest.approx(skew(r.iloc[pos - 103 : pos + 1].to_numpy()), rel=1e-9)


def test_mmd_separates_calm_and_volatile_regimes() -> None:
    bars = synthetic_bars(1500, seed=3)
    spec = FeatureSpec.default().fit(bars.iloc[:900])
    raw = spec.transform(bars, scaled=False)
    pos = np.arange(len(bars))[LOOKBACK - 1 :]
    phase = (pos // 150) % 3
    inner = (pos % 150) >= 60  # the 52-bar window lies inside one phase
    calm, volatile = raw[(phase == 0) & inner], raw[(phase == 1) & inner]
    assert calm["mmd_calm_w52_bw1"].mean() < volatile["mmd_calm_w52_bw1"].mean()
    assert calm["mmd_volatile_w52_bw1"].mean() > volatile["mmd_volatile_w52_bw1"].mean()
    assert calm["vol_52"].mean() < volatile["vol_52"].mean()


# ----- causality and stream = batch -----
def test_every_feature_is_causal_on_real_bars(spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    bars = spy30.iloc[800:1150]
    assert_causal(lambda b: fitted.transform(b, scaled=False), bars, cuts=[LOOKBACK + 5, 200, 330])


def test_every_feature_is_causal_on_synthetic_bars() -> None:
    bars = synthetic_bars(700, seed=1)
    spec = FeatureSpec.default().fit(bars.iloc[:400])
    assert_causal(spec.transform, bars, cuts=[LOOKBACK - 1, 400, 650])


@pytest.mark.parametrize("source", ["real", "synthetic"])
def test_stream_equals_batch(source: str, spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    if source == "real":
        bars, spec = spy30.iloc[1000:1400], fitted
    else:
        bars = synthetic_bars(600, seed=2)
        spec = FeatureSpec.default().fit(synthetic_bars(500, seed=5))
    batch = spec.transform(bars)
    stream = spec.stream()
    rows = [stream.update(bar) for _, bar in bars.iterrows()]
    assert all(r is None for r in rows[: LOOKBACK - 1]) and all(r is not None for r in rows[LOOKBACK - 1 :])
    got = pd.DataFrame(rows[LOOKBACK - 1 :])
    assert got.index.equals(batch.index) and list(got.columns) == spec.names
    np.testing.assert_allclose(got.to_numpy(), batch.to_numpy(), rtol=0, atol=1e-9)


def test_stream_rejects_out_of_order_and_bad_bars(fitted: FeatureSpec, spy30: pd.DataFrame) -> None:
    stream = fitted.stream()
    stream.update(spy30.iloc[0])
    with pytest.raises(DataError, match="increasing"):
        stream.update(spy30.iloc[0])
    bad = spy30.iloc[1].copy()
    bad["close"] = np.nan
    with pytest.raises(DataError, match="contract"):
        stream.update(bad)
    bad = spy30.iloc[1].copy()
    bad["high"] = bad["close"] - 0.01
    with pytest.raises(DataError, match="contract"):
        stream.update(bad)
    # One error rule for a streamed bar (issue 9): InputError only when it is no bar at all;
    # anything about its content, the timestamp included, is a DataError as in the batch path.
    with pytest.raises(DataError, match="timestamp"):
        stream.update({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0})
    text = {**spy30.iloc[1].to_dict(), "timestamp": spy30.index[1], "close": "n/a"}
    with pytest.raises(DataError, match="numeric"):
        stream.update(text)
    with pytest.raises(DataError, match="not a timestamp"):
        stream.update({**spy30.iloc[1].to_dict(), "timestamp": "yesterday-ish"})
    with pytest.raises(DataError, match="naive"):
        stream.update({**spy30.iloc[1].to_dict(), "timestamp": spy30.index[1].tz_localize(None)})
    with pytest.raises(InputError, match="expects a bar"):
        stream.update(3.0)


# ----- bad input -----
def test_bad_input_raises_clear_errors(spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    bars = spy30.iloc[:300]
    with pytest.raises(InputError, match=f"at least {LOOKBACK} bars \\(the lookback"):
        fitted.transform(bars.iloc[: LOOKBACK - 1])
    with pytest.raises(InputError, match=f"at least 300 bars \\(FeatureParams.min_fit_bars; each feature row reads {LOOKBACK} bars"):
        FeatureSpec.default().fit(bars.iloc[:200])
    nan = bars.copy()
    nan.iloc[150, nan.columns.get_loc("close")] = np.nan
    with pytest.raises(DataError, match="row 150 at .*'close'.*not finite"):
        fitted.transform(nan)
    with pytest.raises(DataError, match="out of order"):
        fitted.transform(bars.iloc[::-1])
    with pytest.raises(DataError, match="duplicate timestamp"):
        fitted.transform(pd.concat([bars.iloc[:200], bars.iloc[199:]]))
    zero = bars.copy()
    zero.iloc[120, :4] = 0.0
    with pytest.raises(DataError, match="row 120 .*price <= 0"):
        fitted.transform(zero)
    broken = bars.copy()
    broken.iloc[130, broken.columns.get_loc("high")] = broken["low"].iloc[130] - 1.0
    with pytest.raises(DataError, match="high"):
        fitted.transform(broken)
    with pytest.raises(DataError, match="tz-aware"):
        fitted.transform(bars.tz_localize(None))
    with pytest.raises(DataError, match="missing"):
        fitted.transform(bars.drop(columns="volume"))
    with pytest.raises(DataError, match="expected float64"):
        fitted.transform(bars.astype({"volume": "int64"}))
    with pytest.raises(InputError, match="DataFrame"):
        fitted.transform(bars.to_numpy())


# ----- persistence -----
def test_save_load_roundtrip(tmp_path, spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    path = fitted.save(tmp_path / "spec.json")
    loaded = FeatureSpec.load(path)
    assert loaded.fingerprint == fitted.fingerprint and loaded.width == 155 and loaded.names == fitted.names
    bars = spy30.iloc[:400]
    np.testing.assert_array_equal(loaded.transform(bars).to_numpy(), fitted.transform(bars).to_numpy())
    assert [p.name for p in tmp_path.iterdir()] == ["spec.json"]  # no temp files left behind


def test_load_refuses_tampered_and_foreign_files(tmp_path, fitted: FeatureSpec) -> None:
    path = fitted.save(tmp_path / "spec.json")
    d = json.loads(path.read_text())
    d["state"]["bandwidths"][0] *= 1.01
    (tmp_path / "tampered.json").write_text(json.dumps(d))
    with pytest.raises(ArtifactError, match="fingerprint mismatch"):
        FeatureSpec.load(tmp_path / "tampered.json")
    d = json.loads(path.read_text())
    d["version"] = 3
    (tmp_path / "v3.json").write_text(json.dumps(d))
    with pytest.raises(ArtifactError, match="version 3"):
        FeatureSpec.load(tmp_path / "v3.json")
    d["version"] = 2  # a supported version that its parameters (version 1) contradict
    (tmp_path / "v2.json").write_text(json.dumps(d))
    with pytest.raises(ArtifactError, match="says version 2 but its parameters say version 1"):
        FeatureSpec.load(tmp_path / "v2.json")
    d = json.loads(path.read_text())
    d["names"][0], d["names"][1] = d["names"][1], d["names"][0]
    (tmp_path / "order.json").write_text(json.dumps(d))
    with pytest.raises(ArtifactError, match="order"):
        FeatureSpec.load(tmp_path / "order.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not readable JSON"):
        FeatureSpec.load(tmp_path / "junk.json")
    with pytest.raises(ArtifactError, match="does not exist"):
        FeatureSpec.load(tmp_path / "missing.json")


# ----- regime windows -----
def test_regime_windows_are_causal_slices_and_stream_matches(spy30: pd.DataFrame, fitted: FeatureSpec) -> None:
    feats = fitted.transform(spy30.iloc[:400])
    windows, ends = regime_windows(feats, T=48)
    assert windows.shape == (len(feats) - 47, 48, 155) and windows.dtype == np.float32
    assert ends.equals(feats.index[47:])
    np.testing.assert_array_equal(windows[10], feats.iloc[10:58].to_numpy(dtype=np.float32))
    assert windows[10, -1].tolist() == feats.loc[ends[10]].to_numpy(dtype=np.float32).tolist()
    strided, strided_ends = regime_windows(feats, T=48, stride=6)
    np.testing.assert_array_equal(strided, windows[::6])
    assert strided_ends.equals(ends[::6])
    rws = RegimeWindowStream(T=48, width=155)
    out = [rws.update(row) for row in feats.to_numpy()]
    assert all(o is None for o in out[:47])
    np.testing.assert_array_equal(np.stack(out[47:]), windows)


def test_regime_windows_bad_input(fitted: FeatureSpec, spy30: pd.DataFrame) -> None:
    feats = fitted.transform(spy30.iloc[:200])
    with pytest.raises(InputError, match="at least T=200"):
        regime_windows(feats, T=200)
    with pytest.raises(InputError, match="'T'"):
        regime_windows(feats, T=0)
    bad = feats.copy()
    bad.iloc[5, 3] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        regime_windows(bad, T=10)
    with pytest.raises(InputError, match="shape"):
        RegimeWindowStream(T=4, width=155).update(np.zeros(10))


def test_save_into_directory_for_artifacts(tmp_path, fitted: FeatureSpec) -> None:
    written = fitted.save(tmp_path / "artifact" / "feature_spec")
    assert written == tmp_path / "artifact" / "feature_spec" / "feature_spec.json"
    assert FeatureSpec.load(tmp_path / "artifact" / "feature_spec").fingerprint == fitted.fingerprint


def test_failed_fit_leaves_a_fitted_spec_unchanged(spy30: pd.DataFrame) -> None:
    spec = FeatureSpec.default().fit(spy30.iloc[:700])
    fp = spec.fingerprint
    with pytest.raises(InputError):
        spec.fit(spy30.iloc[:100])
    assert spec.fingerprint == fp
