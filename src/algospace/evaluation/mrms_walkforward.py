"""Walk-forward evaluation of the M-RMS: retrain per fold, refit the baselines per fold, pool the test periods.

The tradable signals are cut by trading day into `folds` consecutive test periods covering the
last `test_fraction` of them. Fold k trains on everything before its test period (an
expanding window): PPO on the window's first part, early stopping on its END (the last
`val_fraction / (train_fraction + val_fraction)` of the window, as `train mrms` splits), and
(c) half-Kelly and (d) the grid rule are refitted on the whole window. Then every strategy
trades the fold's test signals from a fresh account. A signal whose trade could still be open
when the next segment starts is dropped (`training.mrms.split_by_days`), so no trade crosses a
boundary: not train -> validation, not validation -> test, not one test period -> the next.

The pooled out-of-sample result is the folds' test backtests concatenated (trades, breaches,
accounts, days); its daily series gets the paired block-bootstrap intervals of
`mrms_eval.compare`. Nothing is fitted, chosen or stopped on a test period.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from algospace.errors import DataError, InputError
from algospace.evaluation.mrms_eval import (
    GRID_RR, GRID_SIZES, GRID_STOPS, MRMSEvaluation, _progress_ticker, build_strategies, compare, concat_results, fit_baselines,
    n_grid, run_strategies, strats_for, summaries, syn_rows_between, synergy_market, synergy_report, verdict,
)

TABLE_COLUMNS = ("trades", "net_pnl", "win_rate", "profit_factor", "expectancy_r", "sharpe_daily", "sortino_daily",
                 "max_drawdown_daily", "calmar", "rule_breaches", "accounts_ended", "days_to_target")
REFIT_NAME = "M-RMS refit (train+val)"
FOLD_COLUMNS = ("trades", "net_pnl", "sortino_daily", "max_drawdown_daily", "calmar", "rule_breaches")


@dataclass
class FoldResult:
    """One fold: its split, what was fitted on its training window, and every strategy's test backtest."""

    index: int  # 1-based
    split: dict[str, dict[str, Any]]  # train/val/test -> signals, first, last, dropped_at_boundary
    boundaries: dict[str, str]  # val, test (and end, but for the last fold): first trading day of each
    metrics: dict[str, dict[str, Any]]  # strategy -> Metrics.to_dict() on the fold's test period
    daily: dict[str, np.ndarray]
    days: np.ndarray
    fitted: dict[str, Any]  # (c) and (d) on the fold's training window
    training: dict[str, Any]  # the fold's M-RMS training: iterations, stop reason, seconds, validation
    artifact: str
    results: dict[str, Any] = field(default_factory=dict, repr=False)  # strategy -> BacktestResult (not serialised)


@dataclass
class WalkForwardEvaluation(MRMSEvaluation):
    """The pooled out-of-sample comparison (`metrics`, `daily`, `days`, `intervals` over every
    test period) and the folds it concatenates."""

    folds: list[FoldResult] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    variant_intervals: dict[str, Any] = field(default_factory=dict)  # REFIT_NAME minus each other strategy (with refit)


