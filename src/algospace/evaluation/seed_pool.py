"""Regime labellings against baselines, pooled over several seeds, with a paired block-bootstrap interval.

One seed's test part holds only ~10-15 regime episodes, so its balanced accuracy moves by
0.1-0.2 from seed to seed; "the RDE is above the HMM" needs several seeds and an interval.

How (per labelling L and baseline B):
- per seed, every labelling's cluster ids are aligned to the truth once, on that seed's whole
  test part (`metrics.align_labels`, the Hungarian assignment `regime_scores` uses). Per seed,
  because each seed trains its own models: cluster 2 of seed 0 and cluster 2 of seed 1 are
  unrelated, and one pooled alignment would score a good labelling as a bad one. Once, not per
  resample: re-aligning each resample would let the alignment chase the resample's noise;
  the statistic below is then an average of hit rates, which the bootstrap handles well;
- the statistic is (mean over seeds of L's balanced accuracy) - (the same for B);
- its interval: blocks of bars are resampled within each seed's test part (seeds never mix;
  `bootstrap.block_bootstrap(groups=)`), with the same indices for L, B and the truth, so
  the comparison is paired. The block (default 50 bars) is about the truth's mean run, so a
  resampled block keeps whole regime episodes.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from algospace.errors import InputError
from algospace.evaluation.bootstrap import block_bootstrap
from algospace.evaluation.metrics import align_labels, mean_run_length


def grouped_balanced_accuracy(hits: np.ndarray, classes: np.ndarray, groups: np.ndarray,
                              n_groups: int, n_classes: int) -> np.ndarray:
    """Balanced accuracy of each group: the mean over the true classes present in it of the hit rate.

    `hits`: aligned label == truth per row; `classes`, `groups`: 0-based codes of the truth and
    the group. The same number as scikit-learn's `balanced_accuracy_score` on aligned labels
    (a test checks it against `regime_scores`); by hand because the bootstrap calls it ~10^5
    times and scikit-learn's input validation costs ~1 ms a call, numpy's bincount ~20 us.
    """
    key = groups * n_classes + classes
    total = np.bincount(key, minlength=n_groups * n_classes).reshape(n_groups, n_classes)
    correct = np.bincount(key, weights=hits, minlength=n_groups * n_classes).reshape(n_groups, n_classes)
    present = total > 0
    recall = np.divide(correct, total, out=np.zeros_like(correct), where=present)
    return recall.sum(axis=1) / present.sum(axis=1)


def verdict(low: float, high: float) -> str:
    """'above' / 'below' when the interval excludes zero, else 'not distinguishable'."""
    return "above" if low > 0.0 else "below" if high < 0.0 else "not distinguishable"


def pooled_comparison(
    frames: Mapping[int, pd.DataFrame], labellings: Sequence[str], baselines: Sequence[str],
    block: int = 50, n_boot: int = 2000, level: float = 0.90, boot_seed: int = 0,
) -> dict[str, Any]:
    """Compare each labelling with each baseline, pooled over seeds (see the module docstring).

    `frames`: seed -> the test bars of that seed, a column `truth` and one column per name in
    `labellings` and `baselines` (a row where any is missing is left out, so every name is
    scored on the same bars). The block is cut to the shortest seed's test part.
    Returns (JSON-ready, seeds as strings):
    {"seeds", "test_bars", "block", "n_boot", "level", "true_mean_run_length",
     "labellings": {name: {"balanced_accuracy": {seed: ..}, "mean", "min", "mean_run_length",
                           "vs": {baseline: {"difference", "low", "high", "verdict", "seeds_above", "n_seeds"}}}},
     "baselines": {name: {"balanced_accuracy", "mean", "min", "mean_run_length"}}}
    """
    names = [*labellings, *baselines]
    if not frames:
        raise InputError("pooled_comparison needs the test bars of at least one seed.")
    if len(set(names)) != len(names) or not labellings or not baselines:
        raise InputError(f"Need at least one labelling and one baseline, all distinct; got {list(labellings)} and {list(baselines)}.")
    seeds = list(frames)
    truths, hits, group_ids, runs = [], {n: [] for n in names}, [], {n: [] for n in [*names, "truth"]}
    for g, s in enumerate(seeds):
        f = frames[s]
        missing = [c for c in ["truth", *names] if c not in f.columns]
        if missing:
            raise InputError(f"Seed {s}'s test frame lacks the columns {missing}; it has {list(f.columns)}.")
        f = f[["truth", *names]].dropna().astype(int)
        if len(f) < 2:
            raise InputError(f"Seed {s} has {len(f)} test bar(s) where the truth and every labelling are known; need >= 2.")
        truth = f["truth"].to_numpy()
        truths.append(truth)
        group_ids.append(np.full(len(truth), g))
        runs["truth"].append(mean_run_length(truth))
        for n in names:
            pred = f[n].to_numpy()
            hits[n].append(align_labels(truth, pred) == truth)  # once per seed, on its whole test part
            runs[n].append(mean_run_length(pred))
    _, classes = np.unique(np.concatenate(truths), return_inverse=True)
    groups = np.concatenate(group_ids)
    n_groups, n_classes = len(seeds), int(classes.max()) + 1
    hit = {n: np.concatenate(h).astype(float) for n, h in hits.items()}
    block = min(block, min(len(t) for t in truths))

    def per_seed(h: np.ndarray, c: np.ndarray, g: np.ndarray) -> np.ndarray:
        return grouped_balanced_accuracy(h, c, g, n_groups, n_classes)

    def difference(c: np.ndarray, g: np.ndarray, hl: np.ndarray, hb: np.ndarray) -> float:
        return float(per_seed(hl, c, g).mean() - per_seed(hb, c, g).mean())

    ba = {n: per_seed(hit[n], classes, groups) for n in names}

    def summary(n: str) -> dict[str, Any]:
        return {"balanced_accuracy": {str(s): float(v) for s, v in zip(seeds, ba[n])}, "mean": float(ba[n].mean()),
                "min": float(ba[n].min()), "mean_run_length": float(np.mean(runs[n]))}

    out_l = {}
    for name in labellings:
        vs = {}
        for base in baselines:
            # the same boot_seed for every pair: every pair is resampled on the same bars
            iv = block_bootstrap(difference, classes, groups, hit[name], hit[base], groups=groups, block=block,
                                 n_boot=n_boot, level=level, seed=boot_seed)
            vs[base] = {"difference": iv.estimate, "low": iv.low, "high": iv.high, "verdict": verdict(iv.low, iv.high),
                        "seeds_above": int((ba[name] > ba[base]).sum()), "n_seeds": n_groups}
        out_l[name] = {**summary(name), "vs": vs}
    return {
        "seeds": [str(s) for s in seeds], "test_bars": {str(s): len(t) for s, t in zip(seeds, truths)},
        "block": block, "n_boot": n_boot, "level": level, "true_mean_run_length": float(np.mean(runs["truth"])),
        "labellings": out_l, "baselines": {b: summary(b) for b in baselines},
    }


__all__ = ["grouped_balanced_accuracy", "pooled_comparison", "verdict"]
