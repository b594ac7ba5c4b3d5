"""How fast does the regime vector follow a regime switch? (issue 14, diagnostic)

Reads the vectors `rde_objective_ideas.py --save-vectors DIR` writes (columns v0..v7, truth,
split 0/1/2) and compares read-outs on the test part: k-means (as `eval rde`), k-means on
standardised vectors, a full-covariance Gaussian mixture, and a **supervised linear probe**
(logistic regression fitted on the training part's true labels). The probe is not a regime
detector (it sees the labels); it measures how much of the regime a linear read-out of the
vector can recover at all, and its accuracy by bars since the last true switch shows the lag.

    PYTHONPATH=src python benchmarks/rde_objective_ideas.py --sets basic --seeds 0,1 \\
        --options next+attention --epochs 8 --save-vectors runs/vectors
    PYTHONPATH=src python benchmarks/rde_vector_lag.py runs/vectors/*.parquet
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.mixture import GaussianMixture

from algospace.evaluation.metrics import regime_scores

SINCE_SWITCH_BINS = ((0, 3), (3, 6), (6, 12), (12, 24), (24, 48), (48, 10**9))


def bars_since_switch(y: np.ndarray) -> np.ndarray:
    since = np.zeros(len(y), int)
    for i in range(1, len(y)):
        since[i] = 0 if y[i] != y[i - 1] else since[i - 1] + 1
    return since


def main(paths: list[str]) -> None:
    for path in paths:
        frame = pd.read_parquet(path)
        v = frame[[c for c in frame.columns if c.startswith("v")]].to_numpy()
        train, test = frame["split"].to_numpy() == 0, frame["split"].to_numpy() == 2
        y = frame["truth"].to_numpy().astype(int)
        k = len(np.unique(y))
        z = (v - v[train].mean(0)) / v[train].std(0)
        labels = {
            "kmeans": KMeans(k, n_init=10, random_state=0).fit(v[train]).predict(v[test]),
            "kmeans_standardised": KMeans(k, n_init=10, random_state=0).fit(z[train]).predict(z[test]),
            "gmm_full": GaussianMixture(k, covariance_type="full", n_init=5, random_state=0).fit(v[train]).predict(v[test]),
            "probe (supervised)": LogisticRegression(max_iter=2000).fit(z[train], y[train]).predict(z[test]),
        }
        print(path)
        for name, pred in labels.items():
            s = regime_scores(y[test], pred)
            print(f"  {name:22s} balanced acc {s['balanced_accuracy']:.3f}  mean run {s['mean_run_length']:.1f}")
        print("  k-means confusion (rows: true regime):\n" + str(confusion_matrix(y[test], labels["kmeans"])))
        since = bars_since_switch(y[test])
        hit = labels["probe (supervised)"] == y[test]
        for lo, hi in SINCE_SWITCH_BINS:
            m = (since >= lo) & (since < hi)
            print(f"  probe accuracy {lo}-{hi if hi < 10**9 else 'inf'} bars after a switch: {hit[m].mean():.2f} (n={m.sum()})")


if __name__ == "__main__":
    main(sys.argv[1:])
