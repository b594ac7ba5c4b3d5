"""The one bars check of the feature engine (indicators, matrices, synergy, regime features).

The bars contract itself (columns, float64 dtypes, tz-aware UTC index, strictly increasing
unique timestamps, finite values, high/low covering open/close, volume >= 0, prices > 0) is
`algospace.data.validate_bars`'s job and raises `DataError`; this module only adds what the
features need on top: a DataFrame at all and enough bars (`InputError`).

Integer volume is refused like any non-float64 column (the contract says float64; the loaders
and `make_bars` always produce it). Nothing is cast, sorted or filled here: a frame that
passes is used as it is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from algospace.data import BARS_COLUMNS, validate_bars
from algospace.errors import DataError, InputError

BAR_COLUMNS: tuple[str, ...] = tuple(BARS_COLUMNS)


def check_bars(bars: Any, who: str, *, min_bars: int = 1, why: str = "") -> dict[str, np.ndarray]:
    """Validate a bars DataFrame; return its OHLCV columns as float64 numpy arrays.

    `who` names the caller in messages; `min_bars` is the fewest bars it can use and `why`
    says where that number comes from (appended to the message). Raises InputError for a
    non-DataFrame or too few bars, DataError for anything that breaks the bars contract.
    """
    if not isinstance(bars, pd.DataFrame):
        raise InputError(f"{who} expects a bars pandas DataFrame; received {type(bars).__name__}.")
    if len(bars) < min_bars:
        raise InputError(
            f"{who} needs at least {min_bars} bars{f' ({why})' if why else ''}; received {len(bars)}. "
            "Pass a longer history."
        )
    validate_bars(bars, source=who)
    return {c: bars[c].to_numpy(dtype=np.float64) for c in BAR_COLUMNS}


def check_bar_values(who: str, ts: object, o: float, h: float, lo: float, c: float, v: float) -> None:
    """The bars contract for one streamed bar (the batch paths get it from `check_bars`), so a
    bar a batch call refuses is refused by the streams too."""
    for name, x in zip(BAR_COLUMNS, (o, h, lo, c, v)):
        if not math.isfinite(x):
            problem = f"non-finite {name}={x!r}"
            break
    else:
        if min(o, h, lo, c) <= 0:
            problem = f"a price <= 0 (open {o}, high {h}, low {lo}, close {c})"
        elif h < max(o, c) or lo > min(o, c):
            problem = f"high/low not covering open/close (open {o}, high {h}, low {lo}, close {c})"
        elif v < 0:
            problem = f"negative volume {v}"
        else:
            return
    raise DataError(
        f"{who}: bar {ts} breaks the bars contract: {problem}; expected finite values, prices > 0, "
        "high >= max(open, close), low <= min(open, close), volume >= 0. Repair the data before streaming it."
    )


__all__ = ["BAR_COLUMNS", "check_bar_values", "check_bars"]
