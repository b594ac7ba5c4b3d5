"""`algospace run` and `algospace backtest`: the event-driven runtime, live-like and over history."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from algospace.cli.choices import Backend, Instrument, Signals
from algospace.errors import InputError

SIGNALS_HELP = "components (every MLMI/NW-RQK/FVG signal; what the models are trained on) or synergy (the 4 patterns)."
# Options backtest and run share, declared once.
ModelsOpt = Annotated[Path, typer.Option("--models", help="Directory holding rde/, mrms/ and core/.")]
InstrumentOpt = Annotated[Instrument, typer.Option("--instrument", help="Traded instrument: ES or MES (SPY data runs as the x10 proxy).")]
SignalsOpt = Annotated[Signals, typer.Option("--signals", help=SIGNALS_HELP)]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
RdeBackendOpt = Annotated[Backend, typer.Option("--rde-backend", help="RDE backend: torch (default), torch-aoti (compiles ~10-25 s at start), onnxruntime, torch-bf16 / onnxruntime-int8 (lower precision, approximate: docs/runtime.md), torch-eager.")]


def _runtime(data: str, models: Path, out: Path, device: str, instrument: str, signals: str, trade_from: str | None,
             durable: bool, rde_backend: str = "torch"):  # noqa: ANN202 - (runtime, source frame, trade_from text)
    import torch

    from algospace.data import load_data, resolve_instrument
    from algospace.runtime.deciders import ModelDecider
    from algospace.runtime.models import ModelSet
    from algospace.runtime.runner import Runtime, RuntimeConfig

    # One intra-op thread: the runtime serves one window at a time, and threads that spin-wait
    # for a core another process holds turn a 3 ms call into a 100+ ms one (docs/benchmarks.md).
    torch.set_num_threads(1)
    models_set = ModelSet.load(models, device=device, rde_backend=rde_backend)
    frame = load_data(data)
    source = resolve_instrument(None, frame)
    start = _trade_from(trade_from, models_set)
    cfg = RuntimeConfig(instrument=instrument, signals=signals, trade_from=start)
    rt = Runtime(source, lambda bus, inst: ModelDecider(bus, models_set, inst), cfg, out, durable=durable,
                 models_hashes=models_set.hashes(), data_name=str(data))
    return rt, frame, start


def _trade_from(text: str | None, models) -> datetime | None:  # noqa: ANN001
    """'test' -> the start of the core's held-out test period; 'all' -> None; else a date."""
    import pandas as pd

    if text is None or text == "all":
        return None
    if text == "test":
        start = (models.core.training.get("split_boundaries") or {}).get("test")
        if start is None:
            raise InputError("--trade-from test: the core artifact records no test period; pass a date or 'all'.")
        return pd.Timestamp(start).to_pydatetime()
    try:
        ts = pd.Timestamp(text)
    except ValueError as exc:
        raise InputError(f"--trade-from {text!r}: expected 'test', 'all' or a date such as 2019-06-01.") from exc
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts).to_pydatetime()


def _progress_run(rt, source, total: int | None, end_of_data: bool) -> None:  # noqa: ANN001
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} bars"),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task("runtime", total=total)
        rt.run(source, end_of_data=end_of_data, progress=lambda n: bar.advance(task, n))


def _summary(rt, out: Path) -> str:  # noqa: ANN001
    m = rt.metrics()
    return (f"{m['trades']} trades, net ${m['net_pnl']:,.0f}, Sortino (daily) {m['sortino_daily']:.2f}, "
            f"max drawdown ${m['max_drawdown_daily']:,.0f}, rule breaches {m['rule_breaches']}, "
            f"{m['decisions']} decisions; {rt.bars.proxy}\n  written under {out}")


