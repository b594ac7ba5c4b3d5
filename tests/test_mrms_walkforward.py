"""eval mrms walk-forward: chronological folds, no trade across a boundary, baselines refitted per fold
on training data only, the pooled table is the folds concatenated. Tiny preset on 7 months of SPY."""

from __future__ import annotations

import json

import numpy as np
import pytest

from algospace.errors import DataError
from algospace.evaluation.mrms_walkforward import REFIT_NAME, evaluate_walk_forward, walk_forward_folds, write_results
from algospace.training.mrms import build_mrms_signals
from algospace.training.mrms_config import MRMSTrainConfig
from algospace.training.mrms_policies import Context, backtest_rules, fixed, kelly_fraction

FOLDS = 3
GRID = ((1, 2), (1.0, 2.0), (2.0,))


@pytest.fixture(scope="module")
def bars():
    from algospace.data import sample

    b = sample("spy-1m")
    return b.loc[b.index < "2017-09-01"]


@pytest.fixture(scope="module")
def cfg():
    return MRMSTrainConfig.preset("tiny", threads=1, max_iterations=2, eval_every=2)


@pytest.fixture(scope="module")
def wf(tmp_path_factory, bars, cfg):
    out = tmp_path_factory.mktemp("wf")
    ev = evaluate_walk_forward(bars, cfg, out, folds=FOLDS, test_fraction=0.5, n_boot=100, progress=False, grid=GRID, refit=True)
    return ev, out


def _trade_end(paths, rows):  # computed here, independently of training.mrms.trade_end_ns
    return paths.bar_close_ns[paths.entry_index[rows] + paths.length[rows] - 1]


def _day_start(ts: str) -> int:
    import pandas as pd

    return pd.Timestamp(ts).value


def test_folds_are_chronological_and_no_trade_crosses_a_boundary(bars, cfg):
    base = build_mrms_signals(bars, cfg)
    folds = walk_forward_folds(base, FOLDS, 0.5, 0.15 / 0.85)
    p = base.paths
    tests = [f.rows["test"] for f in folds]
    for k, f in enumerate(folds):
        tr, va, te = f.rows["train"], f.rows["val"], f.rows["test"]
        assert len(tr) and len(va) and len(te)
        b = {n: v.value for n, v in f.boundaries.items()}
        # train < val < test, validation at the END of the training window, never inside the test period
        assert p.day[tr].max() < b["val"] <= p.day[va].min() and p.day[va].max() < b["test"] <= p.day[te].min()
        assert _trade_end(p, tr).max() <= p.entry_time_ns[va].min() and _trade_end(p, tr).max() <= b["val"]
        assert _trade_end(p, va).max() <= b["test"]
        assert tr[0] == folds[0].rows["train"][0]  # expanding window: every fold starts at the first signal
        if k + 1 < len(folds):
            assert _trade_end(p, te).max() <= b["end"] == folds[k + 1].boundaries["test"].value
            nxt = folds[k + 1]
            # the next fold's window holds this fold's test period (expanding)
            assert len(nxt.rows["train"]) + len(nxt.rows["val"]) > len(tr) + len(va)
            assert np.isin(te, np.concatenate([nxt.rows["train"], nxt.rows["val"]])).mean() > 0.5
    allt = np.concatenate(tests)
    assert len(np.unique(allt)) == len(allt) and np.all(np.diff(p.entry_time_ns[allt]) >= 0)  # disjoint, in time order
    with pytest.raises(DataError):
        walk_forward_folds(base, 200, 0.5, 0.15 / 0.85)


def test_each_fold_trains_on_its_window_only(wf, bars, cfg):
    ev, out = wf
    assert len(ev.folds) == FOLDS
    for f in ev.folds:
        training = json.loads((out / f"fold{f.index}" / "mrms" / "training.json").read_text())
        test_start = _day_start(f.boundaries["test"])
        assert training["split"]["train"]["signals"] == f.split["train"]["signals"]
        assert training["split_boundaries"]["test"] == f.boundaries["test"]
        for s in ("train", "val"):
            assert _day_start(training["split"][s]["last"]) < test_start
        assert _day_start(f.split["test"]["first"]) >= test_start
    # a rerun reuses the finished fold artifacts (same config, data and split): nothing is retrained
    stamps = [(out / f"fold{f.index}" / "mrms" / "manifest.json").stat().st_mtime_ns for f in ev.folds]
    again = evaluate_walk_forward(bars, cfg, out, folds=FOLDS, test_fraction=0.5, n_boot=100, progress=False, grid=GRID, refit=True)
    assert [(out / f"fold{f.index}" / "mrms" / "manifest.json").stat().st_mtime_ns for f in again.folds] == stamps
    assert again.metrics["M-RMS"] == ev.metrics["M-RMS"]


