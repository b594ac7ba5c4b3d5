"""Calibration of a predicted probability: reliability bins and the expected calibration error.

Hand-written (a dozen lines) because scikit-learn's `calibration_curve` drops empty bins and
gives no bin counts, and the ECE needs both.
"""

from __future__ import annotations

import numpy as np

from algospace.errors import InputError


def reliability_bins(prob: np.ndarray, outcome: np.ndarray, bins: int = 10) -> dict[str, np.ndarray]:
    """Equal-width bins on [0, 1]: mean predicted probability, observed frequency and count per bin
    (NaN for empty bins)."""
    p, y = np.asarray(prob, np.float64), np.asarray(outcome, np.float64)
    if p.shape != y.shape or p.ndim != 1:
        raise InputError(f"reliability_bins: prob and outcome must be 1-D of one length; got {p.shape} and {y.shape}.")
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore"):
        mean_p = np.bincount(which, p, bins) / count
        freq = np.bincount(which, y, bins) / count
    return {"mean_prob": mean_p, "frequency": freq, "count": count, "edges": np.linspace(0.0, 1.0, bins + 1)}


def expected_calibration_error(prob: np.ndarray, outcome: np.ndarray, bins: int = 10) -> float:
    """Sum over bins of (share of rows) x |observed frequency - mean predicted probability|."""
    b = reliability_bins(prob, outcome, bins)
    n = b["count"].sum()
    if n == 0:
        return float("nan")
    filled = b["count"] > 0
    return float(np.sum(b["count"][filled] / n * np.abs(b["frequency"][filled] - b["mean_prob"][filled])))
