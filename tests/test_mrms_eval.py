"""eval mrms: every strategy on the same test days, intervals, verdict; the bootstrap by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from algospace.evaluation.mrms_eval import block_bootstrap_diff, evaluate_mrms, plot_curves
from algospace.sim.metrics import sortino
from algospace.training.mrms import train_mrms
from algospace.training.mrms_config import MRMSTrainConfig


def test_block_bootstrap_is_paired_and_covers_the_difference():
    rng = np.random.default_rng(0)
    a = rng.normal(50, 100, 300)
    same = block_bootstrap_diff(a, a.copy(), sortino, n_boot=200, block=10)
    assert same == {"diff": 0.0, "lo": 0.0, "hi": 0.0}  # paired: identical series never differ
    better = block_bootstrap_diff(a + 40, a, sortino, n_boot=300, block=10)
    assert better["lo"] > 0 and better["lo"] <= better["diff"] <= better["hi"]
    noise = block_bootstrap_diff(rng.normal(0, 100, 300), rng.normal(0, 100, 300), sortino, n_boot=300)
    assert noise["lo"] < 0 < noise["hi"]
    flat = block_bootstrap_diff(np.zeros(50), a[:50], sortino, n_boot=50)  # no trades: Sortino counts as 0
    assert math.isfinite(flat["diff"])


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    from algospace.data import sample

    bars = sample("spy-1m")
    bars = bars.loc[bars.index < "2017-09-01"]
    out = tmp_path_factory.mktemp("mrms-eval") / "mrms"
    cfg = MRMSTrainConfig.preset("tiny", threads=1, max_iterations=2, eval_every=2)
    result = train_mrms(bars, out, cfg, progress=False)
    ev = evaluate_mrms(out, bars, n_boot=100, progress=False, grid=((1, 2), (1.0, 2.0), (2.0,)))
    return result, ev, tmp_path_factory.mktemp("plots")


def test_every_strategy_trades_the_same_test_days(evaluation):
    result, ev, _ = evaluation
    assert len(ev.metrics) == 6 and "M-RMS" in ev.metrics
    assert {len(d) for d in ev.daily.values()} == {len(ev.days)}
    assert all("x10" in m["proxy"] for m in ev.metrics.values())
    # the eval's M-RMS backtest is the training's test backtest: same signals, account and rules
    assert ev.metrics["M-RMS"]["net_pnl"] == pytest.approx(result.metrics["test"]["net_pnl"])
    assert ev.metrics["M-RMS"]["trades"] == result.metrics["test"]["trades"]
    assert set(ev.intervals) == set(ev.metrics) - {"M-RMS"}
    for iv in ev.intervals.values():
        for k in ("sortino_daily", "calmar"):
            assert iv[k]["lo"] <= iv[k]["hi"]
    assert "Goal" in ev.verdict and ev.proxy in ev.verdict
    assert ev.synergy["events"] >= 0 and "in_test_period" in ev.synergy


def test_plot_is_written(evaluation):
    _, ev, tmp = evaluation
    path = plot_curves(ev, tmp / "curves.png")
    assert path.stat().st_size > 5_000


def test_an_exhausted_account_ends_and_a_fresh_one_trades_the_next_day():
    from algospace.data import sample
    from algospace.training.mrms_policies import Context, backtest_rules, fixed
    from algospace.sim.metrics import summarize
    from algospace.training.mrms import prepare_mrms_data

    bars = sample("spy-1m")
    cfg = MRMSTrainConfig.preset("tiny")
    data = prepare_mrms_data(bars.loc[bars.index < "2017-09-01"], cfg)
    ctx = Context(data.paths, cfg.account, cfg.sim)
    rows = np.concatenate([data.rows[s] for s in ("train", "val", "test")])
    result = backtest_rules(ctx, data.signals, fixed(5, 3.0, 5.0), rows)  # big, wide: burns accounts
    ended = [b for b in result.breaches if b.kind == "exhausted"]
    assert ended and summarize(result).accounts_ended >= len(ended)
    o = result.outcomes
    for b in ended:
        assert (o.traded & (o.day > b.day)).any() or b.day == o.day[o.traded].max()  # trading resumes after it
        assert len(result.accounts) > len(ended)
    assert np.all(np.diff(o.signal) > 0)  # each signal decided once, in time order
