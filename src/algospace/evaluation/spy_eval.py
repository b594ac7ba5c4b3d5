"""Does the regime vector carry information on real data? Walk-forward tests on the SPY sample.

Everything is out of sample in two ways. The representations (the RDE, the k-means on its
vectors, the latent filter, the HMM and the jump model) are fitted on bars before
`train_end` only (2018-01-01 by default: the bundled sample's 2017) and then frozen. The
forecasting and trading rules on top are refitted at the start of every month of the
walk-forward period from days whose outcome was known before that month (expanding window).

1. Volatility: HAR-RV (Corsi 2009) on log daily realised volatility (daily, weekly = 5-day
   and monthly = 22-day means) forecasts the next day's log realised volatility; each regime
   signal is added to it and the out-of-sample R^2 gain gets a paired block-bootstrap interval.
2. Strategy: the jump-model literature's 0/1 test (Shu, Yu & Mulvey 2024): hold SPY over the
   next day only when today's regime had a positive mean next-day return in the training
   history; Sharpe, maximum drawdown and turnover, net of costs, beside buy-and-hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from algospace.data.session_bars import session_bars
from algospace.errors import DataError, InputError
from algospace.evaluation.bootstrap import block_bootstrap
from algospace.evaluation.metrics import r2_score_oos

if TYPE_CHECKING:
    from algospace.engines.rde import RegimeDetectionEngine
    from algospace.training.rde_config import RDETrainConfig

NY = "America/New_York"
TRADING_DAYS = 252


def _ny_day(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return index.tz_convert(NY).normalize()


def last_of_day(frame: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Each day's last row (known at that day's close), indexed by the New York date."""
    out = frame.groupby(_ny_day(frame.index)).tail(1)
    out.index = _ny_day(out.index)
    return out


def daily_panel(bars_1m: pd.DataFrame, bars_30m: pd.DataFrame) -> pd.DataFrame:
    """Per day: log RV and its HAR means (known at the close), the close, and tomorrow's outcomes.

    `target` (tomorrow's log RV) and `ret_next` (tomorrow's close-to-close return) are the only
    columns that read the next day; `target_day` says which day that is.
    """
    from algospace.evaluation.rde_eval import daily_realised_vol

    rv = np.log(daily_realised_vol(bars_1m))
    close = last_of_day(bars_30m["close"])
    df = pd.DataFrame({"rv_d": rv, "rv_w": rv.rolling(5).mean(), "rv_m": rv.rolling(22).mean()}).join(
        close.rename("close"), how="inner"
    )
    df["target"] = df["rv_d"].shift(-1)
    df["ret_next"] = df["close"].shift(-1) / df["close"] - 1.0
    df["target_day"] = pd.Series(df.index, index=df.index).shift(-1)
    return df.dropna(subset=["rv_m", "target", "ret_next"])


