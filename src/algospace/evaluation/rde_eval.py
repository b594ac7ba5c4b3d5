"""Is the RDE any good? Known-regime recovery on synthetic data, and next-day volatility on SPY.

Both evaluations are causal end to end: features, regime vectors (windows ending at t) and
the HMM baseline (forward filtering) use bars <= t only; clustering and regressions are fitted
on the training part and scored on the held-out part.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from algospace.data.session_bars import session_bars
from algospace.errors import InputError
from algospace.evaluation.causal_baselines import baseline_states, standardised_observations
from algospace.evaluation.latent_filter import LatentRegimeFilter
from algospace.evaluation.metrics import regime_scores
from algospace.evaluation.synthetic import generate_regime_bars
from algospace.evaluation.synthetic_hard import generate_hard_regime_bars

if TYPE_CHECKING:
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.training.rde import RDEData, TrainResult
    from algospace.training.rde_config import RDETrainConfig

log = logging.getLogger(__name__)


# The synthetic sets `eval rde --set` knows: name -> generator(days=, seed=) -> (1-minute bars, truth).
SYNTHETIC_SETS: dict[str, Callable[..., tuple[pd.DataFrame, pd.Series]]] = {
    "basic": generate_regime_bars,
    "hard": generate_hard_regime_bars,
}

# The labellings scored against the truth, in the order tables print them.
MODELS = ("rde", "rde_hmm_filter", "rde_jump_filter", "rde_kmeans_filter", "hmm_forward_filtered", "jump_model_online")
# The pooled multi-seed comparison (`seed_pool`): the RDE's labellings against the two baselines.
RDE_LABELLINGS = ("rde", "rde_hmm_filter", "rde_jump_filter", "rde_kmeans_filter")
BASELINES = ("hmm_forward_filtered", "jump_model_online")
MODEL_TITLES = {
    "rde": "RDE + k-means",
    "rde_hmm_filter": "RDE + HMM filter",
    "rde_jump_filter": "RDE + jump filter",
    "rde_kmeans_filter": "RDE + k-means filter",
    "hmm_forward_filtered": "HMM (filtered)",
    "jump_model_online": "jump model (online)",
}


@dataclass
class SyntheticEvalResult:
    scores: dict[str, dict[str, float]]  # MODELS -> regime_scores on the held-out bars
    training: dict[str, Any]
    n_test_bars: int
    frame: pd.DataFrame = field(repr=False)  # per test bar: close, truth, every labelling, vectors
    ceilings: dict[str, dict[str, float]] = field(default_factory=dict)  # see information_ceilings
    regime_set: str = "basic"

    @property
    def rde(self) -> dict[str, float]:
        return self.scores["rde"]

    @property
    def hmm(self) -> dict[str, float]:
        return self.scores["hmm_forward_filtered"]


def _kmeans_labels(
    x: pd.DataFrame, fit_before: pd.Timestamp, score_from: pd.Timestamp, k: int, seed: int
) -> tuple[pd.Index, np.ndarray]:
    """k-means fitted on rows before `fit_before`; (index, cluster) of the rows from `score_from`."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x.loc[x.index < fit_before].to_numpy())
    test = x.loc[x.index >= score_from]
    return test.index, km.predict(test.to_numpy())


def _kmeans_scores(
    x: pd.DataFrame, truth: pd.Series, fit_before: pd.Timestamp, score_from: pd.Timestamp, k: int, seed: int
) -> dict[str, float]:
    index, labels = _kmeans_labels(x, fit_before, score_from, k, seed)
    return regime_scores(truth.reindex(index).to_numpy(), labels)


