"""The end-to-end demo (tiny presets): three models trained, checked, backtested against the
baseline out of sample, one report page, a five-line summary; the models are then reusable."""

from __future__ import annotations

import json
from pathlib import Path

from algospace.demo import _models_ready, run_demo


def test_tiny_demo_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    summary = run_demo(tmp_path / "demo", preset="tiny", echo=lines.append)
    out = tmp_path / "demo"
    assert _models_ready(out / "models")  # a second run reuses them, verified
    for name in ("check.json", "regimes.parquet", "report.html", "summary.json", "backtest/trades.parquet",
                 "backtest/metrics.json", "baselines/fixed/trades.parquet"):
        assert (out / name).exists(), name
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary, default=str))
    assert summary["readiness"].startswith("READY")
    assert summary["test_start"].startswith("2019-") and "SPY x10" in summary["proxy"]
    tail = lines[-6:]
    assert tail[0].startswith("report: ") and [x.split(":")[0].strip() for x in tail[1:]] == [
        "readiness", "out-of-sample daily Sortino", "trades", "maximum drawdown", "rule breaches"]
    page = (out / "report.html").read_text()
    assert "http://" not in page and "https://" not in page
