"""Is the RDE any good? Known-regime recovery on synthetic data, and next-day volatility on SPY.

Both evaluations are causal end to end: features, regime vectors (windows ending at t) and
the HMM baseline (forward filtering) use bars <= t only; clustering and regressions are fitted
on the training part and scored on the held-out part.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from algospace.evaluation.hmm_baseline import baseline_observations, fit_hmm, forward_filter
from algospace.evaluation.metrics import r2_score_oos, regime_scores
from algospace.evaluation.synthetic import DEFAULT_REGIMES, generate_regime_bars

log = logging.getLogger(__name__)


@dataclass
class SyntheticEvalResult:
    rde: dict[str, float]
    hmm: dict[str, float]
    training: dict[str, Any]
    n_test_bars: int
    frame: pd.DataFrame = field(repr=False)  # per test bar: close, truth, rde cluster, hmm state, vectors


def synthetic_regime_eval(cfg: Any, days: int = 400, seed: int = 0, progress: bool = False) -> SyntheticEvalResult:
    """Train an RDE on synthetic bars with known regimes and score its clusters against the truth."""
    from sklearn.cluster import KMeans

    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.training.rde import fit_rde, prepare_rde_data

    bars, truth = generate_regime_bars(days=days, seed=seed)
    data = prepare_rde_data(bars, "SPY", cfg)
    result = fit_rde(data, cfg, checkpoint=None, progress=progress)
    engine = RegimeDetectionEngine(result.model, None, data.spec, device=next(result.model.parameters()).device)
    vectors = engine.regime_series(data.features, window=cfg.window)
    k = len(DEFAULT_REGIMES)
    test_start, val_start = data.boundaries["test"], data.boundaries["val"]
    train_mask = vectors.index < val_start
    test_mask = vectors.index >= test_start
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(vectors.loc[train_mask].to_numpy())
    rde_pred = km.predict(vectors.loc[test_mask].to_numpy())
    test_idx = vectors.index[test_mask]
    y = truth.reindex(test_idx).to_numpy()

    # Baseline on the same 30-minute bars: fitted on the training part, forward-filtered.
    from algospace.training.rde import to_30m_bars

    bars30 = to_30m_bars(bars, "SPY")
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
    )


def daily_realised_vol(bars_1m: pd.DataFrame, tz: str = "America/New_York") -> pd.Series:
    """Realised volatility per session day: sqrt of the sum of squared 1-minute log returns."""
    r = np.log(bars_1m["close"]).diff()
    day = bars_1m.index.tz_convert(tz).normalize()
    first = pd.Series(day).ne(pd.Series(day).shift()).to_numpy()
    r[first] = np.nan  # no overnight return inside a day's realised volatility
    return np.sqrt((r**2).groupby(day).sum(min_count=10))


def volatility_eval(engine: Any, bars_1m: pd.DataFrame, test_start: pd.Timestamp) -> dict[str, Any]:
    """Out-of-sample R^2 for next-day log realised vol: trailing vol alone vs trailing vol + regime."""
    from algospace.training.rde import to_30m_bars

    rv = np.log(daily_realised_vol(bars_1m))
    vectors = engine.regime_series(to_30m_bars(bars_1m, "SPY"))
    vday = vectors.index.tz_convert("America/New_York").normalize()
    last = vectors.groupby(vday).tail(1)  # vector at the day's last bar: known at the close
    last.index = last.index.tz_convert("America/New_York").normalize()
    df = pd.DataFrame({"rv": rv, "rv5": rv.rolling(5).mean()}).join(last, how="inner")
    df["target"] = df["rv"].shift(-1)
    df = df.dropna()
    test_day = test_start.tz_convert("America/New_York").normalize()
    train, test = df[df.index < test_day], df[df.index >= test_day]
    base_cols = ["rv", "rv5"]
    reg_cols = base_cols + [c for c in df.columns if c.startswith("regime_")]
    out: dict[str, Any] = {"train_days": len(train), "test_days": len(test)}
    for name, cols in (("trailing_vol", base_cols), ("trailing_vol+regime", reg_cols)):
        x_tr = np.column_stack([np.ones(len(train)), train[cols].to_numpy()])
        x_te = np.column_stack([np.ones(len(test)), test[cols].to_numpy()])
        coef, *_ = np.linalg.lstsq(x_tr, train["target"].to_numpy(), rcond=None)
        out[name] = r2_score_oos(test["target"].to_numpy(), x_te @ coef)
    return out


def plot_synthetic(result: SyntheticEvalResult, path: str | Path) -> Path:
    """Price coloured by RDE cluster and by truth, and the latent space (first two PCs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = result.frame
    vec = f[[c for c in f.columns if c.startswith("regime_")]].to_numpy()
    centred = vec - vec.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = centred @ vt[:2].T
    fig, axes = plt.subplots(3, 1, figsize=(11, 10))
    x = np.arange(len(f))
    for ax, col, title in ((axes[0], "truth", "true regime"), (axes[1], "rde", "RDE cluster (k-means on regime vectors)")):
        ax.plot(x, f["close"].to_numpy(), color="lightgray", lw=0.8)
        ax.scatter(x, f["close"].to_numpy(), c=f[col].to_numpy(), cmap="tab10", s=3, vmin=0, vmax=9)
        ax.set_title(f"Synthetic test bars: price coloured by {title}")
    axes[2].scatter(pcs[:, 0], pcs[:, 1], c=f["truth"].to_numpy(), cmap="tab10", s=4, vmin=0, vmax=9)
    axes[2].set_title("Latent space (first two principal components), coloured by true regime")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
