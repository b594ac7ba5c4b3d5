"""Is the RDE any good? Known-regime recovery on synthetic data, and next-day volatility on SPY.

Both evaluations are causal end to end: features, regime vectors (windows ending at t) and
the HMM baseline (forward filtering) use bars <= t only; clustering and regressions are fitted
on the training part and scored on the held-out part.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from algospace.data.session_bars import session_bars
from algospace.evaluation.hmm_baseline import baseline_observations, fit_hmm, forward_filter
from algospace.evaluation.metrics import r2_score_oos, regime_scores
from algospace.evaluation.synthetic import DEFAULT_REGIMES, generate_regime_bars

if TYPE_CHECKING:
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.training.rde_config import RDETrainConfig

log = logging.getLogger(__name__)


@dataclass
class SyntheticEvalResult:
    rde: dict[str, float]
    hmm: dict[str, float]
    training: dict[str, Any]
    n_test_bars: int
    frame: pd.DataFrame = field(repr=False)  # per test bar: close, truth, rde cluster, hmm state, vectors
    ceilings: dict[str, dict[str, float]] = field(default_factory=dict)  # see information_ceilings


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
    scaled_obs = (observations - observations.loc[observations.index < fit_before].mean()) / observations.loc[
        observations.index < fit_before
    ].std()
    return {
        name: _kmeans_scores(x, truth, fit_before, score_from, k, seed)
        for name, x in (("features_per_bar", features), ("window_summary", summary), ("baseline_observations", scaled_obs))
    }


def synthetic_regime_eval(cfg: RDETrainConfig, days: int = 400, seed: int = 0, progress: bool = False) -> SyntheticEvalResult:
    """Train an RDE on synthetic bars with known regimes and score its clusters against the truth."""
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.training.rde import fit_rde, prepare_rde_data

    bars, truth = generate_regime_bars(days=days, seed=seed)
    data = prepare_rde_data(bars, "SPY", cfg)
    result = fit_rde(data, cfg, checkpoint=None, progress=progress)
    engine = RegimeDetectionEngine(result.model, None, data.spec, device=next(result.model.parameters()).device)
    vectors = engine.regime_series(data.features, window=cfg.window)
    k = len(DEFAULT_REGIMES)
    test_start, val_start = data.boundaries["test"], data.boundaries["val"]
    test_mask = vectors.index >= test_start
    test_idx, rde_pred = _kmeans_labels(vectors, val_start, test_start, k, seed)
    y = truth.reindex(test_idx).to_numpy()

    # Baseline on the same 30-minute bars: fitted on the training part, forward-filtered.
    bars30 = session_bars(bars, 30, "SPY")
    obs = baseline_observations(bars30)
    mu, sd = obs.loc[obs.index < val_start].mean(), obs.loc[obs.index < val_start].std()
    z = ((obs - mu) / sd).to_numpy()
    hmm = fit_hmm(z[obs.index < val_start], k, seed=seed)
    probs = forward_filter(hmm, z)
    hmm_state = pd.Series(probs.argmax(axis=1), index=obs.index).reindex(test_idx)
    ok = hmm_state.notna().to_numpy()
    frame = pd.DataFrame(
        {"close": bars30["close"].reindex(test_idx), "truth": y, "rde": rde_pred, "hmm": hmm_state.to_numpy()},
        index=test_idx,
    ).join(vectors.loc[test_mask])
    return SyntheticEvalResult(
        rde=regime_scores(y, rde_pred),
        hmm=regime_scores(y[ok], hmm_state.to_numpy()[ok].astype(int)),
        training=result.metrics,
        n_test_bars=int(test_mask.sum()),
        frame=frame,
        ceilings=information_ceilings(data.features, obs, truth, cfg.window, val_start, test_start, k, seed),
    )


def daily_realised_vol(bars_1m: pd.DataFrame, tz: str = "America/New_York") -> pd.Series:
    """Realised volatility per session day: sqrt of the sum of squared 1-minute log returns."""
    r = np.log(bars_1m["close"]).diff()
    day = bars_1m.index.tz_convert(tz).normalize()
    first = pd.Series(day).ne(pd.Series(day).shift()).to_numpy()
    r[first] = np.nan  # no overnight return inside a day's realised volatility
    return np.sqrt((r**2).groupby(day).sum(min_count=10))


def volatility_eval(engine: RegimeDetectionEngine, bars_1m: pd.DataFrame, test_start: pd.Timestamp) -> dict[str, Any]:
    """Out-of-sample R^2 for next-day log realised vol: trailing vol alone vs trailing vol + regime."""
    rv = np.log(daily_realised_vol(bars_1m))
    vectors = engine.regime_series(session_bars(bars_1m, 30))
    vday = vectors.index.tz_convert("America/New_York").normalize()
    last = vectors.groupby(vday).tail(1)  # vector at the day's last bar: known at the close
    last.index = last.index.tz_convert("America/New_York").normalize()
    df = pd.DataFrame({"rv": rv, "rv5": rv.rolling(5).mean()}).join(last, how="inner")
    df["target"] = df["rv"].shift(-1)
    df["target_day"] = pd.Series(df.index, index=df.index).shift(-1)
    df = df.dropna()
    test_day = test_start.tz_convert("America/New_York").normalize()
    # A training row's target (the next day's volatility) must also lie before the test period.
    train, test = df[df["target_day"] < test_day], df[df.index >= test_day]
    base_cols = ["rv", "rv5"]
    reg_cols = base_cols + [c for c in df.columns if c.startswith("regime_")]
    out: dict[str, Any] = {"train_days": len(train), "test_days": len(test)}
    for name, cols in (("trailing_vol", base_cols), ("trailing_vol+regime", reg_cols)):
        x_tr = np.column_stack([np.ones(len(train)), train[cols].to_numpy()])
        x_te = np.column_stack([np.ones(len(test)), test[cols].to_numpy()])
        coef, *_ = np.linalg.lstsq(x_tr, train["target"].to_numpy(), rcond=None)
        out[name] = r2_score_oos(test["target"].to_numpy(), x_te @ coef)
    return out


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

    from algospace.io import atomic_write_with

    pcs = _pcs(vectors)
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(11, 3.4 * (len(panels) + 1)))
    x = np.arange(len(close))
    for ax, (labels, title) in zip(axes, panels):
        ax.plot(x, close, color="lightgray", lw=0.8)
        ax.scatter(x, close, c=labels, cmap="tab10", s=3, vmin=0, vmax=9)
        ax.set_title(title)
    axes[-1].scatter(pcs[:, 0], pcs[:, 1], c=latent_colour, cmap="tab10", s=4, vmin=0, vmax=9)
    axes[-1].set_title(latent_title)
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

    bars30 = session_bars(bars_1m, 30)
    vectors = engine.regime_series(bars30)
    train = vectors.loc[vectors.index < test_start].to_numpy()
    test = vectors.loc[vectors.index >= test_start]
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit(train).predict(test.to_numpy())
    close = bars30["close"].reindex(test.index).to_numpy()
    return plot_regimes(close, [(labels, f"SPY held-out 30-minute bars coloured by regime cluster (k-means, k={k}, fitted before the test)")],
                        test.to_numpy(), labels, "SPY held-out regime vectors (first two principal components), coloured by cluster", path)
