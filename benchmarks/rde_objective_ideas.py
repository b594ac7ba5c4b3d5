"""Objective and pooling grid for the RDE (issue 14): which read-out and objective keep switches sharp?

Every option trains the same small RDE (the real `fit_rde`, so what is measured is what ships)
on the same synthetic bars of `eval rde`, then its regime vectors are read three ways, each
fitted on the training part and scored on the held-out test bars exactly as `eval rde` does:
k-means (k = number of regimes), and the latent HMM, jump and k-means filters
(`evaluation/latent_filter.py`). The forward-filtered HMM and the online jump model on the
bars' own observations are printed once per set and seed for reference.

    PYTHONPATH=src nice -n 10 python benchmarks/rde_objective_ideas.py --sets basic,hard --seeds 0,1 \
        --options mean,last,ewm,attention,next,next+ewm --epochs 6 --out runs/pool_grid.jsonl

Options are names in OPTIONS (a `+` joins several). Results: one JSON line per (set, seed,
option) in --out (appended as they finish), and a table at the end. docs/rde.md has the results.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from algospace.data.session_bars import session_bars
from algospace.evaluation.causal_baselines import baseline_states
from algospace.evaluation.latent_filter import LatentRegimeFilter
from algospace.evaluation.metrics import regime_scores
from algospace.evaluation.rde_eval import SYNTHETIC_SETS, _kmeans_labels
from algospace.features.regime.window import window_view
from algospace.training.rde import RDEData, _windows_by_split, fit_rde, prepare_rde_data
from algospace.training.rde_config import RDETrainConfig

# The small model of the grid: d_model 64, 2 layers (the earlier target comparison used it too).
SMALL = {"d_model": 64, "n_heads": 4, "n_layers": 2, "d_ff": 256, "head_hidden": 64, "decoder_hidden": 64}

# option name -> training-config overrides (model fields under "model").
OPTIONS: dict[str, dict[str, Any]] = {
    "mean": {},
    "window": {},
    "last": {"model": {"pooling": "last"}},
    "ewm": {"model": {"pooling": "ewm", "pool_halflife": 8.0}},
    "ewm4": {"model": {"pooling": "ewm", "pool_halflife": 4.0}},
    "attention": {"model": {"pooling": "attention"}},
    "next": {"target": "next"},
    "contrast": {"contrastive": 1.0},
    "contrast.1": {"contrastive": 0.1},
}


def option_config(name: str, window: int, epochs: int, seed: int, minutes: float) -> RDETrainConfig:
    """The training config of an option (a `+` joins several, e.g. next+ewm+contrast)."""
    model: dict[str, Any] = dict(SMALL)
    top: dict[str, Any] = {}
    for part in name.split("+"):
        over = OPTIONS[part]
        model.update(over.get("model", {}))
        top.update({k: v for k, v in over.items() if k != "model"})
    return RDETrainConfig.preset(
        "default", model=model, window=window, max_epochs=epochs, kl_anneal_epochs=min(3, epochs), lr=1e-3,
        patience=epochs, max_minutes=minutes, seed=seed, threads=1, **top,
    )


def with_horizon(base: RDEData, cfg: RDETrainConfig) -> RDEData:
    """The same features re-windowed for this config's target horizon (features are computed once)."""
    windows, ends, targets = _windows_by_split(base.features, cfg.window, cfg.stride, base.boundaries, cfg.target_horizon)
    return RDEData(spec=base.spec, features=base.features, windows=windows, window_ends=ends, boundaries=base.boundaries,
                   data_fingerprint=base.data_fingerprint, date_range=base.date_range, bars_30m=base.bars_30m,
                   instrument=base.instrument, targets=targets)


def base_data(bars: pd.DataFrame, cfg: RDETrainConfig, feature_version: int) -> RDEData:
    """Features and windows of the synthetic bars; version 2 reads the 1-minute bars as well."""
    if feature_version == 1:
        return prepare_rde_data(bars, "SPY", cfg)
    from algospace.features import FeatureSpec

    bars30 = session_bars(bars, 30, "SPY")
    n = len(bars30)
    i_val, i_test = int(n * cfg.train_fraction), int(n * (cfg.train_fraction + cfg.val_fraction))
    boundaries = {"val": bars30.index[i_val], "test": bars30.index[i_test]}
    spec = FeatureSpec.default(feature_version).fit(bars30.iloc[:i_val], minute_bars=bars.loc[bars.index < boundaries["val"]])
    features = spec.transform(bars30, minute_bars=bars)
    windows, ends, targets = _windows_by_split(features, cfg.window, cfg.stride, boundaries, cfg.target_horizon)
    return RDEData(spec=spec, features=features, windows=windows, window_ends=ends, boundaries=boundaries,
                   data_fingerprint="", date_range=(str(bars30.index[0]), str(bars30.index[-1])), bars_30m=n,
                   instrument="SPY", targets=targets)


def vectors_of(model: torch.nn.Module, features: pd.DataFrame, window: int) -> pd.DataFrame:
    """Causal regime vectors: the window ending at each bar (from bar window-1 on)."""
    values = features.to_numpy(np.float32)
    view = window_view(values, window)
    model.eval()
    with torch.inference_mode():
        out = torch.cat([model.regime_vector(torch.from_numpy(np.ascontiguousarray(view[i : i + 512])))
                         for i in range(0, len(view), 512)]).numpy()
    return pd.DataFrame(out, index=features.index[window - 1 :])


