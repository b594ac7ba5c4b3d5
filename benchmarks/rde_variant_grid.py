"""RDE variants on the synthetic sets, several seeds each (issue 14, third session).

Each run trains the grid's small RDE (`rde_objective_ideas.SMALL`, next target + attention
pooling, 8 epochs) with the real `fit_rde`, after applying a variant given as JSON overrides of
`RDETrainConfig` (e.g. `{"window": 24}`, `{"beta": 0.05}`, `{"model": {"latent_dim": 4}}`), and
reads its vectors as `eval rde` does (k-means and the three latent filters, fitted on the
training part, scored on the held-out test bars). Two overrides are experiments, not config
fields:

- `tgt_max_window: W`: the decoder's target keeps only features whose look-back is <= W bars
  (the others' target columns are set to 0, and beta is scaled by the share kept, since the
  reconstruction error is a mean over all columns): "predict the next bars' own statistics,
  not rolling statistics that overlap the past".
- `in_max_window: W`: the input (and so the target) keeps only features with look-back <= W.

    PYTHONPATH=src python benchmarks/rde_variant_grid.py --features 2 --seeds 0,7 \\
        --runs 'base={};T24={"window":24};fast1={"tgt_max_window":1}' --out runs/variants.jsonl

One JSON line per (seed, variant) in --out; docs/rde.md has the results. Choose variants on
seeds other than the ones the final measurement uses (it uses 2-6).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rde_objective_ideas import SYNTHETIC_SETS, base_data, baseline_scores, option_config, readouts, vectors_of, with_horizon

from algospace.training.rde import RDEData, fit_rde
from algospace.training.rde_config import RDETrainConfig

EXPERIMENT_KEYS = ("tgt_max_window", "in_max_window")


def variant_config(base: RDETrainConfig, overrides: dict[str, Any]) -> RDETrainConfig:
    """The small grid config with `overrides` applied (validated by RDETrainConfig)."""
    fields = base.model_dump()
    model = {**fields["model"], **overrides.get("model", {})}
    fields.update({k: v for k, v in overrides.items() if k != "model" and k not in EXPERIMENT_KEYS})
    fields["model"] = model
    fields["kl_anneal_epochs"] = min(fields["kl_anneal_epochs"], fields["max_epochs"])
    fields["patience"] = max(fields["patience"], fields["max_epochs"])  # epoch-capped, as the grid
    return RDETrainConfig(**fields)


def variant_data(base: RDEData, cfg: RDETrainConfig, overrides: dict[str, Any]) -> tuple[RDEData, pd.DataFrame, RDETrainConfig]:
    """Windows and targets of a variant: (data, the features its vectors are computed from, config)."""
    look_back = np.array([info.window for info in base.spec.info])
    features = base.features
    if "in_max_window" in overrides:
        features = features.copy()
        features.iloc[:, look_back > overrides["in_max_window"]] = 0.0
    data = with_horizon(dataclasses.replace(base, features=features), cfg)
    if "tgt_max_window" in overrides:
        slow = np.tile(look_back > overrides["tgt_max_window"], 2)  # mean and std columns
        targets = {split: np.where(slow[None, :], 0.0, t).astype(np.float32) for split, t in data.targets.items()}
        data = dataclasses.replace(data, targets=targets)
        cfg = cfg.model_copy(update={"beta": cfg.beta * float((~slow).mean())})
    return data, features, cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="basic", choices=sorted(SYNTHETIC_SETS))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--features", type=int, default=2, help="feature spec version")
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--runs", required=True, help="name=JSON overrides, ';'-separated")
    ap.add_argument("--out", default="runs/variants.jsonl")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = [tuple(r.split("=", 1)) for r in args.runs.split(";")]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in map(int, args.seeds.split(",")):
        bars, truth = SYNTHETIC_SETS[args.set](days=args.days, seed=seed)
        base_cfg = option_config("next+attention", 48, 8, seed, 6.0)
        base = base_data(bars, base_cfg, args.features)
        val_start, test_start = base.boundaries["val"], base.boundaries["test"]
        k = int(truth.nunique())
        ref = {name: r["balanced_accuracy"] for name, r in baseline_scores(bars, truth, val_start, test_start, k, seed).items()}
        print(f"{args.set} seed {seed} features v{args.features}: HMM {ref['hmm']:.3f} jump {ref['jump']:.3f}", flush=True)
        for name, text in runs:
            overrides = json.loads(text)
            cfg = variant_config(base_cfg, overrides)
            data, features, cfg = variant_data(base, cfg, overrides)
            t0 = time.time()
            result = fit_rde(data, cfg, checkpoint=None, progress=False)
            seconds = time.time() - t0
            scores = readouts(vectors_of(result.model, features, cfg.window), truth, val_start, test_start, k, seed)
            row = {"set": args.set, "seed": seed, "features": args.features, "days": args.days, "name": name,
                   "overrides": overrides, "epochs": result.metrics["epochs"], "train_s": round(seconds, 1),
                   "recon_vs_blind": round(result.metrics["test"]["recon_vs_blind"], 3), "baselines": ref,
                   "scores": {r: [round(v["balanced_accuracy"], 3), round(v["mean_run_length"], 1)] for r, v in scores.items()}}
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            table = " ".join(f"{r}: {v[0]:.3f}/{v[1]:.0f}" for r, v in row["scores"].items())
            print(f"  {name:14s} {row['epochs']}ep {seconds:4.0f}s recon/blind {row['recon_vs_blind']}  {table}", flush=True)


if __name__ == "__main__":
    main()
