"""Both causal baselines on the same observations: forward-filtered HMM and online jump model.

One place builds the observations (`hmm_baseline.baseline_observations`), standardises them
with training statistics only, fits both models on the training part and labels every bar
from observations up to that bar. The synthetic evaluation and the SPY strategy test use it.
"""

from __future__ import annotations

import pandas as pd

from algospace.evaluation.hmm_baseline import baseline_observations, fit_hmm, forward_filter
from algospace.evaluation.jump_baseline import DEFAULT_JUMP_PENALTY, fit_jump_model, online_states


def standardised_observations(bars_30m: pd.DataFrame, fit_before: pd.Timestamp) -> pd.DataFrame:
    """The baseline observations, z-scored with the mean and std of the rows before `fit_before`."""
    obs = baseline_observations(bars_30m)
    train = obs.loc[obs.index < fit_before]
    return (obs - train.mean()) / train.std()


def baseline_states(
    bars_30m: pd.DataFrame, fit_before: pd.Timestamp, n_states: int, seed: int = 0,
    jump_penalty: float = DEFAULT_JUMP_PENALTY,
) -> pd.DataFrame:
    """Per bar (after the observations' warm-up): `hmm` (argmax of the filtered probabilities)
    and `jump` (online jump-model state), both fitted on the bars before `fit_before`."""
    z = standardised_observations(bars_30m, fit_before)
    values, train = z.to_numpy(), (z.index < fit_before)
    hmm = fit_hmm(values[train], n_states, seed=seed)
    jm = fit_jump_model(values[train], n_states, jump_penalty, seed=seed)
    return pd.DataFrame(
        {"hmm": forward_filter(hmm, values).argmax(axis=1), "jump": online_states(jm, values)}, index=z.index
    )
