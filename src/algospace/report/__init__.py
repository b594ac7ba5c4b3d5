"""`algospace report`: one self-contained HTML page of a run directory (models, backtest, baselines,
check, regimes), rebuilt from saved outputs without retraining. See docs/report.md."""

from algospace.report.baselines import run_baselines
from algospace.report.build import build_report

__all__ = ["build_report", "run_baselines"]
