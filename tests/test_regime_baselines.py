"""The second baseline, the hard synthetic set, the latent filter, the bootstrap and the SPY walk-forward."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from algospace.errors import InputError
from algospace.evaluation.bootstrap import block_bootstrap
from algospace.evaluation.causal_baselines import baseline_states, standardised_observations
from algospace.evaluation.jump_baseline import fit_jump_model, online_states
from algospace.evaluation.latent_filter import LatentRegimeFilter
from algospace.evaluation.metrics import mean_run_length
from algospace.evaluation.synthetic import generate_regime_bars
from algospace.evaluation.synthetic_hard import HARD_REGIMES, generate_hard_regime_bars, innovation_sd


def _obs(days: int = 60, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    from algospace.data import make_bars

    bars, truth = generate_regime_bars(days=days, seed=seed)
    return make_bars(bars, 30, "SPY"), truth


def test_jump_model_online_states_never_read_ahead():
    bars30, _ = _obs()
    z = standardised_observations(bars30, bars30.index[400]).to_numpy()
    jm = fit_jump_model(z[:400], 4, seed=0)
    full = online_states(jm, z)
    for cut in (30, 250, len(z) - 1):
        np.testing.assert_array_equal(online_states(jm, z[: cut + 1]), full[: cut + 1])
    # The jump penalty is what makes it persistent: without it, states flip far more often.
    free = online_states(fit_jump_model(z[:400], 4, jump_penalty=0.0, seed=0), z)
    assert mean_run_length(full) > 1.5 * mean_run_length(free)


def test_both_baselines_are_fitted_before_the_boundary_and_recover_the_basic_regimes():
    bars30, truth = _obs(days=50)
    cut = bars30.index[int(len(bars30) * 0.7)]
    states = baseline_states(bars30, cut, 4)
    assert list(states.columns) == ["hmm", "jump"] and states.index.is_monotonic_increasing
    # Bars after the boundary change nothing fitted: refitting on a prefix gives the same early states.
    short = baseline_states(bars30.loc[bars30.index < bars30.index[int(len(bars30) * 0.85)]], cut, 4)
    pd.testing.assert_frame_equal(states.loc[short.index], short)
    from algospace.evaluation.metrics import regime_scores

    y = truth.reindex(states.index).to_numpy()
    for col in ("hmm", "jump"):
        assert regime_scores(y, states[col].to_numpy())["adjusted_rand"] > 0.3, col


def test_hard_set_pairs_share_volatility_and_volume_but_differ_in_fine_structure():
    bars, truth = generate_hard_regime_bars(days=150, seed=2)
    r = np.log(bars["close"]).diff()
    minute = truth.reindex(bars.index, method="ffill").to_numpy()
    r30 = r.groupby(np.arange(len(r)) // 30).sum()
    lab30 = truth.to_numpy()
    stats = {}
    for k, reg in enumerate(HARD_REGIMES):
        rk = r[minute == k].dropna()
        v = bars["volume"][minute == k]
        stats[reg.name] = {
            "sd30": r30[lab30 == k].std(), "kurt": rk.kurt(), "ac1": rk.autocorr(),
            "coupling": np.corrcoef(rk.abs(), v.loc[rk.index])[0, 1], "volume": v.mean(),
        }
        assert abs(stats[reg.name]["sd30"] / reg.vol_30m - 1) < 0.15, (reg.name, stats[reg.name])
        assert abs(stats[reg.name]["volume"] / reg.volume - 1) < 0.01
    s = stats
    assert s["calm-jumpy"]["kurt"] > 5 * max(s["calm-diffusive"]["kurt"], 1.0)  # tails
    assert s["stressed-choppy"]["ac1"] < -0.25 < 0.15 < s["stressed-informed"]["ac1"]  # 1-minute autocorrelation
    assert s["stressed-informed"]["coupling"] > s["stressed-choppy"]["coupling"] + 0.3  # volume follows |return|
    # Durations run from hours to weeks: the long regime's runs dwarf the short one's.
    runs = pd.Series(lab30).groupby((pd.Series(lab30) != pd.Series(lab30).shift()).cumsum()).agg(["first", "size"])
    by = runs.groupby("first")["size"].mean()
    assert by[0] > 4 * by[2]
    # innovation_sd inverts the AR(1) aggregation: phi = 0 gives vol / sqrt(30).
    assert innovation_sd(0.003, 0.0) == pytest.approx(0.003 / np.sqrt(30))


def test_latent_filter_is_causal_sums_to_one_and_flickers_less_than_per_bar_clusters():
    rng = np.random.default_rng(0)
    states = np.repeat(rng.integers(0, 2, 40), 25)  # runs of 25
    x = np.column_stack([states * 1.5, -states * 1.5]) + rng.normal(0, 1.0, (len(states), 2))  # overlapping clouds
    filt = LatentRegimeFilter(2, "hmm").fit(x[:600])
    p = filt.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(filt.predict_proba(x[:700]), p[:700], atol=1e-12)
    from sklearn.cluster import KMeans

    km = KMeans(2, n_init=10, random_state=0).fit(x[:600]).predict(x)
    for method in ("hmm", "jump", "kmeans"):
        labels = LatentRegimeFilter(2, method).fit(x[:600]).predict(x)
        assert mean_run_length(labels) > 2 * mean_run_length(km), method
    sticky = LatentRegimeFilter(2, "kmeans").fit(x[:600])
    np.testing.assert_allclose(sticky.predict_proba(x[:700]), sticky.predict_proba(x)[:700], atol=1e-12)
    assert np.mean(sticky.predict(x[600:]) == states[600:]) in (pytest.approx(1, abs=0.1), pytest.approx(0, abs=0.1))
    with pytest.raises(InputError):
        filt.predict_proba(x[:, :1])
    with pytest.raises(InputError):
        LatentRegimeFilter(2, "nope")


def test_block_bootstrap_covers_the_mean_and_widens_with_serial_dependence():
    rng = np.random.default_rng(1)
    e = rng.standard_normal(600)
    x = np.empty(600)
    x[0] = e[0]
    for t in range(1, 600):
        x[t] = 0.8 * x[t - 1] + e[t]  # strongly autocorrelated, true mean 0
    wide = block_bootstrap(np.mean, x, block=30, n_boot=500)
    narrow = block_bootstrap(np.mean, x, block=1, n_boot=500)
    assert wide.low < 0.0 < wide.high and wide.estimate == pytest.approx(x.mean())
    assert (wide.high - wide.low) > 1.8 * (narrow.high - narrow.low)  # an i.i.d. resample understates it
    shifted = block_bootstrap(np.mean, x + 3.0, block=30, n_boot=500)
    assert shifted.excludes_zero() and not wide.excludes_zero()
    with pytest.raises(InputError):
        block_bootstrap(lambda a, b: 0.0, x, x[:10])


def _panel(n: int = 700, seed: int = 0) -> pd.DataFrame:
    """A daily panel where `signal` truly predicts tomorrow's log RV and `noise` does not."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2016-01-04", periods=n + 1, tz="America/New_York")
    signal = rng.standard_normal(n + 1)
    rv = np.empty(n + 1)
    rv[0] = -4.5
    for t in range(1, n + 1):
        rv[t] = -4.5 + 0.5 * (rv[t - 1] + 4.5) + 0.3 * signal[t - 1] + 0.2 * rng.standard_normal()
    df = pd.DataFrame({"rv_d": rv, "signal": signal, "noise": rng.standard_normal(n + 1)}, index=days)
    df["rv_w"], df["rv_m"] = df["rv_d"].rolling(5).mean(), df["rv_d"].rolling(22).mean()
    df["target"] = df["rv_d"].shift(-1)
    ret = 0.01 * rng.standard_normal(n + 1)
    df["ret_next"] = np.roll(ret, -1)
    df["oracle"] = (df["ret_next"] > 0).astype(int)  # knows tomorrow: a leak, by construction, to test the plumbing
    df["target_day"] = pd.Series(df.index, index=df.index).shift(-1)
    return df.dropna()


