"""The decision core's data set: every signal's inputs, its M-RMS proposal and its outcome in R.

One builder for `train core` and `eval core`, so both see the same rows, labels and split:

1. bars -> `sim.Market` (SPY runs as the ES/MES proxy) -> component signals -> trade paths
   (the simulator's costs are the M-RMS artifact's, so labels price trades as it was trained);
2. at each signal: the 30- and 5-minute matrices and the LVN summary (`core_inputs`), the RDE's
   regime vector at the 30-minute bar the signal sees (`pos30`; computed by the engine's backend,
   which `train core` records: `engines.rde_backend`), the 30-value synergy vector;
3. the M-RMS proposal for a FRESH account (the label must describe the signal, not the path of
   an account that depends on which earlier signals some policy took) and the gate's 8-value
   risk vector built from it (`engines.risk_vector`, the one builder);
4. label: the outcome in R of exactly the trade that proposal places (its stop and target
   ticks) through `sim.simulate_ticks`. R is per unit of risk, so it does not depend on the
   size; a proposal of 0 contracts is priced at 1 contract (the eval never trades those);
5. a chronological split by trading day (fractions of signals), and no trade may end after the
   first entry of the next split: such rows are dropped, so no outcome reads across a boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from algospace.errors import DataError, InputError

SPLITS = ("train", "val", "test")
INPUT_NAMES = ("m30", "m5", "regime", "lvn", "synergy")


@dataclass
class CoreData:
    """Rows are usable signals, in time order; `rows` maps them to the full signal set."""

    market: Any  # sim.Market
    signals: Any  # SignalSet: all signals
    paths: Any  # TradePaths of all signals (the M-RMS's simulator costs)
    rows: np.ndarray  # (N,) int64 signal rows used
    inputs: dict[str, np.ndarray]  # INPUT_NAMES -> (N, ...) float32
    risk: np.ndarray  # (N, 8) float32 risk vectors of the fresh-account proposals
    proposals: Any  # ProposalArrays (fresh account) of the rows
    r: np.ndarray  # (N,) float64 outcome in R of the proposed trade
    split: np.ndarray  # (N,) int8 index into SPLITS
    boundaries: dict[str, str]  # first trading day of val and test (ISO)
    data_fingerprint: str
    counts: dict[str, Any] = field(default_factory=dict)
    rde_backend: str = "torch"  # the RDE backend the regime vectors came from (`engine.backend_name`)

    @property
    def win(self) -> np.ndarray:
        return (self.r > 0).astype(np.float32)

    def part(self, name: str) -> np.ndarray:
        """Positions (into the N rows) of one split."""
        return np.flatnonzero(self.split == SPLITS.index(name))


def fresh_rooms(account_config: Any) -> tuple[float, float]:
    """(daily-loss room, max-loss room) in USD of an account that has not traded."""
    return float(account_config.daily_loss_limit), float(account_config.max_loss)


def regime_at(engine: Any, bars_30m: pd.DataFrame, pos30: np.ndarray, data: pd.DataFrame | None = None) -> np.ndarray:
    """(N, 8) regime vectors at the 30-minute bars `pos30` (NaN where the RDE has no full window).

    One window per call, as the runtime asks (`get_regime_vector`): a batched call may round
    differently (oneDNN ~1e-7), so this way the core is trained and evaluated on the very
    vectors, to the last bit, that the runtime computes with the same backend (`engines.rde_backend`).
    An RDE whose feature spec reads 1-minute bars (version 2) is given `data`, the ticks or
    1-minute bars the 30-minute bars were built from.
    """
    reads_minutes = getattr(engine.feature_spec, "needs_minute_bars", False)
    if reads_minutes and data is None:
        raise InputError("This RDE's feature spec (version 2) reads 1-minute bars; pass the ticks or 1-minute bars as `data`.")
    series = engine.regime_series(data if reads_minutes else bars_30m, batch_size=1)
    vec = series.reindex(bars_30m.index).to_numpy(np.float64)  # one row per 30-minute bar
    out = np.full((len(pos30), vec.shape[1]), np.nan)
    ok = pos30 >= 0
    out[ok] = vec[pos30[ok]]
    return out


def day_split(day: np.ndarray, train_fraction: float, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split code per row (0/1/2) by whole trading days, cutting at the given shares of rows.

    Returns (split, first day of each split). Days stay whole: a day's signals share a split.
    """
    days, first, per_day = np.unique(day, return_index=True, return_counts=True)
    if len(days) < 3:
        raise DataError(f"{len(days)} trading days with signals are too few to split train/val/test; use more data.")
    cum = np.cumsum(per_day) / per_day.sum()
    i_val = int(np.clip(np.searchsorted(cum, train_fraction, side="right"), 1, len(days) - 2))
    i_test = int(np.clip(np.searchsorted(cum, train_fraction + val_fraction, side="right"), i_val + 1, len(days) - 1))
    code_of_day = np.zeros(len(days), np.int8)
    code_of_day[i_val:] = 1
    code_of_day[i_test:] = 2
    return code_of_day[np.searchsorted(days, day)], days[[0, i_val, i_test]]