def walk_forward_folds(base: Any, folds: int, test_fraction: float, val_share: float) -> list[Any]:
    """`base` (`training.mrms.build_mrms_signals`: every tradable row under "all") -> one
    `MRMSData` per fold with rows train / val / test and their first trading days."""
    from algospace.training.mrms import SPLITS, split_by_days

    if folds < 1:
        raise InputError(f"folds must be >= 1; got {folds}.")
    if not 0.0 < test_fraction < 1.0 or not 0.0 < val_share < 1.0:
        raise InputError(f"test_fraction and the validation share must lie in (0, 1); got {test_fraction}, {val_share}.")
    valid = base.rows["all"]
    day = base.paths.day[valid]
    if np.any(np.diff(day) < 0):
        raise DataError("The signals are not in time order; build them with training.mrms.build_mrms_signals.")
    n = len(valid)
    first_test = int(round(n * (1.0 - test_fraction)))
    test_cuts = [int(day[first_test + (n - first_test) * k // folds]) for k in range(folds)]
    if n < 20 * (folds + 1) or len(set(test_cuts)) < folds:
        raise DataError(f"{n} tradable signals are too few for {folds} folds over the last {test_fraction:.0%}; "
                        "use more data or fewer folds.")
    out = []
    for k, test_cut in enumerate(test_cuts):
        window_end = int(np.searchsorted(day, test_cut, side="left"))  # rows before the test period
        val_cut = int(day[int(window_end * (1.0 - val_share))])
        end = test_cuts[k + 1] if k + 1 < folds else None
        cuts = [val_cut, test_cut] + ([end] if end is not None else [])
        if val_cut >= test_cut:
            raise DataError(f"Fold {k + 1}: its training window is too short to hold back a validation period; use more data.")
        rows, dropped = split_by_days(base.paths, valid, cuts, SPLITS + (("later",) if end is not None else ()))
        rows.pop("later", None)
        dropped.pop("later", None)
        if any(len(rows[s]) < 10 for s in SPLITS):
            raise DataError(f"Fold {k + 1} has {', '.join(f'{len(v)} {s}' for s, v in rows.items())} signals; use more data or fewer folds.")
        bounds = {"val": val_cut, "test": test_cut, **({"end": end} if end is not None else {})}
        out.append(replace(base, rows=rows, dropped_at_boundary=dropped,
                           boundaries={name: pd.Timestamp(v, tz="UTC") for name, v in bounds.items()}))
    return out


def _train_or_reuse(fold: Any, out: Path, cfg: Any, progress: bool) -> Any:
    """The fold's trained M-RMS: a finished artifact at `out` from the same config, data and split
    is reused (a rerun of the evaluation does not retrain); otherwise `train_mrms` (which resumes
    its own checkpoint)."""
    from algospace.artifacts.layout import read_training
    from algospace.engines.mrms import RiskManager
    from algospace.training.mrms import train_mrms

    if (out / "manifest.json").exists():
        t = read_training(out) or {}
        try:  # through the config class: a field added since (with its default) still matches
            saved = type(cfg).model_validate(t.get("train_config") or {}).model_dump(mode="json")
        except ValueError:
            saved = None
        same = (saved == cfg.model_dump(mode="json")
                and {k: v.get("signals") for k, v in t.get("split", {}).items()} == {k: len(v) for k, v in fold.rows.items()}
                and t.get("split_boundaries") == {k: v.isoformat() for k, v in fold.boundaries.items()})
        if same:
            return RiskManager.load(out, device="cpu")
    train_mrms(fold, out, cfg, progress=progress)
    return RiskManager.load(out, device="cpu")


def _split_info(fold: Any) -> dict[str, dict[str, Any]]:
    times = fold.signals.times
    return {s: {"signals": int(len(r)), "first": str(times[r[0]]), "last": str(times[r[-1]]),
                "dropped_at_boundary": fold.dropped_at_boundary.get(s, 0)} for s, r in fold.rows.items()}


def evaluate_walk_forward(data: Any, cfg: Any, out: str | Path, folds: int = 4, test_fraction: float = 0.5, n_boot: int = 2000,
                          block_days: int = 10, seed: int = 0, progress: bool = True,
                          grid: tuple[tuple, tuple, tuple] = (GRID_SIZES, GRID_STOPS, GRID_RR), refit: bool = False) -> WalkForwardEvaluation:
    """Walk-forward comparison of the M-RMS (retrained per fold with `cfg`, artifacts under
    `out/foldK/mrms`) with the baselines (refitted per fold): see the module docstring.

    `refit` adds the variant `REFIT_NAME`: per fold a fresh policy trained on the window's train
    AND validation rows for the iteration count early stopping chose (`training.mrms.refit_policy`;
    seeded, not saved). It is compared with every baseline too, but the goal is judged on the M-RMS."""
    from algospace.training.mrms import build_mrms_signals
    from algospace.training.mrms_policies import Context, network

    out = Path(out)
    base = build_mrms_signals(data, cfg)
    val_share = cfg.val_fraction / (cfg.train_fraction + cfg.val_fraction)
    fold_data = walk_forward_folds(base, folds, test_fraction, val_share)
    syn = synergy_market(data, cfg)
    results: list[FoldResult] = []
    syn_parts = []
    for k, fd in enumerate(fold_data, start=1):
        art = out / f"fold{k}" / "mrms"
        rm = _train_or_reuse(fd, art, cfg, progress)
        ctx = Context(fd.paths, cfg.account, cfg.sim)
        bar, tick = _progress_ticker(progress, n_grid(grid) + 7 + int(refit), f"fold {k}/{folds}: baselines + backtests")
        try:
            # (c) and (d) see the whole training window (the M-RMS's train + validation rows), never the test period.
            fitted = fit_baselines(ctx, fd, tick, grid, rows=np.concatenate([fd.rows["train"], fd.rows["val"]]))
            strats = build_strategies(rm, ctx, fitted, seed + k)
            if refit:
                strats = {"M-RMS": strats.pop("M-RMS"), REFIT_NAME: network(_refit(rm, fd, cfg)), **strats}
            fold_res = run_strategies(ctx, fd.signals, strats, fd.rows["test"], tick)
        finally:
            if bar:
                bar.stop()
        metrics, daily = summaries(fold_res)
        tm = rm.training.get("metrics", {})
        training = {key: tm.get(key) for key in ("iterations", "stop_reason", "train_seconds", "best_val_score")}
        training["val"] = {key: (tm.get("val") or {}).get(key) for key in ("trades", "net_pnl", "sortino_daily", "rule_breaches")}
        results.append(FoldResult(index=k, split=_split_info(fd), boundaries={n: v.isoformat() for n, v in fd.boundaries.items()},
                                  metrics=metrics, daily=daily, days=np.asarray(fold_res["M-RMS"].days), fitted=fitted,
                                  training=training, artifact=str(art), results=fold_res))
        end = fd.boundaries.get("end")
        syn_parts.append((strats_for(rm, syn, cfg, fitted, seed + k),
                          syn_rows_between(syn[1], fd.boundaries["test"].value, end.value if end is not None else None)))
    pooled = {name: concat_results([f.results[name] for f in results]) for name in results[0].results}
    metrics, daily = summaries(pooled)
    first, last = results[0].split["test"]["first"], results[-1].split["test"]["last"]
    n_test = sum(f.split["test"]["signals"] for f in results)
    ev = WalkForwardEvaluation(
        proxy=base.proxy, test_period=(first, last), n_test_signals=n_test, metrics=metrics, daily=daily,
        days=np.concatenate([f.days for f in results]), intervals=compare(daily, n_boot, block_days, seed, skip=(REFIT_NAME,)),
        fitted={f"fold{f.index}": f.fitted for f in results}, folds=results,
        settings={"folds": folds, "test_fraction": test_fraction, "val_share_of_window": round(val_share, 4),
                  "train_config": cfg.model_dump(mode="json"), "bootstrap": {"resamples": n_boot, "block_days": block_days, "seed": seed},
                  "grid": [list(g) for g in grid], "refit_variant": refit},
    )
    ev.synergy = synergy_report(syn, syn_parts)
    where = f"Walk-forward out of sample ({folds} folds, {n_test} test signals, {first[:10]}..{last[:10]}, {base.proxy})"
    ev.verdict = verdict(metrics["M-RMS"], ev.intervals, where)
    if refit:
        ev.variant_intervals = compare(daily, n_boot, block_days, seed, subject=REFIT_NAME)
        baselines = {n: v for n, v in ev.variant_intervals.items() if n != "M-RMS"}
        ev.verdict += "\n" + verdict(metrics[REFIT_NAME], baselines, "Variant tried", who="the M-RMS refitted on train + validation")
    return ev


def _refit(rm: Any, fold: Any, cfg: Any) -> Any:
    """The fold's refit variant as a RiskManager: a fresh policy on train + validation for the
    iteration count at which the fold's trained M-RMS had its best validation score."""
    from algospace.devices import resolve_device
    from algospace.engines.mrms import RiskManager
    from algospace.training.mrms import best_iteration, refit_policy

    t = rm.training
    it = best_iteration(t["history"], t["metrics"]["best_val_score"])
    policy = refit_policy(fold, cfg, it, resolve_device(cfg.device))
    return RiskManager(policy.model.cpu().eval(), training=t)


def _fmt(v: Any, money: bool = False) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if money:
        return f"{'-' if v < 0 else ''}${abs(v):,.0f}"
    if isinstance(v, (int, np.integer)):
        return str(v)
    return f"{v:.2f}"


_MONEY = {"net_pnl", "max_drawdown_daily"}


def markdown_tables(ev: WalkForwardEvaluation) -> str:
    """The per-fold table, the pooled table and the intervals as Markdown (for docs and `out/tables.md`)."""
    lines = [f"Prices: {ev.proxy}.", "", "Per fold (test period of each fold; M-RMS retrained, (c) and (d) refitted on the fold's training window):", "",
             "| fold | test period | signals train / val / test | M-RMS training | strategy | " + " | ".join(FOLD_COLUMNS) + " |",
             "|---|---|---|---|---|" + "---:|" * len(FOLD_COLUMNS)]
    for f in ev.folds:
        s, t = f.split, f.training
        for i, (name, m) in enumerate(f.metrics.items()):
            head = (f"| {f.index} | {s['test']['first'][:10]}..{s['test']['last'][:10]} | {s['train']['signals']} / {s['val']['signals']} / "
                    f"{s['test']['signals']} | {t['iterations']} it, {t['stop_reason']}, {_fmt(t['train_seconds'])} s |") if i == 0 else "| | | | |"
            lines.append(f"{head} {name} | " + " | ".join(_fmt(m[c], c in _MONEY) for c in FOLD_COLUMNS) + " |")
    lines += ["", f"Pooled out of sample ({ev.n_test_signals} signals, {ev.test_period[0][:10]}..{ev.test_period[1][:10]}, "
              f"{len(ev.days)} trading days):", "",
              "| strategy | " + " | ".join(TABLE_COLUMNS) + " |", "|---|" + "---:|" * len(TABLE_COLUMNS)]
    for name, m in ev.metrics.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(m[c], c in _MONEY) for c in TABLE_COLUMNS) + " |")
    lines += ["", "M-RMS minus each baseline on the pooled daily series, 90 % block-bootstrap intervals:", "",
              "| baseline | Sortino diff | 90 % interval | Calmar diff | 90 % interval |", "|---|---:|---|---:|---|"]
    for name, iv in ev.intervals.items():
        s, c = iv["sortino_daily"], iv["calmar"]
        lines.append(f"| {name} | {s['diff']:+.2f} | [{s['lo']:+.2f}, {s['hi']:+.2f}] | {c['diff']:+.2f} | [{c['lo']:+.2f}, {c['hi']:+.2f}] |")
    if ev.variant_intervals:
        lines += ["", f"{REFIT_NAME} minus each other strategy, 90 % block-bootstrap intervals:", "",
                  "| other | Sortino diff | 90 % interval | Calmar diff | 90 % interval |", "|---|---:|---|---:|---|"]
        for name, iv in ev.variant_intervals.items():
            s, c = iv["sortino_daily"], iv["calmar"]
            lines.append(f"| {name} | {s['diff']:+.2f} | [{s['lo']:+.2f}, {s['hi']:+.2f}] | {c['diff']:+.2f} | [{c['lo']:+.2f}, {c['hi']:+.2f}] |")
    return "\n".join(lines) + "\n"


def results_dict(ev: WalkForwardEvaluation) -> dict[str, Any]:
    """Everything but the backtest objects, JSON-ready."""
    folds = [{"fold": f.index, "split": f.split, "boundaries": f.boundaries, "metrics": f.metrics, "fitted_on_training_window": f.fitted,
              "mrms_training": f.training, "artifact": f.artifact} for f in ev.folds]
    return {"proxy": ev.proxy, "mode": "walk-forward", "settings": ev.settings, "test_period": ev.test_period,
            "test_signals": ev.n_test_signals, "test_days": len(ev.days), "pooled_metrics": ev.metrics, "intervals_90": ev.intervals,
            "variant_intervals_90": ev.variant_intervals, "folds": folds, "synergy": ev.synergy, "verdict": ev.verdict}


def write_results(ev: WalkForwardEvaluation, out: Path) -> dict[str, Path]:
    """results.json, tables.md and the pooled equity/drawdown plot (fold starts dotted) under `out`."""
    from algospace.evaluation.mrms_eval import plot_curves
    from algospace.io import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    plot = plot_curves(ev, out / "equity_drawdown.png", boundaries=[f.boundaries["test"] for f in ev.folds],
                       title=f"M-RMS vs baselines, walk-forward out of sample ({len(ev.folds)} folds, pooled), {ev.proxy}")
    paths = {"results": out / "results.json", "tables": out / "tables.md", "plot": plot}
    atomic_write_text(paths["results"], json.dumps({**results_dict(ev), "plots": [str(plot)]}, indent=2, default=str))
    atomic_write_text(paths["tables"], markdown_tables(ev) + "\n" + ev.verdict + "\n")
    return paths


__all__ = ["FoldResult", "WalkForwardEvaluation", "walk_forward_folds", "evaluate_walk_forward", "markdown_tables", "results_dict",
           "write_results"]