def test_har_walk_forward_finds_a_real_signal_and_not_noise():
    from algospace.evaluation.spy_eval import har_gains

    panel = _panel()
    res = har_gains(panel, {"signal": ["signal"], "noise": ["noise"]}, pd.Timestamp("2017-01-01", tz="America/New_York"), n_boot=300)
    assert res["test_days"] > 300 and 0.0 < res["har_r2"] < 1.0
    sig, noise = res["signals"]["signal"], res["signals"]["noise"]
    assert sig["gain"] > 0.05 and sig["excludes_zero"] and sig["gain_low"] > 0
    assert noise["gain"] < 0.01 and not noise["excludes_zero"]


def test_walk_forward_predictions_read_no_later_day():
    from algospace.evaluation.spy_eval import _ols_forecast, _walk_forward

    panel = _panel()
    start = pd.Timestamp("2017-01-01", tz="America/New_York")
    full = _walk_forward(panel, start, _ols_forecast(["rv_d", "signal"]))
    cut = pd.Timestamp("2017-06-01", tz="America/New_York")
    changed = panel.copy()
    changed.loc[changed.index >= cut, ["target", "rv_d", "signal"]] = 99.0  # the future, wildly different
    again = _walk_forward(changed, start, _ols_forecast(["rv_d", "signal"]))
    before = full.index < cut
    np.testing.assert_allclose(again[before].to_numpy(), full[before].to_numpy())


