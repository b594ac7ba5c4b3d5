"""Is the walk-forward's 'M-RMS refit (train+val)' result more than one seed's luck?

Reuses the fold artifacts of a finished `algospace eval mrms --folds N --out OUT` run (their
best validation iteration counts), refits the variant with other seeds (the refit's init and
episodes change; the iteration count does not), and prints each seed's pooled out-of-sample
numbers and its 90 % block-bootstrap intervals against the run's baselines, recomputed here
on the same folds. Nothing is chosen on the test periods: this only reports the spread.

Usage: python benchmarks/mrms_refit_seeds.py runs/wf/mrms 1 2
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch


def main(out: Path, seeds: list[int]) -> None:
    from algospace.engines.mrms import RiskManager
    from algospace.evaluation.mrms_eval import build_strategies, compare, concat_results, fit_baselines, run_strategies, summaries
    from algospace.evaluation.mrms_walkforward import walk_forward_folds
    from algospace.training.mrms import best_iteration, build_mrms_signals, refit_policy
    from algospace.training.mrms_config import MRMSTrainConfig
    from algospace.training.mrms_policies import Context, network

    rm1 = RiskManager.load(out / "fold1" / "mrms", device="cpu")
    cfg = MRMSTrainConfig.model_validate(rm1.training["train_config"])
    import json

    settings = json.loads((out / "results.json").read_text())["settings"]
    base = build_mrms_signals("spy-1m", cfg)
    folds = walk_forward_folds(base, settings["folds"], settings["test_fraction"], settings["val_share_of_window"])
    per_fold = []
    for k, fd in enumerate(folds, start=1):
        rm = RiskManager.load(out / f"fold{k}" / "mrms", device="cpu")
        ctx = Context(fd.paths, cfg.account, cfg.sim)
        fitted = fit_baselines(ctx, fd, rows=np.concatenate([fd.rows["train"], fd.rows["val"]]))
        strats = build_strategies(rm, ctx, fitted, settings["bootstrap"]["seed"] + k)
        it = best_iteration(rm.training["history"], rm.training["metrics"]["best_val_score"])
        for s in seeds:
            t0 = time.process_time()
            policy = refit_policy(fd, cfg.model_copy(update={"seed": s}), it, torch.device("cpu"))
            strats[f"refit seed {s}"] = network(RiskManager(policy.model.cpu().eval(), training=rm.training))
            print(f"fold {k}: refit seed {s}, {it} iterations, {time.process_time() - t0:.0f} CPU s", flush=True)
        per_fold.append(run_strategies(ctx, fd.signals, strats, fd.rows["test"]))
        print(f"fold {k} test net: " + ", ".join(f"{n} {float(r.outcomes.net_usd.sum()):,.0f}" for n, r in per_fold[-1].items()), flush=True)
    pooled = {name: concat_results([f[name] for f in per_fold]) for name in per_fold[0]}
    metrics, daily = summaries(pooled)
    print(f"pooled out of sample, {len(next(iter(daily.values())))} days")
    for name, m in metrics.items():
        print(f"  {name:26s} trades {m['trades']:4d}  net {m['net_pnl']:>9,.0f}  Sortino {m['sortino_daily']:6.2f}  "
              f"Calmar {m['calmar']:6.2f}  breaches {m['rule_breaches']}")
    boot = settings["bootstrap"]
    for s in seeds:
        iv = compare(daily, boot["resamples"], boot["block_days"], boot["seed"], subject=f"refit seed {s}",
                     skip=tuple(f"refit seed {x}" for x in seeds))
        for name, v in iv.items():
            a, c = v["sortino_daily"], v["calmar"]
            print(f"  refit seed {s} - {name:24s} Sortino {a['diff']:+.2f} [{a['lo']:+.2f}, {a['hi']:+.2f}]  "
                  f"Calmar {c['diff']:+.2f} [{c['lo']:+.2f}, {c['hi']:+.2f}]")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(x) for x in sys.argv[2:]] or [1])
