"""Baselines for a run: the same `Runtime`, bars and account as the system, with a fixed rule in
place of the three models, so the report compares deciders and nothing else."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from algospace.errors import InputError
from algospace.runtime.deciders import RiskOnlyDecider, RuleDecider
from algospace.runtime.runner import Runtime, RuntimeConfig
from algospace.runtime.sources import ReplaySource

# name -> RuleDecider arguments (contracts, stop in ATRs, reward:risk); "every-signal" takes every
# signal with the M-RMS's sizing (no core, no gate) and needs the run's models.
BASELINES = {"fixed": {"size": 1, "stop_mult": 2.0, "reward_risk": 2.0}}
MODEL_BASELINES = ("every-signal",)


def run_baselines(bars: pd.DataFrame, run_dir: str | Path, *, names: tuple[str, ...] = ("fixed",),
                  instrument: str = "ES", signals: str = "components", trade_from: datetime | None = None,
                  data_name: str = "", models: Any = None) -> dict[str, Path]:
    """Backtest each named rule over `bars` into `run_dir/baselines/<name>/` (the files a backtest writes).

    `models` (a loaded `runtime.models.ModelSet`) is needed for "every-signal".

    Example: run_baselines(sample("spy-1m"), "runs/demo", trade_from=test_start, data_name="spy-1m")
    """
    from algospace.data import resolve_instrument

    source = resolve_instrument(None, bars)
    cfg = RuntimeConfig(instrument=instrument, signals=signals, trade_from=trade_from)
    written = {}
    for name in names:
        out = Path(run_dir) / "baselines" / name
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("orders.jsonl", "decisions.jsonl", "state.json"):
            (out / stale).unlink(missing_ok=True)  # a backtest always starts from nothing
        if name in MODEL_BASELINES:
            if models is None:
                raise InputError(f"baseline {name!r} sizes with the M-RMS: pass models=ModelSet.load(...).")
            make = lambda bus, inst: RiskOnlyDecider(models, inst)  # noqa: E731
        elif name in BASELINES:
            make = lambda bus, inst, kw=BASELINES[name]: RuleDecider(inst, **kw)  # noqa: E731
        else:
            raise InputError(f"unknown baseline {name!r}; expected one of {sorted(BASELINES) + list(MODEL_BASELINES)}.")
        rt = Runtime(source, make, cfg, out, data_name=data_name)
        rt.run(ReplaySource(bars), end_of_data=True)
        written[name] = out
    return written
