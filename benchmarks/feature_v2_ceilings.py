"""Feature spec version 2, change by change: how much regime information each feature set holds.

The information-ceiling method of `eval rde` (`evaluation.rde_eval.information_ceilings`): the
same k-means (k = number of regimes, fitted on the training part, scored on the held-out test
part after Hungarian alignment) on each bar's features and on the window summary (each
feature's mean and std over the causal T-bar window: the RDE decoder's target). No RDE is
trained: this measures what the input holds, not what a model makes of it. A linear probe
(logistic regression fitted on the training part's true labels, scored on the test part) is a
second, supervised reading on each bar's features: the information a linear read-out can
reach, whatever the geometry k-means sees.

Rows: version 1; version 1 with its duplicate MMD scores dropped (one bandwidth of three: 35
of 105, the 50 statistics kept: 85 columns); those 85 plus each version-2 family alone (7
columns each); version 2 (155). Features are fitted on the training part (70 %) of each set.

    nice -n 10 .venv/bin/python benchmarks/feature_v2_ceilings.py --sets basic hard --seeds 0 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import pandas as pd

from algospace.data.session_bars import session_bars
from algospace.evaluation.causal_baselines import standardised_observations
from algospace.evaluation.rde_eval import SYNTHETIC_SETS, information_ceilings
from algospace.features import FeatureSpec


def probe(x: pd.DataFrame, truth: pd.Series, fit_before: pd.Timestamp, score_from: pd.Timestamp) -> float:
    """Balanced accuracy of a logistic regression fitted on rows before `fit_before` (true labels)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    train, test = x.loc[x.index < fit_before], x.loc[x.index >= score_from]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs may stop at max_iter on 310 columns; the score is what it reached
        clf = LogisticRegression(max_iter=300, C=0.1).fit(train.to_numpy(), truth.reindex(train.index).to_numpy())
    return float(balanced_accuracy_score(truth.reindex(test.index).to_numpy(), clf.predict(test.to_numpy())))


def feature_sets(bars30: pd.DataFrame, minutes: pd.DataFrame, fit_end: int) -> dict[str, pd.DataFrame]:
    v1 = FeatureSpec.default(1).fit(bars30.iloc[:fit_end]).transform(bars30)
    v2 = FeatureSpec.default(2).fit(bars30.iloc[:fit_end], minute_bars=minutes).transform(bars30, minute_bars=minutes)
    base = v2.iloc[:, :85]  # MMD at bandwidth 1 (35) + version 1's 50 statistics
    assert list(base.columns) == [c for c in v1.columns if not c.startswith("mmd_") or c.endswith("_bw1")]
    out = {"v1 (155)": v1, "v1 without duplicate MMD (85)": base}
    new = v2.iloc[:, 85:]
    for fam in dict.fromkeys(c.rsplit("_", 1)[0] for c in new.columns):
        out[f"85 + {fam}"] = pd.concat([base, new[[c for c in new.columns if c.rsplit("_", 1)[0] == fam]]], axis=1)
    out["v2 (155)"] = v2
    return out


def run(name: str, seed: int, days: int, T: int) -> list[dict[str, object]]:
    bars, truth = SYNTHETIC_SETS[name](days=days, seed=seed)
    bars30 = session_bars(bars, 30, "SPY")
    n = len(bars30)
    i_val, i_test = int(n * 0.70), int(n * 0.85)  # the RDE's split
    val_start, test_start = bars30.index[i_val], bars30.index[i_test]
    obs = standardised_observations(bars30, val_start)
    k = int(truth.nunique())
    rows = []
    for label, x in feature_sets(bars30, bars, i_val).items():
        t0 = time.perf_counter()
        c = information_ceilings(x, obs, truth, T, val_start, test_start, k, seed)
        row = {
            "set": name, "seed": seed, "features": label, "width": x.shape[1],
            "kmeans_per_bar": c["features_per_bar"]["balanced_accuracy"], "kmeans_per_bar_ari": c["features_per_bar"]["adjusted_rand"],
            "kmeans_summary": c["window_summary"]["balanced_accuracy"], "kmeans_summary_ari": c["window_summary"]["adjusted_rand"],
            "probe_per_bar": probe(x, truth, val_start, test_start),
        }
        rows.append(row)
        print(f"{name:5s} seed {seed} {label:32s} k-means per bar {row['kmeans_per_bar']:.3f} (ARI {row['kmeans_per_bar_ari']:.3f})  "
              f"summary {row['kmeans_summary']:.3f} (ARI {row['kmeans_summary_ari']:.3f})  probe per bar {row['probe_per_bar']:.3f}  "
              f"[{time.perf_counter() - t0:.0f} s]", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["basic", "hard"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--window", type=int, default=48)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = [r for s in args.sets for seed in args.seeds for r in run(s, seed, args.days, args.window)]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
