"""A harder synthetic regime set: regimes that differ in what 30-minute Gaussian statistics miss.

The basic set (`synthetic.py`) separates its regimes by drift, volatility and volume level,
exactly what the HMM baseline is handed. Here two pairs of regimes share their 30-minute
volatility and their mean volume, so within a pair only finer structure tells them apart:

- calm-diffusive vs calm-jumpy: the same 30-minute variance, but in the jumpy regime half of it
  comes from 1-minute jumps (fat tails, about 13 jumps a day, each about 4 minute-sigmas);
- stressed-choppy vs stressed-informed: the same, higher, 30-minute variance; the choppy regime
  has negative 1-minute autocorrelation (-0.35) and volume that barely follows price moves, the
  informed one positive autocorrelation (+0.25) and volume strongly coupled to |return|.

Durations run from hours to weeks (mean 10 to 130 30-minute bars). Nothing is perfectly
invisible to the HMM's six observations (a jump shows in one bar's return and range, the
autocorrelation changes the bar's range a little), which is also true of real markets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from algospace.errors import InputError
from algospace.evaluation.synthetic import BARS_PER_DAY_30M, ar1_returns, bars_and_truth, markov_labels, ohlc_from_returns


@dataclass(frozen=True)
class HardRegime:
    name: str
    vol_30m: float  # std of the 30-minute log return (what the HMM's range/volatility see)
    phi: float  # lag-1 autocorrelation of 1-minute returns
    jump_share: float  # share of the 1-minute innovation variance that comes from jumps
    jump_rate: float  # jump probability per minute (when jump_share > 0)
    volume_coupling: float  # volume ~ 1 + c |r| / sigma: how strongly volume follows price moves
    duration_30m: float  # mean duration in 30-minute bars
    volume: float = 100_000.0  # mean 1-minute volume (equal across regimes: the level tells nothing)


HARD_REGIMES: tuple[HardRegime, ...] = (
    HardRegime("calm-diffusive", vol_30m=0.0025, phi=0.0, jump_share=0.0, jump_rate=0.0, volume_coupling=0.5, duration_30m=130.0),
    HardRegime("calm-jumpy", vol_30m=0.0025, phi=0.0, jump_share=0.5, jump_rate=1 / 30, volume_coupling=0.5, duration_30m=26.0),
    HardRegime("stressed-choppy", vol_30m=0.0050, phi=-0.35, jump_share=0.0, jump_rate=0.0, volume_coupling=0.2, duration_30m=10.0),
    HardRegime("stressed-informed", vol_30m=0.0050, phi=0.25, jump_share=0.0, jump_rate=0.0, volume_coupling=4.0, duration_30m=39.0),
)


def innovation_sd(vol_30m: float, phi: float, minutes: int = 30) -> float:
    """Innovation std of an AR(1) whose sum over `minutes` steps has std `vol_30m`.

    Var(sum of n stationary AR(1) steps) = s^2 / (1 - phi^2) * (n + 2 sum_k (n - k) phi^k).
    """
    k = np.arange(1, minutes)
    factor = (minutes + 2.0 * np.sum((minutes - k) * phi**k)) / (1.0 - phi**2)
    return float(vol_30m / np.sqrt(factor))


def generate_hard_regime_bars(
    days: int = 400, regimes: tuple[HardRegime, ...] = HARD_REGIMES, start: str = "2021-01-04", seed: int = 0
) -> tuple[pd.DataFrame, pd.Series]:
    """Return (1-minute bars, true regime label per 30-minute bar open time); see the module doc."""
    if days < 10:
        raise InputError(f"days must be >= 10; got {days}.")
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range(start, periods=days)
    labels = markov_labels(days * BARS_PER_DAY_30M, [r.duration_30m for r in regimes], rng)
    per_min = np.repeat(labels, 30)
    n = len(per_min)

    def param(name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in regimes], dtype=np.float64)[per_min]

    s_e = np.array([innovation_sd(r.vol_30m, r.phi) for r in regimes])[per_min]  # innovation std per minute
    share, rate, phi = param("jump_share"), param("jump_rate"), param("phi")
    jump_sd = np.sqrt(share * s_e**2 / np.where(rate > 0, rate, 1.0))  # rate * jump_sd^2 = share * s_e^2
    eps = rng.standard_normal(n) * s_e * np.sqrt(1.0 - share) + (rng.random(n) < rate) * rng.standard_normal(n) * jump_sd
    ret = ar1_returns(np.zeros(n), phi, eps)
    sigma_1m = s_e / np.sqrt(1.0 - phi**2)  # stationary std of the 1-minute return
    open_, high, low, close = ohlc_from_returns(ret, np.sqrt(1.0 - share) * sigma_1m, rng)
    raw = rng.lognormal(0.0, 0.35, n) * (1.0 + param("volume_coupling") * np.abs(ret) / sigma_1m)
    # Normalise each regime's volume to its stated mean, so the level carries no information.
    scale = pd.Series(raw).groupby(per_min).transform("mean").to_numpy()
    volume = np.round(param("volume") * raw / scale)
    return bars_and_truth(sessions, labels, open_, high, low, close, volume)