def information_ceilings(
    features: pd.DataFrame, observations: pd.DataFrame, truth: pd.Series, window: int,
    fit_before: pd.Timestamp, score_from: pd.Timestamp, k: int, seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Where regime information is lost: the same k-means on what the RDE sees at each stage.

    `features_per_bar`: the 155 features of each bar. `window_summary`: each feature's mean and
    standard deviation over the causal window, the RDE decoder's target, so what a perfect
    VAE could keep. `baseline_observations`: the HMM's inputs, clustered without the HMM, so
    the gap to the HMM splits into what the inputs carry and what the sequence model adds.
    """
    from algospace.features.regime.window import window_view

    values = features.to_numpy(np.float32)
    view = window_view(values, window)  # (N, T, F), windows ending at each bar from T-1 on
    summary = pd.DataFrame(np.concatenate([view.mean(axis=1), view.std(axis=1)], axis=1), index=features.index[window - 1 :])
    return {
        name: _kmeans_scores(x, truth, fit_before, score_from, k, seed)
        for name, x in (("features_per_bar", features), ("window_summary", summary), ("baseline_observations", observations))
    }


def train_in_memory(
    bars: pd.DataFrame, cfg: RDETrainConfig, progress: bool = False
) -> tuple[RegimeDetectionEngine, RDEData, TrainResult]:
    """Train an RDE on `bars` (its own 70/15/15 split) without writing an artifact.

    Returns (engine, RDEData, TrainResult); the engine builds features with the fitted spec.
    """
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.training.rde import fit_rde, prepare_rde_data

    data = prepare_rde_data(bars, "SPY", cfg)
    result = fit_rde(data, cfg, checkpoint=None, progress=progress)
    device = next(result.model.parameters()).device
    engine = RegimeDetectionEngine(result.model, None, data.spec, device=device, training={"window": cfg.window})
    return engine, data, result


def synthetic_regime_eval(
    cfg: RDETrainConfig, days: int = 400, seed: int = 0, progress: bool = False, regime_set: str = "basic"
) -> SyntheticEvalResult:
    """Train an RDE on synthetic bars with known regimes and score its labellings against the truth.

    Fitted on the training part (before the validation boundary), scored on the test part:
    k-means on the regime vectors, the two causal filters over the vectors (`LatentRegimeFilter`),
    and the two baselines on the bars' own observations (`causal_baselines`).
    """

    if regime_set not in SYNTHETIC_SETS:
        raise InputError(f"Unknown synthetic set {regime_set!r}; expected one of {sorted(SYNTHETIC_SETS)}.")
    bars, truth = SYNTHETIC_SETS[regime_set](days=days, seed=seed)
    engine, data, result = train_in_memory(bars, cfg, progress)
    vectors = engine.regime_series(data.features, window=cfg.window)
    k = int(truth.nunique())
    test_start, val_start = data.boundaries["test"], data.boundaries["val"]
    test_mask = vectors.index >= test_start
    test_idx, rde_pred = _kmeans_labels(vectors, val_start, test_start, k, seed)
    labels = {"rde": pd.Series(rde_pred, index=test_idx)}
    train_vec = vectors.loc[vectors.index < val_start].to_numpy()
    for method in ("hmm", "jump", "kmeans"):
        filt = LatentRegimeFilter(k, method, seed=seed).fit(train_vec)
        labels[f"rde_{method}_filter"] = pd.Series(filt.predict(vectors.to_numpy()), index=vectors.index)

    bars30 = session_bars(bars, 30, "SPY")
    states = baseline_states(bars30, val_start, k, seed=seed)
    labels["hmm_forward_filtered"], labels["jump_model_online"] = states["hmm"], states["jump"]
    frame = pd.DataFrame({"close": bars30["close"].reindex(test_idx), "truth": truth.reindex(test_idx)}, index=test_idx)
    scores = {}
    for name in MODELS:
        pred = labels[name].reindex(test_idx)
        frame[name] = pred
        ok = pred.notna().to_numpy()
        scores[name] = regime_scores(frame["truth"].to_numpy()[ok], pred.to_numpy()[ok].astype(int))
    obs = standardised_observations(bars30, val_start)
    return SyntheticEvalResult(
        scores=scores,
        training=result.metrics,
        n_test_bars=int(test_mask.sum()),
        frame=frame.join(vectors.loc[test_mask]),
        ceilings=information_ceilings(data.features, obs, truth, cfg.window, val_start, test_start, k, seed),
        regime_set=regime_set,
    )


def daily_realised_vol(bars_1m: pd.DataFrame, tz: str = "America/New_York") -> pd.Series:
    """Realised volatility per session day: sqrt of the sum of squared 1-minute log returns."""
    r = np.log(bars_1m["close"]).diff()
    day = bars_1m.index.tz_convert(tz).normalize()
    first = pd.Series(day).ne(pd.Series(day).shift()).to_numpy()
    r[first] = np.nan  # no overnight return inside a day's realised volatility
    return np.sqrt((r**2).groupby(day).sum(min_count=10))


def _pcs(vectors: np.ndarray) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_regimes(close: np.ndarray, panels: list[tuple[np.ndarray, str]], vectors: np.ndarray,
                 latent_colour: np.ndarray, latent_title: str, path: str | Path) -> Path:
    """Price coloured by each labelling in `panels`, then the latent space (first two PCs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pcs = _pcs(vectors)
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(11, 3.4 * (len(panels) + 1)))
    x = np.arange(len(close))
    for ax, (labels, title) in zip(axes, panels):
        ax.plot(x, close, color="lightgray", lw=0.8)
        ax.scatter(x, close, c=labels, cmap="tab10", s=3, vmin=0, vmax=9)
        ax.set_title(title)
    axes[-1].scatter(pcs[:, 0], pcs[:, 1], c=latent_colour, cmap="tab10", s=4, vmin=0, vmax=9)
    axes[-1].set_title(latent_title)
    return save_figure(fig, path)


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write a matplotlib figure atomically as a PNG and close it."""
    import matplotlib.pyplot as plt

    from algospace.io import atomic_write_with

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=90))
    plt.close(fig)
    return path


def plot_synthetic(result: SyntheticEvalResult, path: str | Path) -> Path:
    """Price coloured by true regime and by RDE cluster, and the latent space."""
    f = result.frame
    vec = f[[c for c in f.columns if c.startswith("regime_")]].to_numpy()
    return plot_regimes(
        f["close"].to_numpy(),
        [(f["truth"].to_numpy(), "Synthetic test bars: price coloured by true regime"),
         (f["rde"].to_numpy(), "Synthetic test bars: price coloured by RDE cluster (k-means on regime vectors)")],
        vec, f["truth"].to_numpy(), "Latent space (first two principal components), coloured by true regime", path,
    )


def plot_spy(engine: RegimeDetectionEngine, bars_1m: pd.DataFrame, test_start: pd.Timestamp, path: str | Path, k: int = 4) -> Path:
    """SPY held-out bars coloured by k-means cluster of the regime vector (fitted before the test)."""
    from sklearn.cluster import KMeans

    from algospace.features.regime.inputs import session_features

    bars30 = session_bars(bars_1m, 30)
    vectors = engine.regime_series(session_features(engine.feature_spec, bars_1m))  # v2 reads the minutes too
    train = vectors.loc[vectors.index < test_start].to_numpy()
    test = vectors.loc[vectors.index >= test_start]
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit(train).predict(test.to_numpy())
    close = bars30["close"].reindex(test.index).to_numpy()
    return plot_regimes(close, [(labels, f"SPY held-out 30-minute bars coloured by regime cluster (k-means, k={k}, fitted before the test)")],
                        test.to_numpy(), labels, "SPY held-out regime vectors (first two principal components), coloured by cluster", path)
