"""Synthetic 1-minute bars from a regime-switching process with known labels.

Used to ask whether the RDE recovers regimes it was never told about. Regimes differ in
drift, volatility, autocorrelation and volume; the regime follows a Markov chain on the
30-minute clock with realistic durations (days, not bars). Trading hours follow the SPY
sample's session (09:30-16:00 New York) so the same bar pipeline applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from algospace.errors import InputError


@dataclass(frozen=True)
class Regime:
    name: str
    drift: float  # mean 1-minute log return
    vol: float  # std of 1-minute log return innovations
    phi: float  # lag-1 autocorrelation of 1-minute returns
    volume: float  # mean 1-minute volume


DEFAULT_REGIMES: tuple[Regime, ...] = (
    Regime("calm-bull", drift=+2.0e-5, vol=0.00035, phi=0.00, volume=60_000),
    Regime("volatile-bear", drift=-4.0e-5, vol=0.00120, phi=0.00, volume=220_000),
    Regime("choppy-mean-reverting", drift=0.0, vol=0.00070, phi=-0.35, volume=110_000),
    Regime("trending-momentum", drift=+3.0e-5, vol=0.00060, phi=+0.30, volume=140_000),
)

BARS_PER_DAY_30M = 13  # 09:30-16:00 New York


def generate_regime_bars(
    days: int = 400,
    regimes: tuple[Regime, ...] = DEFAULT_REGIMES,
    mean_duration_30m: float = 52.0,
    start: str = "2021-01-04",
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.Series]:
    """Return (1-minute bars, true regime label per 30-minute bar open time).

    The chain stays in a regime for `mean_duration_30m` 30-minute bars on average (about
    four trading days) and jumps uniformly to another regime.
    """
    if days < 10:
        raise InputError(f"days must be >= 10; got {days}.")
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range(start, periods=days)  # naive local dates; localised below (DST-aware)
    n30 = days * BARS_PER_DAY_30M
    labels = markov_labels(n30, [mean_duration_30m] * len(regimes), rng)
    per_min = np.repeat(labels, 30)  # 390 minutes a day = 13 x 30
    drift = np.array([r.drift for r in regimes])[per_min]
    vol = np.array([r.vol for r in regimes])[per_min]
    phi = np.array([r.phi for r in regimes])[per_min]
    vmean = np.array([r.volume for r in regimes])[per_min]
    n = len(per_min)
    eps = rng.standard_normal(n) * vol
    ret = ar1_returns(drift, phi, eps)
    open_, high, low, close = ohlc_from_returns(ret, vol, rng)
    volume = np.round(vmean * rng.lognormal(0.0, 0.35, n) * (1.0 + 200.0 * np.abs(ret)))
    return bars_and_truth(sessions, labels, open_, high, low, close, volume)


def ar1_returns(drift: np.ndarray, phi: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """1-minute returns r_i = drift_i + phi_i (r_{i-1} - drift_i) + eps_i (per-minute parameters)."""
    ret = np.empty(len(eps))
    prev = 0.0
    for i in range(len(eps)):  # AR(1) returns: the loop is sequential by nature
        prev = drift[i] + phi[i] * (prev - drift[i]) + eps[i]
        ret[i] = prev
    return ret


def markov_labels(n30: int, mean_durations_30m: list[float], rng: np.random.Generator) -> np.ndarray:
    """A regime per 30-minute bar: regime k lasts `mean_durations_30m[k]` bars on average
    (geometric), then the chain jumps uniformly to another regime."""
    k = len(mean_durations_30m)
    labels = np.empty(n30, dtype=np.int64)
    state = int(rng.integers(k))
    for i in range(n30):
        if i and rng.random() < 1.0 / mean_durations_30m[state]:
            state = int((state + rng.integers(1, k)) % k)
        labels[i] = state
    return labels


def ohlc_from_returns(ret: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """1-minute open, high, low, close from log returns; the wick scales with the minute's sigma."""
    n = len(ret)
    close = 100.0 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[100.0], close[:-1]])
    wiggle = np.abs(rng.standard_normal((2, n))) * sigma * close * 0.6
    high = np.maximum(open_, close) + wiggle[0]
    low = np.minimum(open_, close) - wiggle[1]
    return open_, high, low, close


def bars_and_truth(
    sessions: pd.DatetimeIndex, labels: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray,
    close: np.ndarray, volume: np.ndarray,
) -> tuple[pd.DataFrame, pd.Series]:
    """Stamp 390 one-minute bars a session (09:30-16:00 New York, DST-aware) and the 30-minute labels."""
    minute_offsets = pd.to_timedelta(np.arange(390) + 9 * 60 + 30, unit="min")
    stamps = (sessions.values[:, None] + minute_offsets.values[None, :]).ravel()
    index = pd.DatetimeIndex(stamps).tz_localize("America/New_York").tz_convert("UTC")
    index.name = "timestamp"
    bars = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)
    truth = pd.Series(labels, index=index[::30], name="regime")
    return bars, truth
