"""Feature spec version 2 (1-minute intrabar statistics, volume level), and version 1 kept as it was."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from algospace.data import make_bars, sample
from algospace.errors import ConfigError, InputError
from algospace.features import FeatureSpec
from algospace.features.causality import assert_causal, perturb_after
from algospace.features.regime import LOOKBACK
from algospace.features.regime.intrabar import assign_minutes, intrabar_sums, sum_index

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def minutes() -> pd.DataFrame:
    """Real SPY 1-minute bars (the first 60,000 of the bundled sample: ~2,000 30-minute bars)."""
    return sample("spy-1m").iloc[: 2000 * 30]


@pytest.fixture(scope="module")
def spy30(minutes: pd.DataFrame) -> pd.DataFrame:
    return make_bars(minutes, 30, "SPY")


@pytest.fixture(scope="module")
def v2(spy30: pd.DataFrame, minutes: pd.DataFrame) -> FeatureSpec:
    return FeatureSpec.default(2).fit(spy30.iloc[:700], minute_bars=minutes)


def test_v2_is_155_wide_with_one_bandwidth_and_70_intrabar_features() -> None:
    spec = FeatureSpec.default(2)
    assert spec.version == 2 and spec.width == 155 and len(set(spec.names)) == 155 and spec.needs_minute_bars
    assert sum(n.startswith("mmd_") for n in spec.names) == 35
    assert sum(i.group in ("intrabar",) for i in spec.info) == 63
    v1 = FeatureSpec.default(1).names
    assert spec.names[:35] == [n for n in v1 if n.startswith("mmd_") and n.endswith("_bw1")]
    assert spec.names[35:85] == v1[105:]  # the 50 statistics of version 1, unchanged
    assert not FeatureSpec.default(1).needs_minute_bars and FeatureSpec.default().version == 1
    with pytest.raises(ConfigError, match="version"):
        FeatureSpec.default(3)


def test_intrabar_sums_match_a_direct_computation(minutes: pd.DataFrame, spy30: pd.DataFrame) -> None:
    bars = spy30.iloc[:40]
    m = minutes.loc[: bars.index[-1] + pd.Timedelta(minutes=29)]
    pos = assign_minutes(bars.index.as_unit("ns").asi8, m.index.as_unit("ns").asi8)
    sums = intrabar_sums(m[["open", "high", "low", "close", "volume"]].to_numpy(), pos, len(bars))
    for i in (0, 17, 39):
        mb = m.loc[bars.index[i] : bars.index[i] + pd.Timedelta(minutes=29)]
        r = np.log(mb["close"]).diff().to_numpy(copy=True)
        r[0] = np.log(mb["close"].iloc[0] / mb["open"].iloc[0])
        assert sums[i, sum_index("n")] == len(mb)
        np.testing.assert_allclose(sums[i, sum_index("rv")], (r**2).sum(), rtol=1e-12)
        np.testing.assert_allclose(sums[i, sum_index("bp")], (np.abs(r[1:]) * np.abs(r[:-1])).sum(), rtol=1e-12)
        np.testing.assert_allclose(sums[i, sum_index("ac")], (r[1:] * r[:-1]).sum(), rtol=1e-12, atol=1e-18)
        np.testing.assert_allclose(sums[i, sum_index("rs_pos")], (r[r > 0] ** 2).sum(), rtol=1e-12)
        np.testing.assert_allclose(sums[i, sum_index("v")], mb["volume"].sum(), rtol=1e-12)


def test_v2_takes_minute_bars_either_way_and_refuses_without(spy30: pd.DataFrame, minutes: pd.DataFrame, v2: FeatureSpec) -> None:
    part = minutes.iloc[30 * 800 : 30 * 1100]
    a = v2.transform(part)  # the 1-minute bars alone: aggregated to 30-minute session bars
    b = v2.transform(make_bars(part, 30, "SPY"), minute_bars=part)
    assert a.shape == (len(b), 155) and a.index.equals(b.index)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert a.attrs["feature_spec_fingerprint"] == v2.fingerprint
    with pytest.raises(InputError, match="1-minute bars"):
        v2.transform(spy30.iloc[800:1100])
    with pytest.raises(InputError, match="must be the 30-minute bars"):
        v2.transform(part, minute_bars=part)
    with pytest.raises(InputError, match="finer than 30 minutes"):
        v2.transform(spy30.iloc[800:1100], minute_bars=make_bars(part, 30, "SPY"))
    with pytest.raises(InputError, match="1-minute bars"):
        v2.stream().update(spy30.iloc[0])


def test_v2_changes_with_the_minutes_not_only_the_bars(spy30: pd.DataFrame, minutes: pd.DataFrame, v2: FeatureSpec) -> None:
    """The intrabar columns read the minutes: reshuffling minutes inside each bar (same bar OHLCV) moves them."""
    bars = spy30.iloc[800:1000]
    part = minutes.loc[bars.index[0] : bars.index[-1] + pd.Timedelta(minutes=29)]
    base = v2.transform(bars, minute_bars=part)
    rng = np.random.default_rng(0)
    noisy = part.copy()
    bump = 1 + rng.normal(0, 2e-4, len(part))
    noisy["close"] = part["close"] * bump
    noisy["high"] = np.maximum(noisy["high"], noisy["close"])
    noisy["low"] = np.minimum(noisy["low"], noisy["close"])
    other = v2.transform(bars, minute_bars=noisy)
    changed = (base != other).any()
    assert changed[[c for c in base.columns if c.startswith(("irv_", "mac_", "jump_"))]].all()
    assert not changed[[c for c in base.columns if c.startswith(("mmd_", "vol_", "mom_", "volu_level_"))]].any()


def test_every_v2_feature_is_causal(minutes: pd.DataFrame, v2: FeatureSpec) -> None:
    """Perturbing every minute after a bar's last minute changes no row up to that bar."""
    part = minutes.iloc[30 * 900 : 30 * 1160]
    bar_ends = [i for i in range(len(part) - 1) if part.index[i + 1] - part.index[i] > pd.Timedelta(minutes=1)]
    last_minutes = [i for i in range(len(part)) if (part.index[i].minute % 30) == 29]
    cuts = [last_minutes[LOOKBACK + 3], last_minutes[150], bar_ends[-2]]
    assert_causal(lambda m: v2.transform(m, scaled=False), part, cuts=cuts)
    # a cut inside a bar changes that bar's row (it reads its minutes) and nothing before it
    cut = last_minutes[150] - 10
    base, moved = v2.transform(part), v2.transform(perturb_after(part, cut, seed=3))
    open_of_cut = part.index[cut].floor("30min")
    before = base.index < open_of_cut
    np.testing.assert_array_equal(base.loc[before].to_numpy(), moved.loc[before].to_numpy())
    assert not np.array_equal(base.loc[open_of_cut].to_numpy(), moved.loc[open_of_cut].to_numpy())