def test_regime_strategy_accounts_costs_turnover_and_drawdown():
    from algospace.evaluation.spy_eval import regime_switching_strategy

    panel = _panel()
    start = pd.Timestamp("2017-01-01", tz="America/New_York")
    free = regime_switching_strategy(panel, ["oracle"], start, cost_bps=0.0, n_boot=200).stats
    costly = regime_switching_strategy(panel, ["oracle"], start, cost_bps=10.0, n_boot=200).stats
    bh = free["buy_and_hold"]
    assert bh["time_invested"] == 1.0 and bh["turnover_per_year"] < 1.0
    assert free["oracle"]["sharpe"] > bh["sharpe"] + 3 and free["oracle"]["sharpe_minus_bh_low"] > 0
    assert free["oracle"]["max_drawdown"] < 0.05 and 0.3 < free["oracle"]["time_invested"] < 0.7
    assert costly["oracle"]["total_return"] < free["oracle"]["total_return"]
    assert costly["oracle"]["turnover_per_year"] == pytest.approx(free["oracle"]["turnover_per_year"])
    assert costly["buy_and_hold"]["total_return"] < bh["total_return"]  # one entry
    # Two states that both earn on average: "positive" holds both, "best" only the better one.
    panel["two_up"] = (np.arange(len(panel)) // 7) % 2
    panel["ret_next"] = 0.001 + 0.001 * panel["two_up"] + 0.0001 * np.random.default_rng(3).standard_normal(len(panel))
    pos = regime_switching_strategy(panel, ["two_up"], start, n_boot=50, rule="positive").stats["two_up"]
    best = regime_switching_strategy(panel, ["two_up"], start, n_boot=50, rule="best").stats["two_up"]
    assert pos["time_invested"] == 1.0 and 0.4 < best["time_invested"] < 0.6
    with pytest.raises(InputError):
        regime_switching_strategy(panel, ["two_up"], start, rule="nope")


def test_spy_walk_forward_end_to_end_on_the_bundled_sample(tmp_path):
    from algospace.data import sample
    from algospace.evaluation.rde_eval import daily_realised_vol, plot_spy
    from algospace.evaluation.spy_eval import plot_equity, spy_regime_eval
    from algospace.training.rde_config import RDETrainConfig

    bars = sample("spy-1m")
    bars = bars.loc[bars.index < "2017-12-01"]
    res = spy_regime_eval(RDETrainConfig.preset("tiny", threads=1), bars, "2017-08-01", n_boot=100)
    vol = res.volatility
    assert vol["first_day"] >= "2017-08-01" and vol["test_days"] > 70
    assert set(vol["signals"]) == {"regime_vector", "rde_filter_probabilities", "rde_kmeans_state", "hmm_state", "jump_state"}
    for s in vol["signals"].values():
        assert s["gain_low"] <= s["gain"] <= s["gain_high"] and s["r2"] < 1.0
    assert set(res.strategy.stats) == {"buy_and_hold", "rde_kmeans", "rde_hmm_filter", "hmm", "jump"}
    assert res.training["epochs"] >= 1
    # Everything fitted before the boundary: the RDE's training data ended before it.
    assert res.settings["train_end"] == "2017-08-01"
    assert plot_equity(res.strategy, tmp_path / "eq.png").stat().st_size > 10_000
    assert plot_spy(res.engine, bars, pd.Timestamp("2017-08-01", tz="UTC"), tmp_path / "spy.png").stat().st_size > 10_000
    rv = daily_realised_vol(bars)
    assert (rv > 0).all() and rv.index.is_unique
    # realised vol of one day uses that day's 1-minute returns only
    day = rv.index[5]
    one = bars.loc[bars.index.tz_convert("America/New_York").normalize() == day, "close"]
    assert abs(rv.iloc[5] - float(np.sqrt((np.log(one).diff() ** 2).sum()))) < 1e-12
    with pytest.raises(Exception, match="must fall inside the data"):
        spy_regime_eval(RDETrainConfig.preset("tiny", threads=1), bars, "2019-06-01")


def test_eval_cli_refuses_an_artifact_trained_into_the_walk_forward(tmp_path):
    from typer.testing import CliRunner

    from algospace.cli import app
    from algospace.data import sample
    from algospace.training.rde import train_rde
    from algospace.training.rde_config import RDETrainConfig

    bars = sample("spy-1m")
    art = tmp_path / "rde"
    train_rde(bars.loc[bars.index < "2017-04-01"], art, RDETrainConfig.preset("tiny", threads=1), instrument="SPY", progress=False)
    # Its training data reaches March 2017, so its vectors are not out of sample from 2017-03-01:
    # refused before any synthetic work starts.
    result = CliRunner().invoke(app, ["eval", "rde", "--preset", "tiny", "--artifact", str(art),
                                      "--spy-train-end", "2017-03-01", "--quiet", "--out", str(tmp_path / "ev")])
    assert result.exit_code != 0 and "not before --spy-train-end" in str(result.exception)
