"""Prove causality: changing any bar after t must change nothing at or before t.

Used by the test-suite for every feature, indicator, matrix and signal, and available to users
who write their own features. The check perturbs every bar after a cut (prices and volume,
keeping the bars contract valid) and compares the outputs up to the cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS
from algospace.errors import InputError


def perturb_after(bars: pd.DataFrame, cut: pd.Timestamp | int, seed: int = 0, scale: float = 0.05) -> pd.DataFrame:
    """Return a copy of `bars` whose rows strictly after `cut` are randomly changed.

    `cut` is a timestamp in the index or a positional row number. Prices move by a random
    factor of up to +-`scale`, volume by up to x3; high/low stay consistent with open/close.
    """
    out = bars.copy()
    pos = cut if isinstance(cut, (int, np.integer)) else int(bars.index.get_loc(cut))
    n_after = len(bars) - pos - 1
    if n_after <= 0:
        return out
    rng = np.random.default_rng(seed)
    rows = slice(pos + 1, None)
    factor = 1.0 + rng.uniform(-scale, scale, size=n_after)
    o = bars["open"].to_numpy()[rows] * factor * (1 + rng.uniform(-scale, scale, n_after) / 4)
    c = bars["close"].to_numpy()[rows] * factor * (1 + rng.uniform(-scale, scale, n_after) / 4)
    spread = np.abs(bars["high"].to_numpy()[rows] - bars["low"].to_numpy()[rows]) * factor
    h = np.maximum(o, c) + spread * rng.uniform(0, 1, n_after)
    lo = np.minimum(o, c) - spread * rng.uniform(0, 1, n_after)
    v = bars["volume"].to_numpy()[rows] * rng.uniform(0.0, 3.0, n_after) + rng.integers(0, 1000, n_after)
    for name, values in zip(BARS_COLUMNS, (o, h, lo, c, v)):
        col = out[name].to_numpy(copy=True)
        col[pos + 1 :] = values
        out[name] = col
    return out


def _as_frame(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, pd.Series):
        return result.to_frame()
    raise InputError(f"assert_causal expects the function to return a pandas DataFrame or Series; got {type(result).__name__}.")


def assert_causal(
    compute: Callable[[pd.DataFrame], pd.DataFrame | pd.Series],
    bars: pd.DataFrame,
    cuts: Iterable[pd.Timestamp | int],
    seed: int = 0,
    atol: float = 0.0,
) -> None:
    """Raise AssertionError if any output at or before a cut changes when later bars change.

    `compute(bars)` must return a DataFrame/Series indexed by bar timestamp (rows may be a
    subset, e.g. warm-up left out). For each cut, bars after it are perturbed, `compute` is
    re-run, and every output row with index <= the cut's timestamp must match the original
    (NaN equal to NaN) within `atol`.
    """
    base = _as_frame(compute(bars))
    for i, cut in enumerate(cuts):
        cut_ts = bars.index[cut] if isinstance(cut, (int, np.integer)) else cut
        changed = _as_frame(compute(perturb_after(bars, cut, seed=seed + i)))
        a = base.loc[base.index <= cut_ts]
        b = changed.loc[changed.index <= cut_ts]
        if not a.index.equals(b.index):
            raise AssertionError(f"Output rows at or before {cut_ts} differ after perturbing later bars (index changed).")
        av, bv = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        same = np.isclose(av, bv, rtol=0.0, atol=atol, equal_nan=True)
        if not same.all():
            r, c = np.argwhere(~same)[0]
            raise AssertionError(
                f"Look-ahead: output {a.columns[c]!r} at {a.index[r]} changed from {av[r, c]!r} to {bv[r, c]!r} "
                f"when only bars after {cut_ts} were changed."
            )