def test_baselines_are_refitted_per_fold_on_training_data_only(wf, bars, cfg):
    ev, _ = wf
    base = build_mrms_signals(bars, cfg)
    folds = walk_forward_folds(base, FOLDS, 0.5, cfg.val_fraction / (cfg.train_fraction + cfg.val_fraction))
    ctx = Context(base.paths, cfg.account, cfg.sim)
    seen = []
    for f, fd in zip(ev.folds, folds):
        window = np.concatenate([fd.rows["train"], fd.rows["val"]])
        assert f.fitted["fitted_on"]["signals"] == len(window)
        assert f.fitted["fitted_on"]["last_trade_end_ns"] <= fd.boundaries["test"].value
        res = backtest_rules(ctx, base.signals, fixed(1, 2.0, 2.0), window)
        t = res.outcomes.traded
        _, stats = kelly_fraction(res.outcomes.net_usd[t], res.outcomes.risk_usd[t])
        assert f.fitted["half_kelly"]["trades"] == stats["trades"]  # Kelly of exactly the window's trades
        assert f.fitted["half_kelly"].get("kelly") == pytest.approx(stats.get("kelly"))
        seen.append(stats["trades"])
    assert len(set(seen)) == FOLDS  # refitted: every fold's window is a different (growing) set of trades
    assert seen == sorted(seen)


def test_pooled_table_is_the_folds_concatenated(wf):
    ev, out = wf
    assert set(ev.metrics) == set(ev.folds[0].metrics) and len(ev.metrics) == 7 and REFIT_NAME in ev.metrics
    for name, m in ev.metrics.items():
        np.testing.assert_array_equal(ev.daily[name], np.concatenate([f.daily[name] for f in ev.folds]))
        assert m["trades"] == sum(f.metrics[name]["trades"] for f in ev.folds)
        assert m["net_pnl"] == pytest.approx(sum(f.metrics[name]["net_pnl"] for f in ev.folds))
        assert m["rule_breaches"] == sum(f.metrics[name]["rule_breaches"] for f in ev.folds)
        assert m["days"] == len(ev.days) == sum(len(f.days) for f in ev.folds)
        assert m["rule_breaches"] == 0  # every strategy goes through the same rule checks
    assert np.all(np.diff(ev.days) > 0)
    assert ev.n_test_signals == sum(f.split["test"]["signals"] for f in ev.folds)
    assert set(ev.intervals) == set(ev.metrics) - {"M-RMS", REFIT_NAME}  # the goal is judged on the M-RMS alone
    assert set(ev.variant_intervals) == set(ev.metrics) - {REFIT_NAME} and "Variant tried" in ev.verdict
    assert all(iv[k]["lo"] <= iv[k]["diff"] + 1e-9 or iv[k]["lo"] <= iv[k]["hi"] for iv in ev.intervals.values() for k in iv)
    assert "Walk-forward" in ev.verdict and ev.proxy in ev.verdict and "Goal" in ev.verdict
    assert ev.synergy["events"] >= ev.synergy["in_test_period"] >= 0
    paths = write_results(ev, out / "report")
    saved = json.loads(paths["results"].read_text())
    assert saved["mode"] == "walk-forward" and len(saved["folds"]) == FOLDS and saved["test_signals"] == ev.n_test_signals
    assert saved["pooled_metrics"]["M-RMS"]["trades"] == ev.metrics["M-RMS"]["trades"]
    assert paths["plot"].stat().st_size > 5_000
    tables = paths["tables"].read_text()
    assert "x10" in tables and tables.count("| M-RMS |") == FOLDS + 2  # per fold, pooled, variant table and "| 3 | " in tables
