"""Build `report.html` of a run directory: read what is there, draw the figures, render the template.

Each section is drawn only from its own inputs; one that is missing becomes a line saying what is
missing and which command makes it, so a partial run still gives a page. Layout of a run
directory: docs/report.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from algospace.errors import DataError, InputError
from algospace.io import atomic_write_text
from algospace.report import figures

MODELS = ("rde", "mrms", "core")
TRADE_COLUMNS = ["order_id", "entry_time", "exit_time", "direction", "size", "entry_price", "exit_price",
                 "net_usd", "r_multiple", "reason", "bars_held"]
METRIC_ROWS = ["trades", "net_pnl", "win_rate", "profit_factor", "expectancy_r", "sortino_daily", "sharpe_daily",
               "max_drawdown_daily", "calmar", "return_pct", "rule_breaches", "accounts_ended", "days_to_target"]
MEANINGS = {
    "trades": "How many trades were opened and closed in the period.",
    "net_pnl": "Profit after commissions in US dollars, summed over all trades.",
    "win_rate": "The share of trades that closed with a positive net profit.",
    "profit_factor": "Gross profit of the winners divided by gross loss of the losers; above 1 makes money.",
    "expectancy_r": "The mean trade result in units of the risk planned at the stop (1R = the planned loss).",
    "sortino_daily": "Annualised mean daily P&L over its downside deviation: return per unit of bad volatility.",
    "sharpe_daily": "Annualised mean daily P&L over its standard deviation.",
    "max_drawdown_daily": "The largest fall of end-of-day equity from its previous peak, in US dollars.",
    "calmar": "Annualised daily P&L divided by the maximum drawdown.",
    "return_pct": "Net profit as a percentage of the prop-firm account's starting balance.",
    "rule_breaches": "Days the prop-firm daily-loss limit was hit plus breaches of the maximum-loss floor.",
    "accounts_ended": "Evaluation accounts lost to a maximum-loss breach or left with no room for one tick of risk.",
    "days_to_target": "Trading days until the first account reached its profit target (blank: never).",
    "regime cluster": "A k-means group of the RDE's regime vectors: bars of one colour sit in similar market states.",
    "PC1 / PC2": "The two directions along which the regime vectors vary most (principal components).",
    "drawdown": "How far equity is below its running peak on that day.",
}

SPY_AS_ES = ("The prices are SPY (the S&P 500 ETF) times 10, traded as if they were ES futures with ES's tick and "
             "point value: the same index, but not ES's overnight session, rolls, spread or fills, so every dollar "
             "figure here is an ES-equivalent estimate, not an ES result.")


@dataclass
class Section:
    """One part of the page: its figure/table HTML, or why it is absent (`missing`)."""

    id: str
    title: str
    html: str = ""
    missing: str = ""


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: unreadable JSON ({exc}); rewrite it with the command that made it.") from exc


def _parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds for a broken file
        raise DataError(f"{path}: unreadable Parquet ({exc}); rewrite it with the command that made it.") from exc


def _trainings(run: Path) -> dict[str, dict[str, Any]]:
    from algospace.artifacts.layout import read_training

    found = {m: read_training(run / "models" / m) for m in MODELS if (run / "models" / m).is_dir()}
    return {m: t for m, t in found.items() if t}


def _held_out(trainings: dict[str, dict[str, Any]]) -> dict[str, pd.Timestamp]:
    b = (trainings.get("core") or {}).get("split_boundaries") or {}
    return {k: pd.Timestamp(b[k]) for k in ("val", "test") if b.get(k)}


def _price(run: Path, data: Any, index: pd.DatetimeIndex) -> pd.Series | None:
    """The 30-minute close at each regime bar, from `data` or the data the backtest recorded."""
    from algospace.data import load_data, make_bars, resolve_instrument

    if data is None:
        state = run / "backtest" / "state.json"
        data = _json(state).get("data") if state.is_file() else None
    if data is None or (isinstance(data, str) and not data):
        return None
    frame = data if isinstance(data, pd.DataFrame) else load_data(data)
    bars = make_bars(frame, 30, resolve_instrument(None, frame).name)
    close = bars["close"].reindex(index)
    return close if close.notna().any() else None


def _regime_sections(run: Path, data: Any, held_out: dict[str, pd.Timestamp]) -> list[Section]:
    price = Section("regimes", "Price coloured by regime")
    rmap = Section("regime-map", "Regime map (PCA)")
    path = run / "regimes.parquet"
    if not path.is_file():
        why = (f"No {path.name}: make it with `algospace infer rde --artifact {run}/models/rde --data DATA "
               f"--out {run}/regimes.parquet`.")
        price.missing = rmap.missing = why
        return [price, rmap]
    reg = _parquet(path).dropna()
    vectors = reg.to_numpy(np.float64)
    labels = figures.clusters(vectors)
    close = _price(run, data, pd.DatetimeIndex(reg.index))
    if close is None:
        price.missing = "No price for the regime bars: pass `--data` (the bars the regimes were inferred on)."
    else:
        keep = close.notna().to_numpy()
        price.html = _img(figures.regime_price(close[keep], labels[keep], held_out), "price by regime cluster")
        price.html += (f"<p>{len(reg):,} bars, {len(np.unique(labels))} k-means clusters of the regime vectors; "
                       "the shaded span is the held-out period of the core's training split.</p>")
    points, var = figures.pca2(vectors)
    rmap.html = _img(figures.regime_map(points, var, labels), "regime vectors, first two principal components")
    return [price, rmap]


def _img(uri: str, alt: str) -> str:
    from markupsafe import escape

    return f'<img src="{uri}" alt="{escape(alt)}">'


def _curves(run: Path) -> dict[str, Path]:
    dirs = {"system": run / "backtest"}
    base = run / "baselines"
    if base.is_dir():
        dirs.update({f"baseline: {p.name}": p for p in sorted(base.iterdir()) if (p / "equity.parquet").is_file()})
    return {k: v for k, v in dirs.items() if (v / "equity.parquet").is_file()}


def _equity_section(run: Path) -> Section:
    sec = Section("equity", "Equity and drawdown against the baselines")
    dirs = _curves(run)
    if "system" not in dirs:
        sec.missing = (f"No backtest: make it with `algospace backtest --models {run}/models --out {run}/backtest`.")
        return sec
    curves = {k: _parquet(v / "equity.parquet") for k, v in dirs.items()}
    sec.html = _img(figures.equity(curves), "equity and drawdown curves")
    metrics = {k: _json(v / "metrics.json") for k, v in dirs.items() if (v / "metrics.json").is_file()}
    sec.html += _metrics_table(metrics)
    if len(dirs) == 1:
        sec.html += ("<p>No baselines: make them with `algospace.report.run_baselines(bars, RUN_DIR, "
                     "trade_from=...)` (1 contract, 2 ATR stop, 2R target, same runtime).</p>")
    return sec


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}" if np.isfinite(v) else str(v)
    return f"{v:,}" if isinstance(v, int) else str(v)


def _metrics_table(metrics: dict[str, dict[str, Any]]) -> str:
    from markupsafe import escape

    head = "".join(f"<th>{escape(k)}</th>" for k in metrics)
    rows = "".join(f"<tr><td>{k}</td>" + "".join(f"<td>{escape(_fmt(m.get(k)))}</td>" for m in metrics.values()) + "</tr>"
                   for k in METRIC_ROWS)
    return f'<table class="metrics"><thead><tr><th>metric</th>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _trades_section(run: Path) -> Section:
    sec = Section("trades", "Trades")
    path = run / "backtest" / "trades.parquet"
    if not path.is_file():
        sec.missing = f"No trades: make them with `algospace backtest --models {run}/models --out {run}/backtest`."
        return sec
    trades = _parquet(path)
    last = trades[[c for c in TRADE_COLUMNS if c in trades.columns]].tail(200)
    for c in ("entry_time", "exit_time"):
        if c in last:
            last[c] = last[c].dt.strftime("%Y-%m-%d %H:%M")
    html = last.to_html(index=False, classes="sortable trades", float_format=lambda v: f"{v:,.2f}", border=0, na_rep="")
    shown = "no trades in the period" if trades.empty else (
        f"{len(trades):,} trades; {'the last 200 are' if len(trades) > 200 else 'all are'} shown (click a heading to sort)")
    sec.html = f"<p>{shown}.</p>" + html
    return sec


def _readiness_section(run: Path) -> Section:
    from algospace.check.render import readiness_table

    sec = Section("readiness", "Readiness (algospace check)")
    path = run / "check.json"
    if not path.is_file():
        sec.missing = f"No check.json: make it with `algospace check {run}/models --json > {run}/check.json`."
        return sec
    sec.html = readiness_table(_json(path))
    return sec


def _budgets(trainings: dict[str, dict[str, Any]]) -> str:
    """What each model was given and used: its time budget, the time it took and why it stopped."""
    from markupsafe import escape

    rows = []
    for m, t in trainings.items():
        cfg, met = t.get("train_config") or {}, t.get("metrics") or {}
        steps = met.get("epochs", met.get("iterations"))
        rows.append(f"<tr><td>{escape(m)}</td><td>{escape(cfg.get('max_minutes', '?'))} min</td>"
                    f"<td>{escape(met.get('train_seconds', '?'))} s</td><td>{escape(steps if steps is not None else '?')}</td>"
                    f"<td>{escape(met.get('stop_reason', '?'))}</td></tr>")
    if not rows:
        return ""
    return ("<table><tr><th>model</th><th>budget</th><th>took</th><th>epochs / iterations</th><th>stopped by</th></tr>"
            + "".join(rows) + "</table>")


def _training_section(trainings: dict[str, dict[str, Any]], run: Path) -> Section:
    sec = Section("training", "Training curves")
    hist = {m: t["history"] for m, t in trainings.items() if t.get("history")}
    if not hist:
        sec.missing = f"No training histories under {run}/models: train with `algospace train rde|mrms|core`."
        return sec
    sec.html = _img(figures.training(hist), "training curves") + _budgets(trainings)
    absent = [m for m in MODELS if m not in hist]
    if absent:
        sec.html += f"<p>No history for: {', '.join(absent)}.</p>"
    return sec


def _provenance(run: Path, trainings: dict[str, dict[str, Any]]) -> Section:
    from markupsafe import escape

    sec = Section("provenance", "Data provenance")
    rows: list[tuple[str, str]] = []
    state_path = run / "backtest" / "state.json"
    if state_path.is_file():
        state = _json(state_path)
        rows += [("backtest data", str(state.get("data") or "")), ("price proxy", str(state.get("proxy") or "")),
                 ("last bar", str(state.get("last_item_time") or ""))]
        rows += [(f"{m} artifact hash", str(h)) for m, h in (state.get("models") or {}).items()]
    for m, t in trainings.items():
        b = t.get("split_boundaries") or {}
        if b:
            rows.append((f"{m} split starts", ", ".join(f"{k} {v}" for k, v in b.items())))
        for key in ("data", "instrument", "data_fingerprint"):
            if t.get(key):
                rows.append((f"{m} {key}", json.dumps(t[key]) if not isinstance(t[key], str) else t[key]))
    if "core" in trainings:  # the backend of every regime vector the core saw, in training and in the backtest
        from algospace.engines.rde_backend import recorded_rde_backend

        rows.append(("RDE backend (recorded by core/)", recorded_rde_backend(trainings["core"])))
    proxy = next((v for k, v in rows if k == "price proxy"), "")
    if "SPY" in proxy:
        rows.append(("SPY as ES", SPY_AS_ES))
    if not rows:
        sec.missing = "No backtest state.json or training.json to say where the data came from."
        return sec
    sec.html = "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"
    return sec


def build_report(run_dir: str | Path, out: str | Path | None = None, *, data: Any = None) -> Path:
    """Write one self-contained HTML page of `run_dir` (default `run_dir/report.html`, atomically).

    data: the bars the regimes were inferred on (a frame, file or sample name); default: the data
    recorded in backtest/state.json.

    Example: build_report("runs/demo")  # -> runs/demo/report.html
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    run = Path(run_dir)
    if not run.is_dir():
        raise InputError(f"--run {run}: not a directory; expected a run directory (models/, backtest/, ...; docs/report.md).")
    trainings = _trainings(run)
    held_out = _held_out(trainings)
    sections = [*_regime_sections(run, data, held_out), _equity_section(run), _trades_section(run),
                _readiness_section(run), _training_section(trainings, run), _provenance(run, trainings)]
    env = Environment(loader=PackageLoader("algospace.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("report.html.j2").render(run=str(run), sections=sections, meanings=MEANINGS,
                                                     held_out={k: f"{v:%Y-%m-%d}" for k, v in held_out.items()})
    target = Path(out) if out is not None else run / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, html)
    return target
