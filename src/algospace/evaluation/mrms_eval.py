"""Does the trained M-RMS beat the sizing rules traders use? Out of sample, same signals, same account.

Every strategy trades the artifact's held-out test signals through the same simulator,
prop-firm account and rule checks (`training.mrms_policies`):
- M-RMS: the trained network (arg-max size, its stop and R:R);
- (a) fixed 1 contract, 2 ATR stop, 2R target;
- (b) fixed-fractional: risk 1 % of the balance per trade (2 ATR, 2R);
- (c) half-Kelly: Kelly fraction from (a)'s trades in the TRAINING period, halved;
- (d) the best fixed (size, stop, R:R) by grid search on the TRAINING period (validation score);
- (e) the same network with random weights.
Nothing is fitted on the test period. Differences of daily Sortino and Calmar (M-RMS minus each
baseline) get paired circular block-bootstrap 90 % intervals over trading days.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from algospace.training.mrms_policies import Context

# 64 rules: each is a sequential backtest of ~2,300 training signals (~1-3 s on the shared 2-core box).
GRID_SIZES = (1, 2, 3, 5)
GRID_STOPS = (0.5, 1.0, 2.0, 3.0)
GRID_RR = (1.0, 2.0, 3.0, 5.0)
RATIO_CAP = 100.0  # a ratio with no downside (or no drawdown) is +inf; capped so intervals stay finite


@dataclass
class MRMSEvaluation:
    proxy: str
    test_period: tuple[str, str]
    n_test_signals: int
    metrics: dict[str, dict[str, Any]]  # strategy -> Metrics.to_dict()
    daily: dict[str, np.ndarray]  # strategy -> daily net P&L over the test days
    days: np.ndarray
    intervals: dict[str, dict[str, dict[str, float]]]  # baseline -> metric -> {diff, lo, hi}
    fitted: dict[str, Any]  # what (c) and (d) learned on the training period
    synergy: dict[str, Any] = field(default_factory=dict)
    verdict: str = ""


def _finite(x: float) -> float:
    """NaN (no trades, no risk) counts as 0; +-inf is capped at RATIO_CAP."""
    if math.isnan(x):
        return 0.0
    return max(-RATIO_CAP, min(RATIO_CAP, x))


def block_bootstrap_diff(a: np.ndarray, b: np.ndarray, stat, n_boot: int = 2000, block: int = 10,
                         seed: int = 0, level: float = 0.90) -> dict[str, float]:
    """Paired circular block bootstrap of stat(a) - stat(b) over days -> {diff, lo, hi}.

    Hand-written: scipy.stats.bootstrap resamples single observations (no blocks), and the
    `arch` package would be a dependency for these ten lines. Blocks of `block` consecutive
    days keep the autocorrelation of daily P&L; the same blocks are drawn for both series so
    the interval is of the paired difference.
    """
    n = len(a)
    diff = _finite(stat(a)) - _finite(stat(b))
    if n < 2:
        return {"diff": diff, "lo": math.nan, "hi": math.nan}
    rng = np.random.default_rng(seed)
    block = max(1, min(block, n))
    n_blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    idx = ((starts[:, :, None] + np.arange(block)[None, None, :]) % n).reshape(n_boot, -1)[:, :n]
    diffs = np.array([_finite(stat(a[i])) - _finite(stat(b[i])) for i in idx])
    lo, hi = np.quantile(diffs, [(1 - level) / 2, 1 - (1 - level) / 2])
    return {"diff": float(diff), "lo": float(lo), "hi": float(hi)}


def _backtest(ctx: Context, data: Any, raw, rows: np.ndarray, account):  # -> (BacktestResult, Metrics)
    from algospace.sim.metrics import summarize
    from algospace.training.mrms_policies import backtest_rules

    result = backtest_rules(ctx, data.signals, raw, rows)
    return result, summarize(result)


def grid_search(ctx: Context, data: Any, rows: np.ndarray, account, progress=None,
                grid: tuple[tuple, tuple, tuple] = (GRID_SIZES, GRID_STOPS, GRID_RR)) -> tuple[tuple[int, float, float], list[dict]]:
    """The best fixed (size, stop, R:R) of `grid` on `rows` by the training's validation score."""
    from algospace.training.mrms import score
    from algospace.training.mrms_policies import fixed

    table = []
    for size, stop, rr in itertools.product(*grid):
        _, m = _backtest(ctx, data, fixed(size, stop, rr), rows, account)
        table.append({"size": size, "stop": stop, "rr": rr, "score": score(m), "net_pnl": m.net_pnl, "breaches": m.rule_breaches})
        if progress is not None:
            progress()
    best = max(table, key=lambda r: (r["score"], r["net_pnl"]))
    return (int(best["size"]), float(best["stop"]), float(best["rr"])), table


