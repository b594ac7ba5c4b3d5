"""Regime windows: T consecutive feature rows ending at each bar, the RDE's (T, F) input.

The window ending at bar t uses feature rows <= t only (causal). `regime_windows` builds all
of them at once; `RegimeWindowStream` gives the same window bar by bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from algospace.errors import DataError, InputError


def _check_T(T: int, what: str) -> None:
    if not isinstance(T, (int, np.integer)) or isinstance(T, bool) or T < 1:
        raise InputError(f"The 'T' parameter of {what} must be an int >= 1; received {T!r}.")


def window_view(values: np.ndarray, T: int) -> np.ndarray:
    """A zero-copy (N - T + 1, T, F) view of the causal T-row windows of a (N, F) array.

    Window i holds rows i .. i + T - 1 (it ends at row i + T - 1). Callers select rows and
    copy only what they need (all of them, a stride, a split, a batch).
    """
    return sliding_window_view(values, T, axis=0).transpose(0, 2, 1)  # (N - T + 1, T, F)


def regime_windows(features: pd.DataFrame, T: int = 48, stride: int = 1) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """All causal windows of T feature rows: ((N, T, F) float32, end timestamps (N,)).

    `features` is the output of `FeatureSpec.transform` (sorted, finite). Window i holds rows
    [e - T + 1, e] where e = T - 1 + i * stride; its timestamp is the row e's.
    """
    _check_T(T, "regime_windows")
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise InputError(f"The 'stride' parameter of regime_windows must be an int >= 1; received {stride!r}.")
    if not isinstance(features, pd.DataFrame):
        raise InputError(f"regime_windows expects the DataFrame from FeatureSpec.transform; got {type(features).__name__}.")
    if len(features) < T:
        raise InputError(f"regime_windows needs at least T={T} feature rows; got {len(features)}. Pass more bars or a smaller T.")
    if not features.index.is_monotonic_increasing or not features.index.is_unique:
        raise DataError("regime_windows expects feature rows in strictly increasing timestamp order; sort/de-duplicate them first.")
    values = features.to_numpy(dtype=np.float32)
    if not np.isfinite(values).all():
        r, c = np.argwhere(~np.isfinite(values))[0]
        raise DataError(
            f"regime_windows found a non-finite feature {features.columns[c]!r} at {features.index[r]}; "
            "no NaN may reach a model. Build features with FeatureSpec.transform (warm-up rows are left out)."
        )
    out = np.ascontiguousarray(window_view(values, T)[::stride])  # (N, T, F)
    ends = features.index[T - 1 :][::stride]
    return out, pd.DatetimeIndex(ends, name="timestamp")


class RegimeWindowStream:
    """Incremental `regime_windows`: `update(row)` returns the (T, F) float32 window, None until T rows arrived."""

    def __init__(self, T: int = 48, width: int = 155) -> None:
        _check_T(T, "RegimeWindowStream")
        self.T, self.width = int(T), int(width)
        self._buf = np.zeros((self.T, self.width), dtype=np.float32)
        self._count = 0

    def update(self, row: np.ndarray | pd.Series | Sequence[float]) -> np.ndarray | None:
        arr = np.asarray(row, dtype=np.float32)
        if arr.shape != (self.width,):
            raise InputError(f"RegimeWindowStream.update expects a feature row of shape ({self.width},); got {arr.shape}.")
        if not np.isfinite(arr).all():
            raise DataError("RegimeWindowStream.update got a non-finite feature value; no NaN may reach a model.")
        self._buf[:-1] = self._buf[1:]
        self._buf[-1] = arr
        self._count += 1
        return self._buf.copy() if self._count >= self.T else None
