"""A causal regime filter over the RDE's latent sequence: regime probabilities beside the vector.

k-means on regime vectors labels every bar on its own, so the labels flicker whenever the
vector wanders near a cluster border. A sequence model over the vectors adds persistence:
- `method="hmm"`: a Gaussian HMM (hmmlearn, full covariance) fitted on training vectors, then
  forward-filtered, so P(regime_t | vectors_<=t) reads no later bar;
- `method="jump"`: the statistical jump model on the same standardised vectors, labelled online
  (`predict_online`); its probabilities are one-hot (the discrete model has no softer ones);
- `method="kmeans"`: k-means states made persistent. The states are k-means clusters of the
  training vectors, each a Gaussian at its centre with the clusters' pooled (tied) covariance,
  kept fixed; EM learns only the transition matrix. The same forward filter then gives
  P(regime_t | vectors_<=t). Why beside the
  EM-fitted HMM: on the RDE's smooth, overlapping-window vectors EM tends to spend states on
  slow drifts, where k-means keeps the partition that separates regimes (docs/rde.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from algospace.errors import InputError
from algospace.evaluation.hmm_baseline import fit_hmm, forward_filter, quiet_em
from algospace.evaluation.jump_baseline import DEFAULT_JUMP_PENALTY, fit_jump_model, online_states


METHODS = ("hmm", "jump", "kmeans")


def kmeans_hmm(z: np.ndarray, n_states: int, seed: int = 0):  # -> hmmlearn.hmm.GaussianHMM
    """A Gaussian HMM whose states are the k-means clusters of `z` (see the module docstring).

    Emissions are fixed (each cluster's centre, the pooled covariance); EM (hmmlearn,
    `params="st"`) learns only the start and transition probabilities, so the persistence is
    estimated through the emission noise rather than counted on flickering cluster labels.
    """
    from hmmlearn.hmm import GaussianHMM
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_states, n_init=10, random_state=seed).fit(z)
    labels = km.labels_
    d = z.shape[1]
    tied = np.cov((z - km.cluster_centers_[labels]).T).reshape(d, d) + 1e-6 * np.eye(d)
    model = GaussianHMM(n_components=n_states, covariance_type="full", params="st", init_params="", n_iter=100,
                        tol=1e-4, random_state=seed)
    model.n_features = d  # set by fit() otherwise; the covariance setter needs it
    model.startprob_ = np.full(n_states, 1.0 / n_states)
    model.transmat_ = np.full((n_states, n_states), 0.1 / max(1, n_states - 1)) + np.eye(n_states) * (0.9 - 0.1 / max(1, n_states - 1))
    model.means_ = km.cluster_centers_
    model.covars_ = np.repeat(tied[None], n_states, axis=0)
    with quiet_em():
        return model.fit(z)


class LatentRegimeFilter:
    """fit(train_vectors) then predict_proba(vectors) -> (N, K), causal row by row."""

    def __init__(self, n_states: int = 4, method: Literal["hmm", "jump", "kmeans"] = "hmm",
                 jump_penalty: float = DEFAULT_JUMP_PENALTY, seed: int = 0) -> None:
        if method not in METHODS:
            raise InputError(f"method must be one of {METHODS}; got {method!r}.")
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
        elif self.method == "kmeans":
            self.model_ = kmeans_hmm(z, self.n_states, seed=self.seed)
        else:
            self.model_ = fit_jump_model(z, self.n_states, self.jump_penalty, seed=self.seed)
        return self

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        z = self._scale(vectors)
        if self.method in ("hmm", "kmeans"):
            return forward_filter(self.model_, z)
        return np.eye(self.n_states)[online_states(self.model_, z)]

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return self.predict_proba(vectors).argmax(axis=1)
