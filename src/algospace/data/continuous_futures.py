"""Continuous futures (`algospace.data.continuous`): splice per-expiry contract files into one back-adjusted series.

Contracts are ordered by their last timestamp (expiry order), whatever the file names. Each roll
moves from the front contract to the next at a session open (trade dates from the instrument's
exchange calendar):
- `roll="volume"`: the first trade date on which the next contract traded more than the front
  one; the roll takes effect at the NEXT session, because a day's volume is known only when the
  day is over (rolling on the same day would read the future).
- `roll="calendar"`: `roll_days` calendar days before the front contract's last trade date in
  its file (default 8: the ES/NQ roll, second Thursday before the third-Friday expiry); the
  roll takes effect at the first session on or after that date.
Adjustment at each roll compares the two contracts' closes in the last session before the roll
(both must trade in it): `difference` adds new - old to every earlier price, `ratio` multiplies
earlier prices by new / old (both cumulative back from the last contract, whose prices stay
real), `none` splices raw prices. Volume is never adjusted. The rolls table records, per roll,
the contracts, the session, the two closes and the adjustment carried by the earlier prices.

Example: ``series, rolls = continuous(["ESH19.csv", "ESM19.csv"], roll="volume", adjust="difference")``
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS
from algospace.data.instruments import Instrument, resolve_instrument
from algospace.errors import DataError, InputError

ROLLS = ("volume", "calendar")
ADJUSTS = ("difference", "ratio", "none")
_PRICES = {"bars": ("open", "high", "low", "close"), "ticks": ("price",)}


class Continuous(NamedTuple):
    """The continuous series (bars or ticks contract) and its rolls (one row per roll)."""

    series: pd.DataFrame
    rolls: pd.DataFrame


def _check(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(f"The '{name}' parameter must be one of {', '.join(allowed)}; received {value!r}.")
    return value


def _load(contracts: Sequence[str | os.PathLike[str]] | Mapping[str, pd.DataFrame], read: dict[str, Any]) -> dict[str, pd.DataFrame]:
    from algospace.data.sources import load_data

    if isinstance(contracts, Mapping):
        frames = {str(k): v for k, v in contracts.items()}
    elif isinstance(contracts, (str, os.PathLike)) or not isinstance(contracts, Sequence):
        raise InputError(f"continuous expects a list of contract files (or a name -> frame mapping); received {type(contracts).__name__}.")
    else:
        frames = {}
        for f in contracts:
            key = Path(f).name.split(".")[0]
            if key in frames:
                key = str(f)
            frames[key] = load_data(f, repair=False, **read)
    if len(frames) < 2:
        raise InputError(f"continuous needs at least two contracts; received {len(frames)}.")
    kinds = {k: ("bars" if set(BARS_COLUMNS) <= set(v.columns) else "ticks") for k, v in frames.items()}
    if len(set(kinds.values())) > 1:
        raise DataError(f"continuous needs one kind of data; received {kinds}. Pass only bar files or only tick files.")
    for k, v in frames.items():
        if len(v) == 0:
            raise DataError(f"contract {k}: no rows.")
    ordered = dict(sorted(frames.items(), key=lambda kv: kv[1].index[-1]))
    keys = list(ordered)
    for a, b in zip(keys, keys[1:]):
        if ordered[a].index[-1] == ordered[b].index[-1]:
            raise DataError(
                f"contracts {a} and {b} both end at {ordered[a].index[-1]}; the expiry order comes from each file's last "
                "timestamp, so give each contract's file up to its own expiry (or roll)."
            )
    return ordered


def _daily(frame: pd.DataFrame, days: np.ndarray) -> pd.DataFrame:
    """Per trade date: volume and the last close (last price for ticks)."""
    col = "close" if "close" in frame.columns else "price"
    g = pd.DataFrame({"day": days, "volume": frame["volume"].to_numpy(), "close": frame[col].to_numpy()}).groupby("day", sort=True)
    return pd.DataFrame({"volume": g["volume"].sum(), "close": g["close"].last()})


def continuous(
    contracts: Sequence[str | os.PathLike[str]] | Mapping[str, pd.DataFrame],
    *,
    roll: str = "volume",
    adjust: str = "difference",
    instrument: str | Instrument | None = None,
    roll_days: int = 8,
    **read: Any,
) -> Continuous:
    """One continuous series from per-expiry contract files or frames (see the module doc).

    `read` passes file-reading options on (timestamp_column, timezone, format, dayfirst).

    Example: ``series, rolls = continuous(["ESH19.csv", "ESM19.csv"], roll="calendar", adjust="ratio")``
    """
    _check("roll", roll, ROLLS)
    _check("adjust", adjust, ADJUSTS)
    if isinstance(roll_days, bool) or not isinstance(roll_days, int) or roll_days < 0:
        raise InputError(f"The 'roll_days' parameter must be a whole number of days >= 0; received {roll_days!r}.")
    frames = _load(contracts, read)
    names = list(frames)
    inst = resolve_instrument(instrument, next(iter(frames.values())))
    cal = inst.calendar
    days = {k: cal.trade_dates(v.index) for k, v in frames.items()}
    daily = {k: _daily(frames[k], days[k]) for k in names}

    starts: list[int] = []  # trade date (ns) from which contract i+1 is used
    rows = []
    prev = -(2**62)
    for i in range(len(names) - 1):
        front, nxt = names[i], names[i + 1]
        df, dn = daily[front], daily[nxt]
        after_prev = dn.index[dn.index >= prev]
        if roll == "volume":
            common = df.index.intersection(dn.index)
            common = common[common >= prev]
            over = common[dn.loc[common, "volume"].to_numpy() > df.loc[common, "volume"].to_numpy()]
            later = after_prev[after_prev > over[0]] if len(over) else after_prev[after_prev > df.index[-1]]
            reason = (f"volume: {nxt} traded more than {front} on {pd.Timestamp(int(over[0])).date()}" if len(over)
                      else f"volume never crossed: {front} ended")
        else:
            target = df.index[-1] - roll_days * 86_400 * 10**9
            later = after_prev[after_prev >= max(target, prev)]
            reason = f"calendar: {roll_days} days before {front}'s last trade date {pd.Timestamp(int(df.index[-1])).date()}"
        if not len(later):
            raise DataError(f"contract {nxt}: no data at or after the roll from {front} ({reason}); its file ends at {frames[nxt].index[-1]}.")
        at = int(later[0])
        before = df.index[df.index < at].intersection(dn.index[dn.index < at])
        if not len(before):
            raise DataError(
                f"contracts {front} and {nxt} share no trade date before the roll on {pd.Timestamp(at).date()} ({reason}); "
                "the adjustment needs both closes on one day. Give files that overlap by at least a day."
            )
        ref = before[-1]
        old, new = float(df.loc[ref, "close"]), float(dn.loc[ref, "close"])
        starts.append(at)
        rows.append({"trade_date": pd.Timestamp(at).date(), "from_contract": front, "to_contract": nxt, "reason": reason,
                     "reference_date": pd.Timestamp(int(ref)).date(), "old_close": old, "new_close": new,
                     "difference": new - old, "ratio": new / old})
        prev = at

    # Which rows of which contract: contract i covers trade dates [starts[i-1], starts[i]).
    bounds = [-(2**62), *starts, 2**62]
    pieces, offsets, factors = [], [], []
    rolls = pd.DataFrame(rows)
    diff_after = np.r_[np.cumsum(rolls["difference"].to_numpy()[::-1])[::-1], 0.0]  # offset of contract i
    ratio_after = np.r_[np.cumprod(rolls["ratio"].to_numpy()[::-1])[::-1], 1.0]
    for i, k in enumerate(names):
        keep = (days[k] >= bounds[i]) & (days[k] < bounds[i + 1])
        part = frames[k].loc[keep].copy()
        for c in _PRICES["bars" if "close" in part.columns else "ticks"]:
            if adjust == "difference":
                part[c] = part[c] + diff_after[i]
            elif adjust == "ratio":
                part[c] = part[c] * ratio_after[i]
        pieces.append(part)
        offsets.append(diff_after[i])
        factors.append(ratio_after[i])
    series = pd.concat(pieces)
    series = series[[c for c in series.columns if c in (*BARS_COLUMNS, "price", "volume")]]
    if adjust == "difference" and (series.filter(items=["open", "high", "low", "close", "price"]) <= 0).any().any():
        raise DataError("difference back-adjustment made some prices <= 0 (a long history with a large cumulative roll gap); use --adjust ratio.")
    rolls["adjust"] = adjust
    rolls["earlier_offset"] = offsets[:-1] if adjust == "difference" else 0.0
    rolls["earlier_factor"] = factors[:-1] if adjust == "ratio" else 1.0
    series.attrs = {"instrument": inst.name, "kind": "bars" if "close" in series.columns else "ticks", "contracts": names,
                    "roll": roll, "adjust": adjust}
    return Continuous(series, rolls)


def rolls_path(out: str | os.PathLike[str]) -> Path:
    """Where the rolls table goes beside a continuous series file: OUT with .rolls.csv."""
    p = Path(out)
    return p.with_name(p.name.split(".")[0] + ".rolls.csv")


__all__ = ["Continuous", "continuous", "rolls_path", "ROLLS", "ADJUSTS"]
