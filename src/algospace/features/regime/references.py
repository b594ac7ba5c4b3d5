"""Fit the reference regime samples the MMD scores are measured against.

Training bars are cut into non-overlapping windows; each window gets simple regime scores
(volatility, volatility-adjusted drift, path efficiency). For every
reference regime the most typical windows are pooled and a fixed, seeded sample of their
standardised observations is kept. Only training data is read.
"""

from __future__ import annotations

import math

import numpy as np

from algospace.errors import InputError

REFERENCE_REGIMES: tuple[str, ...] = ("typical", "calm", "volatile", "bull", "bear", "trending", "mean_reverting")

REFERENCE_DOC: dict[str, str] = {
    "typical": "windows closest to the median volatility and median drift",
    "calm": "lowest realised volatility",
    "volatile": "highest realised volatility",
    "bull": "highest volatility-adjusted drift (sum r / (std r sqrt n))",
    "bear": "lowest volatility-adjusted drift",
    "trending": "highest path efficiency |sum r| / sum |r|",
    "mean_reverting": "lowest path efficiency (choppy, range-bound windows)",
}


def _rank(x: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1] (stable: ties keep window order, so fits are reproducible)."""
    order = np.argsort(x, kind="stable")
    out = np.empty(len(x), dtype=np.float64)
    out[order] = np.arange(len(x)) / max(len(x) - 1, 1)
    return out


def window_scores(r: np.ndarray, window: int) -> dict[str, np.ndarray]:
    """Regime scores (higher = more of that regime) of consecutive windows of returns r (no NaN)."""
    n_w = len(r) // window
    w = r[: n_w * window].reshape(n_w, window)
    vol = w.std(axis=1, ddof=1)
    drift = w.sum(axis=1)
    tstat = np.divide(drift, vol * math.sqrt(window), out=np.zeros(n_w), where=vol > 0)
    absum = np.abs(w).sum(axis=1)
    eff = np.divide(np.abs(drift), absum, out=np.zeros(n_w), where=absum > 0)
    typical = -(np.abs(_rank(vol) - 0.5) + np.abs(_rank(tstat) - 0.5))
    return {
        "typical": typical,
        "calm": -vol,
        "volatile": vol,
        "bull": tstat,
        "bear": -tstat,
        "trending": eff,
        "mean_reverting": -eff,
    }


def fit_references(
    obs: np.ndarray,
    r: np.ndarray,
    regimes: tuple[str, ...],
    window: int,
    quantile: float,
    size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Reference samples (Q, size, d) from training observations `obs` and returns `r` (same rows, no NaN)."""
    n_w = len(r) // window
    per_regime = max(math.ceil(quantile * n_w), math.ceil(size / window))
    if n_w < per_regime or n_w < 2:
        raise InputError(
            f"Fitting reference regimes needs at least {max(per_regime, 2)} windows of {window} bars "
            f"({max(per_regime, 2) * window} training bars after warm-up); got {len(r)} bars. Fit on a longer history."
        )
    scores = window_scores(r, window)
    out = np.empty((len(regimes), size, obs.shape[1]), dtype=np.float64)
    for qi, name in enumerate(regimes):
        chosen = np.sort(np.argsort(-scores[name], kind="stable")[:per_regime])
        rows = (chosen[:, None] * window + np.arange(window)[None, :]).ravel()
        pick = np.sort(rng.choice(len(rows), size=size, replace=False))
        out[qi] = obs[rows[pick]]
    return out