def backtest_cmd(
    models: ModelsOpt,
    out: Annotated[Path, typer.Option("--out", help="Output directory (trades.parquet, equity.parquet, metrics.json, plots, logs).")],
    data: Annotated[str, typer.Option("--data", help="Bar/tick file (CSV/Parquet) or a sample name.")] = "spy-1m",
    trade_from: Annotated[str, typer.Option("--trade-from", help="'test' (the core's held-out period), 'all', or a date: earlier bars only warm up.")] = "test",
    instrument: InstrumentOpt = "ES",
    signals: SignalsOpt = "components",
    device: DeviceOpt = "auto",
    rde_backend: RdeBackendOpt = "torch",
) -> None:
    """Backtest the three models over history with the same runtime a live run uses.

    Bars go one at a time through bars -> signals -> decision core (regime vector from the RDE,
    proposal from the M-RMS, gate) -> simulated fills -> prop-firm account. Writes trades.parquet
    (one row per trade), equity.parquet, metrics.json, equity and drawdown plots, and the
    decision and order logs under --out.

    Example: algospace backtest --data spy-1m --models runs/demo/models --out runs/demo/backtest
    """
    from algospace.runtime.sources import ReplaySource

    out.mkdir(parents=True, exist_ok=True)
    for stale in ("orders.jsonl", "decisions.jsonl", "state.json"):
        (out / stale).unlink(missing_ok=True)  # a backtest always starts from nothing
    rt, frame, start = _runtime(data, models, out, device, instrument, signals, trade_from, durable=False,
                                rde_backend=rde_backend)
    _progress_run(rt, ReplaySource(frame), len(frame), end_of_data=True)
    write_plots(rt, out)
    period = f"from {start:%Y-%m-%d}" if start else "over all bars"
    typer.echo(f"backtest {period}: " + _summary(rt, out))


def run_cmd(
    models: ModelsOpt,
    out: Annotated[Path, typer.Option("--out", help="Output directory: logs, state.json, trades.parquet (resumed if it exists).")],
    data: Annotated[str, typer.Option("--data", help="Bar file (CSV/Parquet) or a sample name; with --follow, a CSV another process appends to.")] = "spy-1m",
    follow: Annotated[bool, typer.Option("--follow", help="Keep reading bars appended to the CSV until Ctrl-C (or --idle-timeout).")] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between checks of the followed file.")] = 1.0,
    idle_timeout: Annotated[Optional[float], typer.Option("--idle-timeout", help="Stop after this many seconds without a new bar.")] = None,
    trade_from: Annotated[str, typer.Option("--trade-from", help="'all', 'test' or a date: earlier bars only warm up.")] = "all",
    instrument: InstrumentOpt = "ES",
    signals: SignalsOpt = "components",
    device: DeviceOpt = "auto",
    rde_backend: RdeBackendOpt = "torch",
) -> None:
    """Run the system bar by bar as bars come, writing decisions, orders, account state and trades.

    Every order is logged (orders.jsonl, fsynced) before the next bar. Stopped (Ctrl-C) and
    started again with the same --out, it replays the data, checks it reproduces the logged
    orders, and continues: no order is sent twice. A position open at the stop stays open.

    Example: algospace run --data live_es_1m.csv --models runs/demo/models --out runs/live --follow
    """
    from algospace.runtime.sources import FollowCSV, ReplaySource

    if follow and not Path(data).is_file():
        raise InputError(f"--follow needs a CSV file that another process appends to; {data!r} is not a file.")
    rt, frame, _ = _runtime(data, models, out, device, instrument, signals, trade_from, durable=True,
                            rde_backend=rde_backend)
    source = FollowCSV(data, poll_s=poll, idle_timeout_s=idle_timeout) if follow else ReplaySource(frame)
    try:
        _progress_run(rt, source, None if follow else len(frame), end_of_data=False)
    except KeyboardInterrupt:
        typer.echo("stopped (Ctrl-C); state saved: run the same command to resume. " + _summary(rt, out), err=True)
        sys.exit(130)
    typer.echo("run: " + _summary(rt, out))
    state = json.loads((out / "state.json").read_text())
    if state.get("open_position"):
        typer.echo(f"  open position: order {state['open_position']} (kept; resumes with the next run)")


def write_plots(rt, out: Path) -> None:  # noqa: ANN001
    """Equity and drawdown curves of a run (PNG, written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from algospace.io import atomic_write_with

    eq = rt.equity_frame()
    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    a.plot(eq.index, eq["equity"], color="tab:blue")
    a.set_ylabel("net P&L (USD)")
    a.set_title(f"Runtime backtest: {rt.bars.proxy}")
    b.fill_between(eq.index, eq["drawdown"], 0, color="tab:red", alpha=0.4)
    b.set_ylabel("drawdown (USD)")
    fig.tight_layout()
    atomic_write_with(out / "equity.png", lambda p: fig.savefig(p, dpi=110))
    plt.close(fig)


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest_cmd)
    app.command("run")(run_cmd)
