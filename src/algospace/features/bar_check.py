"""The one bars check of the feature engine's batch paths (indicators, matrices, synergy, regime features).

The bars contract itself (columns, float64 dtypes, tz-aware UTC index, strictly increasing
unique timestamps, finite values, high/low covering open/close, volume >= 0, prices > 0) is
`algospace.data.validate_bars`'s job and raises `DataError`; this module only adds what the
features need on top: a DataFrame at all and enough bars (`InputError`). A streamed bar is
checked by `algospace.data.stream_bar.read_bar`.

Integer volume is refused like any non-float64 column (the contract says float64; the loaders
and `make_bars` always produce it). Nothing is cast, sorted or filled here: a frame that
passes is used as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from algospace.data import BARS_COLUMNS, validate_bars
from algospace.errors import InputError

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
    return {c: bars[c].to_numpy(dtype=np.float64) for c in BARS_COLUMNS}


__all__ = ["check_bars"]
