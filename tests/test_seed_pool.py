"""The pooled multi-seed comparison of regime labellings and the grouped block bootstrap under it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from algospace.errors import InputError
from algospace.evaluation.bootstrap import block_bootstrap, block_indices
from algospace.evaluation.metrics import align_labels, regime_scores
from algospace.evaluation.seed_pool import grouped_balanced_accuracy, pooled_comparison


def _truth(n: int, rng: np.random.Generator, mean_run: int = 40, k: int = 4) -> np.ndarray:
    """Regime labels with geometric durations of mean `mean_run` bars."""
    out, state = [], int(rng.integers(k))
    while len(out) < n:
        out += [state] * int(rng.geometric(1 / mean_run))
        state = int((state + rng.integers(1, k)) % k)
    return np.array(out[:n])


def _noisy(truth: np.ndarray, accuracy: float, rng: np.random.Generator, k: int = 4) -> np.ndarray:
    """Truth with each bar replaced by a random regime with probability 1 - accuracy, cluster ids permuted."""
    keep = rng.random(len(truth)) < accuracy
    labels = np.where(keep, truth, rng.integers(0, k, len(truth)))
    return rng.permutation(k)[labels]  # every seed's model numbers its clusters its own way


def _frames(n_seeds: int, n: int, accuracies: dict[str, float], seed: int = 0) -> dict[int, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    frames = {}
    for s in range(n_seeds):
        truth = _truth(n, rng)
        frames[s] = pd.DataFrame({"truth": truth, **{name: _noisy(truth, a, rng) for name, a in accuracies.items()}})
    return frames


def test_grouped_blocks_stay_inside_their_group_and_no_groups_is_unchanged():
    x = np.arange(100.0)
    groups = np.repeat([0, 1, 2], [30, 50, 20])
    seen = []

    def record(v: np.ndarray, g: np.ndarray) -> float:
        seen.append((v.copy(), g.copy()))
        return float(v.mean())

    block_bootstrap(record, x, groups, groups=groups, block=10, n_boot=30)
    for v, g in seen:
        np.testing.assert_array_equal(g, groups)  # each group keeps its length and its place
        for label in range(3):
            assert set(v[g == label]) <= set(x[groups == label])
    # without groups: exactly the resamples of the plain circular moving-block bootstrap
    iv = block_bootstrap(np.mean, x, block=7, n_boot=50, seed=3)
    rng = np.random.default_rng(3)
    stats = [x[block_indices(100, 7, rng)].mean() for _ in range(50)]
    assert (iv.low, iv.high) == tuple(np.nanquantile(stats, [0.05, 0.95]))
    with pytest.raises(InputError, match="shortest group"):
        block_bootstrap(np.mean, x, groups=groups, block=25)
    with pytest.raises(InputError, match="one label per row"):
        block_bootstrap(np.mean, x, groups=groups[:50])


def test_grouped_balanced_accuracy_is_regime_scores_balanced_accuracy():
    rng = np.random.default_rng(0)
    truths = [rng.integers(0, 4, 90), rng.integers(1, 3, 60)]  # the second group misses two regimes
    preds = [rng.integers(0, 4, 90), rng.integers(0, 5, 60)]  # and predicts a cluster beyond the truth's
    hits = np.concatenate([align_labels(t, p) == t for t, p in zip(truths, preds)]).astype(float)
    classes = np.concatenate(truths)
    groups = np.repeat([0, 1], [90, 60])
    got = grouped_balanced_accuracy(hits, classes, groups, 2, 4)
    want = [regime_scores(t, p)["balanced_accuracy"] for t, p in zip(truths, preds)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_pooled_comparison_finds_the_truth_above_noise_and_identical_labellings_equal():
    frames = _frames(3, 300, {"good": 1.0, "random": 0.0, "random_base": 0.0})
    for f in frames.values():
        f["good_copy"] = f["good"]
    res = pooled_comparison(frames, ["good", "random"], ["good_copy", "random_base"], block=30, n_boot=300)
    good = res["labellings"]["good"]
    assert good["mean"] == 1.0 and good["min"] == 1.0  # aligned per seed: each seed's own permutation undone
    above = good["vs"]["random_base"]
    assert above["low"] > 0.3 and above["verdict"] == "above" and above["seeds_above"] == 3
    same = good["vs"]["good_copy"]
    assert same["difference"] == same["low"] == same["high"] == 0.0 and same["verdict"] == "not distinguishable"
    below = res["labellings"]["random"]["vs"]["good_copy"]
    assert below["high"] < -0.3 and below["verdict"] == "below" and below["seeds_above"] == 0
    assert res["true_mean_run_length"] == pytest.approx(np.mean([_run(f["truth"]) for f in frames.values()]))
    assert res["block"] == 30 and res["test_bars"] == {"0": 300, "1": 300, "2": 300}
    assert set(res["baselines"]) == {"good_copy", "random_base"}


def _run(x: pd.Series) -> float:
    return len(x) / (int((x.diff().fillna(0) != 0).sum()) + 1)


def test_pooled_interval_covers_a_small_true_difference_and_narrows_with_more_seeds():
    frames = _frames(8, 400, {"a": 0.75, "b": 0.70}, seed=1)
    few = pooled_comparison({0: frames[0]}, ["a"], ["b"], n_boot=400)["labellings"]["a"]["vs"]["b"]
    many = pooled_comparison(frames, ["a"], ["b"], n_boot=400)["labellings"]["a"]["vs"]["b"]
    for iv in (few, many):
        assert iv["low"] <= iv["difference"] <= iv["high"]
    # 1/sqrt(8) in expectation; one seed's 8 blocks make its width noisy, hence the margin
    assert many["high"] - many["low"] < 0.6 * (few["high"] - few["low"])
    # hit rates 0.75 + 0.25 / 4 and 0.70 + 0.30 / 4: a true gap of 0.0375, inside the interval
    assert many["low"] < 0.0375 < many["high"]


def test_pooled_comparison_uses_only_bars_every_labelling_has_and_refuses_bad_input():
    frames = _frames(2, 120, {"a": 0.9, "b": 0.5})
    frames[1].loc[:9, "b"] = np.nan  # a baseline without a state on the first ten bars
    res = pooled_comparison(frames, ["a"], ["b"], block=50, n_boot=50)
    assert res["test_bars"] == {"0": 120, "1": 110}
    with pytest.raises(InputError, match="lacks the columns"):
        pooled_comparison({0: frames[0].drop(columns="b")}, ["a"], ["b"])
    with pytest.raises(InputError, match="at least one"):
        pooled_comparison({}, ["a"], ["b"])
