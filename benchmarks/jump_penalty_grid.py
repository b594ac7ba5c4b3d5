"""How the jump model's penalty was chosen: held-out balanced accuracy on the basic synthetic set
with seed 1 (never the evaluation seed 0), for a grid of penalties on the HMM's standardised
observations. The default (`jump_baseline.DEFAULT_JUMP_PENALTY`) is this grid's best.

    PYTHONPATH=src .venv/bin/python benchmarks/jump_penalty_grid.py [SEED] [DAYS]
"""
import sys

from algospace.data import make_bars
from algospace.evaluation.causal_baselines import standardised_observations
from algospace.evaluation.jump_baseline import fit_jump_model, online_states
from algospace.evaluation.metrics import regime_scores
from algospace.evaluation.synthetic import generate_regime_bars

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
DAYS = int(sys.argv[2]) if len(sys.argv) > 2 else 400
bars, truth = generate_regime_bars(days=DAYS, seed=SEED)
bars30 = make_bars(bars, 30, "SPY")
n = len(bars30)
fit_before, score_from = bars30.index[int(n * 0.70)], bars30.index[int(n * 0.85)]  # the RDE's split
z = standardised_observations(bars30, fit_before)
y = truth.reindex(z.index).to_numpy()
test = (z.index >= score_from)
print(f"seed {SEED}, {DAYS} days, {test.sum()} held-out bars")
print("penalty  balanced-acc  ARI    mean-run (truth)")
for penalty in (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0):
    jm = fit_jump_model(z.to_numpy()[z.index < fit_before], 4, penalty, seed=0)
    s = regime_scores(y[test], online_states(jm, z.to_numpy())[test])
    print(f"{penalty:7.0f}  {s['balanced_accuracy']:12.3f}  {s['adjusted_rand']:5.3f}  {s['mean_run_length']:6.1f} ({s['true_mean_run_length']:.1f})", flush=True)
