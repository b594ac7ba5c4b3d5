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

# 64 rules: each is a sequential backtest of ~2,400 training signals (~0.2 s on the quiet 2-core box).
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
    """Paired circular block bootstrap of stat(a) - stat(b) over days -> {diff, lo, hi}
    (`evaluation.bootstrap.block_bootstrap`: the same blocks of `block` consecutive days are
    drawn for both series, so the interval is of the paired difference)."""
    from algospace.evaluation.bootstrap import block_bootstrap

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = lambda x, y: _finite(stat(x)) - _finite(stat(y))  # noqa: E731
    if len(a) < 2:
        return {"diff": diff(a, b), "lo": math.nan, "hi": math.nan}
    iv = block_bootstrap(diff, a, b, block=max(1, min(block, len(a))), n_boot=n_boot, level=level, seed=seed)
    return {"diff": iv.estimate, "lo": iv.low, "hi": iv.high}


def _backtest(ctx: Context, signals: Any, raw, rows: np.ndarray):  # -> (BacktestResult, Metrics)
    from algospace.sim.metrics import summarize
    from algospace.training.mrms_policies import backtest_rules

    result = backtest_rules(ctx, signals, raw, rows)
    return result, summarize(result)


def grid_search(ctx: Context, data: Any, rows: np.ndarray, progress=None,
                grid: tuple[tuple, tuple, tuple] = (GRID_SIZES, GRID_STOPS, GRID_RR)) -> tuple[tuple[int, float, float], list[dict]]:
    """The best fixed (size, stop, R:R) of `grid` on `rows` by the training's validation score."""
    from algospace.training.mrms import score
    from algospace.training.mrms_policies import fixed

    table = []
    for size, stop, rr in itertools.product(*grid):
        _, m = _backtest(ctx, data.signals, fixed(size, stop, rr), rows)
        table.append({"size": size, "stop": stop, "rr": rr, "score": score(m), "net_pnl": m.net_pnl, "breaches": m.rule_breaches})
        if progress is not None:
            progress()
    best = max(table, key=lambda r: (r["score"], r["net_pnl"]))
    return (int(best["size"]), float(best["stop"]), float(best["rr"])), table


def fit_baselines(ctx: Context, data: Any, progress=None, grid=(GRID_SIZES, GRID_STOPS, GRID_RR),
                  rows: np.ndarray | None = None) -> dict[str, Any]:
    """What (c) and (d) learn, on `rows` (default the TRAINING rows) only: the Kelly fraction of
    (a)'s trades and the best grid rule. `fitted_on` records the rows' count and period."""
    from algospace.training.mrms import trade_end_ns
    from algospace.training.mrms_policies import fixed, kelly_fraction

    rows = np.asarray(data.rows["train"] if rows is None else rows)
    base, _ = _backtest(ctx, data.signals, fixed(1, 2.0, 2.0), rows)
    t = base.outcomes.traded
    kelly, kstats = kelly_fraction(base.outcomes.net_usd[t], base.outcomes.risk_usd[t])
    best, table = grid_search(ctx, data, rows, progress, grid)
    times = data.signals.times
    return {"half_kelly": {"fraction": kelly / 2.0, **kstats, "note": "Kelly <= 0: the rule never trades" if kelly == 0 else ""},
            "grid": {"best": {"size": best[0], "stop": best[1], "rr": best[2]}, "candidates": len(table),
                     "top5": sorted(table, key=lambda r: -r["score"])[:5]},
            "fitted_on": {"signals": int(len(rows)), "first": str(times[rows[0]]) if len(rows) else None,
                          "last": str(times[rows[-1]]) if len(rows) else None,
                          "last_trade_end_ns": int(trade_end_ns(ctx.paths, rows).max()) if len(rows) else None}}


GRID_NAME = "(d) best fixed (grid)"


def build_strategies(rm: Any, ctx: Context, fitted: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """The six strategies on `ctx`'s signals, with (c) and (d) as fitted by `fit_baselines`
    (the rule (d) found is in `fitted["grid"]["best"]`; its name stays the same across folds)."""
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
        GRID_NAME: fixed(b["size"], b["stop"], b["rr"]),
        "(e) random network": network(random_rm),
    }


def run_strategies(ctx: Context, signals: Any, strats: dict[str, Any], rows: np.ndarray, progress=None) -> dict[str, Any]:
    """Every strategy over the same `rows` -> {name: BacktestResult}."""
    from algospace.training.mrms_policies import backtest_rules

    out = {}
    for name, raw in strats.items():
        out[name] = backtest_rules(ctx, signals, raw, rows)
        if progress is not None:
            progress()
    return out