def prepare_core_data(bars: pd.DataFrame | str, rde: Any, risk_manager: Any, train_fraction: float = 0.70,
                      val_fraction: float = 0.15, instrument: str = "ES", start: str | None = None,
                      end: str | None = None) -> CoreData:
    """Bars (or a sample name) + loaded RDE engine + RiskManager -> CoreData (see the module doc)."""
    from algospace.data import load_data
    from algospace.engines.risk_vector import risk_vector
    from algospace.features.core_inputs import core_frames, core_inputs
    from algospace.signals import build_signals
    from algospace.sim import REASONS, Market, PropFirmAccount, build_paths, simulate_ticks
    from algospace.training.rde import data_fingerprint

    frame = load_data(bars) if isinstance(bars, str) else bars
    if start is not None or end is not None:
        idx = frame.index
        keep = np.ones(len(frame), bool)
        if start is not None:
            keep &= idx >= pd.Timestamp(start, tz="UTC")
        if end is not None:
            keep &= idx < pd.Timestamp(end, tz="UTC")
        frame = frame.loc[keep]
    market = Market.load(frame, instrument)
    sigs = build_signals(market.bars_5m, market.bars_30m, "components", proxy=market.proxy)
    if len(sigs) == 0:
        raise DataError("No trade signals in these bars; use more data (the indicators need a warm-up).")
    paths = build_paths(market.bars, sigs, market.instrument, market.calendar, risk_manager.sim_config)
    frames = core_frames(market.bars_5m, market.bars_30m)
    m30, m5, lvn, pos30, ok = core_inputs(frames, sigs.times)
    regime = regime_at(rde, market.bars_30m, pos30, frame)
    ok &= np.isfinite(regime).all(axis=1) & paths.valid
    counts: dict[str, Any] = {"signals": len(sigs), "warmup_or_invalid": int((~ok).sum())}
    rows = np.flatnonzero(ok)

    # M-RMS proposals for a fresh account, then exactly those trades through the simulator
    acct = PropFirmAccount(risk_manager.account_config)
    daily, mloss = fresh_rooms(risk_manager.account_config)
    x = np.concatenate([sigs.vectors[rows], np.repeat(acct.vector()[None], len(rows), 0)], axis=1).astype(np.float32)
    n = len(rows)
    prop = risk_manager.propose_arrays(x, sigs.close[rows], sigs.directions[rows].astype(np.float64), sigs.atr[rows],
                                       market.instrument, np.full(n, daily), np.full(n, mloss))
    out = simulate_ticks(paths, rows, np.maximum(prop.position_size, 1), prop.stop_ticks, prop.target_ticks)
    traded = out.traded & ~np.isin(out.reason, [REASONS.index("no_entry"), REASONS.index("no_trade")])
    counts["not_entered"] = int((~traded).sum())

    split, first_days = day_split(paths.day[rows], train_fraction, val_fraction)
    # no trade of one split may still be open when the next split's first trade enters
    entry_ns = paths.entry_time_ns[rows]
    crosses = np.zeros(n, bool)
    for code in (0, 1):
        nxt = entry_ns[split == code + 1]
        if len(nxt):
            crosses |= (split == code) & (out.exit_time_ns > nxt.min())
    counts["dropped_at_boundaries"] = int((crosses & traded).sum())
    keep = traded & ~crosses
    pos = np.flatnonzero(keep)
    if not all((split[pos] == c).any() for c in range(3)):
        raise DataError("A split holds no usable signal; use more data.")
    counts.update({name: int((split[pos] == c).sum()) for c, name in enumerate(SPLITS)})
    prop_kept = type(prop)(**{k: np.asarray(v)[pos] for k, v in vars(prop).items()})
    use = rows[pos]  # signal rows kept
    inputs = {"m30": m30[use], "m5": m5[use], "regime": regime[use], "lvn": lvn[use], "synergy": sigs.vectors[use]}
    risk = risk_vector(prop_kept, sigs.atr[use], market.instrument.tick_size, min(daily, mloss),
                       risk_manager.account_config.max_contracts)
    counts["mrms_zero_size"] = int((prop_kept.position_size == 0).sum())
    return CoreData(
        market=market, signals=sigs, paths=paths, rows=use,
        inputs={k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()},
        risk=risk, proposals=prop_kept, r=out.r_multiple[pos].astype(np.float64), split=split[pos],
        boundaries={"val": pd.Timestamp(first_days[1], tz="UTC").isoformat(), "test": pd.Timestamp(first_days[2], tz="UTC").isoformat()},
        data_fingerprint=data_fingerprint(market.bars), counts=counts,
        rde_backend=str(getattr(rde, "backend_name", "torch-eager")),
    )
