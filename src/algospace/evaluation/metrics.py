"""Clustering-vs-truth metrics: Hungarian-aligned balanced accuracy, ARI, run lengths."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, balanced_accuracy_score, confusion_matrix


def align_labels(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Relabel `pred` to the truth labels by the Hungarian assignment maximising agreement."""
    labels_t = np.unique(truth)
    labels_p = np.unique(pred)
    cm = confusion_matrix(truth, pred, labels=np.union1d(labels_t, labels_p))
    rows, cols = linear_sum_assignment(-cm)
    universe = np.union1d(labels_t, labels_p)
    mapping = {universe[c]: universe[r] for r, c in zip(rows, cols)}
    return np.array([mapping.get(p, -1) for p in pred])


def mean_run_length(labels: np.ndarray) -> float:
    """Average length of runs of identical consecutive labels (regime persistence)."""
    if len(labels) == 0:
        return float("nan")
    changes = np.flatnonzero(np.diff(labels) != 0)
    return len(labels) / (len(changes) + 1)


def regime_scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Balanced accuracy after alignment, adjusted Rand index, and persistence of both."""
    aligned = align_labels(truth, pred)
    with warnings.catch_warnings():
        # A short test slice may miss a true regime; the cluster mapped to it then counts as an
        # error for the regimes it took bars from, which is what balanced accuracy should do.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = float(balanced_accuracy_score(truth, aligned))
    return {
        "balanced_accuracy": balanced,
        "adjusted_rand": float(adjusted_rand_score(truth, pred)),
        "mean_run_length": mean_run_length(pred),
        "true_mean_run_length": mean_run_length(truth),
    }


def r2_score_oos(y: np.ndarray, yhat: np.ndarray) -> float:
    """Out-of-sample R^2 against the test set's own mean."""
    ss_res = float(np.sum((y - yhat) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