def test_v2_stream_equals_batch_with_minutes_per_bar_and_fed_one_by_one(minutes: pd.DataFrame, v2: FeatureSpec) -> None:
    part = minutes.iloc[30 * 1000 : 30 * 1200]
    bars = make_bars(part, 30, "SPY")
    batch = v2.transform(bars, minute_bars=part)
    # update(bar, minute_bars=its minutes)
    s1 = v2.stream()
    rows = [s1.update(bar, minute_bars=part.loc[ts : ts + pd.Timedelta(minutes=29)]) for ts, bar in bars.iterrows()]
    assert all(r is None for r in rows[: LOOKBACK - 1]) and all(r is not None for r in rows[LOOKBACK - 1 :])
    got = pd.DataFrame(rows[LOOKBACK - 1 :])
    assert got.index.equals(batch.index)
    np.testing.assert_allclose(got.to_numpy(), batch.to_numpy(), rtol=0, atol=1e-9)
    # add_minute(bar_1m) as minutes close, then update(bar) (the runtime's order)
    s2, rows2, j = v2.stream(), [], 0
    for ts, bar in bars.iterrows():
        while j < len(part) and part.index[j] < ts + pd.Timedelta(minutes=30):
            s2.add_minute(part.iloc[j])
            j += 1
        rows2.append(s2.update(bar))
    np.testing.assert_allclose(pd.DataFrame(rows2[LOOKBACK - 1 :]).to_numpy(), batch.to_numpy(), rtol=0, atol=1e-9)
    # update_many takes the minutes as transform does
    np.testing.assert_allclose(v2.stream().update_many(part).to_numpy(), batch.to_numpy(), rtol=0, atol=1e-9)


def test_v2_save_load_roundtrip(tmp_path, minutes: pd.DataFrame, v2: FeatureSpec) -> None:
    loaded = FeatureSpec.load(v2.save(tmp_path / "v2.json"))
    assert loaded.version == 2 and loaded.fingerprint == v2.fingerprint and loaded.names == v2.names
    part = minutes.iloc[30 * 900 : 30 * 1050]
    np.testing.assert_array_equal(loaded.transform(part).to_numpy(), v2.transform(part).to_numpy())


def test_v1_artifacts_saved_before_v2_load_and_give_the_same_features(tmp_path, spy30: pd.DataFrame) -> None:
    """tests/data holds a version-1 spec saved by the code before version 2 existed, and rows it produced."""
    golden = json.loads((DATA / "feature_spec_v1_rows.json").read_text())
    spec = FeatureSpec.load(DATA / "feature_spec_v1.json")  # fingerprint check passes: same names, params, state
    assert spec.version == 1 and spec.fingerprint == golden["fingerprint"] and not spec.needs_minute_bars
    lo, hi = golden["bars"]
    feats = spec.transform(spy30.iloc[lo:hi])
    for ts, row in golden["rows"].items():
        np.testing.assert_allclose(feats.loc[pd.Timestamp(ts)].to_numpy(), row, rtol=0, atol=1e-9)
    # a v1 spec fitted now is the same spec: same fingerprint as the one saved before
    refit = FeatureSpec.default().fit(spy30.iloc[:400])
    assert refit.fingerprint == golden["fingerprint"]
    again = FeatureSpec.load(refit.save(tmp_path / "v1.json"))
    np.testing.assert_array_equal(again.transform(spy30.iloc[lo:hi]).to_numpy(), feats.to_numpy())


def test_v2_is_causal_and_streams_equal_batch_on_synthetic_jumpy_minutes() -> None:
    """The hard synthetic set (jumps, 1-minute autocorrelation, volume coupling): causal, stream == batch."""
    from algospace.evaluation.synthetic_hard import generate_hard_regime_bars

    minutes, _ = generate_hard_regime_bars(days=40, seed=3)
    minutes.attrs["instrument"] = "SPY"  # its sessions (09:30-16:00 New York) align the 30-minute bars
    bars = make_bars(minutes, 30, "SPY")
    spec = FeatureSpec.default(2).fit(bars.iloc[:350], minute_bars=minutes)
    part = minutes.iloc[30 * 200 :]
    last_minutes = [i for i in range(len(part)) if (part.index[i].minute % 30) == 29]
    assert_causal(lambda m: spec.transform(m, scaled=False), part, cuts=[last_minutes[LOOKBACK + 1], last_minutes[250]])
    batch = spec.transform(part)
    np.testing.assert_allclose(spec.stream().update_many(part).to_numpy(), batch.to_numpy(), rtol=0, atol=1e-9)