def compare(daily: dict[str, np.ndarray], n_boot: int, block_days: int, seed: int, subject: str = "M-RMS",
            skip: tuple[str, ...] = ()) -> dict[str, dict[str, dict[str, float]]]:
    """`subject` minus each other strategy (but `skip`): paired block-bootstrap intervals of
    annualised daily Sortino and Calmar."""
    from algospace.sim.metrics import calmar, sortino

    annual_sortino = lambda x: sortino(x, 252)  # noqa: E731
    return {name: {"sortino_daily": block_bootstrap_diff(daily[subject], d, annual_sortino, n_boot, block_days, seed),
                   "calmar": block_bootstrap_diff(daily[subject], d, calmar, n_boot, block_days, seed)}
            for name, d in daily.items() if name != subject and name not in skip}


def summaries(results: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """{name: BacktestResult} -> ({name: Metrics dict}, {name: daily net P&L over the result's days})."""
    from algospace.sim.metrics import daily_pnl, summarize

    return ({n: summarize(r).to_dict() for n, r in results.items()},
            {n: daily_pnl(r.outcomes, r.days).to_numpy() for n, r in results.items()})


def _progress_ticker(progress: bool, total: int, label: str):
    """A rich progress bar and its one-step advance, or (None, None)."""
    from algospace.training.loop import progress_bar

    bar = progress_bar(progress)
    if not bar:
        return None, None
    task = bar.add_task(label, total=total, info="")
    return bar, (lambda: bar.update(task, advance=1))


def n_grid(grid: tuple[tuple, tuple, tuple]) -> int:
    return len(grid[0]) * len(grid[1]) * len(grid[2])


def evaluate_mrms(artifact: str | Path, data: Any = "spy-1m", n_boot: int = 2000, block_days: int = 10, seed: int = 0,
                  progress: bool = True, grid: tuple[tuple, tuple, tuple] = (GRID_SIZES, GRID_STOPS, GRID_RR)) -> MRMSEvaluation:
    """Single split: every strategy on one trained artifact's test split (see the module docstring)."""
    from algospace.engines.mrms import RiskManager
    from algospace.training.mrms import prepare_mrms_data
    from algospace.training.mrms_config import MRMSTrainConfig
    from algospace.training.mrms_policies import Context

    rm = RiskManager.load(artifact, device="cpu")
    cfg = MRMSTrainConfig.model_validate(rm.training.get("train_config", {}))
    prepared = prepare_mrms_data(data, cfg)
    ctx = Context(prepared.paths, cfg.account, cfg.sim)
    bar, tick = _progress_ticker(progress, n_grid(grid) + 6, "eval mrms")
    try:
        fitted = fit_baselines(ctx, prepared, tick, grid)
        strats = build_strategies(rm, ctx, fitted, seed)
        test = prepared.rows["test"]
        results = run_strategies(ctx, prepared.signals, strats, test, tick)
    finally:
        if bar:
            bar.stop()
    metrics, daily = summaries(results)
    times = prepared.signals.times
    ev = MRMSEvaluation(
        proxy=prepared.proxy, test_period=(str(times[test[0]]), str(times[test[-1]])), n_test_signals=len(test),
        metrics=metrics, daily=daily, days=np.asarray(results["M-RMS"].days), intervals=compare(daily, n_boot, block_days, seed),
        fitted=fitted,
    )
    syn = synergy_market(data, cfg)
    syn_strats = strats_for(rm, syn, cfg, fitted, seed)
    ev.synergy = synergy_report(syn, [(syn_strats, syn_rows_between(syn[1], prepared.boundaries["test"].value, None))],
                                all_rows=(syn_strats, np.flatnonzero(syn[1].valid)))
    ev.verdict = verdict(ev.metrics["M-RMS"], ev.intervals, f"Out of sample ({ev.n_test_signals} test signals, "
                         f"{ev.test_period[0][:10]}..{ev.test_period[1][:10]}, {ev.proxy})")
    return ev


def synergy_market(data: Any, cfg: Any) -> tuple[Any, Any]:
    """The reference 4-pattern synergy signals on `data` and their trade paths (few events)."""
    from algospace.signals import build_signals
    from algospace.sim import build_paths
    from algospace.training.mrms import load_market

    m = load_market(data, cfg)
    sigs = build_signals(m.bars_5m, m.bars_30m, "synergy", proxy=m.proxy)
    return sigs, build_paths(m.bars, sigs, m.instrument, m.calendar, config=cfg.sim)


def syn_rows_between(paths: Any, start_ns: int, end_ns: int | None) -> np.ndarray:
    """Tradable synergy rows on trading days in [start_ns, end_ns) whose trade ends by end_ns."""
    from algospace.training.mrms import trade_end_ns

    valid = np.flatnonzero(paths.valid)
    keep = paths.day[valid] >= start_ns
    if end_ns is not None:
        keep &= (paths.day[valid] < end_ns) & (trade_end_ns(paths, valid) <= end_ns)
    return valid[keep]


def strats_for(rm: Any, syn: tuple[Any, Any], cfg: Any, fitted: dict[str, Any], seed: int) -> tuple[Any, dict[str, Any]]:
    from algospace.training.mrms_policies import Context

    ctx = Context(syn[1], cfg.account, cfg.sim)
    return ctx, build_strategies(rm, ctx, fitted, seed)


SYNERGY_COLUMNS = ("trades", "net_pnl", "win_rate", "sortino_daily", "calmar", "rule_breaches", "accounts_ended")


def synergy_report(syn: tuple[Any, Any], out_of_sample: list[tuple[tuple[Any, dict[str, Any]], np.ndarray]],
                   all_rows: tuple[tuple[Any, dict[str, Any]], np.ndarray] | None = None) -> dict[str, Any]:
    """The reference 4-pattern synergy signals (few): every strategy over the out-of-sample rows
    (one (context, strategies) per fold with that fold's test rows, pooled), and over `all_rows`
    when given. (c) and (d) keep what they learned on the COMPONENT training period; the M-RMS
    never trained on synergy events, but events before a test boundary lie in its training
    period, so only the test-period rows are out of sample."""
    from algospace.sim.metrics import summarize
    from algospace.training.mrms_policies import backtest_rules

    sigs, paths = syn
    oos = np.concatenate([r for _, r in out_of_sample]) if out_of_sample else np.zeros(0, dtype=np.int64)
    out: dict[str, Any] = {"events": len(sigs), "tradable": int(paths.valid.sum()), "in_test_period": int(len(oos)),
                           "counts": sigs.counts(), "proxy": sigs.proxy}

    def table(parts):
        per: dict[str, list] = {}
        for (ctx, strats), rows in parts:
            if len(rows):
                for name, raw in strats.items():
                    per.setdefault(name, []).append(backtest_rules(ctx, sigs, raw, rows))
        res = {}
        for name, results in per.items():
            mm = summarize(concat_results(results)).to_dict()
            res[name] = {k: mm[k] for k in SYNERGY_COLUMNS}
        return res

    out["test_period"] = table(out_of_sample)
    if all_rows is not None:
        out["all"] = table([all_rows])
    return out


def concat_results(results: list[Any]) -> Any:
    """Backtests of consecutive periods as one (outcomes, breaches, accounts and days in order)."""
    from algospace.sim.replay import BacktestResult, concat_outcomes

    if len(results) == 1:
        return results[0]
    return BacktestResult(outcomes=concat_outcomes([r.outcomes for r in results]), breaches=[b for r in results for b in r.breaches],
                          accounts=[a for r in results for a in r.accounts], days=np.concatenate([r.days for r in results]),
                          proxy=results[0].proxy, starting_balance=results[0].starting_balance)


def verdict(m: dict[str, Any], intervals: dict[str, dict[str, dict[str, float]]], where: str, who: str = "the M-RMS") -> str:
    """The result in plain words: per baseline, the Sortino and Calmar differences and whether the interval excludes 0."""
    lines = []
    wins = 0
    for name, iv in intervals.items():
        s, c = iv["sortino_daily"], iv["calmar"]
        both = s["lo"] > 0 and c["lo"] > 0
        wins += both
        lines.append(f"- vs {name}: Sortino {s['diff']:+.2f} [{s['lo']:+.2f}, {s['hi']:+.2f}], Calmar {c['diff']:+.2f} "
                     f"[{c['lo']:+.2f}, {c['hi']:+.2f}] -> {'better (both intervals exclude 0)' if both else 'not shown better'}")
    goal = wins == len(intervals) and m["rule_breaches"] == 0
    head = (f"{where}: {who} made {'-' if m['net_pnl'] < 0 else ''}${abs(m['net_pnl']):,.0f} over {m['trades']} trades with {m['rule_breaches']} rule breaches; "
            f"it beats {wins} of {len(intervals)} baselines on both Sortino and Calmar with 90 % intervals excluding 0. "
            f"Goal {'MET' if goal else 'NOT met'}.")
    return head + "\n" + "\n".join(lines)


def plot_curves(ev: Any, path: Path, title: str | None = None, boundaries: list[Any] | None = None) -> Path:
    """Equity (cumulative daily P&L) and drawdown of every strategy over `ev.days` (`ev.daily`);
    `boundaries` (timestamps) are drawn as dotted lines (the walk-forward's fold starts)."""
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
    for b in boundaries or []:
        for ax in (ax1, ax2):
            ax.axvline(pd.Timestamp(b), color="grey", ls=":", lw=0.8)
    ax1.set_ylabel("net P&L (USD)")
    ax1.set_title(title or f"M-RMS vs baselines, test period, {ev.proxy}", fontsize=9)
    ax1.legend(fontsize=7)
    ax2.set_ylabel("drawdown (USD)")
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=90))
    plt.close(fig)
    return path


__all__ = ["MRMSEvaluation", "evaluate_mrms", "block_bootstrap_diff", "grid_search", "fit_baselines", "build_strategies",
           "run_strategies", "compare", "summaries", "concat_results", "synergy_market", "synergy_report", "verdict", "plot_curves"]
