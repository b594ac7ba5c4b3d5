"""Evaluation machinery: synthetic regimes, causal HMM baseline, metrics, the eval CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from algospace.cli import app
from algospace.evaluation.hmm_baseline import baseline_observations, fit_hmm, forward_filter
from algospace.evaluation.metrics import mean_run_length, regime_scores
from algospace.evaluation.synthetic import DEFAULT_REGIMES, generate_regime_bars


def test_synthetic_regimes_have_their_stated_volatility_and_durations():
    bars, truth = generate_regime_bars(days=120, seed=3)
    r = np.log(bars["close"]).diff()
    labels = truth.reindex(bars.index, method="ffill")
    for k, regime in enumerate(DEFAULT_REGIMES):
        innov = r[labels == k].std()
        expected = regime.vol / np.sqrt(1 - regime.phi**2)  # stationary std of an AR(1)
        assert abs(innov / expected - 1) < 0.1, (regime.name, innov, expected)
    assert 25 < mean_run_length(truth.to_numpy()) < 110
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()


def test_metrics_are_invariant_to_label_permutation_and_punish_noise():
    truth = np.repeat([0, 1, 2, 3], 50)
    perfect = (truth + 1) % 4
    s = regime_scores(truth, perfect)
    assert s["balanced_accuracy"] == 1.0 and s["adjusted_rand"] == 1.0
    noise = np.random.default_rng(0).integers(0, 4, len(truth))
    s = regime_scores(truth, noise)
    assert s["balanced_accuracy"] < 0.5 and s["adjusted_rand"] < 0.1


def test_hmm_forward_filter_never_reads_ahead():
    from algospace.data import make_bars

    bars, _ = generate_regime_bars(days=60, seed=1)
    obs = baseline_observations(make_bars(bars, 30, "SPY"))
    z = ((obs - obs.mean()) / obs.std()).to_numpy()
    hmm = fit_hmm(z[:400], 4, seed=0)
    full = forward_filter(hmm, z)
    for cut in (50, 200, len(z) - 1):
        np.testing.assert_allclose(forward_filter(hmm, z[: cut + 1]), full[: cut + 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(full.sum(axis=1), 1.0, atol=1e-9)


def test_hmm_baseline_keeps_the_best_of_its_em_starts():
    from algospace.data import make_bars

    bars, _ = generate_regime_bars(days=60, seed=1)
    obs = baseline_observations(make_bars(bars, 30, "SPY"))
    z = ((obs - obs.mean()) / obs.std()).to_numpy()[:400]
    singles = [fit_hmm(z, 4, seed=s, n_init=1).score(z) for s in range(1, 5)]
    best = fit_hmm(z, 4, seed=1, n_init=4).score(z)
    assert singles[0] < max(singles)  # on this data the first start is not the best one
    assert best == max(singles)  # the restarts are seeds seed..seed+n_init-1; the best likelihood is kept


def test_eval_cli_writes_results_and_plot(tmp_path):
    out = tmp_path / "eval"
    settings = tmp_path / "rde.yaml"  # --config: training settings over the preset; --pooling overrides one model field
    settings.write_text("model: {d_model: 8, n_heads: 2}\ncontrastive: 0.5\n")
    result = CliRunner().invoke(app, ["eval", "rde", "--preset", "tiny", "--days", "80", "--no-spy", "--quiet", "--out", str(out),
                                      "--config", str(settings), "--pooling", "ewm", "--threads", "1"])
    assert result.exit_code == 0, result.output
    res = json.loads((out / "results.json").read_text())
    assert set(res["synthetic"]) == {"basic", "hard"}
    assert res["synthetic"]["basic"]["pooling"] == "ewm" and res["synthetic"]["basic"]["contrastive"] == 0.5
    for name, syn in res["synthetic"].items():
        models = ("rde", "rde_hmm_filter", "rde_jump_filter", "rde_kmeans_filter", "hmm_forward_filtered", "jump_model_online")
        for who in models:
            scores = syn[who]
            assert 0.0 <= scores["balanced_accuracy"] <= 1.0
            assert -1.0 <= scores["adjusted_rand"] <= 1.0
            assert scores["mean_run_length"] >= 1.0
        ceilings = syn["kmeans_information_ceilings"]
        assert set(ceilings) == {"features_per_bar", "window_summary", "baseline_observations"}
        assert all(0.0 <= c["balanced_accuracy"] <= 1.0 for c in ceilings.values())
        # Every score is on the same held-out bars: the same truth, so the same true run length.
        true_runs = {s["true_mean_run_length"] for s in [*(syn[m] for m in models), *ceilings.values()]}
        assert len(true_runs) == 1 and syn["test_bars"] > 100, (name, true_runs)
        assert (out / f"synthetic_regimes_{name}.png").stat().st_size > 10_000
    # Chance is 0.25 balanced accuracy and 0 adjusted Rand for 4 regimes (random labels score
    # below 0.5 and 0.1, test above): on the basic set the causal HMM baseline must clearly beat
    # it, and the RDE, the jump model and every k-means ceiling (seed 0: 0.46-0.74 balanced
    # accuracy, 0.17-0.62 ARI) must find regime information, not noise.
    basic = res["synthetic"]["basic"]
    assert basic["hmm_forward_filtered"]["balanced_accuracy"] > 0.45
    for who, scores in [("rde", basic["rde"]), ("hmm", basic["hmm_forward_filtered"]), ("jump", basic["jump_model_online"]),
                        *basic["kmeans_information_ceilings"].items()]:
        assert scores["balanced_accuracy"] > 0.35 and scores["adjusted_rand"] > 0.05, (who, scores)
    assert "spy_walk_forward" not in res
    assert "balanced acc" in result.output and "jump model (online)" in result.output
    # One seed keeps the layout above and adds the pooled comparison (its interval over that seed's bars).
    pooled = basic["pooled"]
    assert pooled["seeds"] == ["0"] and pooled["labellings"]["rde"]["mean"] == basic["rde"]["balanced_accuracy"]
    assert "minus HMM (filtered)" in result.output


def test_eval_cli_pools_several_seeds(tmp_path):
    out = tmp_path / "seeds"
    result = CliRunner().invoke(app, ["eval", "rde", "--seeds", "0,1", "--preset", "tiny", "--set", "basic", "--no-spy", "--days", "40",
                                      "--quiet", "--threads", "1", "--bootstrap", "200", "--block", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    basic = json.loads((out / "results.json").read_text())["synthetic"]["basic"]
    assert set(basic) == {"seeds", "pooled"} and set(basic["seeds"]) == {"0", "1"}
    per_seed = basic["seeds"]
    assert [per_seed[s]["seed"] for s in ("0", "1")] == [0, 1]
    assert per_seed["0"]["rde"] != per_seed["1"]["rde"]  # each seed draws its own data and trains its own RDE
    pooled = basic["pooled"]
    assert pooled["seeds"] == ["0", "1"] and pooled["n_boot"] == 200 and pooled["block"] == 30
    assert set(pooled["baselines"]) == {"hmm_forward_filtered", "jump_model_online"}
    assert set(pooled["labellings"]) == {"rde", "rde_hmm_filter", "rde_jump_filter", "rde_kmeans_filter"}
    for who, r in [*pooled["labellings"].items(), *pooled["baselines"].items()]:
        # the pooled per-seed numbers are the per-seed scores: the same alignment on the same bars
        accs = [per_seed[s][who]["balanced_accuracy"] for s in ("0", "1")]
        assert list(r["balanced_accuracy"].values()) == pytest.approx(accs, abs=1e-12)
        assert r["mean"] == pytest.approx(np.mean(accs)) and r["min"] == min(r["balanced_accuracy"].values())
        for base, v in r.get("vs", {}).items():
            assert v["difference"] == pytest.approx(r["mean"] - pooled["baselines"][base]["mean"])
            assert v["low"] <= v["high"] and v["n_seeds"] == 2
            assert v["verdict"] == ("above" if v["low"] > 0 else "below" if v["high"] < 0 else "not distinguishable")
    assert all((out / f"synthetic_regimes_basic_seed{s}.png").is_file() for s in (0, 1))
    assert "seed 1 (2/2" in result.output and "pooled over seeds 0,1" in result.output


def test_eval_cli_refuses_seed_with_seeds_and_bad_seed_lists(tmp_path):
    for args, needle in ((["--seed", "1", "--seeds", "0,1"], "not both"), (["--seeds", "0,x"], "comma-separated"),
                         (["--seeds", "1,1"], "distinct")):
        result = CliRunner().invoke(app, ["eval", "rde", "--preset", "tiny", "--no-spy", "--out", str(tmp_path), *args])
        assert result.exit_code != 0 and needle in result.output + str(result.exception), args


def test_eval_cli_refuses_a_config_file_that_is_not_a_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n- 2\n")
    result = CliRunner().invoke(app, ["eval", "rde", "--preset", "tiny", "--no-spy", "--config", str(bad), "--out", str(tmp_path)])
    assert result.exit_code != 0 and "mapping" in result.output + str(result.exception)


def test_eval_cli_rejects_an_unknown_set(tmp_path):
    result = CliRunner().invoke(app, ["eval", "rde", "--preset", "tiny", "--set", "nope", "--no-spy", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "--set must be one of" in result.output + str(result.exception)