def fit_baselines(ctx: Context, data: Any, account, progress=None, grid=(GRID_SIZES, GRID_STOPS, GRID_RR)) -> dict[str, Any]:
    """What (c) and (d) learn, on the TRAINING rows only: the Kelly fraction of (a)'s trades and the best grid rule."""
    from algospace.training.mrms_policies import fixed, kelly_fraction

    train = data.rows["train"]
    base, _ = _backtest(ctx, data, fixed(1, 2.0, 2.0), train, account)
    t = base.outcomes.traded
    kelly, kstats = kelly_fraction(base.outcomes.net_usd[t], base.outcomes.risk_usd[t])
    best, table = grid_search(ctx, data, train, account, progress, grid)
    return {"half_kelly": {"fraction": kelly / 2.0, **kstats, "note": "Kelly <= 0: the rule never trades" if kelly == 0 else ""},
            "grid": {"best": {"size": best[0], "stop": best[1], "rr": best[2]}, "candidates": len(table),
                     "top5": sorted(table, key=lambda r: -r["score"])[:5]}}


def build_strategies(rm: Any, ctx: Context, fitted: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """The six strategies on `ctx`'s signals, with (c) and (d) as fitted by `fit_baselines`."""
    import torch

    from algospace.engines.mrms import RiskManager
    from algospace.models.mrms import MRMSModel
    from algospace.training.mrms_policies import fixed, fixed_fractional, network

    half_kelly = fitted["half_kelly"]["fraction"]
    b = fitted["grid"]["best"]
    torch.manual_seed(seed + 12345)
    random_rm = RiskManager(MRMSModel(rm.model.config).eval(), training=rm.training)
    return {
        "M-RMS": network(rm),
        "(a) fixed 1c 2ATR 2R": fixed(1, 2.0, 2.0),
        "(b) fixed-fractional 1%": fixed_fractional(ctx, 0.01),
        "(c) half-Kelly": fixed_fractional(ctx, half_kelly) if half_kelly > 0 else fixed(0, 2.0, 2.0),
        f"(d) best fixed {b['size']}c {b['stop']:g}ATR {b['rr']:g}R": fixed(b["size"], b["stop"], b["rr"]),
        "(e) random network": network(random_rm),
    }


def evaluate_mrms(artifact: str | Path, data: Any = "spy-1m", n_boot: int = 2000, block_days: int = 10, seed: int = 0,
                  progress: bool = True, grid: tuple[tuple, tuple, tuple] = (GRID_SIZES, GRID_STOPS, GRID_RR)) -> MRMSEvaluation:
    """Run every strategy on the artifact's test split and compare (see the module docstring)."""
    from algospace.engines.mrms import RiskManager
    from algospace.sim import AccountConfig, SimConfig
    from algospace.sim.metrics import daily_pnl, sortino, calmar
    from algospace.training.mrms import prepare_mrms_data
    from algospace.training.mrms_config import MRMSTrainConfig
    from algospace.training.mrms_policies import Context
    from algospace.training.loop import progress_bar as _progress

    rm = RiskManager.load(artifact, device="cpu")
    cfg = MRMSTrainConfig.model_validate(rm.training.get("train_config", {}))
    prepared = prepare_mrms_data(data, cfg)
    account, sim = AccountConfig.model_validate(cfg.account.model_dump()), SimConfig.model_validate(cfg.sim.model_dump())
    ctx = Context(prepared.paths, account, sim)
    bar = _progress(progress)
    task = bar.add_task("eval mrms", total=len(grid[0]) * len(grid[1]) * len(grid[2]) + 6, info="") if bar else None
    tick = (lambda: bar.update(task, advance=1)) if bar else None
    try:
        fitted = fit_baselines(ctx, prepared, account, tick, grid)
        strats = build_strategies(rm, ctx, fitted, seed)
        test = prepared.rows["test"]
        metrics, daily = {}, {}
        days = None
        for name, raw in strats.items():
            result, m = _backtest(ctx, prepared, raw, test, account)
            metrics[name] = m.to_dict()
            daily[name] = daily_pnl(result.outcomes, result.days).to_numpy()
            days = result.days
            if tick:
                tick()
    finally:
        if bar:
            bar.stop()
    annual_sortino = lambda x: sortino(x, 252)  # noqa: E731
    intervals = {}
    for name in strats:
        if name == "M-RMS":
            continue
        intervals[name] = {
            "sortino_daily": block_bootstrap_diff(daily["M-RMS"], daily[name], annual_sortino, n_boot, block_days, seed),
            "calmar": block_bootstrap_diff(daily["M-RMS"], daily[name], calmar, n_boot, block_days, seed),
        }
    times = prepared.signals.times
    ev = MRMSEvaluation(
        proxy=prepared.proxy, test_period=(str(times[test[0]]), str(times[test[-1]])), n_test_signals=len(test),
        metrics=metrics, daily=daily, days=np.asarray(days), intervals=intervals, fitted=fitted,
    )
    ev.synergy = synergy_report(rm, cfg, data, prepared, fitted, seed)
    ev.verdict = verdict(ev)
    return ev


def synergy_report(rm: Any, cfg: Any, data: Any, prepared: Any, fitted: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """The reference 4-pattern synergy signals (few): every strategy over all of them and over
    those in the test period. (c) and (d) keep what they learned on the COMPONENT training
    period; the M-RMS never trained on synergy events, but events before the test boundary lie
    in its training period, so only the test-period rows are out of sample."""
    from algospace.signals import build_signals
    from algospace.sim import build_paths
    from algospace.sim.metrics import summarize
    from algospace.training.mrms import load_market
    from algospace.training.mrms_policies import Context, backtest_rules

    m = load_market(data, cfg)
    sigs = build_signals(m.bars_5m, m.bars_30m, "synergy", proxy=m.proxy)
    paths = build_paths(m.bars, sigs, m.instrument, m.calendar, config=cfg.sim)
    valid = np.flatnonzero(paths.valid)
    in_test = valid[paths.day[valid] >= prepared.boundaries["test"].value]
    ctx = Context(paths, cfg.account, cfg.sim)
    strats = build_strategies(rm, ctx, fitted, seed)
    out: dict[str, Any] = {"events": len(sigs), "tradable": len(valid), "in_test_period": len(in_test), "counts": sigs.counts(),
                           "proxy": m.proxy}
    for label, rows in (("all", valid), ("test_period", in_test)):
        table = {}
        for name, raw in strats.items():
            if len(rows) == 0:
                continue
            mm = summarize(backtest_rules(ctx, sigs, raw, rows)).to_dict()
            table[name] = {k: mm[k] for k in ("trades", "net_pnl", "win_rate", "sortino_daily", "calmar", "rule_breaches",
                                              "accounts_ended")}
        out[label] = table
    return out


def verdict(ev: MRMSEvaluation) -> str:
    """The result in plain words: per baseline, the Sortino and Calmar differences and whether the interval excludes 0."""
    m = ev.metrics["M-RMS"]
    lines = []
    wins = 0
    for name, iv in ev.intervals.items():
        s, c = iv["sortino_daily"], iv["calmar"]
        both = s["lo"] > 0 and c["lo"] > 0
        wins += both
        lines.append(f"- vs {name}: Sortino {s['diff']:+.2f} [{s['lo']:+.2f}, {s['hi']:+.2f}], Calmar {c['diff']:+.2f} "
                     f"[{c['lo']:+.2f}, {c['hi']:+.2f}] -> {'better (both intervals exclude 0)' if both else 'not shown better'}")
    goal = wins == len(ev.intervals) and m["rule_breaches"] == 0
    head = (f"Out of sample ({ev.n_test_signals} test signals, {ev.test_period[0][:10]}..{ev.test_period[1][:10]}, {ev.proxy}): "
            f"the M-RMS made ${m['net_pnl']:,.0f} over {m['trades']} trades with {m['rule_breaches']} rule breaches; "
            f"it beats {wins} of {len(ev.intervals)} baselines on both Sortino and Calmar with 90 % intervals excluding 0. "
            f"Goal {'MET' if goal else 'NOT met'}.")
    return head + "\n" + "\n".join(lines)


def plot_curves(ev: MRMSEvaluation, path: Path) -> Path:
    """Equity (cumulative daily P&L) and drawdown of every strategy over the test days."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from algospace.io import atomic_write_with

    x = pd.to_datetime(ev.days, utc=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    for name, d in ev.daily.items():
        eq = np.cumsum(d)
        dd = eq - np.maximum.accumulate(np.concatenate([[0.0], eq]))[1:]
        lw = 2.2 if name == "M-RMS" else 1.0
        ax1.plot(x, eq, label=name, lw=lw)
        ax2.plot(x, dd, label=name, lw=lw)
    ax1.set_ylabel("net P&L (USD)")
    ax1.set_title(f"M-RMS vs baselines, test period, {ev.proxy}", fontsize=9)
    ax1.legend(fontsize=7)
    ax2.set_ylabel("drawdown (USD)")
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=90))
    plt.close(fig)
    return path


__all__ = ["MRMSEvaluation", "evaluate_mrms", "block_bootstrap_diff", "grid_search", "fit_baselines", "build_strategies", "verdict", "plot_curves"]
