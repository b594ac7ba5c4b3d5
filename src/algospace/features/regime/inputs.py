"""What a regime feature spec reads: 30-minute bars, and for version 2 the 1-minute bars inside them.

One place turns the caller's frames into arrays for `fit` and `transform`:
- `bars` 30-minute bars and `minute_bars` the 1-minute bars they were built from; or
- for version 2, the 1-minute bars alone (`minute_bars=None`): they are aggregated to 30-minute
  session bars with `algospace.data.session_bars`, the instrument read from `attrs` as
  everywhere else, so `spec.transform(sample("spy-1m"))` works as is.
Version 1 reads only `bars` (a `minute_bars` argument is accepted and not read), exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from algospace.data.bars import BARS_COLUMNS
from algospace.errors import InputError
from algospace.features.bar_check import check_bars
from algospace.features.regime.intrabar import BAR_NS, assign_minutes, intrabar_sums, minute_values


@dataclass(frozen=True)
class RegimeInputs:
    """The 30-minute bars (frame and (N, 5) values) and, for version 2, each bar's minute sums."""

    bars: pd.DataFrame
    values: np.ndarray  # (N, 5) open, high, low, close, volume
    sums: np.ndarray | None  # (N, len(INTRABAR_SUMS)) or None (version 1)


def _ns(index: pd.Index) -> np.ndarray:
    """UTC nanoseconds of a tz-aware DatetimeIndex, whatever its unit."""
    return pd.DatetimeIndex(index).as_unit("ns").asi8


def _finer_than_30m(bars: pd.DataFrame) -> bool:
    if not isinstance(bars.index, pd.DatetimeIndex) or len(bars) < 2:
        return False
    return float(np.median(np.diff(_ns(bars.index)))) < BAR_NS


def regime_inputs(
    bars: object, minute_bars: pd.DataFrame | None, needs_minutes: bool, who: str, *, min_bars: int, why: str
) -> RegimeInputs:
    """Check and convert the caller's frames (see the module doc); InputError names what is missing."""
    if needs_minutes and minute_bars is None and isinstance(bars, pd.DataFrame) and _finer_than_30m(bars):
        from algospace.data.session_bars import session_bars

        minute_bars, bars = bars, session_bars(bars, 30)
    check_bars(bars, who, min_bars=min_bars, why=why)
    assert isinstance(bars, pd.DataFrame)  # check_bars refused anything else
    values = np.ascontiguousarray(bars.loc[:, list(BARS_COLUMNS)].to_numpy(dtype=np.float64))
    if not needs_minutes:
        return RegimeInputs(bars, values, None)
    if minute_bars is None:
        raise InputError(
            f"{who}: this feature spec (version 2) reads the 1-minute bars inside each 30-minute bar; pass "
            "minute_bars=<the 1-minute bars> with the 30-minute bars, or the 1-minute bars alone."
        )
    if _finer_than_30m(bars):
        raise InputError(f"{who}: with minute_bars given, `bars` must be the 30-minute bars; these are finer.")
    ns, minutes = minute_values(minute_bars, f"{who} (minute_bars)")
    sums = intrabar_sums(minutes, assign_minutes(_ns(bars.index), ns), len(bars))
    return RegimeInputs(bars, values, sums)


def minute_bars_for(data: pd.DataFrame, instrument: object = None, who: str = "feature spec version 2") -> pd.DataFrame:
    """The 1-minute session bars of ticks or 1-minute bars (what version 2 reads beside the 30-minute bars).

    Coarser bars cannot give them: InputError saying so (a version-1 spec reads 30-minute bars only).
    """
    from algospace.data.session_bars import session_bars

    if isinstance(data, pd.DataFrame) and set(BARS_COLUMNS) <= set(data.columns) and len(data) > 1:
        if isinstance(data.index, pd.DatetimeIndex) and float(np.median(np.diff(_ns(data.index)))) > 60e9:
            raise InputError(
                f"{who} reads the 1-minute bars inside each 30-minute bar; these bars are "
                f"{np.median(np.diff(_ns(data.index))) / 60e9:g} minutes apart. Pass 1-minute bars or ticks, or use a version-1 spec."
            )
    return session_bars(data, 1, instrument)  # type: ignore[arg-type]


def session_features(spec: object, data: pd.DataFrame, instrument: object = None) -> pd.DataFrame:
    """Ticks or bars -> `spec.transform` on the instrument's 30-minute session bars, with their
    1-minute bars when the spec (version 2) reads them. The one path from raw data to features."""
    from algospace.data.session_bars import session_bars

    bars30 = session_bars(data, 30, instrument)  # type: ignore[arg-type]
    if not getattr(spec, "needs_minute_bars", False):
        return spec.transform(bars30)  # type: ignore[attr-defined]
    return spec.transform(bars30, minute_bars=minute_bars_for(data, instrument))  # type: ignore[attr-defined]


__all__ = ["RegimeInputs", "minute_bars_for", "regime_inputs", "session_features"]