def readouts(vectors: pd.DataFrame, truth: pd.Series, val_start: pd.Timestamp, test_start: pd.Timestamp,
             k: int, seed: int) -> dict[str, dict[str, float]]:
    """k-means, latent HMM filter and latent jump filter, fitted before val_start, scored from test_start."""
    test_idx, km = _kmeans_labels(vectors, val_start, test_start, k, seed)
    labels = {"kmeans": km}
    train = vectors.loc[vectors.index < val_start].to_numpy()
    test = vectors.loc[vectors.index >= test_start].to_numpy()
    for method in ("hmm", "jump", "kmeans"):
        filt = LatentRegimeFilter(k, method, seed=seed).fit(train)
        # causal row by row: filtering the test rows alone equals filtering all rows then cutting
        # except for the filter's start; run it over every row and keep the test rows, as eval rde does.
        labels[f"{method}_filter"] = filt.predict(vectors.to_numpy())[-len(test):]
    y = truth.reindex(test_idx).to_numpy()
    return {name: regime_scores(y, np.asarray(pred)) for name, pred in labels.items()}


def baseline_scores(bars: pd.DataFrame, truth: pd.Series, val_start: pd.Timestamp, test_start: pd.Timestamp,
                    k: int, seed: int) -> dict[str, dict[str, float]]:
    """The forward-filtered HMM and the online jump model on the bars' own observations, scored on the test bars."""
    states = baseline_states(session_bars(bars, 30, "SPY"), val_start, k, seed=seed)
    ref = {}
    for name in ("hmm", "jump"):
        pred = states[name].loc[states[name].index >= test_start]
        ref[name] = regime_scores(truth.reindex(pred.index).to_numpy(), pred.to_numpy().astype(int))
    return ref


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="basic,hard")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--options", default="mean,last,ewm,attention")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--minutes", type=float, default=4.0, help="wall-clock cap per training run")
    ap.add_argument("--window", type=int, default=48)
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--feature-version", type=int, default=1, help="feature spec version (2: with the 1-minute measures)")
    ap.add_argument("--out", default="runs/pool_grid.jsonl")
    ap.add_argument("--save-vectors", default=None, help="folder: also write each run's vectors and truth (parquet)")
    args = ap.parse_args()
    torch.set_num_threads(1)  # 2 threads on 2 shared cores ran one step 20x slower (contention)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for set_name in args.sets.split(","):
        for seed in map(int, args.seeds.split(",")):
            bars, truth = SYNTHETIC_SETS[set_name](days=args.days, seed=seed)
            t0 = time.time()
            base = base_data(bars, option_config("mean", args.window, args.epochs, seed, args.minutes), args.feature_version)
            val_start, test_start = base.boundaries["val"], base.boundaries["test"]
            k = int(truth.nunique())
            ref = baseline_scores(bars, truth, val_start, test_start, k, seed)
            truth_run = regime_scores(truth.loc[truth.index >= test_start].to_numpy(), truth.loc[truth.index >= test_start].to_numpy())
            print(f"[{set_name} seed {seed}] data {time.time() - t0:.0f}s; HMM {ref['hmm']['balanced_accuracy']:.3f} "
                  f"jump {ref['jump']['balanced_accuracy']:.3f} truth run {truth_run['mean_run_length']:.1f}", flush=True)
            for option in args.options.split(","):
                cfg = option_config(option, args.window, args.epochs, seed, args.minutes)
                data = with_horizon(base, cfg)
                t1 = time.time()
                result = fit_rde(data, cfg, checkpoint=None, progress=False)
                seconds = time.time() - t1
                vectors = vectors_of(result.model, base.features, cfg.window)
                scores = readouts(vectors, truth, val_start, test_start, k, seed)
                if args.save_vectors:
                    folder = Path(args.save_vectors)
                    folder.mkdir(parents=True, exist_ok=True)
                    frame = vectors.set_axis([f"v{i}" for i in range(vectors.shape[1])], axis=1)
                    frame.assign(truth=truth.reindex(vectors.index), split=np.select(
                        [vectors.index < val_start, vectors.index < test_start], [0, 1], 2)
                    ).to_parquet(folder / f"{set_name}-{seed}-{option}-v{args.feature_version}.parquet")
                row = {"set": set_name, "seed": seed, "option": option, "features": args.feature_version, "epochs": result.metrics["epochs"],
                       "train_s": round(seconds, 1), "recon_vs_blind": result.metrics["test"]["recon_vs_blind"],
                       "scores": scores, "baselines": ref, "truth_run": truth_run["mean_run_length"]}
                rows.append(row)
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                s = " ".join(f"{r}: {v['balanced_accuracy']:.3f}/{v['mean_run_length']:.0f}" for r, v in scores.items())
                print(f"  {option:22s} {result.metrics['epochs']}ep {seconds:5.0f}s  {s}", flush=True)


if __name__ == "__main__":
    main()
