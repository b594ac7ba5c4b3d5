"""Objective ideas: does a predictive target (the summary of the NEXT H bars) separate regimes
better than the window's own summary? A small model (d_model 64, 2 layers), the same budget
for each target, the synthetic 4-regime data of `eval rde`, k-means scored as there.

    SEED=0 .venv/bin/python benchmarks/rde_objective_ideas.py T H EPOCHS current,future,both

Results are in docs/rde.md; the real pipeline is `algospace eval rde --target next`.
"""
import os
import sys
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from algospace.evaluation.synthetic import generate_regime_bars
from algospace.evaluation.rde_eval import _kmeans_scores
from algospace.features.regime.window import window_view
from algospace.models.rde import RDEConfig, RegimeVAE
from algospace.training.rde import prepare_rde_data
from algospace.training.rde_config import RDETrainConfig
SEED = int(os.environ.get("SEED", 0))
torch.set_num_threads(2)
T = int(sys.argv[1]) if len(sys.argv) > 1 else 24
H = int(sys.argv[2]) if len(sys.argv) > 2 else 12
EPOCHS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
bars, truth = generate_regime_bars(days=400, seed=0)
data = prepare_rde_data(bars, "SPY", RDETrainConfig.preset("default", window=T))
feats = data.features
v = feats.to_numpy(np.float32)
val_start, test_start = data.boundaries["val"], data.boundaries["test"]
idx = feats.index
n = len(v)
def summ(w):  # (N, L, F) -> (N, 2F)
    return np.concatenate([w.mean(1), w.std(1)], 1).astype(np.float32)
X = window_view(v, T)                       # window ending at bar T-1+i
ends = idx[T - 1:]
cur = summ(X)
fut_w = window_view(v, H)                    # window ending at bar H-1+j -> future of window i is j = i+T
fut = np.full_like(cur, np.nan)
m = len(X) - H
fut[:m] = summ(fut_w[T:T + m])  # fut_w[j] = rows j..j+H-1: the H bars after window i start at row i+T
train_sel = np.flatnonzero((ends < val_start) & ~np.isnan(fut).any(1))
# a training window's future must also lie in the training part
train_sel = train_sel[train_sel + H < np.searchsorted(ends, val_start)]
train_sel = train_sel[::2]
def run(target_name):
    torch.manual_seed(SEED)
    model = RegimeVAE(RDEConfig(input_dim=v.shape[1], d_model=64, n_heads=4, n_layers=2, d_ff=256, head_hidden=64, decoder_hidden=64))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    tgt = {"current": cur, "future": fut, "both": np.where(np.isnan(fut), cur, 0.5 * (cur + fut))}[target_name]
    xs, ys = torch.from_numpy(np.ascontiguousarray(X[train_sel])), torch.from_numpy(tgt[train_sel])
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    for ep in range(EPOCHS):
        model.train(); order = torch.randperm(len(xs), generator=gen)
        beta = 0.01 * min(1.0, (ep + 1) / 3)
        for b in range(0, len(xs), 64):
            i = order[b:b + 64]
            mu, lv, rec = model(xs[i])
            loss = F.mse_loss(rec, ys[i]) + beta * (-0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp(), -1)).mean()
            opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    model.eval()
    with torch.inference_mode():
        vec = torch.cat([model.regime_vector(torch.from_numpy(np.ascontiguousarray(X[i:i + 512]))) for i in range(0, len(X), 512)]).numpy()
    s = _kmeans_scores(pd.DataFrame(vec, index=ends), truth, val_start, test_start, 4, 0)
    print(f"T={T} H={H} target={target_name:8s} epochs={EPOCHS} {time.time() - t0:5.0f}s  bal.acc {s['balanced_accuracy']:.3f} ARI {s['adjusted_rand']:.3f} run {s['mean_run_length']:.1f}", flush=True)
for name in sys.argv[4].split(",") if len(sys.argv) > 4 else ("current", "future"):
    run(name)
