"""A causal regime filter over the RDE's latent sequence: regime probabilities beside the vector.

k-means on regime vectors labels every bar on its own, so the labels flicker whenever the
vector wanders near a cluster border. A sequence model over the vectors adds persistence:
- `method="hmm"`: a Gaussian HMM (hmmlearn, full covariance) fitted on training vectors, then
  forward-filtered, so P(regime_t | vectors_<=t) reads no later bar;
- `method="jump"`: the statistical jump model on the same standardised vectors, labelled online
  (`predict_online`); its probabilities are one-hot (the discrete model has no softer ones).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from algospace.errors import InputError
from algospace.evaluation.hmm_baseline import fit_hmm, forward_filter
from algospace.evaluation.jump_baseline import DEFAULT_JUMP_PENALTY, fit_jump_model, online_states


class LatentRegimeFilter:
    """fit(train_vectors) then predict_proba(vectors) -> (N, K), causal row by row."""

    def __init__(self, n_states: int = 4, method: Literal["hmm", "jump"] = "hmm",
                 jump_penalty: float = DEFAULT_JUMP_PENALTY, seed: int = 0) -> None:
        if method not in ("hmm", "jump"):
            raise InputError(f"method must be 'hmm' or 'jump'; got {method!r}.")
        self.n_states, self.method, self.jump_penalty, self.seed = n_states, method, jump_penalty, seed

    def _scale(self, vectors: np.ndarray) -> np.ndarray:
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean_):
            raise InputError(f"Expected vectors of shape (N, {len(self.mean_)}); got {x.shape}.")
        return (x - self.mean_) / self.scale_

    def fit(self, vectors: np.ndarray) -> "LatentRegimeFilter":
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or len(x) < 10 * self.n_states:
            raise InputError(f"Need a (N, D) array with N >= {10 * self.n_states} training vectors; got {x.shape}.")
        self.mean_, self.scale_ = x.mean(axis=0), x.std(axis=0) + 1e-12  # training statistics only
        z = self._scale(x)
        if self.method == "hmm":
            self.model_ = fit_hmm(z, self.n_states, seed=self.seed)
        else:
            self.model_ = fit_jump_model(z, self.n_states, self.jump_penalty, seed=self.seed)
        return self

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        z = self._scale(vectors)
        if self.method == "hmm":
            return forward_filter(self.model_, z)
        return np.eye(self.n_states)[online_states(self.model_, z)]

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return self.predict_proba(vectors).argmax(axis=1)
