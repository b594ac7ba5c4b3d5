"""The end-to-end demo on the bundled SPY sample: train the three models, check them, backtest
them out of sample against a simple baseline, and write one report page.

    run_demo("runs/demo")          # ~10 minutes on 2 CPU cores; a second run reuses the models

Each step is the package's own public code (the same as the CLI commands), so the demo is what a
user would get by running `train rde`, `train mrms`, `train core`, `check`, `backtest` and
`report` by hand. Budgets are split so the whole run fits in 12 minutes on 2 cores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from algospace.io import atomic_write_parquet, atomic_write_text

WARMUP_DAYS = 120  # bars replayed before the test period: indicators, features and the RDE window warm up


@dataclass(frozen=True)
class DemoBudget:
    """Training budgets in minutes (default: fits 12 minutes on 2 cores with the rest of the demo)."""

    rde: float = 4.0
    mrms: float = 2.5
    core: float = 1.5


def _finite(x: float) -> float:
    """A Sortino for ranking: NaN (no trades) ranks last."""
    return x if x == x else float("-inf")


def _sortino_text(x: float) -> str:
    """NaN means no trade, so no return to measure: say so rather than print 'nan'."""
    return f"{x:.2f}" if x == x else "n/a (no trades)"


def _models_ready(models: Path) -> bool:
    """True when rde/, mrms/ and core/ load, verified, and belong together."""
    from algospace.errors import AlgoSpaceError
    from algospace.runtime.models import ModelSet

    try:
        ModelSet.load(models, device="cpu")
    except AlgoSpaceError:
        return False
    return True


def train_models(bars: pd.DataFrame, models: Path, preset: str, budget: DemoBudget, device: str,
                 echo: Callable[[str], None]) -> None:
    """Train rde/, mrms/ and core/ into `models` (the CLI's `train` commands, in order)."""
    from algospace.data import session_bars
    from algospace.engines.mrms import RiskManager
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.engines.rde_backend import resolve_rde_backend
    from algospace.training.core import train_core
    from algospace.training.core_config import CoreTrainConfig
    from algospace.training.mrms import train_mrms
    from algospace.training.mrms_config import MRMSTrainConfig
    from algospace.training.rde import train_rde
    from algospace.training.rde_config import RDETrainConfig

    echo(f"1/3 RDE ({preset}, {budget.rde:g} min budget)")
    r = train_rde(session_bars(bars, 30, "SPY"), models / "rde",
                  RDETrainConfig.preset_with_options(preset, max_minutes=budget.rde, device=device), instrument="SPY")
    echo(f"    {r.metrics['epochs']} epochs; test recon {r.metrics['test']['recon']:.3f} vs input-blind "
         f"{r.metrics['test']['blind_recon']:.3f}")
    echo(f"2/3 M-RMS ({preset}, {budget.mrms:g} min budget)")
    train_mrms(bars, models / "mrms", MRMSTrainConfig.preset_with_options(preset, max_minutes=budget.mrms, device=device))
    echo(f"3/3 decision core ({preset}, {budget.core:g} min budget)")
    # the RDE backend of the core's regime vectors (auto: int8 ONNX Runtime where installed) is
    # recorded in core/training.json; ModelSet.load below and every later step use that one
    rde = RegimeDetectionEngine.load(models / "rde", device="cpu", backend=resolve_rde_backend())
    rm = RiskManager.load(models / "mrms", device="cpu")
    train_core(bars, rde, rm, models / "core",
               CoreTrainConfig.preset_with_options(preset, max_minutes=budget.core, device=device),
               rde_path=models / "rde", mrms_path=models / "mrms")


def run_demo(out: str | Path = "runs/demo", *, preset: str = "default", budget: DemoBudget | None = None,
             retrain: bool = False, device: str = "cpu", echo: Callable[[str], None] = print) -> dict:
    """The whole demo; returns the summary (also written to OUT/summary.json)."""
    import torch

    from algospace.check import run_check
    from algospace.data import get_instrument, sample, session_bars
    from algospace.report import build_report, run_baselines
    from algospace.runtime.deciders import ModelDecider
    from algospace.runtime.models import ModelSet
    from algospace.runtime.runner import Runtime, RuntimeConfig
    from algospace.runtime.sources import ReplaySource

    out = Path(out)
    models = out / "models"
    bars = sample("spy-1m")
    echo(f"SPY sample: {len(bars):,} 1-minute bars {bars.index[0]:%Y-%m-%d} .. {bars.index[-1]:%Y-%m-%d}")
    if retrain or not _models_ready(models):
        train_models(bars, models, preset, budget or DemoBudget(), device, echo)
    else:
        echo(f"models: reusing {models} (verified; --retrain trains again)")
    torch.set_num_threads(1)  # the runtime serves one window at a time (docs/runtime.md, "Threads")
    ms = ModelSet.load(models, device="cpu")
    test_start = pd.Timestamp(ms.core.training["split_boundaries"]["test"])

    echo("check: measuring the models")
    report = run_check(models, bars, device="cpu")
    atomic_write_text(out / "check.json", json.dumps(report.to_dict(), indent=1, default=str) + "\n")

    window = bars[bars.index >= test_start - pd.Timedelta(days=WARMUP_DAYS)]
    echo(f"backtest: {test_start:%Y-%m-%d} .. {bars.index[-1]:%Y-%m-%d} out of sample ({WARMUP_DAYS} days of warm-up before; "
         f"RDE backend {ms.rde_backend}, the core's)")
    cfg = RuntimeConfig(trade_from=test_start.to_pydatetime())
    rt = Runtime(get_instrument("SPY"), lambda bus, inst: ModelDecider(bus, ms, inst), cfg, out / "backtest",
                 models_hashes=ms.hashes(), data_name="spy-1m")
    for stale in ("orders.jsonl", "decisions.jsonl", "state.json"):
        (out / "backtest" / stale).unlink(missing_ok=True)
    rt.run(ReplaySource(window), end_of_data=True)
    run_baselines(window, out, names=("fixed", "every-signal"), trade_from=test_start.to_pydatetime(), data_name="spy-1m",
                  models=ms)
    atomic_write_parquet(out / "regimes.parquet", ms.rde.regime_series(session_bars(bars, 30, "SPY")))
    page = build_report(out, data=bars)

    m = rt.metrics()
    bases = {n: json.loads((out / "baselines" / n / "metrics.json").read_text()) for n in ("fixed", "every-signal")}
    best_name = max(bases, key=lambda n: _finite(bases[n]["sortino_daily"]))
    base = bases[best_name]
    summary = {
        "readiness": report.verdict, "sortino_daily": m["sortino_daily"], "best_baseline": best_name,
        "baseline_sortino_daily": base["sortino_daily"],
        "trades": m["trades"], "max_drawdown": m["max_drawdown_daily"], "rule_breaches": m["rule_breaches"],
        "report": str(page), "proxy": m["proxy"], "test_start": str(test_start), "rde_backend": ms.rde_backend,
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, default=str) + "\n")
    echo(f"report: {page}")
    echo(f"  readiness: {report.verdict}")
    echo(f"  out-of-sample daily Sortino: system {_sortino_text(m['sortino_daily'])} "
         f"vs best baseline ({best_name}) {_sortino_text(base['sortino_daily'])}")
    echo(f"  trades: {m['trades']} (baseline {base['trades']}), net ${m['net_pnl']:,.0f}")
    echo(f"  maximum drawdown: ${m['max_drawdown_daily']:,.0f}")
    echo(f"  rule breaches: {m['rule_breaches']} ({m['proxy']})")
    return summary