def month_starts(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """Refit dates of the walk-forward: the first calendar day of every month in [start, end]."""
    first = pd.Timestamp(year=start.year, month=start.month, day=1, tz=start.tz)
    return list(pd.date_range(first, end, freq="MS"))


def _walk_forward(panel: pd.DataFrame, start: pd.Timestamp, fit_predict) -> pd.Series:
    """Run `fit_predict(train_rows, test_rows) -> array` month by month; rows whose outcome day
    falls before the month train, the month's rows are predicted."""
    preds = []
    for m in month_starts(start, panel.index[-1]):
        test = panel.loc[(panel.index >= m) & (panel.index < m + pd.offsets.MonthBegin(1))]
        if test.empty:
            continue
        train = panel.loc[panel["target_day"] < m]
        preds.append(pd.Series(fit_predict(train, test), index=test.index))
    if not preds:
        raise DataError(f"No walk-forward days after {start.date()}; the data ends {panel.index[-1].date()}.")
    return pd.concat(preds)


def _ols_forecast(cols: list[str]):
    def fit_predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        x_tr = np.column_stack([np.ones(len(train)), train[cols].to_numpy(np.float64)])
        coef, *_ = np.linalg.lstsq(x_tr, train["target"].to_numpy(), rcond=None)
        return np.column_stack([np.ones(len(test)), test[cols].to_numpy(np.float64)]) @ coef

    return fit_predict


HAR = ["rv_d", "rv_w", "rv_m"]


def har_gains(
    panel: pd.DataFrame, signals: dict[str, list[str]], start: pd.Timestamp, block: int = 10,
    n_boot: int = 2000, level: float = 0.90, seed: int = 0,
) -> dict[str, Any]:
    """Walk-forward out-of-sample R^2 of HAR-RV alone and with each signal's columns added."""
    base = _walk_forward(panel, start, _ols_forecast(HAR))
    y = panel["target"].reindex(base.index).to_numpy()
    out: dict[str, Any] = {"test_days": len(base), "first_day": str(base.index[0].date()), "last_day": str(base.index[-1].date()),
                           "har_r2": r2_score_oos(y, base.to_numpy()), "signals": {}}
    for name, cols in signals.items():
        pred = _walk_forward(panel, start, _ols_forecast(HAR + cols)).to_numpy()
        ci = block_bootstrap(lambda yy, b, p: r2_score_oos(yy, p) - r2_score_oos(yy, b), y, base.to_numpy(), pred,
                             block=block, n_boot=n_boot, level=level, seed=seed)
        out["signals"][name] = {"columns": len(cols), "r2": r2_score_oos(y, pred), "gain": ci.estimate,
                                "gain_low": ci.low, "gain_high": ci.high, "level": level, "block": block,
                                "excludes_zero": ci.excludes_zero()}
    return out


RULES = ("best", "positive")


def _favourable_positions(label: str, rule: str):
    """Hold (1) in the favourable states of the training rows, else cash (0).

    rule "best": the state with the highest mean next-day return (with two states: the bull
    state, as the jump-model literature labels bull and bear); rule "positive": every state
    whose mean next-day return is above zero. A state never seen in training is not held.
    """
    def fit_predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        mean_next = train.groupby(train[label])["ret_next"].mean()
        good = {mean_next.idxmax()} if rule == "best" else set(mean_next.index[mean_next > 0])
        return test[label].isin(good).to_numpy(np.float64)

    return fit_predict


@dataclass
class StrategyResult:
    stats: dict[str, dict[str, float]]
    equity: pd.DataFrame = field(repr=False)  # per day: net cumulative return of every strategy


def _sharpe(r: np.ndarray) -> float:
    sd = float(np.std(r, ddof=1))
    return float(np.mean(r) / sd * np.sqrt(TRADING_DAYS)) if sd > 0 else float("nan")


def _max_drawdown(r: np.ndarray) -> float:
    wealth = np.cumprod(1.0 + r)
    return float(np.max(1.0 - wealth / np.maximum.accumulate(wealth)))


def regime_switching_strategy(
    panel: pd.DataFrame, labels: list[str], start: pd.Timestamp, cost_bps: float = 1.0, block: int = 10,
    n_boot: int = 2000, level: float = 0.90, seed: int = 0, rule: str = "best",
) -> StrategyResult:
    """0/1 in SPY by regime, walk-forward from `start`, net of `cost_bps` per unit of turnover.

    The position decided at day d's close is held over d -> d+1 and earns `ret_next`; which
    states are held is refitted monthly from the days before (`rule`, see
    `_favourable_positions`). Each strategy's Sharpe difference to buy-and-hold gets a paired
    block-bootstrap interval.
    """
    if rule not in RULES:
        raise InputError(f"rule must be one of {RULES}; got {rule!r}.")
    positions: dict[str, pd.Series | None] = {"buy_and_hold": None}
    for label in labels:
        positions[label] = _walk_forward(panel, start, _favourable_positions(label, rule))
    days = positions[labels[0]].index if labels else panel.index[panel.index >= start]
    ret = panel["ret_next"].reindex(days).to_numpy()
    years = len(days) / TRADING_DAYS
    stats: dict[str, dict[str, float]] = {}
    net_by: dict[str, np.ndarray] = {}
    for name, pos in positions.items():
        p = np.ones(len(days)) if pos is None else pos.reindex(days).to_numpy()
        turnover = np.abs(np.diff(np.concatenate([[0.0], p])))  # entering on day one costs too
        net = p * ret - turnover * cost_bps * 1e-4
        net_by[name] = net
        stats[name] = {"sharpe": _sharpe(net), "total_return": float(np.prod(1.0 + net) - 1.0),
                       "max_drawdown": _max_drawdown(net), "turnover_per_year": float(turnover.sum() / years),
                       "time_invested": float(p.mean())}
    for name in labels:
        ci = block_bootstrap(lambda a, b: _sharpe(a) - _sharpe(b), net_by[name], net_by["buy_and_hold"],
                             block=block, n_boot=n_boot, level=level, seed=seed)
        stats[name].update(sharpe_minus_bh=ci.estimate, sharpe_minus_bh_low=ci.low, sharpe_minus_bh_high=ci.high)
    equity = pd.DataFrame({k: np.cumprod(1.0 + v) - 1.0 for k, v in net_by.items()}, index=days)
    return StrategyResult(stats, equity)


def _dummies(labels: pd.Series, n_states: int, prefix: str) -> pd.DataFrame:
    """One-hot of states 1..K-1 (state 0 is the intercept's)."""
    return pd.DataFrame({f"{prefix}_{k}": (labels == k).astype(np.float64) for k in range(1, n_states)}, index=labels.index)


@dataclass
class SpyEvalResult:
    volatility: dict[str, Any]
    strategy: StrategyResult  # rule "best" (bull state only)
    strategy_positive: StrategyResult  # rule "positive" (every state with a positive training mean)
    training: dict[str, Any]
    settings: dict[str, Any]
    panel: pd.DataFrame = field(repr=False)
    engine: RegimeDetectionEngine | None = field(default=None, repr=False)  # the RDE whose vectors were tested


def spy_regime_eval(
    cfg: RDETrainConfig, bars_1m: pd.DataFrame, train_end: str | pd.Timestamp = "2018-01-01", n_states: int = 2,
    cost_bps: float = 1.0, block: int = 10, n_boot: int = 2000, seed: int = 0, progress: bool = False,
    engine: RegimeDetectionEngine | None = None,
) -> SpyEvalResult:
    """Fit every representation before `train_end`, then walk forward over the rest (module doc).

    Without `engine` an RDE is trained here on the bars before `train_end` (its own
    70/15/15 split inside that period). A given engine must have been trained on data that
    ended before `train_end`; the caller checks (`eval rde` does).
    """
    from sklearn.cluster import KMeans

    from algospace.features.regime.inputs import session_features

    from algospace.evaluation.causal_baselines import baseline_states
    from algospace.evaluation.latent_filter import LatentRegimeFilter
    from algospace.evaluation.rde_eval import train_in_memory

    train_end = pd.Timestamp(train_end)
    train_end = train_end.tz_localize(NY) if train_end.tz is None else train_end.tz_convert(NY)
    bars30 = session_bars(bars_1m, 30, "SPY")
    if not (bars30.index[0] < train_end < bars30.index[-1]):
        raise DataError(f"train_end {train_end.date()} must fall inside the data ({bars30.index[0].date()} .. {bars30.index[-1].date()}).")
    training: dict[str, Any] = {}
    if engine is None:
        engine, _, result = train_in_memory(bars_1m.loc[bars_1m.index < train_end], cfg, progress)
        training = {k: v for k, v in result.metrics.items() if k in ("epochs", "stop_reason", "train_seconds", "test")}
    vectors = engine.regime_series(session_features(engine.feature_spec, bars_1m, "SPY"))  # v2 reads the minutes too
    fit_rows = (vectors.index < train_end)
    km = KMeans(n_clusters=n_states, n_init=10, random_state=seed).fit(vectors.loc[fit_rows].to_numpy())
    filt = LatentRegimeFilter(n_states, "hmm", seed=seed).fit(vectors.loc[fit_rows].to_numpy())
    probs = filt.predict_proba(vectors.to_numpy())
    per_bar = vectors.copy()
    per_bar["rde_kmeans"] = km.predict(vectors.to_numpy())
    per_bar["rde_hmm_filter"] = probs.argmax(axis=1)
    for k in range(1, n_states):
        per_bar[f"rde_filter_p{k}"] = probs[:, k]
    per_bar = per_bar.join(baseline_states(bars30, train_end, n_states, seed=seed), how="inner")
    panel = daily_panel(bars_1m, bars30).join(last_of_day(per_bar), how="inner")
    for name in ("rde_kmeans", "hmm", "jump"):
        panel = panel.join(_dummies(panel[name], n_states, f"{name}_is"))
    vec_cols = [c for c in vectors.columns if c.startswith("regime_")]
    signals = {
        "regime_vector": vec_cols,
        "rde_filter_probabilities": [f"rde_filter_p{k}" for k in range(1, n_states)],
        "rde_kmeans_state": [f"rde_kmeans_is_{k}" for k in range(1, n_states)],
        "hmm_state": [f"hmm_is_{k}" for k in range(1, n_states)],
        "jump_state": [f"jump_is_{k}" for k in range(1, n_states)],
    }
    start = train_end.normalize()
    vol = har_gains(panel, signals, start, block=block, n_boot=n_boot, seed=seed)
    strat = {rule: regime_switching_strategy(panel, ["rde_kmeans", "rde_hmm_filter", "hmm", "jump"], start, cost_bps=cost_bps,
                                             block=block, n_boot=n_boot, seed=seed, rule=rule) for rule in RULES}
    settings = {"train_end": str(train_end.date()), "n_states": n_states, "max_minutes": cfg.max_minutes, "cost_bps": cost_bps, "block_days": block,
                "n_boot": n_boot, "window": int(engine.window), "history_start": str(panel.index[0].date())}
    return SpyEvalResult(vol, strat["best"], strat["positive"], training, settings, panel, engine)


def plot_equity(result: StrategyResult, path: str | Path) -> Path:
    """Net cumulative return of every strategy over the walk-forward period."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from algospace.evaluation.rde_eval import save_figure

    fig, ax = plt.subplots(figsize=(11, 4))
    for name in result.equity.columns:
        ax.plot(result.equity.index, result.equity[name], label=f"{name} (Sharpe {result.stats[name]['sharpe']:.2f})", lw=1.2)
    ax.set_title("SPY walk-forward: 0/1 regime strategies vs buy-and-hold, net of costs")
    ax.set_ylabel("cumulative net return")
    ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, path)
