"""Training-loss experiments for the RDE: does a mixture prior or recency truncation make its latent cluster into regimes?

First, a Gaussian-mixture prior (VaDE, Jiang et al. 2017).

The inference path is the package's RegimeVAE (small grid size, next target, attention pooling);
only the training loss changes: KL(q(z|x) || sum_k pi_k N(mu_k, diag s_k^2)) with a learned
K-component prior, estimated from one reparameterised sample, instead of KL to N(0, I). The
prior's parameters are training-only, like the decoder, so an RDE trained this way would ship
unchanged; its responsibilities would give regime probabilities beside the vector (read-out
`prior`, K = number of regimes).

The loop is written here (not in `fit_rde`) because this is an experiment: it has a constant
learning rate, no early stopping, and the KL per target column (the reconstruction error is a
mean over the 2F target columns). `K=0` runs the same loop with the standard prior as the
control.

    PYTHONPATH=src python benchmarks/rde_mixture_prior.py --seeds 0 --runs N=0:3.1,K4=4:3.1,K8=8:3.1

Each run is name=K:beta[:truncation]; beta 3.1 on the per-column KL equals the package's 0.01
on the summed KL. A third field p (second experiment, K = 0) truncates each training window with
probability p to its last 12..T bars (the older ones masked as padding): "recency dropout",
which asks the encoder to read the regime from recent bars.

    PYTHONPATH=src python benchmarks/rde_mixture_prior.py --features 2 --seeds 0,7 \\
        --runs N=0:3.1,T50=0:3.1:0.5,T100=0:3.1:1.0

docs/rde.md has the results (no gain from either: not adopted).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from rde_objective_ideas import SYNTHETIC_SETS, base_data, option_config, readouts, vectors_of, with_horizon

from algospace.evaluation.metrics import regime_scores
from algospace.models.rde import RegimeVAE
from algospace.training.rde import model_config


class MixturePrior(nn.Module):
    """A learned K-component diagonal Gaussian mixture over the latent."""

    def __init__(self, k: int, d: int) -> None:
        super().__init__()
        self.mu = nn.Parameter(torch.randn(k, d))
        self.log_var = nn.Parameter(torch.zeros(k, d))
        self.logit = nn.Parameter(torch.zeros(k))

    def component_log_prob(self, z: torch.Tensor) -> torch.Tensor:  # (B, K)
        sq = ((z[:, None] - self.mu) ** 2) / self.log_var.exp()
        return -0.5 * (sq + self.log_var + math.log(2 * math.pi)).sum(-1) + F.log_softmax(self.logit, 0)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:  # (B,)
        return torch.logsumexp(self.component_log_prob(z), 1)


def train(x: torch.Tensor, y: torch.Tensor, model: RegimeVAE, prior: MixturePrior | None, beta: float, epochs: int, seed: int,
          truncation: float = 0.0) -> None:
    """`truncation` p: each training window, with probability p, keeps only its last L bars (L uniform in
    12..T; the older bars are masked as padding), so the encoder must read a regime from recent bars."""
    gen = torch.Generator().manual_seed(seed)
    params = list(model.parameters()) + (list(prior.parameters()) if prior is not None else [])
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    width = y.shape[1]
    for epoch in range(epochs):
        b = beta * min(1.0, epoch / 3)  # KL annealed over 3 epochs, as the grid
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for rows in order.split(64):
            mask = None
            if truncation > 0:
                t = x.shape[1]
                keep = torch.randint(12, t + 1, (len(rows),), generator=gen)
                keep = torch.where(torch.rand(len(rows), generator=gen) < truncation, keep, torch.full_like(keep, t))
                mask = torch.arange(t)[None, :] < (t - keep)[:, None]  # (B, T) True: padding (the oldest bars)
            mu, log_var, recon = model(x[rows], mask)
            rec = F.mse_loss(recon, y[rows], reduction="none").mean(-1)
            z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
            log_q = (-0.5 * (((z - mu) ** 2) / log_var.exp() + log_var + math.log(2 * math.pi))).sum(-1)
            log_p = prior.log_prob(z) if prior is not None else (-0.5 * (z**2 + math.log(2 * math.pi))).sum(-1)
            loss = (rec + b * (log_q - log_p) / width).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="basic", choices=sorted(SYNTHETIC_SETS))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--features", type=int, default=1)
    ap.add_argument("--runs", default="N=0:3.1,K4=4:3.1")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--out", default="runs/mixture_prior.jsonl")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for seed in map(int, args.seeds.split(",")):
        bars, truth = SYNTHETIC_SETS[args.set](days=400, seed=seed)
        cfg = option_config("next+attention", 48, args.epochs, seed, 6.0)
        base = base_data(bars, cfg, args.features)
        data = with_horizon(base, cfg)
        val_start, test_start = base.boundaries["val"], base.boundaries["test"]
        k = int(truth.nunique())
        x, y = torch.from_numpy(data.windows["train"]), torch.from_numpy(data.targets["train"])
        for run in args.runs.split(","):
            name, spec = run.split("=")
            parts = spec.split(":")
            n_comp, beta, truncation = int(parts[0]), float(parts[1]), float(parts[2]) if len(parts) > 2 else 0.0
            torch.manual_seed(seed)
            model = RegimeVAE(model_config(cfg, base.features.shape[1]))
            prior = MixturePrior(n_comp, model.config.latent_dim) if n_comp > 0 else None
            t0 = time.time()
            train(x, y, model, prior, beta, args.epochs, seed, truncation)
            vectors = vectors_of(model, base.features, cfg.window)
            scores = readouts(vectors, truth, val_start, test_start, k, seed)
            if prior is not None and n_comp == k:
                test = vectors.loc[vectors.index >= test_start]
                with torch.no_grad():
                    labels = prior.component_log_prob(torch.from_numpy(test.to_numpy())).argmax(1).numpy()
                scores["prior"] = regime_scores(truth.reindex(test.index).to_numpy(), np.asarray(labels))
            row = {"set": args.set, "seed": seed, "name": name, "components": n_comp, "beta": beta, "truncation": truncation, "train_s": round(time.time() - t0),
                   "scores": {r: [round(v["balanced_accuracy"], 3), round(v["mean_run_length"], 1)] for r, v in scores.items()}}
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"  seed {seed} {name:6s} " + " ".join(f"{r}: {v[0]:.3f}/{v[1]:.0f}" for r, v in row["scores"].items()), flush=True)


if __name__ == "__main__":
    main()
